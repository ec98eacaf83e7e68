#include "ql-qmp-relay.h"
#include "ql-qmp-framer.h"
#include "ql-qmp-command.h"

#include <gio/gunixsocketaddress.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <unistd.h>

struct _QlQmpRelay {
  QlQmpClient *upstream;
  char *greeting;           /* the line every peer gets first */
  GSocketService *service;
  char *path;
  GPtrArray *peers;         /* Peer*, one reference each */
  gulong event_handler;
  gulong closed_handler;
  gboolean closed;
  GHashTable *commands;     /* name -> LocalCommand*: answered here, not by QEMU */
};

typedef struct {
  QlQmpRelayHandler handler;
  gpointer user_data;
} LocalCommand;

typedef struct {
  QlQmpRelay *relay;        /* NULL once the peer is closed */
  GIOStream *stream;
  GCancellable *cancellable;
  QlQmpFramer *framer;
  GQueue out;               /* GBytes* */
  GBytes *writing;
  gsize queued;             /* bytes in out and writing */
  guint in_flight;          /* commands not answered yet */
  gboolean reading;         /* a read is outstanding */
  gboolean draining;        /* in peer_drain (): a command answered at once must not recurse */
  gboolean negotiated;
  gboolean closed;
} Peer;

static void peer_read (Peer *peer);
static void peer_command_done (Peer *peer);

/* ---- peers ---- */

static void
peer_clear (gpointer data)
{
  Peer *peer = data;

  g_clear_object (&peer->stream);
  g_clear_object (&peer->cancellable);
  g_clear_pointer (&peer->framer, ql_qmp_framer_free);
  g_queue_clear_full (&peer->out, (GDestroyNotify) g_bytes_unref);
  g_clear_pointer (&peer->writing, g_bytes_unref);
}

static Peer *
peer_ref (Peer *peer)
{
  return g_rc_box_acquire (peer);
}

static void
peer_unref (Peer *peer)
{
  g_rc_box_release_full (peer, peer_clear);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_unref)

static void
peer_close (Peer *peer, const char *why)
{
  QlQmpRelay *relay = peer->relay;

  if (peer->closed)
    return;
  g_debug ("qmp relay: closing a client: %s", why);
  peer->closed = TRUE;
  peer->relay = NULL;
  g_cancellable_cancel (peer->cancellable);
  g_io_stream_close (peer->stream, NULL, NULL);
  if (relay != NULL)
    g_ptr_array_remove_fast (relay->peers, peer);
}

static void peer_write_next (Peer *peer);

static void
peer_write_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(Peer) peer = user_data;
  g_autoptr(GError) error = NULL;

  if (peer->writing != NULL)
    peer->queued -= g_bytes_get_size (peer->writing);
  g_clear_pointer (&peer->writing, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      peer_close (peer, error->message);
      return;
    }
  peer_write_next (peer);
}

static void
peer_write_next (Peer *peer)
{
  gsize len;
  gconstpointer data;

  if (peer->writing != NULL || peer->closed || g_queue_is_empty (&peer->out))
    return;
  peer->writing = g_queue_pop_head (&peer->out);
  data = g_bytes_get_data (peer->writing, &len);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (peer->stream), data, len,
                                   G_PRIORITY_DEFAULT, peer->cancellable, peer_write_done,
                                   peer_ref (peer));
}

/* A peer that does not read what it asked for (or the events) is dropped
 * rather than let the supervisor's memory grow without bound. */
static void
peer_send_bytes (Peer *peer, GBytes *line)
{
  if (peer->closed)
    return;
  if (peer->queued + g_bytes_get_size (line) > QL_QMP_RELAY_MAX_QUEUED)
    {
      peer_close (peer, "it does not read what it is sent");
      return;
    }
  peer->queued += g_bytes_get_size (line);
  g_queue_push_tail (&peer->out, g_bytes_ref (line));
  peer_write_next (peer);
}

