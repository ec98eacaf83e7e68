#pragma once

#include <glib.h>

/* sysfs writes that cannot hang the caller.  Unbinding a device the host
 * still uses blocks in the kernel (a process holding /dev/nvidia0, a stuck
 * driver); the write runs in a child process, and a child that does not
 * finish in time is killed and reported as QL_ERROR_TIMEOUT. */

/* QLAUNCH_SYSFS_TIMEOUT_MS, or 10 s. */
guint ql_sysfs_timeout_ms (void);

gboolean ql_sysfs_write (const char *path, const char *value, guint timeout_ms, GError **error);

/* The contents without surrounding whitespace, or NULL. */
char *ql_sysfs_read (const char *path);

/* Runs op (data) in a child process (only async-signal-safe calls there)
 * and returns what it returned (0 or an errno); -ETIMEDOUT when it did not
 * finish within timeout_ms (the child is killed), -errno when no child
 * could be made. */
int ql_sysfs_run_timed (int (*op) (gconstpointer data), gconstpointer data, guint timeout_ms);
