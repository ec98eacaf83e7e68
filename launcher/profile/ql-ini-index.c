#include "ql-ini-index.h"

#include <string.h>

struct _QlIniIndex {
  GHashTable *groups;     /* group name -> GHashTable (key -> line) */
  GHashTable *group_line; /* group name -> line */
  GPtrArray *problems;
};

static void
problem_free (QlIniProblem *problem)
{
  g_free (problem->message);
  g_free (problem);
}

static void
add_problem (QlIniIndex *index, guint line, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static void
add_problem (QlIniIndex *index, guint line, const char *fmt, ...)
{
  QlIniProblem *problem = g_new0 (QlIniProblem, 1);
  va_list ap;

  problem->line = line;
  va_start (ap, fmt);
  problem->message = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_ptr_array_add (index->problems, problem);
}

/* Where the scan is: the section the lines belong to. */
typedef struct {
  QlIniIndex *index;
  GHashTable *keys;       /* of the current section; NULL under a broken header */
  char *group;
  gboolean seen_header;
} Scan;

static void
scan_header (Scan *scan, guint line, const char *stripped)
{
  QlIniIndex *index = scan->index;
  gsize len = strlen (stripped);
  g_autofree char *name = NULL;
  gpointer orig_line;

  scan->seen_header = TRUE;
  if (stripped[len - 1] != ']' || len < 3 || strpbrk (stripped + 1, "[]") != stripped + len - 1)
    {
      add_problem (index, line, "'%s' is not a valid section header; write [section] or [section NAME]", stripped);
      g_clear_pointer (&scan->group, g_free);
      scan->keys = NULL;
      return;
    }
  name = g_strndup (stripped + 1, len - 2);
  if (g_hash_table_lookup_extended (index->group_line, name, NULL, &orig_line))
    {
      add_problem (index, line, "[%s] appears twice (first at line %u); merge the two sections",
                   name, GPOINTER_TO_UINT (orig_line));
      scan->keys = g_hash_table_lookup (index->groups, name);
    }
  else
    {
      scan->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      g_hash_table_insert (index->group_line, g_strdup (name), GUINT_TO_POINTER (line));
      g_hash_table_insert (index->groups, g_strdup (name), scan->keys);
    }
  g_free (scan->group);
  scan->group = g_steal_pointer (&name);
}

static void
scan_key (Scan *scan, guint line, const char *stripped)
{
  QlIniIndex *index = scan->index;
  const char *eq = strchr (stripped, '=');
  g_autofree char *key = NULL;
  gpointer orig_line;

  if (eq == NULL)
    {
      add_problem (index, line, "'%s' is neither 'key = value' nor a [section] header", stripped);
      return;
    }
  if (scan->keys == NULL)
    {
      /* keys under a broken header were reported with it */
      if (!scan->seen_header)
        add_problem (index, line, "'%s' stands before any [section]", stripped);
      return;
    }
  key = g_strstrip (g_strndup (stripped, eq - stripped));
  if (key[0] == '\0')
    {
      add_problem (index, line, "[%s]: a line has a value but no key", scan->group);
      return;
    }
  if (g_hash_table_lookup_extended (scan->keys, key, NULL, &orig_line))
    {
      add_problem (index, line, "[%s] %s: set twice (first at line %u); keep one",
                   scan->group, key, GPOINTER_TO_UINT (orig_line));
      return;
    }
  g_hash_table_insert (scan->keys, g_steal_pointer (&key), GUINT_TO_POINTER (line));
}

QlIniIndex *
ql_ini_index_scan (const char *text)
{
  QlIniIndex *index = g_new0 (QlIniIndex, 1);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  Scan scan = { index };

  index->groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_hash_table_unref);
  index->group_line = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  index->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) problem_free);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *stripped = g_strstrip (g_strdup (lines[i]));

      if (stripped[0] == '\0' || stripped[0] == '#')
        continue;
      if (stripped[0] == '[')
        scan_header (&scan, i + 1, stripped);
      else
        scan_key (&scan, i + 1, stripped);
    }
  g_free (scan.group);
  return index;
}

void
ql_ini_index_free (QlIniIndex *index)
{
  if (index == NULL)
    return;
  g_hash_table_unref (index->groups);
  g_hash_table_unref (index->group_line);
  g_ptr_array_unref (index->problems);
  g_free (index);
}

guint
ql_ini_index_group_line (QlIniIndex *index, const char *group)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (index->group_line, group));
}

guint
ql_ini_index_key_line (QlIniIndex *index, const char *group, const char *key)
{
  GHashTable *keys = g_hash_table_lookup (index->groups, group);
  guint line = keys ? GPOINTER_TO_UINT (g_hash_table_lookup (keys, key)) : 0;

  return line ? line : ql_ini_index_group_line (index, group);
}

GPtrArray *
ql_ini_index_get_problems (QlIniIndex *index)
{
  return index->problems;
}
