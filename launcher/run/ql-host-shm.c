#include "ql-host-shm.h"
#include "ql-error.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

gboolean
ql_host_shm_apply (const QlHostStep *step, GError **error)
{
  int fd = open (step->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660);
  int errsv;

  if (fd < 0 && errno == EEXIST)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "%s: '%s' exists already; another VM or a Looking Glass run left it.  Remove it if nothing uses "
                   "it (rm '%s')", step->label, step->path, step->path);
      return FALSE;
    }
  if (fd < 0)
    return ql_error_set_errno (error, errno, "%s: cannot create '%s'", step->label, step->path);
  /* the umask does not narrow what QEMU's user and the client's group share */
  if (fchmod (fd, 0660) != 0 || ftruncate (fd, (off_t) step->added) != 0 ||
      ((step->run_uid >= 0 || step->run_gid >= 0) &&
       fchown (fd, (uid_t) step->run_uid, (gid_t) step->run_gid) != 0))
    {
      errsv = errno;
      close (fd);
      unlink (step->path);
      return ql_error_set_errno (error, errsv, "%s: cannot make '%s' of %" G_GUINT64_FORMAT " bytes for QEMU",
                                 step->label, step->path, step->added);
    }
  close (fd);
  return TRUE;
}

gboolean
ql_host_shm_undo (const QlHostStep *step, char **ret_done, GError **error)
{
  struct stat st;

  if (lstat (step->path, &st) != 0)
    {
      if (errno != ENOENT)
        return ql_error_set_errno (error, errno, "Cannot look at '%s'", step->path);
      *ret_done = g_strdup_printf ("%s is gone already", step->path);
      return TRUE;
    }
  if (!S_ISREG (st.st_mode) || (guint64) st.st_size != step->added ||
      (step->run_uid >= 0 && st.st_uid != (uid_t) step->run_uid) || (step->run_uid < 0 && st.st_uid != geteuid ()))
    {
      *ret_done = g_strdup_printf ("%s left alone: it is no longer the file qlaunch made (another owner, size or "
                                   "type)", step->path);
      return TRUE;
    }
  if (unlink (step->path) != 0 && errno != ENOENT)
    return ql_error_set_errno (error, errno, "Cannot remove '%s'", step->path);
  *ret_done = g_strdup_printf ("%s removed", step->path);
  return TRUE;
}
