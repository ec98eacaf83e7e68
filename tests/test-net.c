/* net/ for real: bridges, taps and their queues, persistent taps and who may
 * open them, in a network namespace of this test's own (nothing on the
 * host's network changes).  SKIPs without root or /dev/net/tun. */
#include "ql-link.h"
#include "ql-tap.h"

#include <gio/gio.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534

static char *skip_reason;

static gboolean
skip_if_unavailable (void)
{
  if (skip_reason != NULL)
    g_test_skip (skip_reason);
  return skip_reason != NULL;
}

static QlNetlink *
netlink (void)
{
  g_autoptr(GError) error = NULL;
  QlNetlink *nl = ql_netlink_open (&error);

  g_assert_no_error (error);
  return nl;
}

static gboolean
link_exists (QlNetlink *nl, const char *name)
{
  g_autoptr(GError) error = NULL;
  QlLinkInfo info;
  gboolean found = ql_link_get (nl, name, &info, &error);

  if (!found)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  return found;
}

static void
close_all (int *fds, guint n)
{
  for (guint i = 0; i < n; i++)
    close (fds[i]);
}

/* /dev/net/tun as a udev rule would leave it for users (0666), in this
 * process's own mount namespace only: Debian's container hosts have 0600 */
static gboolean
open_up_tun (void)
{
  if (unshare (CLONE_NEWNS) != 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
      mount ("tmpfs", "/dev/net", "tmpfs", 0, "mode=0755") != 0)
    return FALSE;
  umask (0);
  return mknod ("/dev/net/tun", S_IFCHR | 0666, makedev (10, 200)) == 0;
}

#define AS_USER_OK -1
#define AS_USER_NO_TUN -2

/* Runs fn in a child under uid (with a 0666 /dev/net/tun when open_tun);
 * returns the GIOError code it got, AS_USER_OK, or AS_USER_NO_TUN. */
static int
as_user (uid_t uid, gboolean open_tun, gboolean (*fn) (GError **error))
{
  pid_t pid = fork ();
  int status;

  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      GError *error = NULL;
      if (open_tun && !open_up_tun ())
        _exit (202);
      if (setgroups (0, NULL) != 0 || setgid (uid) != 0 || setuid (uid) != 0)
        _exit (200);
      if (fn (&error))
        _exit (100);
      _exit (error->domain == G_IO_ERROR ? error->code : 201);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  if (WEXITSTATUS (status) == 202)
    return AS_USER_NO_TUN;
  g_assert_cmpint (WEXITSTATUS (status), <, 200);
  return WEXITSTATUS (status) == 100 ? AS_USER_OK : WEXITSTATUS (status);
}

/* ---- tests ---- */

