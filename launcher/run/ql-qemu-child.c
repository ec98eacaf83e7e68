#include "ql-qemu-child.h"
#include "ql-error.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define REAP_RETRY_MS 10

struct QlQemuChild {
  GPid pid;
  int pidfd;
  GInputStream *output;
  guint watch;
  gboolean exited;
  int wait_status;
  QlQemuChildExited exited_cb;
  gpointer exited_data;
};

static gboolean
spawn (QlQemuChild *child, const char *const *argv, GArray *passed_fds, GSpawnChildSetupFunc child_setup,
       int output_fd, GError **error)
{
  g_autofree int *sources = g_new (int, passed_fds->len + 1);
  g_autofree int *targets = g_new (int, passed_fds->len + 1);

  for (guint i = 0; i < passed_fds->len; i++)
    {
      sources[i] = g_array_index (passed_fds, QlPassedFd, i).fd;
      targets[i] = g_array_index (passed_fds, QlPassedFd, i).target;
    }
  return g_spawn_async_with_pipes_and_fds (NULL, argv, NULL,
                                           G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                             G_SPAWN_STDIN_FROM_DEV_NULL,
                                           child_setup, NULL, -1, output_fd, output_fd, sources, targets,
                                           passed_fds->len, &child->pid, NULL, NULL, NULL, error);
}

QlQemuChild *
ql_qemu_child_spawn (const char *const *argv, GArray *passed_fds, GSpawnChildSetupFunc child_setup, GError **error)
{
  g_autoptr(QlQemuChild) child = g_new0 (QlQemuChild, 1);
  int output[2];
  gboolean spawned;

  child->pidfd = -1;
  /* an ignored SIGCHLD, inherited from whoever started qlaunch, would have
   * the kernel reap QEMU itself: its status lost, its PID free for reuse
   * while the stop ladder may still signal it */
  signal (SIGCHLD, SIG_DFL);
  if (!g_unix_open_pipe (output, FD_CLOEXEC, error))
    {
      ql_net_host_close_fds (passed_fds);
      return NULL;
    }
  spawned = spawn (child, argv, passed_fds, child_setup, output[1], error);
  close (output[1]);
  ql_net_host_close_fds (passed_fds);
  if (!spawned)
    {
      close (output[0]);
      return NULL;
    }
  child->output = g_unix_input_stream_new (output[0], TRUE);
  child->pidfd = (int) syscall (SYS_pidfd_open, child->pid, 0);
  if (child->pidfd < 0)
    {
      int saved_errno = errno;

      /* without its pidfd nothing would say when QEMU ended */
      kill (child->pid, SIGKILL);
      while (waitpid (child->pid, NULL, 0) < 0 && errno == EINTR)
        ;
      ql_error_set_errno (error, saved_errno, "pidfd_open of QEMU (pid %d)", (int) child->pid);
      return NULL;
    }
  return g_steal_pointer (&child);
}

GPid
ql_qemu_child_pid (const QlQemuChild *child)
{
  return child->pid;
}

GInputStream *
ql_qemu_child_output (QlQemuChild *child)
{
  return child->output;
}

static void
close_pidfd (QlQemuChild *child)
{
  if (child->pidfd >= 0)
    close (child->pidfd);
  child->pidfd = -1;
}

static void
reaped (QlQemuChild *child, int wait_status)
{
  child->watch = 0;
  child->exited = TRUE;
  child->wait_status = wait_status;
  close_pidfd (child);
  if (child->exited_cb != NULL)
    child->exited_cb (child, child->exited_data);
}

/* TRUE once QEMU is reaped and the callback ran */
static gboolean
reap (QlQemuChild *child)
{
  int status = 0;
  pid_t r;

  do
    r = waitpid (child->pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return FALSE;
  if (r < 0)
    g_warning ("cannot reap QEMU (pid %d): %s", (int) child->pid, g_strerror (errno));
  reaped (child, status);
  return TRUE;
}

static gboolean
reap_timer (gpointer user_data)
{
  QlQemuChild *child = user_data;

  if (!reap (child))
    return G_SOURCE_CONTINUE;
  return G_SOURCE_REMOVE;
}

/* A pidfd polls readable once its process has ended; a QEMU that a debugger
 * traces may not be reapable yet, and its pidfd would stay readable: the
 * next tries go by a timer, not by a busy poll. */
static gboolean
pidfd_readable (int fd, GIOCondition condition, gpointer user_data)
{
  QlQemuChild *child = user_data;

  child->watch = 0;
  if (!reap (child))
    child->watch = g_timeout_add (REAP_RETRY_MS, reap_timer, child);
  return G_SOURCE_REMOVE;
}

void
ql_qemu_child_watch (QlQemuChild *child, QlQemuChildExited exited, gpointer user_data)
{
  g_return_if_fail (child->watch == 0 && !child->exited);
  child->exited_cb = exited;
  child->exited_data = user_data;
  child->watch = g_unix_fd_add (child->pidfd, G_IO_IN, pidfd_readable, child);
}

void
ql_qemu_child_signal (QlQemuChild *child, int sig)
{
  if (!child->exited && kill (child->pid, sig) != 0 && errno != ESRCH)
    g_warning ("cannot send signal %d to QEMU (pid %d): %s", sig, (int) child->pid, g_strerror (errno));
}

gboolean
ql_qemu_child_has_exited (const QlQemuChild *child)
{
  return child->exited;
}

int
ql_qemu_child_wait_status (const QlQemuChild *child)
{
  return child->wait_status;
}

void
ql_qemu_child_free (QlQemuChild *child)
{
  if (child == NULL)
    return;
  g_clear_handle_id (&child->watch, g_source_remove);
  close_pidfd (child);
  g_clear_object (&child->output);
  g_free (child);
}
