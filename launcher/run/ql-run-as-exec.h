#pragma once

#include <glib.h>
#include "ql-run-as.h"

/* Becoming [vm] run-as between fork and exec.  QEMU 7.2's -runas with
 * -sandbox elevateprivileges=deny kills QEMU, and -run-with user= exists
 * only from 9.1: the launcher drops the privileges itself, in the child. */

#define QL_RUN_AS_MAX_GROUPS 4
/* QEMU's exit status when the child could not become the user; the child
 * says why on its stderr (QEMU's output) first. */
#define QL_RUN_AS_EXIT_STATUS 125

typedef struct {
  gboolean active;           /* FALSE: QEMU keeps the supervisor's credentials */
  uid_t uid;
  gid_t gid;
  gid_t groups[QL_RUN_AS_MAX_GROUPS];
  int n_groups;
  guint64 memlock;           /* RLIMIT_MEMLOCK set first; 0: left as it is */
} QlRunAsCreds;

/* Fills creds from run_as (NULL: inactive); before the fork.  memlock: what
 * VFIO will pin (the guest's RAM and a margin), 0 without passthrough: root
 * pins without limit (CAP_IPC_LOCK), the user only up to RLIMIT_MEMLOCK,
 * which root raises for it as libvirt does. */
void ql_run_as_creds_set (QlRunAsCreds *creds, const QlRunAs *run_as, guint64 memlock);

/* In the forked child, async-signal-safe: RLIMIT_MEMLOCK, supplementary groups to creds'
 * (none, or kvm), then the gid, then the uid, all three of each (real,
 * effective, saved); checks that they stuck and that root cannot be taken
 * back (a uid change from 0 clears every capability), then sets the
 * parent-death signal again, which the credential change cleared
 * (prctl (2)).  On any failure it writes why to fd 2 and exits with
 * QL_RUN_AS_EXIT_STATUS. */
void ql_run_as_creds_enter (const QlRunAsCreds *creds, int parent_death_signal, pid_t parent);
