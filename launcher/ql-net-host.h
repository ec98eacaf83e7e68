#pragma once

#include <glib.h>
#include <sys/types.h>
#include "ql-journal.h"
#include "ql-machine.h"

/* The host side of mode=tap NICs: the bridges and taps a start makes through
 * net/, each journaled before it is made, and the fds QEMU inherits. */

typedef struct {
  int fd;
  int target;              /* the number QEMU has it as */
} QlPassedFd;

/* Opens the tap (and vhost-net) fds of every mode=tap NIC into fds
 * (QlPassedFd), creating bridges (create-bridge=true) and taps; a tap is
 * named, addressed, sized and made a port of its bridge before QEMU sees
 * it.  An existing persistent tap (made by root for a user) is used as it
 * is.  On failure every fd opened is closed and error says what to do; the
 * caller undoes the journal. */
gboolean ql_net_host_open_taps (const QlMachine *machine, QlJournal *journal, GArray *fds, GError **error);

void ql_net_host_close_fds (GArray *fds);

/* "2 queues, vhost-net, port of br0" */
char *ql_net_host_describe (const QlNet *net);

/* qlaunch host-setup: the NIC's tap made persistent and owned by owner
 * (its bridge made too with create-bridge=true), set up as a start would,
 * so that owner's starts need no privileges; and taken away again.
 * Neither is journaled: they are the host's configuration. */
gboolean ql_net_host_make_persistent (const QlNet *net, uid_t owner, char **ret_done, GError **error);
gboolean ql_net_host_remove_persistent (const QlNet *net, char **ret_done, GError **error);

/* Undo of the journal's "tap" and "bridge" changes.  A tap is deleted if it
 * is still there (it normally went with QEMU's fds); a bridge only once no
 * port is left on it. */
gboolean ql_net_host_remove_tap (const char *ifname, char **ret_done, GError **error);
gboolean ql_net_host_remove_bridge (const char *name, char **ret_done, GError **error);
