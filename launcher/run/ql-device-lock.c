#include "ql-device-lock.h"
#include "ql-error.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

int
ql_device_lock_take (const char *path, const char *label, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  int errsv;

  if (fd < 0)
    {
      ql_error_set_errno (error, errno, "%s: cannot open '%s'", label, path);
      return -1;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) == 0)
    return fd;
  errsv = errno;
  close (fd);
  if (errsv == EWOULDBLOCK)
    g_set_error (error, QL_ERROR, QL_ERROR_BUSY, "%s: '%s' is in use by another VM, and whoever maps it shares "
                 "its memory (the frames one guest shows, another would see); stop that VM first", label, path);
  else
    ql_error_set_errno (error, errsv, "%s: cannot lock '%s'", label, path);
  return -1;
}
