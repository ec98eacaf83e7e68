#pragma once

#include <glib.h>

/* Where each group and key of an INI file stands, for error messages.
 * GKeyFile parses the values but forgets lines; this scanner reads the same
 * text and remembers them, and reports what GKeyFile would silently merge
 * (a group or key given twice) or reject without a line number. */

typedef struct {
  guint line;
  char *message;
} QlIniProblem;

typedef struct _QlIniIndex QlIniIndex;

QlIniIndex *ql_ini_index_scan (const char *text);
void ql_ini_index_free (QlIniIndex *index);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlIniIndex, ql_ini_index_free)

/* Line of "[group]", or 0 when absent. */
guint ql_ini_index_group_line (QlIniIndex *index, const char *group);
/* Line of "key=" in group, or the group's line when the key is absent. */
guint ql_ini_index_key_line (QlIniIndex *index, const char *group, const char *key);
/* Syntax problems, duplicates (QlIniProblem*), in line order. */
GPtrArray *ql_ini_index_get_problems (QlIniIndex *index);
