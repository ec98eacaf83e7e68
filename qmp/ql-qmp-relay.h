#pragma once

#include "ql-qmp-client.h"

G_BEGIN_DECLS

/* Serves QMP to any number of clients over the one connection a QMP client
 * holds to QEMU (QEMU takes one client per monitor).  Each client sees a
 * monitor of its own: a greeting, capabilities negotiation, replies carrying
 * its own ids (its commands go upstream with the upstream client's ids) and
 * every event.  Idle, it waits on sockets only: no timers. */

typedef struct _QlQmpRelay QlQmpRelay;

/* upstream must have finished its handshake (the greeting is copied). */
QlQmpRelay *ql_qmp_relay_new (QlQmpClient *upstream);

/* Listens on a new socket at path (mode 0600) for peers of the same user
 * (or root); others are turned away on connect. */
gboolean ql_qmp_relay_listen (QlQmpRelay *relay, const char *path, GError **error);

/* Serves one already connected peer (the listener's, or a test's). */
void ql_qmp_relay_add_peer (QlQmpRelay *relay, GIOStream *stream);

guint ql_qmp_relay_get_n_peers (QlQmpRelay *relay);

/* Commands the relay's owner answers itself instead of QEMU (qlaunch's own,
 * named "qlaunch-…", which QEMU never uses).  The handler gets the request
 * and the arguments (NULL: none) and answers it, at once or later, exactly
 * once with _return or _error; a request whose client hung up is answered
 * into the void. */
typedef struct _QlQmpRelayRequest QlQmpRelayRequest;
typedef void (*QlQmpRelayHandler) (QlQmpRelayRequest *request, JsonObject *arguments, gpointer user_data);

void ql_qmp_relay_add_command (QlQmpRelay *relay, const char *name, QlQmpRelayHandler handler, gpointer user_data);
/* Takes ret (NULL: an empty object). */
void ql_qmp_relay_request_return (QlQmpRelayRequest *request, JsonNode *ret);
void ql_qmp_relay_request_error (QlQmpRelayRequest *request, const char *klass, const char *desc);

/* Stops listening, removes the socket and drops every peer.  Idempotent. */
void ql_qmp_relay_close (QlQmpRelay *relay);
void ql_qmp_relay_free (QlQmpRelay *relay);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlQmpRelay, ql_qmp_relay_free)

/* What a relay allows: what one peer may have queued or in flight is
 * bounded, so that no peer can grow the supervisor's memory, or fill QEMU's
 * queue ahead of the supervisor's own commands, without limit. */
#define QL_QMP_RELAY_MAX_PEERS 16
#define QL_QMP_RELAY_MAX_QUEUED (16u * 1024 * 1024)   /* unread replies and events */
#define QL_QMP_RELAY_MAX_IN_FLIGHT 8                  /* commands without a reply yet, as QEMU's own monitor */
#define QL_QMP_RELAY_MAX_MESSAGE (1024u * 1024)        /* one command */

G_END_DECLS
