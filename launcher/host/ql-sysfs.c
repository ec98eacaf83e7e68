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

/* In the child only async-signal-safe calls: the parent has threads. */
static G_NORETURN void
child_write (const char *path, const char *value, gsize len, int report_fd)
{
  int fd = open (path, O_WRONLY | O_TRUNC | O_CLOEXEC);   /* as a shell redirect does */
  int err = 0;

  if (fd < 0)
    err = errno;
  else
    {
      if (write (fd, value, len) != (ssize_t) len)
        err = errno ? errno : EIO;
      if (close (fd) != 0 && err == 0)
        err = errno;
    }
  if (write (report_fd, &err, sizeof err) < 0)
    _exit (2);
  _exit (0);
}

gboolean
ql_sysfs_write (const char *path, const char *value, guint timeout_ms, GError **error)
{
  g_autofree char *shown = g_strstrip (g_strdup (value));
  int report[2];
  pid_t pid;
  int pidfd, err = -1, status;
  struct pollfd pfd;
  int ready;

  if (pipe2 (report, O_CLOEXEC) != 0)
    {
      return ql_error_set_errno (error, errno, "Cannot write '%s': pipe", path);
    }
  pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (report[0]);
      close (report[1]);
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot write '%s': fork: %s", path, g_strerror (e));
      return FALSE;
    }
  if (pid == 0)
    child_write (path, value, strlen (value), report[1]);
  close (report[1]);

  pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  pfd.fd = pidfd >= 0 ? pidfd : report[0];
  pfd.events = POLLIN;
  do
    ready = poll (&pfd, 1, (int) timeout_ms);
  while (ready < 0 && errno == EINTR);

  if (ready == 0)
    {
      kill (pid, SIGKILL);
      /* a child stuck in the kernel cannot be reaped now; never wait for it */
      for (int i = 0; i < 10 && waitpid (pid, &status, WNOHANG) == 0; i++)
        g_usleep (10000);
      if (pidfd >= 0)
        close (pidfd);
      close (report[0]);
      g_set_error (error, QL_ERROR, QL_ERROR_TIMEOUT,
                   "Writing '%s' to '%s' did not finish within %u ms (the kernel is blocked on the device; "
                   "a process may still use it)", shown, path, timeout_ms);
      return FALSE;
    }
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (pidfd >= 0)
    close (pidfd);
  if (read (report[0], &err, sizeof err) != sizeof err)
    err = EIO;
  close (report[0]);
  if (err != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot write '%s' to '%s': %s", shown, path, g_strerror (err));
      return FALSE;
    }
  return TRUE;
}
