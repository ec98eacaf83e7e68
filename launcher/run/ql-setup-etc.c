/* host-setup's files under the /etc root (ql_paths_etc ()): read, written
 * and removed through the parent directory's fd, never through a link. */
#include "ql-setup-etc.h"
#include "ql-error.h"
#include "ql-paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SETUP_FILE_MAX (64 << 10)   /* more than any file host-setup writes */

char *
ql_setup_etc_path (const char *rel)
{
  return g_build_filename (ql_paths_etc (), rel, NULL);
}

/* The directory a file goes in (*ret_fd), made (0755) when create and
 * missing; else *ret_fd is -1 when it is missing. */
static gboolean
open_parent (const char *rel, gboolean create, int *ret_fd, GError **error)
{
  g_autofree char *path = ql_setup_etc_path (rel);
  g_autofree char *dir = g_path_get_dirname (path);

  *ret_fd = -1;
  if (create && g_mkdir_with_parents (dir, 0755) != 0)
    return ql_error_set_errno (error, errno, "Cannot make '%s'", dir);
  *ret_fd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (*ret_fd < 0 && (create || errno != ENOENT))
    return ql_error_set_errno (error, errno, "Cannot open '%s'", dir);
  return TRUE;
}

/* *ret_text NULL: no such file.  A link, or anything but a regular file, is
 * an error: it is not host-setup's. */
gboolean
ql_setup_etc_read (const char *rel, char **ret_text, GError **error)
{
  g_autofree char *path = ql_setup_etc_path (rel);
  g_autofree char *name = g_path_get_basename (rel);
  g_autofree char *text = NULL;
  int dir, fd;
  struct stat st;
  gssize n = 0;

  *ret_text = NULL;
  if (!open_parent (rel, FALSE, &dir, error))
    return FALSE;
  if (dir < 0)
    return TRUE;
  fd = openat (dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  close (dir);
  if (fd < 0)
    return errno == ENOENT ? TRUE : ql_error_set_errno (error, errno, "Cannot open '%s'", path);
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > SETUP_FILE_MAX)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "'%s' is not a file host-setup wrote (not a regular file, or "
                   "too large)", path);
      close (fd);
      return FALSE;
    }
  text = g_malloc0 (st.st_size + 1);
  while (n < st.st_size)
    {
      gssize got = read (fd, text + n, st.st_size - n);
      if (got <= 0)
        break;
      n += got;
    }
  close (fd);
  *ret_text = g_steal_pointer (&text);
  return TRUE;
}

static gboolean
write_all (int fd, const char *text)
{
  gsize left = strlen (text);

  while (left > 0)
    {
      gssize n = write (fd, text, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      text += n;
      left -= n;
    }
  return fsync (fd) == 0;
}

/* Whole or not at all: a temporary file beside it (a name modprobe, udev,
 * sysctl and pam_limits all skip), renamed over it. */
gboolean
ql_setup_etc_write (const char *rel, const char *text, GError **error)
{
  g_autofree char *path = ql_setup_etc_path (rel);
  g_autofree char *name = g_path_get_basename (rel);
  g_autofree char *tmp = g_strdup_printf (".%s.qlaunch-tmp", name);
  int dir, fd;
  gboolean ok;

  if (!open_parent (rel, TRUE, &dir, error))
    return FALSE;
  unlinkat (dir, tmp, 0);
  fd = openat (dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  ok = fd >= 0 && fchmod (fd, 0644) == 0 && write_all (fd, text);
  if (fd >= 0)
    close (fd);
  ok = ok && renameat (dir, tmp, dir, name) == 0;
  if (!ok)
    {
      ql_error_set_errno (error, errno, "Cannot write '%s'", path);
      unlinkat (dir, tmp, 0);
    }
  close (dir);
  return ok;
}

gboolean
ql_setup_etc_remove (const char *rel, GError **error)
{
  g_autofree char *path = ql_setup_etc_path (rel);
  g_autofree char *name = g_path_get_basename (rel);
  int dir;
  gboolean ok;

  if (!open_parent (rel, FALSE, &dir, error))
    return FALSE;
  if (dir < 0)
    return TRUE;
  ok = unlinkat (dir, name, 0) == 0 || errno == ENOENT;
  if (!ok)
    ql_error_set_errno (error, errno, "Cannot remove '%s'", path);
  close (dir);
  return ok;
}
