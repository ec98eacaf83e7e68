#pragma once

#include <glib.h>
#include "ql-host-step.h"

/* [looking-glass]'s file in /dev/shm (a QL_HOST_STEP_SHM_FILE step).
 * Apply: made new (never an existing file, never through a symbolic link),
 * mode 0660, step->added bytes, given to run_uid/run_gid when set.  Undo:
 * removed when it is still a regular file of that size and owner, so a
 * file someone else made at that path is left alone; idempotent. */
gboolean ql_host_shm_apply (const QlHostStep *step, GError **error);
gboolean ql_host_shm_undo (const QlHostStep *step, char **ret_done, GError **error);
