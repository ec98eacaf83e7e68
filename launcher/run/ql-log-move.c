#include "ql-log-move.h"
#include "ql-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* GIO's g_file_move would do, but a GFile loads GIO's modules (dconf, gvfs):
 * milliseconds on every stop, for two small files. */

static gboolean
write_all (int fd, const char *data, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (size_t) n;
    }
  return TRUE;
}

/* read and write, which the supervisor's seccomp filter allows (not sendfile) */
static gboolean
copy_contents (int from_fd, int to_fd, const char *to, GError **error)
{
  char buffer[65536];

  for (;;)
    {
      ssize_t n = read (from_fd, buffer, sizeof buffer);

      if (n == 0)
        return TRUE;
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || !write_all (to_fd, buffer, (size_t) n))
        return ql_error_set_errno (error, errno, "Cannot copy the log to '%s'", to);
    }
}

static void
keep_owner_and_times (int to_fd, const struct stat *st)
{
  const struct timespec times[2] = { st->st_atim, st->st_mtim };

  /* as another user than root the file is ours anyway */
  if (fchownat (to_fd, "", st->st_uid, st->st_gid, AT_EMPTY_PATH) != 0 && errno != EPERM)
    g_debug ("cannot give the moved log its owner back: %s", g_strerror (errno));
  futimens (to_fd, times);
}

static gboolean
copy_across (const char *from, const char *to, GError **error)
{
  int from_fd = open (from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  int to_fd = -1;
  struct stat st;
  gboolean ok = FALSE;

  if (from_fd < 0)
    return ql_error_set_errno (error, errno, "Cannot open '%s'", from);
  if (fstat (from_fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "'%s' is not a regular file", from);
      goto out;
    }
  to_fd = open (to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
  if (to_fd < 0)
    {
      ql_error_set_errno (error, errno, "Cannot create '%s'", to);
      goto out;
    }
  ok = copy_contents (from_fd, to_fd, to, error);
  if (ok)
    keep_owner_and_times (to_fd, &st);
  else
    g_unlink (to);
out:
  if (to_fd >= 0)
    close (to_fd);
  close (from_fd);
  return ok;
}

gboolean
ql_log_move (const char *from, const char *to, GError **error)
{
  if (g_unlink (to) != 0 && errno != ENOENT)
    return ql_error_set_errno (error, errno, "Cannot remove the previous '%s'", to);
  if (rename (from, to) == 0)
    return TRUE;
  if (errno != EXDEV)
    return ql_error_set_errno (error, errno, "Cannot move '%s' to '%s'", from, to);
  if (!copy_across (from, to, error))
    return FALSE;
  if (g_unlink (from) != 0)
    return ql_error_set_errno (error, errno, "Cannot remove '%s'", from);
  return TRUE;
}
