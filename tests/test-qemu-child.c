/* The supervisor's process plumbing, with real processes: QEMU's spawn
 * (its fds, its merged output, its end seen through a pidfd and reaped) and
 * the stop signals taken through an eventfd.  Coreutils programs stand in
 * for QEMU. */
#include "ql-qemu-child.h"
#include "ql-stop-signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  gboolean exited;
  int status;
} Ended;

static void
on_exited (QlQemuChild *child, gpointer user_data)
{
  Ended *ended = user_data;

  ended->exited = TRUE;
  ended->status = ql_qemu_child_wait_status (child);
}

static void
wait_ended (QlQemuChild *child, Ended *ended)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  ql_qemu_child_watch (child, on_exited, ended);
  while (!ended->exited)
    {
      g_main_context_iteration (NULL, FALSE);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  g_assert_true (ql_qemu_child_has_exited (child));
}

static char *
read_all (GInputStream *stream)
{
  GString *text = g_string_new (NULL);
  char buf[256];
  gssize n;

  while ((n = g_input_stream_read (stream, buf, sizeof buf, NULL, NULL)) > 0)
    g_string_append_len (text, buf, n);
  return g_string_free (text, FALSE);
}

/* Whether anyone still holds the pipe's write end: fd numbers are reused at
 * once, so the read end is asked, not the number. */
static gboolean
pipe_has_writer (int read_fd)
{
  char c;

  g_assert_cmpint (fcntl (read_fd, F_SETFL, O_NONBLOCK), ==, 0);
  return read (read_fd, &c, 1) != 0;
}

/* fd 5 in the child is the pipe handed over, whatever number it had here;
 * the supervisor's copy is closed once the child has it. */
static void
test_passed_fd (void)
{
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (QlPassedFd));
  g_autoptr(QlQemuChild) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *expected = NULL;
  const char *argv[] = { "readlink", "/proc/self/fd/5", NULL };
  Ended ended = { 0 };
  int pipe_fds[2];
  struct stat st;
  QlPassedFd passed;

  g_assert_cmpint (pipe2 (pipe_fds, O_CLOEXEC), ==, 0);
  g_assert_cmpint (fstat (pipe_fds[1], &st), ==, 0);
  expected = g_strdup_printf ("pipe:[%lu]\n", (unsigned long) st.st_ino);
  passed = (QlPassedFd) { pipe_fds[1], 5 };
  g_array_append_val (fds, passed);
  child = ql_qemu_child_spawn (argv, fds, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fds->len, ==, 0);
  g_assert_cmpint (ql_qemu_child_pid (child), >, 0);
  out = read_all (ql_qemu_child_output (child));
  g_assert_cmpstr (out, ==, expected);
  wait_ended (child, &ended);
  g_assert_true (WIFEXITED (ended.status));
  g_assert_cmpint (WEXITSTATUS (ended.status), ==, 0);
  /* the child is gone: had the supervisor kept its copy, a tap would stay */
  g_assert_false (pipe_has_writer (pipe_fds[0]));
  close (pipe_fds[0]);
}

/* stderr comes through the same pipe as stdout, and the exit status back */
static void
test_stderr_and_status (void)
{
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (QlPassedFd));
  g_autoptr(QlQemuChild) child = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  const char *argv[] = { "ls", "/nonexistent-ql-test", NULL };
  Ended ended = { 0 };

  child = ql_qemu_child_spawn (argv, fds, NULL, &error);
  g_assert_no_error (error);
  out = read_all (ql_qemu_child_output (child));
  g_assert_nonnull (strstr (out, "nonexistent-ql-test"));
  wait_ended (child, &ended);
  g_assert_true (WIFEXITED (ended.status));
  g_assert_cmpint (WEXITSTATUS (ended.status), ==, 2);
}

/* the stop ladder's last rung: the status says which signal ended it, and
 * after the reap a signal goes nowhere (its PID may be another process's) */
static void
test_signal_and_reap (void)
{
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (QlPassedFd));
  g_autoptr(QlQemuChild) child = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "sleep", "30", NULL };
  Ended ended = { 0 };
  GPid pid;

  child = ql_qemu_child_spawn (argv, fds, NULL, &error);
  g_assert_no_error (error);
  pid = ql_qemu_child_pid (child);
  ql_qemu_child_signal (child, SIGKILL);
  wait_ended (child, &ended);
  g_assert_true (WIFSIGNALED (ended.status));
  g_assert_cmpint (WTERMSIG (ended.status), ==, SIGKILL);
  /* reaped: no zombie is left */
  g_assert_cmpint (waitpid (pid, NULL, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);
  ql_qemu_child_signal (child, SIGKILL);
}

