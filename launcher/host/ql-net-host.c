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

/* The bridge a tap joins, which the plan found or created. */
static gboolean
get_bridge (QlNetlink *nl, const QlNet *net, QlLinkInfo *bridge, GError **error)
{
  GError *io = NULL;

  if (ql_link_get (nl, net->bridge, bridge, &io) && g_str_equal (bridge->kind, "bridge"))
    return TRUE;
  if (io == NULL)
    g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s bridge: '%s' is a %s, not a bridge", net->where, net->bridge,
                 kind_of (bridge));
  else if (g_error_matches (io, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    take_io_error (error, io, "%s bridge: there is no bridge '%s' on this host; create it "
                   "(ip link add %s type bridge && ip link set %s up) or set create-bridge=true",
                   net->where, net->bridge, net->bridge, net->bridge);
  else
    take_io_error (error, io, "%s bridge: cannot look up '%s'", net->where, net->bridge);
  return FALSE;
}

gboolean
ql_net_host_create_bridge (const char *name, GError **error)
{
  g_autoptr(QlNetlink) nl = NULL;
  QlLinkInfo bridge;
  QlLinkChange up = { .up = TRUE };
  GError *io = NULL;

  nl = ql_netlink_open (&io);
  if (nl == NULL || !ql_link_add_bridge (nl, name, &io) || !ql_link_get (nl, name, &bridge, &io) ||
      !ql_link_change (nl, bridge.ifindex, &up, &io))
    {
      take_io_error (error, io, "cannot create bridge '%s'", name);
      return FALSE;
    }
  g_message ("created bridge %s", name);
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
open_vhost (const QlNet *net, int first_target, GArray *fds, GError **error)
{
  GError *io = NULL;

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
      add_fd (fds, fd, first_target + (int) q);
    }
  return TRUE;
}

static void
explain_persistent_error (const char *vm, const QlNet *net, GError *io, GError **error)
{
  if (g_error_matches (io, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT))
    take_io_error (error, io, "%s: the persistent tap '%s' was made with other flags; remake it with "
                   "vnet_hdr%s", net->where, net->ifname, net->queues > 1 ? " and multi_queue" : "");
  else if (g_error_matches (io, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    take_io_error (error, io, "%s: the persistent tap '%s' belongs to another user", net->where, net->ifname);
  else
    explain_tap_error (vm, net, io, error);
}

gboolean
ql_net_host_open_tap (const char *vm, const QlMachineTap *tap, gboolean create, GArray *fds, GError **error)
{
  const QlNet *net = tap->net;
  g_autoptr(QlNetlink) nl = NULL;
  g_autofree int *queue_fds = g_new0 (int, net->queues);
  QlLinkInfo bridge = { 0 };
  GError *io = NULL;

  nl = ql_netlink_open (&io);
  if (nl == NULL)
    {
      take_io_error (error, io, "%s: cannot set up tap '%s'", net->where, net->ifname);
      return FALSE;
    }
  if (create && net->bridge != NULL && !get_bridge (nl, net, &bridge, error))
    return FALSE;
  if (!ql_tap_open (net->ifname, net->queues, create, queue_fds, &io))
    {
      if (create)
        explain_tap_error (vm, net, io, error);
      else
        explain_persistent_error (vm, net, io, error);
      return FALSE;
    }
  for (guint q = 0; q < net->queues; q++)
    add_fd (fds, queue_fds[q], tap->tap_fd + (int) q);
  if ((create && !configure_tap (nl, net, &bridge, error)) || !open_vhost (net, tap->vhost_fd, fds, error))
    return FALSE;
  {
    g_autofree char *what = ql_net_host_describe (net);
    g_message ("tap %s: %s%s", net->ifname, what, create ? "" : " (persistent, as it was)");
  }
  return TRUE;
}

static void
link_to_host_link (const QlLinkInfo *info, GPtrArray *links)
{
  QlHostLink *link = g_new0 (QlHostLink, 1);

  link->name = g_strdup (info->name);
  link->kind = g_strdup (info->kind);
  link->tun_persist = info->tun_persist;
  link->tun_in_use = info->tun_queues + info->tun_disabled_queues > 0;
  g_ptr_array_add (links, link);
}

static gboolean
read_link (QlNetlink *nl, const char *name, const char *where, GPtrArray *links, GError **error)
{
  QlLinkInfo info;
  GError *io = NULL;

  if (ql_link_get (nl, name, &info, &io))
    {
      link_to_host_link (&info, links);
      return TRUE;
    }
  if (g_error_matches (io, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_error_free (io);
      return TRUE;
    }
  take_io_error (error, io, "%s: cannot look up '%s'", where, name);
  return FALSE;
}

GPtrArray *
ql_net_host_read_links (const QlMachine *m, GError **error)
{
  g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_link_free);
  g_autoptr(QlNetlink) nl = NULL;
  GError *io = NULL;

  if (m->taps->len == 0)
    return g_steal_pointer (&links);
  nl = ql_netlink_open (&io);
  if (nl == NULL)
    {
      take_io_error (error, io, "Cannot look at the host's network links");
      return NULL;
    }
  for (guint i = 0; i < m->taps->len; i++)
    {
      const QlNet *net = g_array_index (m->taps, QlMachineTap, i).net;
      if (!read_link (nl, net->ifname, net->where, links, error) ||
          (net->bridge != NULL && !read_link (nl, net->bridge, net->where, links, error)))
        return NULL;
    }
  return g_steal_pointer (&links);
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

/* The bridge a host-setup tap joins: there already (host-setup makes
 * none), and not narrowed by the tap's MTU. */
static gboolean
check_setup_bridge (QlNetlink *nl, const QlNet *net, GError **error)
{
  QlLinkInfo bridge;
  GError *io = NULL;

  if (!ql_link_get (nl, net->bridge, &bridge, &io))
    {
      take_io_error (error, io, "%s bridge: cannot use '%s' (host-setup makes no bridge; create-bridge= is for "
                     "root's starts): make it first (ip link add %s type bridge && ip link set %s up)", net->where,
                     net->bridge, net->bridge, net->bridge);
      return FALSE;
    }
  if (!g_str_equal (bridge.kind, "bridge"))
    return get_bridge (nl, net, &bridge, error);
  /* a bridge takes the smallest MTU of its ports: a low one would cut every port's */
  if (net->mtu != 0 && net->mtu < bridge.mtu)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s mtu: %u is below bridge '%s''s %u and would lower it for "
                   "every port; set mtu= to %u or more, or leave it out", net->where, net->mtu, net->bridge,
                   bridge.mtu, bridge.mtu);
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_net_host_check_persistent (const QlNet *net, uid_t owner, gboolean *ret_exists, GError **error)
{
  g_autoptr(QlNetlink) nl = NULL;
  QlLinkInfo link;
  GError *io = NULL;

  *ret_exists = FALSE;
  nl = ql_netlink_open (&io);
  if (nl == NULL)
    {
      take_io_error (error, io, "%s", net->where);
      return FALSE;
    }
  if (!ql_link_get (nl, net->ifname, &link, &io))
    {
      g_clear_error (&io);
      return net->bridge == NULL || check_setup_bridge (nl, net, error);
    }
  if (!g_str_equal (link.kind, "tun") || !link.tun_persist)
    {
      name_taken (error, net, &link, FALSE);
      return FALSE;
    }
  if (!link.tun_has_owner || link.tun_owner != owner)
    {
      g_autofree char *whose = link.tun_has_owner ? g_strdup_printf ("of uid %u", link.tun_owner)
                                                  : g_strdup ("without an owner (root's)");
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s ifname: '%s' is a persistent tap %s, not the user's; left "
                   "alone. Fix: set ifname= to a free name", net->where, net->ifname, whose);
      return FALSE;
    }
  *ret_exists = TRUE;
  return TRUE;
}

gboolean
ql_net_host_make_persistent (const QlNet *net, uid_t owner, gboolean *ret_created, char **ret_done, GError **error)
{
  g_autoptr(QlNetlink) nl = NULL;
  QlLinkInfo bridge = { 0 }, link;
  GError *io = NULL;

  *ret_created = FALSE;
  nl = ql_netlink_open (&io);
  if (nl == NULL)
    {
      take_io_error (error, io, "%s", net->where);
      return FALSE;
    }
  if (ql_link_get (nl, net->ifname, &link, &io))
    {
      if (g_str_equal (link.kind, "tun") && link.tun_persist && link.tun_has_owner && link.tun_owner == owner)
        {
          *ret_done = g_strdup_printf ("tap %s is already persistent and uid %u's; left as it is", net->ifname,
                                       (guint) owner);
          return TRUE;
        }
      name_taken (error, net, &link, FALSE);
      return FALSE;
    }
  g_clear_error (&io);
  if (net->bridge != NULL && (!check_setup_bridge (nl, net, error) || !get_bridge (nl, net, &bridge, error)))
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
  *ret_created = TRUE;
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
