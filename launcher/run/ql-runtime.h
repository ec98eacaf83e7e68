#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "ql-process.h"
#include "ql-stages.h"
#include "ql-runtime-files.h"

/* The per-VM runtime directory: lock, supervisor state, QMP socket, logs.
 *
 * The lock is an flock() on RUNTIME/lock held by the supervisor for the
 * VM's life.  The kernel drops it when the supervisor dies, however it dies,
 * so a stale lock file never blocks a start. */

typedef struct _QlLock QlLock;

/* Creates dir (0700) and takes the lock; QL_ERROR_BUSY when a live
 * supervisor holds it. */
QlLock *ql_lock_acquire (const char *runtime_dir, const char *vm_name, GError **error);
/* Removes the lock file, then releases it.  Accepts NULL. */
void ql_lock_release (QlLock *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlLock, ql_lock_release)

/* Whether a live supervisor holds the lock of runtime_dir. */
gboolean ql_lock_is_held (const char *runtime_dir);

/* RUNTIME/state.json: what the supervisor is running. */
typedef struct {
  QlProcessId supervisor;
  QlProcessId qemu;       /* pid 0 until QEMU runs */
  gint64 started_usec;    /* wall clock, g_get_real_time (); 0 until QEMU runs */
  char *accel;
  char *profile;
  gint64 stop_timeout_s;  /* the profile's [shutdown] timeout */
  const QlStages *stages_out;  /* written: the start's stages so far (may be NULL) */
  JsonNode *stages;       /* read: "start-stages" when valid, else NULL */
} QlRuntimeState;

void ql_runtime_state_free (QlRuntimeState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlRuntimeState, ql_runtime_state_free)

gboolean ql_runtime_state_write (const char *runtime_dir, const QlRuntimeState *state, GError **error);
/* Every field is checked (PIDs in range with their start times, times not in
 * the future, names as written); anything else is refused with QL_ERROR_FAILED. */
QlRuntimeState *ql_runtime_state_read (const char *runtime_dir, GError **error);


/* Moves the last run's serial.log and qemu.log from the runtime dir to the
 * state dir, where they outlive the run. */
void ql_runtime_keep_logs (const char *runtime_dir, const char *state_dir);

/* Removes what a run leaves in the runtime dir (QL_RUNTIME_RUN_FILES, then QL_RUNTIME_RUN_DIRS), as
 * its end does and recover after a supervisor that died. */
void ql_runtime_remove_run_files (const char *runtime_dir);

/* RUNTIME/display, 0700, for QEMU's SPICE socket (QL_RUNTIME_DISPLAY_DIR);
 * one already there must be the caller's and closed to others. */
gboolean ql_runtime_make_display_dir (const char *runtime_dir, GError **error);

/* STATE/last-exit.json when it holds what the supervisor writes (a message,
 * a reason, an exit status, an end time not in the future); else NULL. */
JsonObject *ql_runtime_last_exit_read (const char *state_dir);
