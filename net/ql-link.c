#include "ql-link.h"

#include <gio/gio.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <string.h>

struct _QlNetlink {
  struct nl_sock *sock;
};

static gboolean
set_nl_error (GError **error, int nlerr, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

/* libnl returns -NLE_*; the codes that matter to a caller become GIOErrors */
static gboolean
set_nl_error (GError **error, int nlerr, const char *fmt, ...)
{
  g_autofree char *what = NULL;
  GIOErrorEnum code;
  va_list ap;

  va_start (ap, fmt);
  what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  switch (-nlerr)
    {
    case NLE_PERM: code = G_IO_ERROR_PERMISSION_DENIED; break;
    case NLE_EXIST: code = G_IO_ERROR_EXISTS; break;
    case NLE_OBJ_NOTFOUND:
    case NLE_NODEV: code = G_IO_ERROR_NOT_FOUND; break;
    case NLE_BUSY: code = G_IO_ERROR_BUSY; break;
    case NLE_INVAL:
    case NLE_RANGE: code = G_IO_ERROR_INVALID_ARGUMENT; break;
    case NLE_OPNOTSUPP: code = G_IO_ERROR_NOT_SUPPORTED; break;
    default: code = G_IO_ERROR_FAILED; break;
    }
  g_set_error (error, G_IO_ERROR, code, "%s: %s", what, nl_geterror (nlerr));
  return FALSE;
}

QlNetlink *
ql_netlink_open (GError **error)
{
  g_autofree QlNetlink *nl = g_new0 (QlNetlink, 1);
  int err;

  nl->sock = nl_socket_alloc ();
  if (nl->sock == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot allocate a netlink socket");
      return NULL;
    }
  err = nl_connect (nl->sock, NETLINK_ROUTE);
  if (err < 0)
    {
      nl_socket_free (nl->sock);
      set_nl_error (error, err, "cannot open a route netlink socket");
      return NULL;
    }
  return g_steal_pointer (&nl);
}

void
ql_netlink_close (QlNetlink *nl)
{
  if (nl == NULL)
    return;
  nl_socket_free (nl->sock);
  g_free (nl);
}

/* ---- reading one link: libnl's link object knows no tun attributes, so
 * the RTM_NEWLINK answer is parsed here ---- */

typedef struct {
  QlLinkInfo *info;
  gboolean found;
} GetLink;

static void
parse_linkinfo (struct nlattr *linkinfo, QlLinkInfo *info)
{
  struct nlattr *li[IFLA_INFO_MAX + 1];
  struct nlattr *tun[IFLA_TUN_MAX + 1];

  if (nla_parse_nested (li, IFLA_INFO_MAX, linkinfo, NULL) < 0 || li[IFLA_INFO_KIND] == NULL)
    return;
  g_strlcpy (info->kind, nla_get_string (li[IFLA_INFO_KIND]), sizeof info->kind);
  if (strcmp (info->kind, "tun") != 0 || li[IFLA_INFO_DATA] == NULL ||
      nla_parse_nested (tun, IFLA_TUN_MAX, li[IFLA_INFO_DATA], NULL) < 0)
    return;
  if (tun[IFLA_TUN_PERSIST])
    info->tun_persist = nla_get_u8 (tun[IFLA_TUN_PERSIST]) != 0;
  if (tun[IFLA_TUN_NUM_QUEUES])
    info->tun_queues = nla_get_u32 (tun[IFLA_TUN_NUM_QUEUES]);
  if (tun[IFLA_TUN_NUM_DISABLED_QUEUES])
    info->tun_disabled_queues = nla_get_u32 (tun[IFLA_TUN_NUM_DISABLED_QUEUES]);
  /* the kernel sends it only when an owner is set */
  info->tun_has_owner = tun[IFLA_TUN_OWNER] != NULL;
  if (tun[IFLA_TUN_OWNER])
    info->tun_owner = nla_get_u32 (tun[IFLA_TUN_OWNER]);
}

static int
get_link_valid (struct nl_msg *msg, void *arg)
{
  GetLink *get = arg;
  struct nlmsghdr *nlh = nlmsg_hdr (msg);
  struct ifinfomsg *ifi = nlmsg_data (nlh);
  struct nlattr *tb[IFLA_MAX + 1];

  if (nlh->nlmsg_type != RTM_NEWLINK || nlmsg_parse (nlh, sizeof *ifi, tb, IFLA_MAX, NULL) < 0)
    return NL_SKIP;
  get->found = TRUE;
  get->info->ifindex = ifi->ifi_index;
  get->info->flags = ifi->ifi_flags;
  if (tb[IFLA_IFNAME])
    g_strlcpy (get->info->name, nla_get_string (tb[IFLA_IFNAME]), sizeof get->info->name);
  if (tb[IFLA_MTU])
    get->info->mtu = nla_get_u32 (tb[IFLA_MTU]);
  if (tb[IFLA_MASTER])
    get->info->master = (int) nla_get_u32 (tb[IFLA_MASTER]);
  if (tb[IFLA_ADDRESS] && nla_len (tb[IFLA_ADDRESS]) == 6)
    memcpy (get->info->mac, nla_data (tb[IFLA_ADDRESS]), 6);
  if (tb[IFLA_LINKINFO])
    parse_linkinfo (tb[IFLA_LINKINFO], get->info);
  return NL_OK;
}

gboolean
ql_link_get (QlNetlink *nl, const char *name, QlLinkInfo *info, GError **error)
{
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  struct nl_msg *msg = NULL;
  struct nl_cb *cb = NULL;
  GetLink get = { info, FALSE };
  int err;

  memset (info, 0, sizeof *info);
  if (strlen (name) >= IFNAMSIZ)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no link '%s' (longer than an interface name)", name);
      return FALSE;
    }
  msg = nlmsg_alloc_simple (RTM_GETLINK, 0);
  cb = nl_cb_alloc (NL_CB_DEFAULT);
  if (msg == NULL || cb == NULL)
    {
      err = -NLE_NOMEM;
      goto out;
    }
  if ((err = nlmsg_append (msg, &ifi, sizeof ifi, NLMSG_ALIGNTO)) < 0 ||
      (err = nla_put_string (msg, IFLA_IFNAME, name)) < 0 ||
      (err = nla_put_u32 (msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)) < 0)
    goto out;
  nl_cb_set (cb, NL_CB_VALID, NL_CB_CUSTOM, get_link_valid, &get);
  if ((err = nl_send_auto (nl->sock, msg)) < 0)
    goto out;
  err = nl_recvmsgs (nl->sock, cb);
  /* the request asked for an ack (libnl's default); it follows the answer */
  if (err >= 0 && get.found)
    err = nl_wait_for_ack (nl->sock);

out:
  nlmsg_free (msg);
  nl_cb_put (cb);
  if (err < 0 && err != -NLE_NODEV && err != -NLE_OBJ_NOTFOUND)
    return set_nl_error (error, err, "cannot read link '%s'", name);
  if (!get.found)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no link '%s'", name);
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_link_add_bridge (QlNetlink *nl, const char *name, GError **error)
{
  struct rtnl_link *link = rtnl_link_alloc ();
  int err = -NLE_NOMEM;

  /* not rtnl_link_bridge_add (): without NLM_F_EXCL an existing link of
   * that name would be taken for the new bridge */
  if (link != NULL && (err = rtnl_link_set_type (link, "bridge")) >= 0)
    {
      rtnl_link_set_name (link, name);
      err = rtnl_link_add (nl->sock, link, NLM_F_CREATE | NLM_F_EXCL);
    }
  rtnl_link_put (link);
  if (err < 0)
    return set_nl_error (error, err, "cannot create bridge '%s'", name);
  return TRUE;
}

gboolean
ql_link_change (QlNetlink *nl, int ifindex, const QlLinkChange *change, GError **error)
{
  struct rtnl_link *orig = rtnl_link_alloc ();
  struct rtnl_link *want = rtnl_link_alloc ();
  struct nl_addr *addr = NULL;
  int err = -NLE_NOMEM;

  if (orig == NULL || want == NULL)
    goto out;
  rtnl_link_set_ifindex (orig, ifindex);
  if (change->mac != NULL)
    {
      addr = nl_addr_build (AF_LLC, change->mac, 6);
      if (addr == NULL)
        goto out;
      rtnl_link_set_addr (want, addr);
    }
  if (change->mtu > 0)
    rtnl_link_set_mtu (want, change->mtu);
  if (change->master > 0)
    rtnl_link_set_master (want, change->master);
  if (change->up)
    rtnl_link_set_flags (want, IFF_UP);
  err = rtnl_link_change (nl->sock, orig, want, 0);

out:
  nl_addr_put (addr);
  rtnl_link_put (orig);
  rtnl_link_put (want);
  if (err < 0)
    return set_nl_error (error, err, "cannot configure link %d", ifindex);
  return TRUE;
}

gboolean
ql_link_delete (QlNetlink *nl, int ifindex, GError **error)
{
  struct rtnl_link *link = rtnl_link_alloc ();
  int err;

  if (link == NULL)
    return set_nl_error (error, -NLE_NOMEM, "cannot delete link %d", ifindex);
  rtnl_link_set_ifindex (link, ifindex);
  err = rtnl_link_delete (nl->sock, link);
  rtnl_link_put (link);
  if (err < 0)
    return set_nl_error (error, err, "cannot delete link %d", ifindex);
  return TRUE;
}

int
ql_link_count_ports (QlNetlink *nl, int bridge_ifindex, GError **error)
{
  struct nl_cache *cache = NULL;
  int count = 0;
  int err = rtnl_link_alloc_cache (nl->sock, AF_UNSPEC, &cache);

  if (err < 0)
    {
      set_nl_error (error, err, "cannot list links");
      return -1;
    }
  for (struct nl_object *o = nl_cache_get_first (cache); o != NULL; o = nl_cache_get_next (o))
    if (rtnl_link_get_master ((struct rtnl_link *) o) == bridge_ifindex)
      count++;
  nl_cache_free (cache);
  return count;
}
