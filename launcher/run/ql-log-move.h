#pragma once

#include <glib.h>

/* Move a log file to another directory, across file systems (/run to
 * /var/lib) included: renamed where it can be, else copied and removed.
 * Owner, mode and times go with it; symlinks are neither followed nor
 * moved; nothing is flushed to disk.  A file already at TO is replaced. */
gboolean ql_log_move (const char *from, const char *to, GError **error);
