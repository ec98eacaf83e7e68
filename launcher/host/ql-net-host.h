#pragma once

#include <glib.h>
#include <sys/types.h>
#include "ql-host-plan.h"
#include "ql-machine.h"

/* The host side of mode=tap NICs through net/: the links as they are, making
 * and removing bridges and taps, and the fds QEMU inherits. */

typedef struct {
  int fd;
  int target;              /* the number QEMU has it as */
} QlPassedFd;

/* The links the machine's taps and bridges name, those that exist (QlHostLink*). */
GPtrArray *ql_net_host_read_links (const QlMachine *machine, GError **error);

/* Creates a bridge and brings it up. */
gboolean ql_net_host_create_bridge (const char *name, GError **error);

/* Opens the tap (and vhost-net) fds of a mode=tap NIC into fds
 * (QlPassedFd).  With create, the tap is made (it goes with the last fd),
 * named, addressed, sized and made a port of its bridge before QEMU sees
 * it; without, it is a persistent tap that root made for the user, used as
 * it is.  On failure error says what to do; the caller closes fds. */
gboolean ql_net_host_open_tap (const char *vm, const QlMachineTap *tap, gboolean create, GArray *fds,
                               GError **error);

void ql_net_host_close_fds (GArray *fds);

/* "2 queues, vhost-net, port of br0" */
char *ql_net_host_describe (const QlNet *net);

/* qlaunch host-setup: the NIC's tap made persistent and owned by owner, on
 * its bridge (which must exist: host-setup makes none) and set up as a
 * start would, so that owner's starts need no privileges; and taken away
 * again.  Neither is journaled: they are the host's configuration.
 *
 * check: what make refuses, before anything changes: a link of that name
 * that is not owner's persistent tap, a missing bridge, an mtu= below the
 * bridge's (which would lower it for every port).  *ret_exists: owner's
 * tap is there already (left as it is).
 * make: *ret_created is TRUE only for a tap it made; only such a tap is
 * host-setup's to remove. */
gboolean ql_net_host_check_persistent (const QlNet *net, uid_t owner, gboolean *ret_exists, GError **error);
gboolean ql_net_host_make_persistent (const QlNet *net, uid_t owner, gboolean *ret_created, char **ret_done,
                                      GError **error);
gboolean ql_net_host_remove_persistent (const QlNet *net, char **ret_done, GError **error);

/* Undo of the "tap" and "bridge" steps.  A tap is deleted if it
 * is still there (it normally went with QEMU's fds); a bridge only once no
 * port is left on it. */
gboolean ql_net_host_remove_tap (const char *ifname, char **ret_done, GError **error);
gboolean ql_net_host_remove_bridge (const char *name, char **ret_done, GError **error);
