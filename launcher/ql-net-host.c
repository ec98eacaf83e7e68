#include "ql-net-host.h"
#include "ql-error.h"
#include "ql-link.h"
#include "ql-tap.h"

#include <gio/gio.h>
#include <net/if.h>
#include <unistd.h>

static void
take_io_error (GError **error, GError *io, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

/* QL_ERROR_HOST with the profile's words in front of what the kernel said */
static void
take_io_error (GError **error, GError *io, const char *fmt, ...)
{
  g_autofree char *what = NULL;
  va_list ap;

  va_start (ap, fmt);
  what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s%s%s", what, io ? ": " : "", io ? io->message : "");
  g_clear_error (&io);
}

static const char *
kind_of (const QlLinkInfo *info)
{
  if (info->kind[0] == '\0')
    return "network device";
  if (g_str_equal (info->kind, "tun"))
    return "tun/tap device";
  return info->kind;
}

/* The bridge a tap joins: looked up, or created when the profile says so. */
static gboolean
prepare_bridge (QlNetlink *nl, const QlNet *net, QlJournal *journal, QlLinkInfo *bridge, GError **error)
{
  GError *io = NULL;

  if (ql_link_get (nl, net->bridge, bridge, &io))
    {
      if (!g_str_equal (bridge->kind, "bridge"))
        {
          g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s bridge: '%s' is a %s, not a bridge", net->where,
                       net->bridge, kind_of (bridge));
          return FALSE;
        }
      return TRUE;
    }
  if (!g_error_matches (io, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      take_io_error (error, io, "%s bridge: cannot look up '%s'", net->where, net->bridge);
      return FALSE;
    }
  g_clear_error (&io);
  if (!net->create_bridge)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "%s bridge: there is no bridge '%s' on this host; create it "
                   "(ip link add %s type bridge && ip link set %s up) or set create-bridge=true",
                   net->where, net->bridge, net->bridge, net->bridge);
      return FALSE;
    }
  if (journal != NULL && !ql_journal_record_bridge (journal, net->bridge, error))
    return FALSE;
  if (!ql_link_add_bridge (nl, net->bridge, &io) || !ql_link_get (nl, net->bridge, bridge, &io))
    {
      take_io_error (error, io, "%s create-bridge: cannot create bridge '%s'", net->where, net->bridge);
      return FALSE;
    }
  {
    QlLinkChange up = { .up = TRUE };
    if (!ql_link_change (nl, bridge->ifindex, &up, &io))
      {
        take_io_error (error, io, "%s create-bridge: cannot bring bridge '%s' up", net->where, net->bridge);
        return FALSE;
      }
  }
  g_message ("created bridge %s", net->bridge);
  return TRUE;
}