/* started by a parent that ignores SIGCHLD (it is inherited across exec):
 * the kernel must not reap QEMU behind the supervisor's back */
static void
test_sigchld_ignored (void)
{
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (QlPassedFd));
  g_autoptr(QlQemuChild) child = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "false", NULL };
  Ended ended = { 0 };

  signal (SIGCHLD, SIG_IGN);
  child = ql_qemu_child_spawn (argv, fds, NULL, &error);
  g_assert_no_error (error);
  wait_ended (child, &ended);
  g_assert_true (WIFEXITED (ended.status));
  g_assert_cmpint (WEXITSTATUS (ended.status), ==, 1);
  signal (SIGCHLD, SIG_DFL);
}

static void
test_spawn_fails (void)
{
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (QlPassedFd));
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "/nonexistent/qemu-system-x86_64", NULL };
  int pipe_fds[2];
  QlPassedFd passed;

  g_assert_cmpint (pipe2 (pipe_fds, O_CLOEXEC), ==, 0);
  passed = (QlPassedFd) { pipe_fds[1], 5 };
  g_array_append_val (fds, passed);
  g_assert_null (ql_qemu_child_spawn (argv, fds, NULL, &error));
  g_assert_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT);
  /* the tap the fd stood for must not stay open in the supervisor */
  g_assert_false (pipe_has_writer (pipe_fds[0]));
  close (pipe_fds[0]);
}

static gboolean
count_stop (gpointer user_data)
{
  (*(guint *) user_data)++;
  return G_SOURCE_CONTINUE;
}

static void
spin_until (const guint *count, guint at_least)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (*count < at_least)
    {
      g_main_context_iteration (NULL, FALSE);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
handler_is_default (int signo)
{
  struct sigaction action;

  g_assert_cmpint (sigaction (signo, NULL, &action), ==, 0);
  return action.sa_handler == SIG_DFL;
}

/* SIGTERM, SIGINT and SIGHUP reach the main loop as one callback each when
 * they come apart; the default actions are back once the watch is freed */
static void
test_stop_signals (void)
{
  g_autoptr(GError) error = NULL;
  QlStopSignals *signals;
  guint count = 0;

  signals = ql_stop_signals_watch (count_stop, &count, &error);
  g_assert_no_error (error);
  g_assert_false (handler_is_default (SIGTERM));
  kill (getpid (), SIGTERM);
  spin_until (&count, 1);
  g_assert_cmpuint (count, ==, 1);
  kill (getpid (), SIGINT);
  spin_until (&count, 2);
  kill (getpid (), SIGHUP);
  spin_until (&count, 3);
  g_assert_cmpuint (count, ==, 3);
  ql_stop_signals_free (signals);
  g_assert_true (handler_is_default (SIGTERM));
  g_assert_true (handler_is_default (SIGINT));
  g_assert_true (handler_is_default (SIGHUP));
}

/* between fork and exec a signal must not reach the parent's main loop */
static void
test_stop_signals_child (void)
{
  g_autoptr(GError) error = NULL;
  QlStopSignals *signals = ql_stop_signals_watch (count_stop, NULL, &error);
  int status;
  pid_t pid;

  g_assert_no_error (error);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      ql_stop_signals_reset_in_child ();
      _exit (handler_is_default (SIGTERM) && handler_is_default (SIGINT) && handler_is_default (SIGHUP) ? 0 : 1);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  ql_stop_signals_free (signals);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qemu-child/passed-fd", test_passed_fd);
  g_test_add_func ("/qemu-child/stderr-and-status", test_stderr_and_status);
  g_test_add_func ("/qemu-child/signal-and-reap", test_signal_and_reap);
  g_test_add_func ("/qemu-child/sigchld-ignored", test_sigchld_ignored);
  g_test_add_func ("/qemu-child/spawn-fails", test_spawn_fails);
  g_test_add_func ("/stop-signals/each", test_stop_signals);
  g_test_add_func ("/stop-signals/child", test_stop_signals_child);
  return g_test_run ();
}