static GBytes *
object_to_line (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autofree char *text = json_to_string (node, FALSE);

  return g_bytes_new_take (g_strconcat (text, "\r\n", NULL), strlen (text) + 2);
}

static void
peer_send (Peer *peer, JsonObject *object)
{
  g_autoptr(GBytes) line = object_to_line (object);

  peer_send_bytes (peer, line);
}

static void
peer_send_error (Peer *peer, JsonNode *id, const char *klass, const char *desc)
{
  g_autoptr(JsonObject) reply = json_object_new ();
  JsonObject *error = json_object_new ();

  json_object_set_string_member (error, "class", klass);
  json_object_set_string_member (error, "desc", desc);
  json_object_set_object_member (reply, "error", error);
  if (id != NULL)
    json_object_set_member (reply, "id", json_node_copy (id));
  peer_send (peer, reply);
}

/* ---- commands from a peer ---- */

typedef struct {
  Peer *peer;
  JsonNode *id;             /* the peer's own id, or NULL */
} Forwarded;

static void
forwarded_free (Forwarded *f)
{
  peer_unref (f->peer);
  g_clear_pointer (&f->id, json_node_unref);
  g_free (f);
}

static void
forward_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Forwarded *f = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) reply = ql_qmp_client_forward_finish (QL_QMP_CLIENT (source), result, &error);

  if (reply == NULL)
    peer_send_error (f->peer, f->id, "GenericError", error->message);
  else
    {
      if (f->id != NULL)
        json_object_set_member (reply, "id", json_node_copy (f->id));
      peer_send (f->peer, reply);
    }
  peer_command_done (f->peer);
  forwarded_free (f);
}

/* The checks QEMU's dispatcher makes, with its words, so that a peer sees
 * what it would see on a monitor of its own. */
static char *
command_problem (JsonObject *message)
{
  g_autoptr(GList) members = json_object_get_members (message);
  JsonNode *execute = json_object_get_member (message, "execute");
  JsonNode *arguments = json_object_get_member (message, "arguments");

  for (GList *l = members; l != NULL; l = l->next)
    if (g_strcmp0 (l->data, "execute") != 0 && g_strcmp0 (l->data, "arguments") != 0 &&
        g_strcmp0 (l->data, "id") != 0)
      return g_strcmp0 (l->data, "exec-oob") == 0
               ? g_strdup ("This monitor does not support Out-Of-Band (OOB)")
               : g_strdup_printf ("QMP input member '%s' is unexpected", (const char *) l->data);
  if (execute == NULL)
    return g_strdup ("QMP input lacks member 'execute'");
  if (!JSON_NODE_HOLDS_VALUE (execute) || json_node_get_value_type (execute) != G_TYPE_STRING)
    return g_strdup ("QMP input member 'execute' must be a string");
  if (arguments != NULL && !JSON_NODE_HOLDS_OBJECT (arguments))
    return g_strdup ("QMP input member 'arguments' must be an object");
  return NULL;
}

static void
negotiate (Peer *peer, JsonNode *id, JsonNode *arguments)
{
  JsonObject *args = arguments ? json_node_get_object (arguments) : NULL;
  JsonNode *enable = args ? json_object_get_member (args, "enable") : NULL;
  g_autoptr(JsonObject) reply = NULL;

  if (enable != NULL && (!JSON_NODE_HOLDS_ARRAY (enable) || json_array_get_length (json_node_get_array (enable)) > 0))
    {
      peer_send_error (peer, id, "GenericError", "This monitor does not support Out-Of-Band (OOB)");
      return;
    }
  peer->negotiated = TRUE;
  reply = json_object_new ();
  json_object_set_object_member (reply, "return", json_object_new ());
  if (id != NULL)
    json_object_set_member (reply, "id", json_node_copy (id));
  peer_send (peer, reply);
}

struct _QlQmpRelayRequest {
  Peer *peer;
  JsonNode *id;
};

