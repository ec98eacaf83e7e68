#pragma once

#include <glib.h>
#include "ql-host-step.h"
#include "ql-hugepage-pool.h"
#include "ql-machine.h"
#include "ql-mdev-plan.h"
#include "ql-run-as.h"
#include "ql-vfio-plan.h"

/* Every change 'start' will make to the host, as a list of steps decided
 * before anything is touched: 'qlaunch plan' prints it, 'start' applies it
 * in order (journaling each step first) and the end of the run undoes it
 * in reverse.  Pure: a function of the machine and of the host as it was
 * read (host/ql-host-state.c). */

/* A network interface as the host has it. */
typedef struct {
  char *name;
  char *kind;                /* "bridge", "tun", ""; as netlink says */
  gboolean tun_persist;
  gboolean tun_in_use;       /* a tun with queues attached */
} QlHostLink;

/* [cpu] isolate: a unit whose AllowedCPUs= the run sets, and its value now. */
typedef struct {
  char *unit;
  char *cpus;                /* a kernel cpulist; "": not set, all CPUs */
} QlHostUnitCpus;

/* [host] release-units: a unit and its ActiveState when the plan was made. */
typedef struct {
  char *unit;
  char *active_state;        /* "active", "inactive", "failed", ...; as systemd says */
} QlHostUnitState;

/* [host] unbind-consoles: a device bound to a platform framebuffer driver. */
typedef struct {
  char *driver;              /* one of ql_host_framebuffer_drivers */
  char *device;              /* "efi-framebuffer.0" */
} QlHostFramebuffer;

typedef enum {
  QL_HOST_MODULE_NOT_LOADED,
  QL_HOST_MODULE_LOADED,
  QL_HOST_MODULE_BUILTIN,    /* in /sys/module, without initstate: part of the kernel */
} QlHostModuleState;

/* [host] unload-modules: a module and whether it is loaded. */
typedef struct {
  char *name;
  QlHostModuleState state;
} QlHostModule;

/* The units [cpu] isolate keeps off the vCPUs' CPUs: every service, every
 * user session, and PID 1 itself. */
extern const char *const ql_isolate_units[];

typedef struct {
  QlVfioPlan *vfio;          /* NULL: no device passed through */
  QlHugepagePool *hugepages; /* NULL: no hugepages */
  gboolean nvram_exists;
  gint64 nvram_size;         /* of the VM's varstore, when it exists */
  gint64 nvram_template_size;  /* of its template; -1: unreadable */
  GPtrArray *links;          /* QlHostLink*: the machine's taps and bridges that exist */
  GArray *online_cpus;       /* guint; read only for [cpu] isolate */
  GPtrArray *isolate_units;  /* QlHostUnitCpus*, as ql_isolate_units; only for [cpu] isolate */
  GPtrArray *release_units;  /* QlHostUnitState*, as [host] release-units lists them */
  GPtrArray *vtconsoles;     /* char*: vtconN bound to a framebuffer console; only for unbind-consoles */
  GPtrArray *framebuffers;   /* QlHostFramebuffer*; only for unbind-consoles */
  GPtrArray *modules;        /* QlHostModule*, as [host] unload-modules lists them */
  QlMdevHost *mdev;          /* the [mdev] parents' types and the mdevs there are; NULL: no [mdev] */
  /* A user's start (not root) binds nothing: host-setup has put the devices
   * on vfio-pci and given the user their group nodes and the memlock. */
  char *user;                /* NULL: root's start; else the user's name */
  GArray *vfio_denied;       /* int: groups whose DEVFS/vfio node the user cannot open; only for a user */
  guint64 memlock;           /* RLIMIT_MEMLOCK now (G_MAXUINT64: unlimited); only for a user */
  /* Root's start: the user QEMU runs as (NULL: root), the owner and mode of
   * every path it opens and of their ancestors (path -> QlPathInfo*), and
   * the devfs root those paths were built from. */
  QlRunAs *run_as;
  GHashTable *run_as_paths;
  char *devfs;
  char *run_as_note;         /* root's start without run-as: how to set it */
} QlHostState;

typedef struct {
  GPtrArray *steps;          /* QlHostStep*, in the order start applies them */
  GPtrArray *notes;          /* char*: what is left as it is, and why */
  QlRunAs *run_as;           /* NULL: QEMU runs as whoever starts it; else its uid, gid and groups */
} QlHostPlan;

void ql_host_link_free (QlHostLink *link);
void ql_host_unit_cpus_free (QlHostUnitCpus *unit);
void ql_host_unit_state_free (QlHostUnitState *unit);
void ql_host_framebuffer_free (QlHostFramebuffer *framebuffer);
void ql_host_module_free (QlHostModule *module);
void ql_host_state_free (QlHostState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlHostState, ql_host_state_free)
void ql_host_plan_free (QlHostPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlHostPlan, ql_host_plan_free)

/* Fails with QL_ERROR_HOST when the host cannot give the machine what it
 * needs (too few hugepages without allocate=true, a bridge= that is not a
 * bridge, a tap name taken; for a user: a device not on vfio-pci, a group
 * node the user cannot open, too little memlock), saying how to fix it. */
QlHostPlan *ql_host_plan_build (const QlMachine *machine, const QlHostState *state, GError **error);

/* The step of a mode=tap NIC, or NULL when its tap exists (a persistent
 * one made for the user, used as it is). */
const QlHostStep *ql_host_plan_find_tap (const QlHostPlan *plan, const char *ifname);

/* Whether the plan has [host] handover steps. */
gboolean ql_host_plan_has_handover (const QlHostPlan *plan);

/* {"vm": NAME, "steps": [step, …], "notes": […]} */
JsonNode *ql_host_plan_to_json (const QlHostPlan *plan, const char *vm_name);
