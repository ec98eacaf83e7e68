#include "ql-verbs.h"
#include "ql-process.h"
#include "ql-log.h"
#include "ql-notify.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static gboolean verbose;

static void
usage (const QlVerb *verbs, guint n_verbs, FILE *out)
{
  fprintf (out, "Usage: qlaunch [-v] COMMAND [ARGS...]\n\nCommands:\n");
  for (guint i = 0; i < n_verbs; i++)
    fprintf (out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
  fprintf (out, "\nRun 'qlaunch COMMAND --help' for a command's options.\n");
}

/* -1: go on with argv[*first]; else the exit status */
static int
parse_own_options (const QlVerb *verbs, guint n_verbs, int argc, char **argv, int *first)
{
  for (; *first < argc && argv[*first][0] == '-'; (*first)++)
    {
      const char *arg = argv[*first];

      if (strcmp (arg, "-v") == 0 || strcmp (arg, "--verbose") == 0)
        verbose = TRUE;
      else if (strcmp (arg, "-h") == 0 || strcmp (arg, "--help") == 0)
        {
          usage (verbs, n_verbs, stdout);
          return 0;
        }
      else if (strcmp (arg, "--version") == 0)
        {
          printf ("qlaunch %s\n", QLAUNCH_VERSION);
          return 0;
        }
      else
        {
          fprintf (stderr, "qlaunch: unknown option '%s'\n", arg);
          usage (verbs, n_verbs, stderr);
          return 1;
        }
    }
  return -1;
}

int
ql_verbs_dispatch (const QlVerb *verbs, guint n_verbs, int argc, char **argv)
{
  g_autofree char *verb_argv0 = NULL;
  int first = 1, status;

  /* the charset (g_print converts to it) and strerror's language: qlaunch
   * has no translations, and every other category is a file to load */
  setlocale (LC_CTYPE, "");
  setlocale (LC_MESSAGES, "");
  /* a closed terminal or pipe must not kill the supervisor mid-teardown */
  signal (SIGPIPE, SIG_IGN);
  /* before any thread: QEMU must not inherit the service manager's socket */
  ql_notify_init ();

  status = parse_own_options (verbs, n_verbs, argc, argv, &first);
  if (status >= 0)
    return status;
  ql_log_setup ("qlaunch", verbose);
  if (first >= argc)
    {
      usage (verbs, n_verbs, stderr);
      return 1;
    }
  for (guint i = 0; i < n_verbs; i++)
    if (strcmp (argv[first], verbs[i].name) == 0)
      {
        /* errors then read "Try 'qlaunch start --help'" */
        verb_argv0 = g_strdup_printf ("qlaunch %s", verbs[i].name);
        argv[first] = verb_argv0;
        return verbs[i].handler (argc - first, argv + first);
      }
  fprintf (stderr, "qlaunch: unknown command '%s'\n", argv[first]);
  usage (verbs, n_verbs, stderr);
  return 1;
}

#define QL_QLAUNCH_BINARY_ENV "QLAUNCH_BINARY"

/* Next to this executable, self (the build tree, or one bin directory),
 * else where it is installed. */
static char *
find_helper (const char *name, const char *self)
{
  if (self != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (self);
      g_autofree char *beside = g_build_filename (dir, name, NULL);

      if (access (beside, X_OK) == 0)
        return g_steal_pointer (&beside);
    }
  return g_build_filename (QLAUNCH_LIBEXECDIR, name, NULL);
}

static int
exec_helper (const char *name, const char *verb, int argc, char **argv)
{
  g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *helper = find_helper (name, self);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  g_ptr_array_add (args, (char *) name);
  if (verbose)
    g_ptr_array_add (args, (char *) "-v");
  g_ptr_array_add (args, (char *) verb);
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (args, argv[i]);
  g_ptr_array_add (args, NULL);
  fflush (stdout);
  /* the helper checks a supervisor's binary against this one, not itself */
  if (self != NULL)
    g_setenv (QL_QLAUNCH_BINARY_ENV, self, TRUE);
  execv (helper, (char **) args->pdata);
  fprintf (stderr, "qlaunch %s: cannot run '%s': %s (is qlaunch installed whole?)\n", verb, helper,
           g_strerror (errno));
  return 1;
}

int
ql_verbs_exec_xml_import (int argc, char **argv)
{
  return exec_helper ("qlaunch-xml", "import", argc, argv);
}

int
ql_verbs_exec_xml_export (int argc, char **argv)
{
  return exec_helper ("qlaunch-xml", "export", argc, argv);
}

void
ql_verbs_take_qlaunch_binary (void)
{
  const char *named = g_getenv (QL_QLAUNCH_BINARY_ENV);

  ql_process_set_qlaunch_binary (named != NULL && g_path_is_absolute (named) ? named
                                                                           : QLAUNCH_BINDIR "/qlaunch");
  /* not passed on to QEMU or anything else this helper runs */
  g_unsetenv (QL_QLAUNCH_BINARY_ENV);
}

int
ql_verbs_exec_console (int argc, char **argv)
{
  return exec_helper ("qlaunch-console", "console", argc, argv);
}