void
ql_qmp_relay_request_return (QlQmpRelayRequest *request, JsonNode *ret)
{
  g_autoptr(JsonObject) reply = json_object_new ();

  json_object_set_member (reply, "return", ret ? ret : json_node_init_object (json_node_alloc (), json_object_new ()));
  if (request->id != NULL)
    json_object_set_member (reply, "id", json_node_copy (request->id));
  peer_send (request->peer, reply);
  peer_command_done (request->peer);
  peer_unref (request->peer);
  g_clear_pointer (&request->id, json_node_unref);
  g_free (request);
}

void
ql_qmp_relay_request_error (QlQmpRelayRequest *request, const char *klass, const char *desc)
{
  peer_send_error (request->peer, request->id, klass, desc);
  peer_command_done (request->peer);
  peer_unref (request->peer);
  g_clear_pointer (&request->id, json_node_unref);
  g_free (request);
}

static void
run_local (Peer *peer, const LocalCommand *local, JsonNode *id, JsonNode *arguments)
{
  QlQmpRelayRequest *request = g_new0 (QlQmpRelayRequest, 1);

  request->peer = peer_ref (peer);
  request->id = id ? json_node_copy (id) : NULL;
  peer->in_flight++;
  local->handler (request, arguments ? json_node_get_object (arguments) : NULL, local->user_data);
}

void
ql_qmp_relay_add_command (QlQmpRelay *relay, const char *name, QlQmpRelayHandler handler, gpointer user_data)
{
  LocalCommand *local = g_new0 (LocalCommand, 1);

  local->handler = handler;
  local->user_data = user_data;
  g_hash_table_replace (relay->commands, g_strdup (name), local);
}

static void
forward (Peer *peer, const char *command, JsonNode *id, JsonNode *arguments)
{
  Forwarded *f = g_new0 (Forwarded, 1);

  f->peer = peer_ref (peer);
  f->id = id ? json_node_copy (id) : NULL;
  peer->in_flight++;
  /* a peer that hangs up takes its commands back from the queue to QEMU */
  ql_qmp_client_forward_async (peer->relay->upstream, command, arguments, peer->cancellable, forward_done, f);
}

static void
peer_handle (Peer *peer, const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *message;
  JsonNode *id;
  g_autofree char *problem = NULL;
  const char *command;

  if (!json_parser_load_from_data (parser, text, -1, &error))
    {
      g_autofree char *desc = g_strdup_printf ("JSON parse error, %s", error->message);
      peer_send_error (peer, NULL, "GenericError", desc);
      return;
    }
  message = json_node_get_object (json_parser_get_root (parser));   /* the framer passes objects only */
  id = json_object_get_member (message, "id");
  problem = command_problem (message);
  if (problem != NULL)
    {
      peer_send_error (peer, id, "GenericError", problem);
      return;
    }
  command = json_object_get_string_member (message, "execute");
  if (!peer->negotiated && g_strcmp0 (command, "qmp_capabilities") != 0)
    peer_send_error (peer, id, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
  else if (!peer->negotiated)
    negotiate (peer, id, json_object_get_member (message, "arguments"));
  else if (g_strcmp0 (command, "qmp_capabilities") == 0)
    peer_send_error (peer, id, "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
  else if (g_hash_table_contains (peer->relay->commands, command))
    run_local (peer, g_hash_table_lookup (peer->relay->commands, command), id,
               json_object_get_member (message, "arguments"));
  else
    forward (peer, command, id, json_object_get_member (message, "arguments"));
}

/* Handles what the peer sent, as far as its commands in flight allow;
 * FALSE while it must wait for replies before more is read. */
static gboolean
peer_drain (Peer *peer)
{
  g_autoptr(GError) error = NULL;
  gboolean more = TRUE;

  peer->draining = TRUE;
  while (!peer->closed)
    {
      g_autofree char *message = NULL;

      if (peer->in_flight >= QL_QMP_RELAY_MAX_IN_FLIGHT)
        {
          more = FALSE;
          break;
        }
      if (!ql_qmp_framer_next (peer->framer, &message, &error))
        {
          /* past a framing error the stream cannot be resynchronised */
          if (error != NULL)
            {
              peer_send_error (peer, NULL, "GenericError", error->message);
              peer_close (peer, error->message);
            }
          break;
        }
      peer_handle (peer, message);
    }
  peer->draining = FALSE;
  return more;
}

static void
peer_read_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(Peer) peer = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);

  peer->reading = FALSE;
  if (peer->closed)
    return;
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      peer_close (peer, bytes == NULL ? error->message : "it hung up");
      return;
    }
  ql_qmp_framer_push (peer->framer, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (peer_drain (peer))
    peer_read (peer);
}

