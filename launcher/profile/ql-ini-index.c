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

QlIniIndex *
ql_ini_index_scan (const char *text)
{
  QlIniIndex *index = g_new0 (QlIniIndex, 1);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GHashTable *keys = NULL;
  g_autofree char *group = NULL;
  gboolean seen_header = FALSE;

  index->groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_hash_table_unref);
  index->group_line = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  index->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) problem_free);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint line = i + 1;
      g_autofree char *stripped = g_strstrip (g_strdup (lines[i]));
      const char *eq;

      if (stripped[0] == '\0' || stripped[0] == '#')
        continue;

      if (stripped[0] == '[')
        {
          seen_header = TRUE;
          gsize len = strlen (stripped);
          g_autofree char *name = NULL;
          gpointer orig_line;

          if (stripped[len - 1] != ']' || len < 3 || strpbrk (stripped + 1, "[]") != stripped + len - 1)
            {
              add_problem (index, line, "'%s' is not a valid section header; write [section] or [section NAME]",
                           stripped);
              g_clear_pointer (&group, g_free);
              keys = NULL;
              continue;
            }
          name = g_strndup (stripped + 1, len - 2);
          if (g_hash_table_lookup_extended (index->group_line, name, NULL, &orig_line))
            {
              add_problem (index, line, "[%s] appears twice (first at line %u); merge the two sections",
                           name, GPOINTER_TO_UINT (orig_line));
              keys = g_hash_table_lookup (index->groups, name);
              g_free (group);
              group = g_steal_pointer (&name);
              continue;
            }
          keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          g_hash_table_insert (index->group_line, g_strdup (name), GUINT_TO_POINTER (line));
          g_hash_table_insert (index->groups, g_strdup (name), keys);
          g_free (group);
          group = g_steal_pointer (&name);
          continue;
        }

      eq = strchr (stripped, '=');
      if (eq == NULL)
        {
          add_problem (index, line, "'%s' is neither 'key = value' nor a [section] header", stripped);
          continue;
        }
      if (keys == NULL)
        {
          /* keys under a broken header were reported with it */
          if (!seen_header)
            add_problem (index, line, "'%s' stands before any [section]", stripped);
          continue;
        }
      {
        g_autofree char *key = g_strstrip (g_strndup (stripped, eq - stripped));
        gpointer orig_line;

        if (key[0] == '\0')
          {
            add_problem (index, line, "[%s]: a line has a value but no key", group);
            continue;
          }
        if (g_hash_table_lookup_extended (keys, key, NULL, &orig_line))
          {
            add_problem (index, line, "[%s] %s: set twice (first at line %u); keep one",
                         group, key, GPOINTER_TO_UINT (orig_line));
            continue;
          }
        g_hash_table_insert (keys, g_steal_pointer (&key), GUINT_TO_POINTER (line));
      }
    }
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
