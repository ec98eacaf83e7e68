#pragma once

#include <glib.h>
#include "ql-host-step.h"

/* The chown steps of [vm] run-as: a path handed to QEMU's user for the run
 * and handed back after.  Every access goes through an O_PATH|O_NOFOLLOW
 * descriptor: a symbolic link is never followed, and the undo acts only on
 * the inode it changed. */

/* Reads the path as it is now into step's before_* fields, after making it
 * empty (0600) when step->create and it is absent; what the journal then
 * records.  Refuses a symbolic link and anything but a file, a directory
 * or a character device. */
gboolean ql_host_chown_read (QlHostStep *step, GError **error);

/* Makes the change: the owner and group for the run, and its mode bits
 * added.  Refuses a path that is no longer the inode read. */
gboolean ql_host_chown_apply (const QlHostStep *step, GError **error);

/* Puts back the owner, group and mode read before the run.  A path that is
 * gone has nothing to give back; one that is now another inode or a
 * symbolic link is refused, not touched. */
gboolean ql_host_chown_undo (const QlHostStep *step, char **ret_done, GError **error);