/* A reply went out: a peer held back by its commands in flight goes on. */
static void
peer_command_done (Peer *peer)
{
  peer->in_flight--;
  if (!peer->closed && !peer->reading && !peer->draining && peer_drain (peer))
    peer_read (peer);
}

static void
peer_read (Peer *peer)
{
  if (peer->closed || peer->reading)
    return;
  peer->reading = TRUE;
  g_input_stream_read_bytes_async (g_io_stream_get_input_stream (peer->stream), 64 * 1024,
                                   G_PRIORITY_DEFAULT, peer->cancellable, peer_read_done,
                                   peer_ref (peer));
}

/* ---- the relay ---- */

void
ql_qmp_relay_add_peer (QlQmpRelay *relay, GIOStream *stream)
{
  Peer *peer;
  g_autoptr(GBytes) greeting = NULL;

  if (relay->closed || relay->peers->len >= QL_QMP_RELAY_MAX_PEERS)
    {
      g_message ("QMP: turning a client away: %s", relay->closed ? "the VM is ending" : "too many clients");
      g_io_stream_close (stream, NULL, NULL);
      return;
    }
  peer = g_rc_box_new0 (Peer);
  peer->relay = relay;
  peer->stream = g_object_ref (stream);
  peer->cancellable = g_cancellable_new ();
  peer->framer = ql_qmp_framer_new (QL_QMP_RELAY_MAX_MESSAGE);
  g_queue_init (&peer->out);
  g_ptr_array_add (relay->peers, peer);
  greeting = g_bytes_new (relay->greeting, strlen (relay->greeting));
  peer_send_bytes (peer, greeting);
  peer_read (peer);
}

static void
on_upstream_event (QlQmpClient *client, const char *name, JsonNode *data, gint64 usec, gpointer user_data)
{
  QlQmpRelay *relay = user_data;
  g_autoptr(JsonObject) event = ql_qmp_event_object (name, data, usec);
  g_autoptr(GBytes) line = NULL;
  g_autoptr(GPtrArray) peers = NULL;

  line = object_to_line (event);

  /* a peer dropped for its backlog leaves the array */
  peers = g_ptr_array_copy (relay->peers, (GCopyFunc) (void (*) (void)) peer_ref, NULL);
  g_ptr_array_set_free_func (peers, (GDestroyNotify) peer_unref);
  for (guint i = 0; i < peers->len; i++)
    {
      Peer *peer = peers->pdata[i];
      if (peer->negotiated)
        peer_send_bytes (peer, line);
    }
}

static void
on_upstream_closed (QlQmpClient *client, GError *why, gpointer user_data)
{
  ql_qmp_relay_close (user_data);
}

