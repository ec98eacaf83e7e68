#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "ql-pci-address.h"
#include "ql-enums.h"

/* One change that 'start' makes to the host, as data: planned by
 * ql_host_plan_build (), journaled before it is made, undone in reverse.
 * The JSON form is the same in 'qlaunch plan --json' and in the journal. */

typedef enum {
  QL_HOST_STEP_SSDT,         /* write qlaunch's SSDT into the runtime dir; undo: remove it */
  QL_HOST_STEP_NVRAM,        /* copy the UEFI varstore template; undone only when the start fails */
  QL_HOST_STEP_HUGEPAGES,    /* grow a hugepage pool; undo: shrink it back */
  QL_HOST_STEP_VFIO_BIND,    /* move a device to vfio-pci; undo: back to its driver */
  QL_HOST_STEP_BRIDGE,       /* create a bridge; undo: delete it once no port is left */
  QL_HOST_STEP_TAP,          /* create a tap; undo: delete it if it is still there */
  QL_HOST_STEP_CPU_ISOLATE,  /* a systemd unit's AllowedCPUs= for the run; undo: its earlier value */
  QL_HOST_STEP_UNIT_STOP,    /* stop an active unit ([host] release-units); undo: start it */
  QL_HOST_STEP_VTCONSOLE_UNBIND,   /* unbind a framebuffer vtconsole; undo: bind it */
  QL_HOST_STEP_FRAMEBUFFER_UNBIND, /* unbind a platform framebuffer device; undo: bind it */
  QL_HOST_STEP_MODULE_UNLOAD,      /* unload a module without users; undo: modprobe it */
  QL_HOST_STEP_CHOWN,        /* [vm] run-as: a path QEMU opens given to its user; undo: owner and mode before */
  QL_HOST_STEP_SHM_FILE,     /* [looking-glass]: a file in /dev/shm of added bytes for run_uid/run_gid; undo: remove it */
  QL_HOST_STEP_MDEV_CREATE,  /* create a mediated device on its parent; undo: remove it */
  QL_HOST_STEP_MAX,
} QlHostStepKind;

typedef struct {
  QlHostStepKind kind;
  char *label;               /* who asks for it: "[pci gpu]", "[net lan]"; shown, not journaled */
  char *path;                /* SSDT, NVRAM: the file made */
  char *source;              /* NVRAM: the template copied */
  char device[QL_PCI_ADDRESS_LEN];   /* VFIO_BIND */
  char *driver;              /* VFIO_BIND: the driver it leaves; NULL: none; FRAMEBUFFER_UNBIND: its driver */
  char *driver_override;     /* VFIO_BIND: driver_override before; NULL: none */
  int iommu_group;           /* VFIO_BIND: -1 when unknown (journals of older versions) */
  QlPciRelease release;      /* VFIO_BIND: the undo leaves it on vfio-pci when VFIO */
  QlPciPower power;          /* VFIO_BIND: power/control written by the undo */
  char *name;                /* BRIDGE, TAP: the interface; VTCONSOLE_UNBIND: vtconN;
                                FRAMEBUFFER_UNBIND: the platform device; MODULE_UNLOAD: the module;
                                MDEV_CREATE: the mdev type */
  char *uuid;                /* MDEV_CREATE: the mdev's UUID, lower case */
  char *parent;              /* MDEV_CREATE: its parent (ql_profile_mdev_parent_is_valid ()) */
  char *bridge;              /* TAP: the bridge it joins; NULL: none */
  char *pool;                /* HUGEPAGES: the pool's directory relative to sysfs */
  guint64 before, added;     /* HUGEPAGES: nr_hugepages before, and the growth */
  char *unit;                /* CPU_ISOLATE: system.slice, user.slice, init.scope; UNIT_STOP: the unit */
  char *cpus;                /* CPU_ISOLATE: AllowedCPUs= while the VM runs, a kernel cpulist */
  char *cpus_before;         /* CPU_ISOLATE: AllowedCPUs= before; "": not set, all CPUs */
  char *vcpus;               /* CPU_ISOLATE: the CPUs the vCPUs are pinned to (shown) */
  /* CHOWN (path): the owner, group and mode bits added for the run
   * (-1: kept); create: made empty first when absent (a file QEMU would
   * create in a directory it may not write). */
  gint64 run_uid, run_gid;
  guint run_mode_add;
  gboolean create;
  /* CHOWN: the path as it was, read at start just before the change and
   * journaled with it; the undo acts only on the same inode, never on a
   * symbolic link.  has_before: FALSE in a plan, before anything is read. */
  gboolean has_before;
  guint32 before_uid, before_gid, before_mode;
  guint64 before_dev, before_ino;
} QlHostStep;

#define QL_HOST_STEP_LIMIT 4096    /* more steps than any machine has: a journal is refused beyond */

void ql_host_step_free (QlHostStep *step);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlHostStep, ql_host_step_free)

QlHostStep *ql_host_step_new (QlHostStepKind kind, const char *label);
QlHostStep *ql_host_step_copy (const QlHostStep *step);

/* "vfio-bind", "tap", ... as in the journal. */
const char *ql_host_step_kind_to_string (QlHostStepKind kind);

/* One line for people: "bind 0000:01:00.0  nvidia -> vfio-pci  (IOMMU group 1, [pci gpu])". */
char *ql_host_step_describe (const QlHostStep *step);

/* {"kind": "vfio-bind", "device": …}: the journal's and plan --json's form. */
JsonObject *ql_host_step_to_json (const QlHostStep *step);

/* Parses and validates a step: every field by its grammar (PCI addresses,
 * driver and interface names as the kernel allows them, hugepage pool
 * directories, absolute paths without '..', numbers in range).  The caller
 * checks that paths are the VM's own. */
QlHostStep *ql_host_step_from_json (JsonObject *object, GError **error);

/* The kernel's rules for names that go into sysfs paths (interface names:
 * ql_profile_ifname_is_valid ()). */
gboolean ql_host_driver_name_valid (const char *name);
gboolean ql_host_pool_dir_valid (const char *pool);
/* systemd's rules for a unit name (unit_name_is_valid ()), for the slices
 * and scopes whose AllowedCPUs= qlaunch sets. */
gboolean ql_host_cpu_unit_name_valid (const char *name);

/* The platform framebuffer drivers [host] unbind-consoles unbinds devices from. */
extern const char *const ql_host_framebuffer_drivers[];
/* "vtcon" and 1-3 digits, as /sys/class/vtconsole names them. */
gboolean ql_host_vtconsole_name_valid (const char *name);
/* Whether step is one of the handover kinds ([host]). */
gboolean ql_host_step_is_handover (const QlHostStep *step);
