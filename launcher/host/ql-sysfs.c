#include "ql-sysfs.h"
#include "ql-error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

guint
ql_sysfs_timeout_ms (void)
{
  const char *env = g_getenv ("QLAUNCH_SYSFS_TIMEOUT_MS");
  guint64 v;

  if (env != NULL && g_ascii_string_to_unsigned (env, 10, 1, 600000, &v, NULL))
    return (guint) v;
  return 10000;
}

char *
ql_sysfs_read (const char *path)
{
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return g_strstrip (text);
}

typedef struct {
  const char *path;
  const char *value;
  gsize len;
} WriteOp;

/* In the child only async-signal-safe calls: the parent has threads. */
static int
write_op (gconstpointer data)
{
  const WriteOp *op = data;
  int fd = open (op->path, O_WRONLY | O_TRUNC | O_CLOEXEC);   /* as a shell redirect does */
  int err = 0;

  if (fd < 0)
    return errno;
  if (write (fd, op->value, op->len) != (ssize_t) op->len)
    err = errno ? errno : EIO;
  if (close (fd) != 0 && err == 0)
    err = errno;
  return err;
}

static G_NORETURN void
child_run (int (*op) (gconstpointer data), gconstpointer data, int report_fd)
{
  int err = op (data);

  if (write (report_fd, &err, sizeof err) < 0)
    _exit (2);
  _exit (0);
}

/* A child stuck in the kernel cannot be reaped now; never wait for it. */
static void
kill_child (pid_t pid)
{
  int status;

  kill (pid, SIGKILL);
  for (int i = 0; i < 10 && waitpid (pid, &status, WNOHANG) == 0; i++)
    g_usleep (10000);
}

int
ql_sysfs_run_timed (int (*op) (gconstpointer data), gconstpointer data, guint timeout_ms)
{
  int report[2], pidfd, err = -1, status, ready;
  struct pollfd pfd;
  pid_t pid;

  if (pipe2 (report, O_CLOEXEC) != 0)
    return -errno;
  pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (report[0]);
      close (report[1]);
      return -e;
    }
  if (pid == 0)
    child_run (op, data, report[1]);
  close (report[1]);

  pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  pfd.fd = pidfd >= 0 ? pidfd : report[0];
  pfd.events = POLLIN;
  do
    ready = poll (&pfd, 1, (int) timeout_ms);
  while (ready < 0 && errno == EINTR);
  if (ready == 0)
    kill_child (pid);
  else
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
      ;
  if (pidfd >= 0)
    close (pidfd);
  if (ready != 0 && read (report[0], &err, sizeof err) != sizeof err)
    err = EIO;
  close (report[0]);
  return ready == 0 ? -ETIMEDOUT : err;
}

gboolean
ql_sysfs_write (const char *path, const char *value, guint timeout_ms, GError **error)
{
  g_autofree char *shown = g_strstrip (g_strdup (value));
  WriteOp op = { path, value, strlen (value) };
  int err = ql_sysfs_run_timed (write_op, &op, timeout_ms);

  if (err == -ETIMEDOUT)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_TIMEOUT,
                   "Writing '%s' to '%s' did not finish within %u ms (the kernel is blocked on the device; "
                   "a process may still use it)", shown, path, timeout_ms);
      return FALSE;
    }
  if (err != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot write '%s' to '%s': %s%s", shown, path,
                   err < 0 ? "fork: " : "", g_strerror (ABS (err)));
      return FALSE;
    }
  return TRUE;
}