static char *
greeting_line (QlQmpClient *upstream)
{
  JsonObject *qemu = ql_qmp_client_get_greeting (upstream);
  g_autoptr(JsonObject) greeting = json_object_new ();
  JsonObject *qmp = json_object_new ();
  g_autoptr(GBytes) line = NULL;

  if (qemu != NULL && json_object_has_member (qemu, "version"))
    json_object_set_member (qmp, "version", json_node_copy (json_object_get_member (qemu, "version")));
  /* no out-of-band execution through the relay */
  json_object_set_array_member (qmp, "capabilities", json_array_new ());
  json_object_set_object_member (greeting, "QMP", qmp);
  line = object_to_line (greeting);
  return g_strndup (g_bytes_get_data (line, NULL), g_bytes_get_size (line));
}

QlQmpRelay *
ql_qmp_relay_new (QlQmpClient *upstream)
{
  QlQmpRelay *relay = g_new0 (QlQmpRelay, 1);

  relay->upstream = g_object_ref (upstream);
  relay->greeting = greeting_line (upstream);
  relay->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) peer_unref);
  relay->commands = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  relay->event_handler = g_signal_connect (upstream, "event", G_CALLBACK (on_upstream_event), relay);
  relay->closed_handler = g_signal_connect (upstream, "closed", G_CALLBACK (on_upstream_closed), relay);
  if (ql_qmp_client_is_closed (upstream))
    ql_qmp_relay_close (relay);
  return relay;
}

static gboolean
peer_is_owner (GSocketConnection *connection)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCredentials) credentials =
    g_socket_get_credentials (g_socket_connection_get_socket (connection), &error);
  uid_t uid;

  if (credentials == NULL)
    {
      g_message ("QMP: cannot tell who connected (%s); turning it away", error->message);
      return FALSE;
    }
  uid = g_credentials_get_unix_user (credentials, NULL);
  if (uid != geteuid () && uid != 0)
    {
      g_message ("QMP: turning away user %u: only the VM's owner may connect", (guint) uid);
      return FALSE;
    }
  return TRUE;
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source, gpointer user_data)
{
  QlQmpRelay *relay = user_data;

  if (peer_is_owner (connection))
    ql_qmp_relay_add_peer (relay, G_IO_STREAM (connection));
  else
    g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

gboolean
ql_qmp_relay_listen (QlQmpRelay *relay, const char *path, GError **error)
{
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GSocketService) service = g_socket_service_new ();
  mode_t old_umask;
  gboolean ok;

  g_return_val_if_fail (relay->service == NULL, FALSE);
  /* a socket of a run that died is in the way */
  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "Cannot remove old QMP socket '%s': %s",
                   path, g_strerror (errno));
      return FALSE;
    }
  old_umask = umask (0177);
  ok = g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, error);
  umask (old_umask);
  if (!ok)
    {
      g_prefix_error (error, "Cannot listen on QMP socket '%s': ", path);
      return FALSE;
    }
  relay->path = g_strdup (path);
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), relay);
  g_socket_service_start (service);
  relay->service = g_steal_pointer (&service);
  return TRUE;
}

guint
ql_qmp_relay_get_n_peers (QlQmpRelay *relay)
{
  return relay->peers->len;
}

void
ql_qmp_relay_close (QlQmpRelay *relay)
{
  if (relay == NULL || relay->closed)
    return;
  relay->closed = TRUE;
  if (relay->service != NULL)
    {
      g_socket_service_stop (relay->service);
      g_socket_listener_close (G_SOCKET_LISTENER (relay->service));
      g_unlink (relay->path);
    }
  while (relay->peers->len > 0)
    peer_close (relay->peers->pdata[relay->peers->len - 1], "the VM is ending");
}

void
ql_qmp_relay_free (QlQmpRelay *relay)
{
  if (relay == NULL)
    return;
  ql_qmp_relay_close (relay);
  g_clear_signal_handler (&relay->event_handler, relay->upstream);
  g_clear_signal_handler (&relay->closed_handler, relay->upstream);
  g_clear_object (&relay->upstream);
  g_clear_object (&relay->service);
  g_ptr_array_unref (relay->peers);
  g_hash_table_unref (relay->commands);
  g_free (relay->greeting);
  g_free (relay->path);
  g_free (relay);
}
