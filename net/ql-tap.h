#pragma once

#include <glib.h>
#include <sys/types.h>

/* Tap devices through /dev/net/tun.  A tap qlaunch creates is not
 * persistent: the kernel removes it when the last of its fds closes, so it
 * cannot outlive the QEMU that holds its queues. */

/* Opens queues fds on tap ifname (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, and
 * IFF_MULTI_QUEUE with more than one queue), O_CLOEXEC, into fds.  With
 * create, the tap must not exist yet; otherwise ifname must be an existing
 * persistent tap this user may attach to.  GIOError codes:
 * PERMISSION_DENIED (no CAP_NET_ADMIN, or not the tap's owner), EXISTS
 * (the name is taken), NOT_FOUND (no /dev/net/tun), INVALID_ARGUMENT (a
 * tap made with other flags). */
gboolean ql_tap_open (const char *ifname, guint queues, gboolean create, int *fds, GError **error);

/* Creates tap ifname persistent (it stays without fds) and owned by owner,
 * who may then open its queues without privileges. */
gboolean ql_tap_create_persistent (const char *ifname, guint queues, uid_t owner, GError **error);

/* An fd on /dev/vhost-net for one queue. -1 on error. */
int ql_vhost_open (GError **error);
