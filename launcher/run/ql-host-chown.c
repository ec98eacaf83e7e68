#include "ql-host-chown.h"
#include "ql-error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int
open_path (const char *path)
{
  return open (path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

static gboolean
kind_allowed (mode_t mode)
{
  return S_ISREG (mode) || S_ISDIR (mode) || S_ISCHR (mode);
}

static gboolean
make_empty (const char *path, GError **error)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0 && errno != EEXIST)
    return ql_error_set_errno (error, errno, "Cannot create '%s' for QEMU's user", path);
  if (fd >= 0)
    close (fd);
  return TRUE;
}

gboolean
ql_host_chown_read (QlHostStep *step, GError **error)
{
  struct stat st;
  int fd;

  if (step->create && !make_empty (step->path, error))
    return FALSE;
  fd = open_path (step->path);
  if (fd < 0)
    return ql_error_set_errno (error, errno, "Cannot hand '%s' to QEMU's user", step->path);
  if (fstat (fd, &st) != 0)
    {
      int e = errno;
      close (fd);
      return ql_error_set_errno (error, e, "Cannot read '%s'", step->path);
    }
  close (fd);
  if (!kind_allowed (st.st_mode))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: '%s' is %s; qlaunch hands over only files, directories and "
                   "devices. Fix: name the file itself in the profile", step->label, step->path,
                   S_ISLNK (st.st_mode) ? "a symbolic link" : "not a file");
      return FALSE;
    }
  step->has_before = TRUE;
  step->before_uid = st.st_uid;
  step->before_gid = st.st_gid;
  step->before_mode = st.st_mode & 07777;
  step->before_dev = st.st_dev;
  step->before_ino = st.st_ino;
  return TRUE;
}

/* chmod (2) on an O_PATH descriptor, through its /proc/self/fd link: the
 * inode it holds, whatever the path names now. */
static int
set_owner_mode (int fd, gint64 uid, gint64 gid, guint mode)
{
  char link[64];

  if (fchownat (fd, "", uid < 0 ? (uid_t) -1 : (uid_t) uid, gid < 0 ? (gid_t) -1 : (gid_t) gid, AT_EMPTY_PATH) != 0)
    return -errno;
  g_snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  return chmod (link, mode) == 0 ? 0 : -errno;
}

/* An fd on step->path when it is still the inode read; -1 with *ret_gone
 * when it is not there. */
static int
open_same (const QlHostStep *step, gboolean *ret_gone, GError **error)
{
  struct stat st;
  int fd = open_path (step->path);

  *ret_gone = FALSE;
  if (fd < 0 && errno == ENOENT)
    {
      *ret_gone = TRUE;
      return -1;
    }
  if (fd < 0)
    {
      ql_error_set_errno (error, errno, "Cannot open '%s'", step->path);
      return -1;
    }
  if (fstat (fd, &st) != 0 || S_ISLNK (st.st_mode) || !kind_allowed (st.st_mode) ||
      (guint64) st.st_dev != step->before_dev || (guint64) st.st_ino != step->before_ino)
    {
      close (fd);
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "'%s' is no longer the %s qlaunch handed to QEMU's user (inode "
                   "%" G_GUINT64_FORMAT "); left alone. Check it, and give it back by hand (owner %u, group %u, mode "
                   "%04o)", step->path, "file", step->before_ino, step->before_uid, step->before_gid,
                   step->before_mode);
      return -1;
    }
  return fd;
}

gboolean
ql_host_chown_apply (const QlHostStep *step, GError **error)
{
  gboolean gone;
  int fd = open_same (step, &gone, error);
  int r;

  if (fd < 0)
    {
      if (gone)
        ql_error_set_errno (error, ENOENT, "Cannot hand '%s' to QEMU's user", step->path);
      return FALSE;
    }
  r = set_owner_mode (fd, step->run_uid, step->run_gid, step->before_mode | step->run_mode_add);
  close (fd);
  if (r < 0)
    return ql_error_set_errno (error, -r, "Cannot hand '%s' to QEMU's user", step->path);
  return TRUE;
}

gboolean
ql_host_chown_undo (const QlHostStep *step, char **ret_done, GError **error)
{
  gboolean gone;
  int fd = open_same (step, &gone, error);
  int r;

  if (fd < 0 && gone)
    {
      *ret_done = g_strdup_printf ("%s is gone: nothing to give back", step->path);
      return TRUE;
    }
  if (fd < 0)
    return FALSE;
  r = set_owner_mode (fd, step->before_uid, step->before_gid, step->before_mode);
  close (fd);
  if (r < 0)
    return ql_error_set_errno (error, -r, "Cannot give '%s' back to %u:%u", step->path, step->before_uid,
                               step->before_gid);
  *ret_done = g_strdup_printf ("%s is back to owner %u, group %u, mode %04o", step->path, step->before_uid,
                               step->before_gid, step->before_mode);
  return TRUE;
}