static void
explain_tap_error (const char *vm, const QlNet *net, GError *io, GError **error)
{
  if (g_error_matches (io, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    {
      /* the fix last, where the eye lands */
      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "%s: cannot create tap '%s' (%s): creating a tap needs CAP_NET_ADMIN. "
                   "Run qlaunch as root, or have root make the VM's taps persistent and yours once: "
                   "sudo qlaunch host-setup %s --user %s",
                   net->where, net->ifname, io->message, vm, g_get_user_name ());
      g_error_free (io);
    }
  else if (g_error_matches (io, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    take_io_error (error, io, "%s: cannot create tap '%s': load the tun module (modprobe tun)", net->where,
                   net->ifname);
  else if (g_error_matches (io, G_IO_ERROR, G_IO_ERROR_EXISTS))
    take_io_error (error, io, "%s ifname: the name '%s' is taken; set ifname= to a free name", net->where,
                   net->ifname);
  else
    take_io_error (error, io, "%s: cannot create tap '%s'", net->where, net->ifname);
}

/* host side of the tap: the guest's MAC with fe as its first byte, like
 * libvirt: a bridge takes the lowest MAC of its ports as its own, and fe:
 * never lowers it, so the bridge's address does not change with VMs */
static void
host_side_mac (const char *guest_mac, guint8 mac[6])
{
  for (int i = 0; i < 6; i++)
    mac[i] = g_ascii_xdigit_value (guest_mac[i * 3]) << 4 | g_ascii_xdigit_value (guest_mac[i * 3 + 1]);
  mac[0] = 0xfe;
}

/* named, addressed, sized like its bridge, a port of it, and up */
static gboolean
configure_tap (QlNetlink *nl, const QlNet *net, const QlLinkInfo *bridge, GError **error)
{
  QlLinkInfo link;
  guint8 mac[6];
  QlLinkChange change = { .master = bridge->ifindex, .mtu = net->mtu ? net->mtu : bridge->mtu, .mac = mac,
                          .up = TRUE };
  GError *io = NULL;

  host_side_mac (net->mac, mac);
  if (!ql_link_get (nl, net->ifname, &link, &io) || !ql_link_change (nl, link.ifindex, &change, &io))
    {
      take_io_error (error, io, "%s: cannot set up tap '%s'%s%s", net->where, net->ifname,
                     net->bridge ? " on bridge " : "", net->bridge ? net->bridge : "");
      return FALSE;
    }
  return TRUE;
}

char *
ql_net_host_describe (const QlNet *net)
{
  return g_strdup_printf ("%u queue%s%s%s%s", net->queues, net->queues > 1 ? "s" : "",
                          net->vhost ? ", vhost-net" : "", net->bridge ? ", port of " : "",
                          net->bridge ? net->bridge : "");
}

static void
name_taken (GError **error, const QlNet *net, const QlLinkInfo *link, gboolean in_use)
{
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s ifname: '%s' is taken by a %s%s; set ifname= to a free name",
               net->where, net->ifname, kind_of (link), in_use ? " in use (another VM?)" : "");
}

static void
add_fd (GArray *fds, int fd, int target)
{
  QlPassedFd passed = { fd, target };
  g_array_append_val (fds, passed);
}

static gboolean
open_tap (QlNetlink *nl, const char *vm, const QlMachineTap *tap, QlJournal *journal, GArray *fds,
          GError **error)
{
  const QlNet *net = tap->net;
  QlLinkInfo bridge = { 0 }, link = { 0 };
  g_autofree int *queue_fds = g_new0 (int, net->queues);
  gboolean existing = FALSE;
  GError *io = NULL;

  if (net->bridge != NULL && !prepare_bridge (nl, net, journal, &bridge, error))
    return FALSE;

  if (ql_link_get (nl, net->ifname, &link, &io))
    {
      /* a persistent tap root made for this user is used as it is */
      gboolean in_use = link.tun_queues + link.tun_disabled_queues > 0;

      if (!g_str_equal (link.kind, "tun") || !link.tun_persist || in_use)
        {
          name_taken (error, net, &link, g_str_equal (link.kind, "tun") && in_use);
          return FALSE;
        }
      existing = TRUE;
    }
  else if (!g_error_matches (io, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      take_io_error (error, io, "%s: cannot look up '%s'", net->where, net->ifname);
      return FALSE;
    }
  g_clear_error (&io);

  if (!existing && !ql_journal_record_tap (journal, net->ifname, error))
    return FALSE;
  if (!ql_tap_open (net->ifname, net->queues, !existing, queue_fds, &io))
    {
      if (existing && g_error_matches (io, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
        take_io_error (error, io, "%s: the persistent tap '%s' was made with other flags; remake it with "
                       "vnet_hdr%s", net->where, net->ifname, net->queues > 1 ? " and multi_queue" : "");
      else if (existing && g_error_matches (io, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
        take_io_error (error, io, "%s: the persistent tap '%s' belongs to another user", net->where,
                       net->ifname);
      else
        explain_tap_error (vm, net, io, error);
      return FALSE;
    }
  for (guint q = 0; q < net->queues; q++)
    add_fd (fds, queue_fds[q], tap->tap_fd + (int) q);

  if (!existing && !configure_tap (nl, net, &bridge, error))
    return FALSE;

  for (guint q = 0; net->vhost && q < net->queues; q++)
    {
      int fd = ql_vhost_open (&io);
      if (fd < 0)
        {
          if (g_error_matches (io, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
            take_io_error (error, io, "%s vhost: the host has no vhost-net; load it (modprobe vhost_net) "
                           "or set vhost=false", net->where);
          else
            take_io_error (error, io, "%s vhost", net->where);
          return FALSE;
        }
      add_fd (fds, fd, tap->vhost_fd + (int) q);
    }
  {
    g_autofree char *what = ql_net_host_describe (net);
    g_message ("tap %s: %s%s", net->ifname, what, existing ? " (persistent, as it was)" : "");
  }
  return TRUE;
}

gboolean
ql_net_host_open_taps (const QlMachine *m, QlJournal *journal, GArray *fds, GError **error)
{
  g_autoptr(QlNetlink) nl = NULL;
  GError *io = NULL;

  if (m->taps->len == 0)
    return TRUE;
  nl = ql_netlink_open (&io);
  if (nl == NULL)
    {
      take_io_error (error, io, "Cannot set up the VM's taps");
      return FALSE;
    }
  for (guint i = 0; i < m->taps->len; i++)
    if (!open_tap (nl, m->profile->vm.name, &g_array_index (m->taps, QlMachineTap, i), journal, fds, error))
      {
        ql_net_host_close_fds (fds);
        return FALSE;
      }
  return TRUE;
}

void
ql_net_host_close_fds (GArray *fds)
{
  for (guint i = 0; i < fds->len; i++)
    close (g_array_index (fds, QlPassedFd, i).fd);
  g_array_set_size (fds, 0);
}

/* ---- undo ---- */

static gboolean
lookup_link_or_gone (const char *name, QlNetlink **ret_nl, QlLinkInfo *info, gboolean *ret_gone, GError **error)
{
  GError *io = NULL;

  *ret_gone = FALSE;
  *ret_nl = ql_netlink_open (&io);
  if (*ret_nl == NULL)
    {
      take_io_error (error, io, "cannot remove '%s'", name);
      return FALSE;
    }
  if (ql_link_get (*ret_nl, name, info, &io))
    return TRUE;
  if (g_error_matches (io, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_error_free (io);
      *ret_gone = TRUE;
      return TRUE;
    }
  take_io_error (error, io, "cannot remove '%s'", name);
  return FALSE;
}

gboolean
ql_net_host_remove_tap (const char *ifname, char **ret_done, GError **error)
{
  g_autoptr(QlNetlink) nl = NULL;
  QlLinkInfo info;
  gboolean gone;
  GError *io = NULL;

  if (!lookup_link_or_gone (ifname, &nl, &info, &gone, error))
    return FALSE;
  if (gone)
    {
      *ret_done = g_strdup_printf ("tap %s is gone", ifname);
      return TRUE;
    }
  /* made persistent since, or replaced by something else: not ours any more */
  if (!g_str_equal (info.kind, "tun") || info.tun_persist)
    {
      *ret_done = g_strdup_printf ("%s is now a %s%s that qlaunch did not make; left alone", ifname,
                                   info.tun_persist ? "persistent " : "", kind_of (&info));
      return TRUE;
    }
  if (!ql_link_delete (nl, info.ifindex, &io) && !g_error_matches (io, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      take_io_error (error, io, "cannot delete tap '%s'", ifname);
      return FALSE;
    }
  g_clear_error (&io);
  *ret_done = g_strdup_printf ("tap %s deleted", ifname);
  return TRUE;
}

gboolean
ql_net_host_remove_bridge (const char *name, char **ret_done, GError **error)
{
  g_autoptr(QlNetlink) nl = NULL;
  QlLinkInfo info;
  gboolean gone;
  GError *io = NULL;
  int ports;

  if (!lookup_link_or_gone (name, &nl, &info, &gone, error))
    return FALSE;
  if (gone || !g_str_equal (info.kind, "bridge"))
    {
      *ret_done = g_strdup_printf (gone ? "bridge %s is gone" : "%s is no longer a bridge; left alone", name);
      return TRUE;
    }
  ports = ql_link_count_ports (nl, info.ifindex, &io);
  if (ports < 0)
    {
      take_io_error (error, io, "cannot remove bridge '%s'", name);
      return FALSE;
    }
  if (ports > 0)
    {
      /* another VM, or the admin, uses it now */
      *ret_done = g_strdup_printf ("bridge %s kept: %d port%s still on it", name, ports, ports > 1 ? "s" : "");
      return TRUE;
    }
  if (!ql_link_delete (nl, info.ifindex, &io) && !g_error_matches (io, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      take_io_error (error, io, "cannot delete bridge '%s'", name);
      return FALSE;
    }
  g_clear_error (&io);
  *ret_done = g_strdup_printf ("bridge %s deleted", name);
  return TRUE;
}

/* ---- host-setup ---- */

gboolean
ql_net_host_make_persistent (const QlNet *net, uid_t owner, char **ret_done, GError **error)
{
  g_autoptr(QlNetlink) nl = NULL;
  QlLinkInfo bridge = { 0 }, link;
  GError *io = NULL;

  nl = ql_netlink_open (&io);
  if (nl == NULL)
    {
      take_io_error (error, io, "%s", net->where);
      return FALSE;
    }
  if (ql_link_get (nl, net->ifname, &link, &io))
    {
      if (g_str_equal (link.kind, "tun") && link.tun_persist)
        {
          *ret_done = g_strdup_printf ("tap %s is already persistent; left as it is", net->ifname);
          return TRUE;
        }
      name_taken (error, net, &link, FALSE);
      return FALSE;
    }
  g_clear_error (&io);
  if (net->bridge != NULL && !prepare_bridge (nl, net, NULL, &bridge, error))
    return FALSE;
  if (!ql_tap_create_persistent (net->ifname, net->queues, owner, &io))
    {
      take_io_error (error, io, "%s: cannot create tap '%s'", net->where, net->ifname);
      return FALSE;
    }
  if (!configure_tap (nl, net, &bridge, error))
    {
      if (ql_link_get (nl, net->ifname, &link, NULL))
        ql_link_delete (nl, link.ifindex, NULL);
      return FALSE;
    }
  {
    g_autofree char *what = ql_net_host_describe (net);
    *ret_done = g_strdup_printf ("tap %s: persistent, owned by uid %u, %s", net->ifname, (guint) owner, what);
  }
  return TRUE;
}

gboolean
ql_net_host_remove_persistent (const QlNet *net, char **ret_done, GError **error)
{
  g_autoptr(QlNetlink) nl = NULL;
  QlLinkInfo info;
  gboolean gone;
  GError *io = NULL;

  if (!lookup_link_or_gone (net->ifname, &nl, &info, &gone, error))
    return FALSE;
  if (gone)
    {
      *ret_done = g_strdup_printf ("there is no tap %s", net->ifname);
      return TRUE;
    }
  if (!g_str_equal (info.kind, "tun") || !info.tun_persist)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: '%s' is a %s, not a persistent tap; left alone", net->where,
                   net->ifname, kind_of (&info));
      return FALSE;
    }
  if (info.tun_queues + info.tun_disabled_queues > 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_BUSY, "%s: tap '%s' is in use (is the VM running?)", net->where,
                   net->ifname);
      return FALSE;
    }
  if (!ql_link_delete (nl, info.ifindex, &io))
    {
      take_io_error (error, io, "cannot delete tap '%s'", net->ifname);
      return FALSE;
    }
  *ret_done = g_strdup_printf ("tap %s deleted", net->ifname);
  return TRUE;
}
