#pragma once

#include <glib.h>

/* Network links through rtnetlink (libnl-route): what a link is, bridges,
 * and the changes a tap needs.  Everything acts in the caller's network
 * namespace. */

typedef struct _QlNetlink QlNetlink;

typedef struct {
  int ifindex;
  char name[16];
  char kind[32];       /* IFLA_INFO_KIND: "bridge", "tun", "veth"...; "" for a plain device */
  int master;          /* ifindex of the bridge it is a port of; 0: none */
  guint mtu;
  guint flags;         /* IFF_UP... */
  guint8 mac[6];
  /* kind "tun" */
  gboolean tun_persist;
  guint tun_queues;    /* attached and enabled queues */
  guint tun_disabled_queues;  /* attached, but switched off (QEMU does that to queues the guest does not use) */
  gboolean tun_has_owner;      /* TUNSETOWNER was set: only tun_owner (and root) may attach */
  guint32 tun_owner;
} QlLinkInfo;

typedef struct {
  int master;          /* 0: leave as is */
  guint mtu;           /* 0: leave as is */
  const guint8 *mac;   /* NULL: leave as is */
  gboolean up;
} QlLinkChange;

QlNetlink *ql_netlink_open (GError **error);
void ql_netlink_close (QlNetlink *nl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlNetlink, ql_netlink_close)

/* FALSE with G_IO_ERROR_NOT_FOUND when there is no link of that name. */
gboolean ql_link_get (QlNetlink *nl, const char *name, QlLinkInfo *info, GError **error);
gboolean ql_link_add_bridge (QlNetlink *nl, const char *name, GError **error);
gboolean ql_link_change (QlNetlink *nl, int ifindex, const QlLinkChange *change, GError **error);
gboolean ql_link_delete (QlNetlink *nl, int ifindex, GError **error);
/* How many links are ports of the bridge; -1 on error. */
int ql_link_count_ports (QlNetlink *nl, int bridge_ifindex, GError **error);
