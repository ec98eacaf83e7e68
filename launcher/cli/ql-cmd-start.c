#include "ql-commands.h"
#include "ql-error.h"
#include "ql-log.h"
#include "ql-notify.h"
#include "ql-prepare.h"
#include "ql-profile-trust.h"
#include "ql-progress.h"
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

/* What the supervisor sent up the pipe: stage lines, then "READY" or why not. */
typedef struct {
  QlProgress *progress;
  GString *pending;       /* a line not yet complete */
  GString *failure;       /* anything that is not a stage line, to the end */
  gboolean ready;
} DetachedReply;

static void
take_reply_lines (DetachedReply *reply)
{
  char *newline;

  while (reply->failure->len == 0 && (newline = strchr (reply->pending->str, '\n')) != NULL)
    {
      g_autofree char *line = g_strndup (reply->pending->str, newline - reply->pending->str);

      g_string_erase (reply->pending, 0, newline - reply->pending->str + 1);
      if (strcmp (line, "READY") == 0)
        reply->ready = TRUE;
      else if (!ql_progress_receive (reply->progress, line))
        g_string_append_printf (reply->failure, "%s\n", line);
    }
  if (reply->failure->len > 0)
    {
      g_string_append_len (reply->failure, reply->pending->str, reply->pending->len);
      g_string_truncate (reply->pending, 0);
    }
}

/* The parent of --detach shows the supervisor's stages and waits for it to
 * say READY or why not. */
static int
wait_for_detached (int read_fd, pid_t child, const char *name, QlProgress *progress)
{
  g_autoptr(GString) pending = g_string_new (NULL);
  g_autoptr(GString) failure = g_string_new (NULL);
  DetachedReply reply = { progress, pending, failure, FALSE };
  char buf[1024];
  gssize n;

  while (!reply.ready && (n = read (read_fd, buf, sizeof buf)) > 0)
    {
      g_string_append_len (pending, buf, n);
      take_reply_lines (&reply);
    }
  close (read_fd);

  if (reply.ready)
    {
      g_print ("VM '%s' is running (supervisor pid %d); stop it with 'qlaunch stop %s'\n", name, (int) child, name);
      return 0;
    }
  ql_progress_failed (progress);
  waitpid (child, NULL, 0);
  g_string_append (failure, pending->str);
  g_printerr ("qlaunch: %s\n", failure->len ? g_strchomp (failure->str) : "the supervisor ended without a word");
  return QL_EXIT_START_FAILED;
}

static int
start_detached (QlSupervisorOptions *opts, const char *name, QlProgress *progress)
{
  g_autoptr(GError) error = NULL;
  int pipe_fds[2];
  QlExitStatus code;
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
      return wait_for_detached (pipe_fds[0], pid, name, progress);
    }
  close (pipe_fds[0]);
  setsid ();
  redirect_stdio_to_null ();
  opts->ready_fd = pipe_fds[1];
  ql_stages_set_sink (opts->stages, ql_progress_send, GINT_TO_POINTER (pipe_fds[1]));
  code = ql_supervisor_run (opts, &error);
  if (code == QL_EXIT_START_FAILED && error != NULL)
    {
      if (write (pipe_fds[1], error->message, strlen (error->message)) < 0)
        { /* parent gone: nothing to tell */ }
    }
  _exit (code);
}

int
ql_cmd_start (int argc, char **argv)
{
  gboolean detach = FALSE, no_console = FALSE, quiet = FALSE;
  const GOptionEntry entries[] = {
    { "detach", 'd', 0, G_OPTION_ARG_NONE, &detach, "Run the supervisor in the background once the VM runs", NULL },
    { "no-console", 0, 0, G_OPTION_ARG_NONE, &no_console, "Do not relay the guest's serial console to stdout", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors (and the console, unless --no-console)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME|FILE.ini");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlPrepared) prepared = NULL;
  g_autoptr(QlProgress) progress = NULL;
  g_autoptr(QlStages) stages = NULL;
  QlSupervisorOptions opts = { 0 };
  QlExitStatus code;

  g_option_context_set_summary (context,
                                "Start the VM a profile describes and supervise it until it ends.\n"
                                "On a terminal each stage of the start is shown as it happens, with its time.\n\n"
                                "Exit status: 0 the guest powered off, 1 the VM did not start,\n"
                                "2 QEMU died unexpectedly, 3 the VM was stopped by force.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1))
    return 1;
  ql_log_set_quiet (quiet);
  progress = ql_progress_new (ql_progress_mode_for_stderr (quiet), argv[1]);
  stages = ql_stages_new (ql_progress_show, progress);

  prepared = ql_prepare_staged (argv[1], stages, &error);
  /* root runs what the profile names: only a profile nobody else can change */
  if (prepared != NULL && geteuid () == 0 && !ql_profile_trust_check (prepared->profile->path, &error))
    g_clear_pointer (&prepared, ql_prepared_free);
  if (prepared == NULL)
    {
      ql_progress_failed (progress);
      ql_cmd_print_error (error);
      return QL_EXIT_START_FAILED;
    }
  ql_log_set_vm (prepared->profile->vm.name);
  ql_progress_set_vm_name (progress, prepared->profile->vm.name);
  if (!quiet)
    print_notes (prepared);

  opts.machine = prepared->machine;
  opts.argv = (const char *const *) prepared->argv;
  opts.echo_console = !no_console && !detach;
  opts.ready_fd = -1;
  opts.stages = stages;

  if (detach)
    return start_detached (&opts, prepared->profile->vm.name, progress);

  code = ql_supervisor_run (&opts, &error);
  if (error != NULL)
    {
      ql_progress_failed (progress);
      ql_cmd_print_error (error);
    }
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
