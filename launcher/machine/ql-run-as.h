#pragma once

#include <glib.h>
#include "ql-machine.h"
#include "ql-vfio-plan.h"

/* [vm] run-as: the user QEMU runs as when root starts the VM, and what the
 * run gives that user for its duration (host-plan chown steps).  Pure: the
 * host's answers (the user database, the owner and mode of each path) are
 * read by host/ql-run-as-read.c and handed in. */

typedef struct {
  char *user;
  guint32 uid, gid;          /* the user's own uid and primary group */
  GArray *groups;            /* guint32: QEMU's supplementary groups (at most kvm); empty: none */
  char *where;               /* "FILE:LINE: [vm] run-as", or how the default was chosen */
} QlRunAs;

/* A path as lstat () saw it. */
typedef struct {
  gboolean exists;
  guint32 uid, gid, mode;    /* mode with the file type bits */
} QlPathInfo;

/* What QEMU does with a path it opens. */
typedef enum {
  QL_RUN_AS_BASE_DIR,        /* where every VM's runtime or state dir is: others may pass (o+x) */
  QL_RUN_AS_OWN_DIR,         /* the VM's runtime or state dir: QEMU passes through as its group */
  QL_RUN_AS_OWN_FILE,        /* a file qlaunch makes for the VM (varstore, SSDT, serial log, display dir) */
  QL_RUN_AS_FILE,            /* a file the profile names (disk, kernel, ROM, ...) */
  QL_RUN_AS_VFIO_GROUP,      /* /dev/vfio/GROUP: made by the bind, given to the user */
  QL_RUN_AS_DEVICE,          /* /dev/vfio/vfio, /dev/kvm: shared nodes, opened read-write */
  QL_RUN_AS_HUGETLBFS,       /* a hugetlbfs mount QEMU creates its backing file in */
} QlRunAsKind;

typedef struct {
  char *path;
  QlRunAsKind kind;
  gboolean write;            /* QEMU opens it read-write (a directory: creates in it) */
  gboolean create;           /* OWN_FILE: QEMU would create it; qlaunch makes it empty first */
  char *label;               /* "[disk system] file" */
} QlRunAsNeed;

void ql_run_as_free (QlRunAs *run_as);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlRunAs, ql_run_as_free)
QlRunAs *ql_run_as_copy (const QlRunAs *run_as);
void ql_run_as_need_free (QlRunAsNeed *need);

/* Every path QEMU opens by name for machine m, in the order they are given
 * (QlRunAsNeed*).  vfio_groups: int, the IOMMU groups passed through. */
GPtrArray *ql_run_as_needs (const QlMachine *m, const char *devfs, const GArray *vfio_groups);

/* The IOMMU groups (int) of the devices a vfio plan passes through, once each. */
GArray *ql_run_as_vfio_groups (const QlVfioPlan *vfio);

/* path and each of its ancestors, the root first: what must be read to plan. */
GPtrArray *ql_run_as_path_chain (const char *path);

/* Appends to steps (QlHostStep*) a chown step for each path of needs that
 * run_as cannot use as it is and that qlaunch may hand over for the run,
 * and returns run_as with its supplementary groups decided.  paths: path
 * -> QlPathInfo* for every path of the needs' chains.  Fails with
 * QL_ERROR_HOST naming each path that must be fixed by hand (another
 * user's file, a directory it cannot pass through, a file under /usr),
 * with the fix. */
QlRunAs *ql_run_as_plan (const QlMachine *m, const QlRunAs *run_as, GHashTable *paths, const char *devfs,
                         const GArray *vfio_groups, GPtrArray *steps, GError **error);

/* Whether gid is run_as's primary group or one of the groups it keeps. */
gboolean ql_run_as_in_group (const QlRunAs *run_as, guint32 gid);
/* The kernel's check without ACLs, as run_as: want is a mask of 4 (read),
 * 2 (write), 1 (search). */
gboolean ql_run_as_may (const QlRunAs *run_as, const QlPathInfo *info, guint want);
/* Whether root's start hands the file of need over to the run-as user for
 * the run (a regular file of root's, not under /usr) when it may not use it. */
gboolean ql_run_as_hands_over (const QlRunAsNeed *need, const QlPathInfo *info);
/* The supplementary groups start keeps for run_as (at most kvm's, for
 * /dev/kvm), as ql_run_as_plan () decides them. */
GArray *ql_run_as_kept_groups (const QlMachine *m, const QlRunAs *run_as, GHashTable *paths, const char *devfs);
