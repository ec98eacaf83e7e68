#include "ql-tap.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TUN_PATH "/dev/net/tun"
#define VHOST_NET_PATH "/dev/vhost-net"

static int
open_queue (const char *ifname, short flags, GError **error)
{
  struct ifreq ifr = { 0 };
  int fd = open (TUN_PATH, O_RDWR | O_CLOEXEC);
  int e;

  if (fd < 0)
    {
      e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "cannot open %s: %s", TUN_PATH, g_strerror (e));
      return -1;
    }
  g_strlcpy (ifr.ifr_name, ifname, IFNAMSIZ);
  ifr.ifr_flags = flags;
  if (ioctl (fd, TUNSETIFF, &ifr) == 0)
    return fd;

  e = errno;
  close (fd);
  switch (e)
    {
    case EPERM:
    case EACCES:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "TUNSETIFF %s: %s", ifname, g_strerror (e));
      break;
    case EBUSY:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "an interface named '%s' exists", ifname);
      break;
    case EINVAL:
      /* an existing device that is not a tap, or a tap with other flags */
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' exists and is not a tap opened with vnet_hdr%s", ifname,
                   flags & IFF_MULTI_QUEUE ? " and multi_queue" : " in single-queue mode");
      break;
    default:
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "TUNSETIFF %s: %s", ifname, g_strerror (e));
      break;
    }
  return -1;
}

static short
tap_flags (guint queues)
{
  return IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (queues > 1 ? IFF_MULTI_QUEUE : 0);
}

gboolean
ql_tap_open (const char *ifname, guint queues, gboolean create, int *fds, GError **error)
{
  short flags = tap_flags (queues);

  g_return_val_if_fail (queues > 0, FALSE);
  if (strlen (ifname) >= IFNAMSIZ)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "'%s' is longer than %d characters", ifname,
                   IFNAMSIZ - 1);
      return FALSE;
    }
  for (guint q = 0; q < queues; q++)
    {
      /* the first queue creates the tap; IFF_TUN_EXCL makes that fail
       * rather than join a tap someone else made in the meantime */
      fds[q] = open_queue (ifname, flags | (create && q == 0 ? IFF_TUN_EXCL : 0), error);
      if (fds[q] < 0)
        {
          while (q-- > 0)
            close (fds[q]);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
ql_tap_create_persistent (const char *ifname, guint queues, uid_t owner, GError **error)
{
  int fd = open_queue (ifname, tap_flags (queues) | IFF_TUN_EXCL, error);

  if (fd < 0)
    return FALSE;
  /* until TUNSETPERSIST the tap lives on this fd, so a failure leaves nothing */
  if (ioctl (fd, TUNSETOWNER, (unsigned long) owner) != 0 || ioctl (fd, TUNSETPERSIST, 1UL) != 0)
    {
      int e = errno;
      close (fd);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "cannot make tap '%s' persistent: %s", ifname,
                   g_strerror (e));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

int
ql_vhost_open (GError **error)
{
  int fd = open (VHOST_NET_PATH, O_RDWR | O_CLOEXEC);

  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "cannot open %s: %s", VHOST_NET_PATH,
                   g_strerror (e));
    }
  return fd;
}
