#include "ql-commands.h"
#include "ql-profile.h"

#include <stdio.h>

gboolean
ql_cmd_parse (GOptionContext *context, int *argc, char ***argv, int min_args, int max_args)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("%s: %s\nTry '%s --help'.\n", (*argv)[0], error->message, (*argv)[0]);
      return FALSE;
    }
  if (*argc - 1 < min_args || *argc - 1 > max_args)
    {
      g_autofree char *usage = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("%s: wrong number of arguments\n%s", (*argv)[0], usage);
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_cmd_check_vm_name (const char *name)
{
  g_autofree char *message = NULL;

  if (ql_profile_name_is_valid (name, &message))
    return TRUE;
  g_printerr ("qlaunch: %s\n", message);
  return FALSE;
}

int
ql_cmd_compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

void
ql_cmd_print_json (JsonNode *node)
{
  g_autofree char *text = json_to_string (node, TRUE);

  printf ("%s\n", text);
}

void
ql_cmd_print_error (const GError *error)
{
  g_printerr ("qlaunch: %s\n", error->message);
}

void
ql_cmd_print_threads (JsonArray *threads)
{
  g_autoptr(GHashTable) emulator = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();

  for (guint i = 0; i < json_array_get_length (threads); i++)
    {
      JsonObject *t = json_array_get_object_element (threads, i);
      const char *cpus = json_object_get_string_member_with_default (t, "cpus", NULL);

      if (cpus == NULL)
        cpus = "(gone)";
      if (g_strcmp0 (json_object_get_string_member (t, "kind"), "emulator") != 0)
        {
          g_print ("  %-16s thread %-8" G_GINT64_FORMAT " host CPUs %s\n", json_object_get_string_member (t, "thread"),
                   json_object_get_int_member (t, "tid"), cpus);
          continue;
        }
      if (!g_hash_table_contains (emulator, cpus))
        g_ptr_array_add (order, g_strdup (cpus));
      g_hash_table_insert (emulator, g_strdup (cpus),
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (emulator, cpus)) + 1));
    }
  for (guint i = 0; i < order->len; i++)
    {
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (emulator, order->pdata[i]));
      g_autofree char *label = g_strdup_printf ("emulator (%u)", n);
      g_print ("  %-16s %-15s host CPUs %s\n", label, "", (char *) order->pdata[i]);
      g_free (order->pdata[i]);
    }
}
