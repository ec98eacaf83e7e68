#pragma once

#include <glib.h>

/* host-setup's files under the /etc root (ql_paths_etc ()), by their path
 * relative to it ("modprobe.d/qlaunch-NAME.conf"). */

/* ETC/rel */
char *ql_setup_etc_path (const char *rel);

/* *ret_text NULL: no such file.  A link, anything but a regular file, or
 * a file larger than host-setup writes is an error: not host-setup's. */
gboolean ql_setup_etc_read (const char *rel, char **ret_text, GError **error);

/* Whole or not at all (a temporary file renamed over it), 0644, its
 * directory made (0755) when missing; never through a link. */
gboolean ql_setup_etc_write (const char *rel, const char *text, GError **error);

/* TRUE also when it is not there. */
gboolean ql_setup_etc_remove (const char *rel, GError **error);