static void
test_bridge (void)
{
  g_autoptr(QlNetlink) nl = NULL;
  g_autoptr(GError) error = NULL;
  QlLinkInfo br, again;
  QlLinkChange up = { .up = TRUE, .mtu = 1400 };

  if (skip_if_unavailable ())
    return;
  nl = netlink ();
  g_assert_true (ql_link_add_bridge (nl, "qltbr0", &error));
  g_assert_no_error (error);
  g_assert_true (ql_link_get (nl, "qltbr0", &br, &error));
  g_assert_cmpstr (br.kind, ==, "bridge");
  g_assert_cmpstr (br.name, ==, "qltbr0");
  g_assert_cmpint (br.ifindex, >, 0);
  g_assert_cmpint (br.master, ==, 0);
  g_assert_false (br.flags & 1 /* IFF_UP */);
  g_assert_cmpint (ql_link_count_ports (nl, br.ifindex, &error), ==, 0);

  g_assert_true (ql_link_change (nl, br.ifindex, &up, &error));
  g_assert_no_error (error);
  g_assert_true (ql_link_get (nl, "qltbr0", &again, &error));
  g_assert_true (again.flags & 1);
  g_assert_cmpuint (again.mtu, ==, 1400);

  /* a second bridge of that name is refused */
  g_assert_false (ql_link_add_bridge (nl, "qltbr0", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);

  g_assert_true (ql_link_delete (nl, br.ifindex, &error));
  g_assert_false (link_exists (nl, "qltbr0"));
  g_assert_false (ql_link_delete (nl, br.ifindex, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

/* Three queues, configured as a port of a bridge; the tap goes with its last fd. */
static void
test_tap_queues (void)
{
  g_autoptr(QlNetlink) nl = NULL;
  g_autoptr(GError) error = NULL;
  static const guint8 mac[6] = { 0xfe, 0x00, 0x00, 0x12, 0x34, 0x56 };
  QlLinkInfo br, tap;
  int fds[3];

  if (skip_if_unavailable ())
    return;
  nl = netlink ();
  g_assert_true (ql_link_add_bridge (nl, "qltbr1", &error));
  g_assert_true (ql_link_get (nl, "qltbr1", &br, &error));

  g_assert_true (ql_tap_open ("qlttap0", 3, TRUE, fds, &error));
  g_assert_no_error (error);
  g_assert_true (ql_link_get (nl, "qlttap0", &tap, &error));
  g_assert_cmpstr (tap.kind, ==, "tun");
  g_assert_false (tap.tun_persist);
  g_assert_cmpuint (tap.tun_queues, ==, 3);
  {
    QlLinkChange change = { .master = br.ifindex, .mtu = 1280, .mac = mac, .up = TRUE };
    g_assert_true (ql_link_change (nl, tap.ifindex, &change, &error));
    g_assert_no_error (error);
  }
  g_assert_true (ql_link_get (nl, "qlttap0", &tap, &error));
  g_assert_cmpint (tap.master, ==, br.ifindex);
  g_assert_cmpuint (tap.mtu, ==, 1280);
  g_assert_cmpmem (tap.mac, 6, mac, 6);
  g_assert_true (tap.flags & 1);
  g_assert_cmpint (ql_link_count_ports (nl, br.ifindex, &error), ==, 1);

  close (fds[0]);
  g_assert_true (ql_link_get (nl, "qlttap0", &tap, &error));
  g_assert_cmpuint (tap.tun_queues, ==, 2);
  close_all (fds + 1, 2);
  g_assert_false (link_exists (nl, "qlttap0"));
  g_assert_cmpint (ql_link_count_ports (nl, br.ifindex, &error), ==, 0);
  g_assert_true (ql_link_delete (nl, br.ifindex, &error));
}

/* A name in use is never joined: not a bridge's, not another tap's. */
static void
test_tap_name_taken (void)
{
  g_autoptr(QlNetlink) nl = NULL;
  g_autoptr(GError) error = NULL;
  QlLinkInfo br;
  int fds[2], other[2];

  if (skip_if_unavailable ())
    return;
  nl = netlink ();
  g_assert_true (ql_link_add_bridge (nl, "qltbr2", &error));
  g_assert_false (ql_tap_open ("qltbr2", 1, TRUE, fds, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  /* without create, a bridge is not a tap either */
  g_assert_false (ql_tap_open ("qltbr2", 1, FALSE, fds, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (ql_tap_open ("qlttap1", 2, TRUE, other, &error));
  g_assert_false (ql_tap_open ("qlttap1", 2, TRUE, fds, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  close_all (other, 2);

  g_assert_true (ql_link_get (nl, "qltbr2", &br, &error));
  g_assert_true (ql_link_delete (nl, br.ifindex, &error));
}

static gboolean
create_tap (GError **error)
{
  int fd;
  gboolean ok = ql_tap_open ("qlttap2", 1, TRUE, &fd, error);

  if (ok)
    close (fd);
  return ok;
}

static gboolean
attach_persistent (GError **error)
{
  int fds[2];
  gboolean ok = ql_tap_open ("qltpers", 2, FALSE, fds, error);

  if (ok)
    close_all (fds, 2);
  return ok;
}

static void
test_tap_permission (void)
{
  if (skip_if_unavailable ())
    return;
  /* /dev/net/tun closed to users, or open but no CAP_NET_ADMIN to create */
  g_assert_cmpint (as_user (NOBODY, FALSE, create_tap), ==, G_IO_ERROR_PERMISSION_DENIED);
  g_assert_cmpint (as_user (NOBODY, TRUE, create_tap), ==, G_IO_ERROR_PERMISSION_DENIED);
}

/* host-setup's taps: they outlive their fds, and only their owner (or root)
 * may open their queues. */
static void
test_tap_persistent (void)
{
  g_autoptr(QlNetlink) nl = NULL;
  g_autoptr(GError) error = NULL;
  QlLinkInfo tap;
  int owner;

  if (skip_if_unavailable ())
    return;
  nl = netlink ();
  g_assert_true (ql_tap_create_persistent ("qltpers", 2, NOBODY, &error));
  g_assert_no_error (error);
  g_assert_true (ql_link_get (nl, "qltpers", &tap, &error));
  g_assert_true (tap.tun_persist);
  g_assert_cmpuint (tap.tun_queues, ==, 0);

  owner = as_user (NOBODY, TRUE, attach_persistent);
  if (owner == AS_USER_NO_TUN)
    g_test_skip ("cannot make a 0666 /dev/net/tun in a mount namespace (mknod refused)");
  else
    {
      g_assert_cmpint (owner, ==, AS_USER_OK);
      g_assert_cmpint (as_user (NOBODY - 1, TRUE, attach_persistent), ==, G_IO_ERROR_PERMISSION_DENIED);
    }
  /* still there after its user closed it */
  g_assert_true (ql_link_get (nl, "qltpers", &tap, &error));
  g_assert_false (ql_tap_create_persistent ("qltpers", 2, NOBODY, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_true (ql_link_delete (nl, tap.ifindex, &error));
  g_assert_false (link_exists (nl, "qltpers"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (geteuid () != 0)
    skip_reason = g_strdup ("needs root (network namespaces, taps)");
  else if (!g_file_test ("/dev/net/tun", G_FILE_TEST_EXISTS))
    skip_reason = g_strdup ("/dev/net/tun does not exist (modprobe tun)");
  else if (unshare (CLONE_NEWNET) != 0)
    skip_reason = g_strdup_printf ("cannot make a network namespace: %s", g_strerror (errno));

  g_test_add_func ("/net/bridge", test_bridge);
  g_test_add_func ("/net/tap/queues", test_tap_queues);
  g_test_add_func ("/net/tap/name-taken", test_tap_name_taken);
  g_test_add_func ("/net/tap/permission", test_tap_permission);
  g_test_add_func ("/net/tap/persistent", test_tap_persistent);
  return g_test_run ();
}
