#include "ql-commands.h"

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

void
ql_cmd_print_error (const GError *error)
{
  g_printerr ("qlaunch: %s\n", error->message);
}
