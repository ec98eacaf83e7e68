#pragma once

#include <glib.h>
#include "ql-machine.h"
#include "ql-pci-host.h"

/* qlaunch host-setup as data: the files under /etc that let USER start the
 * VM without privileges (vfio-pci ids and softdeps, the /dev/vfio group
 * nodes' owner, RLIMIT_MEMLOCK, the hugepage pool), the group nodes given
 * to USER for this boot, the taps made persistent, and what root has to
 * run by hand (initramfs, kernel command line).  Pure: a function of the
 * machine and of the host facts below. */

typedef enum {
  QL_SETUP_FILE_MODPROBE,      /* modprobe.d: options vfio-pci ids=, softdep DRIVER pre: vfio-pci */
  QL_SETUP_FILE_MODULES_LOAD,  /* modules-load.d: vfio-pci at boot, for drivers softdep cannot order */
  QL_SETUP_FILE_UDEV,          /* udev/rules.d: /dev/vfio/GROUP owned by USER */
  QL_SETUP_FILE_LIMITS,        /* security/limits.d: USER's memlock */
  QL_SETUP_FILE_SYSCTL,        /* sysctl.d: vm.nr_hugepages (2 MiB pages) */
  QL_SETUP_FILE_MAX,
} QlSetupFileKind;

typedef struct {
  QlSetupFileKind kind;
  char *path;                /* relative to the /etc root: "modprobe.d/qlaunch-NAME.conf" */
  char *text;                /* the whole file */
} QlSetupFile;

typedef struct {
  const char *user;
  const QlPciHost *pci;      /* the host's PCI devices; NULL without [pci] sections */
  const char *pci_error;     /* why pci is NULL when there are */
  GHashTable *driver_modules;  /* PCI driver name -> its module; a driver not in it is built in */
  const char *const *previous_modules;  /* softdep modules an earlier host-setup wrote (its manifest); NULL: none */
  const char *initramfs_command;   /* how this host rebuilds its initramfs; NULL: unknown */
  gboolean force;            /* root's --force: risky devices (ql-setup-devices.h) are notes, not refused */
  const char *const *bridges;  /* root's --bridge: the bridges the taps may join; NULL: none */
  guint64 mem_total;         /* the host's RAM, bytes: what memlock and the hugepage pool may take; 0: unknown */
} QlSetupFacts;

typedef struct {
  char *vm;
  char *user;
  char *profile;             /* the profile's absolute path, kept in the record */
  GPtrArray *files;          /* QlSetupFile*, in kind order; only the kinds the VM needs */
  GArray *vfio_groups;       /* int: the /dev/vfio nodes given to user now, when they exist */
  GPtrArray *taps;           /* const QlNet*, borrowed from the profile: made persistent for user */
  GPtrArray *softdep_modules;  /* char*: the modules the softdep lines name (kept in the manifest) */
  GPtrArray *commands;       /* char*: what root runs by hand afterwards, in order */
  GPtrArray *notes;          /* char*: what the files cannot do, and why */
  GPtrArray *devices;        /* char*: each device and the other members of its group, as the host has them */
  GPtrArray *refused;        /* char*: a device not to give (unless force), a bridge root did not allow, more
                              * memory than the host can spare: nothing is applied */
} QlSetupPlan;

/* RLIMIT_MEMLOCK for a VM that passes devices through: VFIO pins all guest
 * RAM, plus 1 GiB for QEMU's own mappings (ROM BARs, MMIO), as libvirt's
 * qemuDomainGetMemLockLimitBytes () allows for VFIO on x86. */
guint64 ql_setup_memlock_bytes (const QlProfile *profile);

/* The most a user's VM may lock or reserve of a host with mem_total
 * bytes: all but max (512 MiB, 1/8) of it, which the host keeps. */
guint64 ql_setup_memory_cap (guint64 mem_total);

/* The file of a kind for a VM, relative to the /etc root; NULL when the
 * name cannot be part of a file name there (see ql_setup_name_valid). */
char *ql_setup_file_path (QlSetupFileKind kind, const char *vm);

/* Letters, digits, '_', '.', ':', '-'; not starting with '.' or '-': a VM
 * name that can be part of a file in /etc, or a user name for udev and
 * pam_limits. */
gboolean ql_setup_name_valid (const char *name);

void ql_setup_file_free (QlSetupFile *file);
void ql_setup_plan_free (QlSetupPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlSetupPlan, ql_setup_plan_free)

/* QL_ERROR_HOST when the VM or user name cannot be written in these files,
 * or a [pci] device is not on this host or in no IOMMU group. */
QlSetupPlan *ql_setup_plan_build (const QlMachine *machine, const QlSetupFacts *facts, GError **error);
