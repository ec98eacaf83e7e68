#pragma once

#include <glib.h>

/* Builds one QEMU option value ("driver,key=value,...") with every value
 * escaped, so that no path or name can add an option of its own:
 * QEMU's option parser splits on ',' and reads ',,' as a literal comma. */

char *ql_qemu_escape (const char *value);

typedef struct _QlQemuOpts QlQemuOpts;

/* first (nullable) is written unescaped-as-given-but-escaped, without "key=". */
QlQemuOpts *ql_qemu_opts_new (const char *first);
void ql_qemu_opts_add (QlQemuOpts *opts, const char *key, const char *value);
void ql_qemu_opts_addf (QlQemuOpts *opts, const char *key, const char *fmt, ...) G_GNUC_PRINTF (3, 4);
void ql_qemu_opts_add_bool (QlQemuOpts *opts, const char *key, gboolean value);
/* Returns the string and frees opts. */
char *ql_qemu_opts_finish (QlQemuOpts *opts);
void ql_qemu_opts_free (QlQemuOpts *opts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlQemuOpts, ql_qemu_opts_free)
