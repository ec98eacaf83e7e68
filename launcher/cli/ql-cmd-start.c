#include "ql-commands.h"
#include "ql-error.h"
#include "ql-log.h"
#include "ql-notify.h"
#include "ql-prepare.h"
#include "ql-qemu-argv.h"
#include "ql-supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
print_notes (const QlPrepared *prepared)
{
  for (guint i = 0; i < prepared->machine->notes->len; i++)
    g_printerr ("qlaunch: %s: %s\n", prepared->profile->vm.name,
                (const char *) prepared->machine->notes->pdata[i]);
}

static void
redirect_stdio_to_null (void)
{
  int fd = open ("/dev/null", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    return;
  dup2 (fd, STDIN_FILENO);
  dup2 (fd, STDOUT_FILENO);
  dup2 (fd, STDERR_FILENO);
  close (fd);
}

/* The parent of --detach waits for the supervisor to say READY or why not. */
static int
wait_for_detached (int read_fd, pid_t child, const char *name)
{
  g_autoptr(GString) reply = g_string_new (NULL);
  char buf[1024];
  gssize n;

  while ((n = read (read_fd, buf, sizeof buf)) > 0)
    g_string_append_len (reply, buf, n);
  close (read_fd);

  if (g_str_has_prefix (reply->str, "READY\n"))
    {
      g_print ("VM '%s' is running (supervisor pid %d); stop it with 'qlaunch stop %s'\n", name, (int) child, name);
      return 0;
    }
  waitpid (child, NULL, 0);
  g_printerr ("qlaunch: %s\n", reply->len ? g_strchomp (reply->str) : "the supervisor ended without a word");
  return QL_EXIT_START_FAILED;
}

int
ql_cmd_start (int argc, char **argv)
{
  gboolean detach = FALSE, no_console = FALSE;
  const GOptionEntry entries[] = {
    { "detach", 'd', 0, G_OPTION_ARG_NONE, &detach, "Run the supervisor in the background once the VM runs", NULL },
    { "no-console", 0, 0, G_OPTION_ARG_NONE, &no_console, "Do not relay the guest's serial console to stdout", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME|FILE.ini");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlPrepared) prepared = NULL;
  QlSupervisorOptions opts = { 0 };
  QlExitStatus code;

  g_option_context_set_summary (context,
                                "Start the VM a profile describes and supervise it until it ends.\n\n"
                                "Exit status: 0 the guest powered off, 1 the VM did not start,\n"
                                "2 QEMU died unexpectedly, 3 the VM was stopped by force.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1))
    return 1;

  prepared = ql_prepare (argv[1], &error);
  if (prepared == NULL)
    {
      ql_cmd_print_error (error);
      return QL_EXIT_START_FAILED;
    }
  ql_log_set_vm (prepared->profile->vm.name);
  print_notes (prepared);

  opts.machine = prepared->machine;
  opts.argv = (const char *const *) prepared->argv;
  opts.echo_console = !no_console && !detach;
  opts.ready_fd = -1;

  if (detach)
    {
      int pipe_fds[2];
      pid_t pid;

      if (pipe2 (pipe_fds, O_CLOEXEC) != 0)
        {
          g_printerr ("qlaunch: pipe: %s\n", g_strerror (errno));
          return QL_EXIT_START_FAILED;
        }
      pid = fork ();
      if (pid < 0)
        {
          g_printerr ("qlaunch: fork: %s\n", g_strerror (errno));
          return QL_EXIT_START_FAILED;
        }
      if (pid > 0)
        {
          close (pipe_fds[1]);
          /* a service manager hears from the supervisor from now on */
          ql_notify_main_pid (pid);
          return wait_for_detached (pipe_fds[0], pid, prepared->profile->vm.name);
        }
      close (pipe_fds[0]);
      setsid ();
      redirect_stdio_to_null ();
      opts.ready_fd = pipe_fds[1];
      code = ql_supervisor_run (&opts, &error);
      if (code == QL_EXIT_START_FAILED && error != NULL)
        {
          if (write (pipe_fds[1], error->message, strlen (error->message)) < 0)
            { /* parent gone: nothing to tell */ }
        }
      _exit (code);
    }

  code = ql_supervisor_run (&opts, &error);
  if (error != NULL)
    ql_cmd_print_error (error);
  return code;
}

int
ql_cmd_argv (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME|FILE.ini");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlPrepared) prepared = NULL;
  g_autofree char *text = NULL;

  g_option_context_set_summary (context,
                                "Print the exact QEMU command line of a VM, one argument per line,\n"
                                "quoted for a shell.  Changes nothing; needs no privileges.");
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1))
    return 1;
  prepared = ql_prepare (argv[1], &error);
  if (prepared == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  print_notes (prepared);
  text = ql_qemu_argv_format ((const char *const *) prepared->argv);
  fputs (text, stdout);
  return 0;
}
