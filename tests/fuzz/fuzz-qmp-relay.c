/* libFuzzer harness: the supervisor's QMP relay reading whatever a client
 * sends (the owner's scripts, or anything that reached its socket).  A
 * scripted QEMU answers each forwarded command, one local command answers at
 * once; the client then hangs up with whatever it left unread. */
#include "ql-qmp-framer.h"
#include "ql-qmp-relay.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, \"capabilities\": []}}\r\n"

static void
feed (int fd, const void *data, size_t size)
{
  const char *p = data;

  while (size > 0)
    {
      ssize_t n = write (fd, p, size);
      if (n <= 0)
        break;
      p += n;
      size -= (size_t) n;
    }
}

static void
spin (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* QEMU's side: every command the relay forwarded gets a reply, with an
 * event between, as QEMU sends them. */
static void
answer_upstream (int qemu, QlQmpFramer *inbox)
{
  char buf[65536];
  ssize_t n;

  while ((n = recv (qemu, buf, sizeof buf, MSG_DONTWAIT)) > 0)
    ql_qmp_framer_push (inbox, buf, (gsize) n);
  for (;;)
    {
      g_autofree char *message = NULL;
      g_autoptr(JsonParser) parser = json_parser_new ();
      char reply[128];
      JsonObject *o;

      if (!ql_qmp_framer_next (inbox, &message, NULL))
        break;
      if (!json_parser_load_from_data (parser, message, -1, NULL))
        continue;
      o = json_node_get_object (json_parser_get_root (parser));
      snprintf (reply, sizeof reply, "{\"event\": \"RESUME\"}\r\n{\"return\": {}, \"id\": %" G_GINT64_FORMAT "}\r\n",
                json_object_get_int_member_with_default (o, "id", 0));
      feed (qemu, reply, strlen (reply));
    }
}

static void
answer_local (QlQmpRelayRequest *request, JsonObject *arguments, gpointer user_data)
{
  if (arguments != NULL && json_object_get_size (arguments) % 2 == 1)
    ql_qmp_relay_request_error (request, "GenericError", "odd");
  else
    ql_qmp_relay_request_return (request, NULL);
}

static QlQmpClient *
upstream_new (int *ret_qemu, QlQmpFramer *inbox)
{
  int pair[2];
  g_autoptr(QlQmpClient) client = NULL;
  GError *error = NULL;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return NULL;
  client = ql_qmp_client_new_for_fd (pair[1], NULL);
  feed (pair[0], GREETING, strlen (GREETING));
  ql_qmp_client_handshake_async (client, NULL, NULL, NULL);
  for (guint i = 0; i < 100 && ql_qmp_client_get_greeting (client) == NULL; i++)
    g_main_context_iteration (NULL, TRUE);
  spin ();
  answer_upstream (pair[0], inbox);   /* qmp_capabilities */
  spin ();
  g_clear_error (&error);
  *ret_qemu = pair[0];
  return g_steal_pointer (&client);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(QlQmpFramer) inbox = ql_qmp_framer_new (QL_QMP_MAX_MESSAGE_SIZE);
  g_autoptr(QlQmpClient) upstream = NULL;
  g_autoptr(QlQmpRelay) relay = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  int qemu = -1, peer[2];

  if (size > 60000 || socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, peer) != 0)
    return 0;
  upstream = upstream_new (&qemu, inbox);
  if (upstream == NULL)
    {
      close (peer[0]);
      close (peer[1]);
      return 0;
    }
  relay = ql_qmp_relay_new (upstream);
  ql_qmp_relay_add_command (relay, "qlaunch-fuzz", answer_local, NULL);
  socket = g_socket_new_from_fd (peer[1], NULL);
  connection = g_socket_connection_factory_create_connection (socket);
  ql_qmp_relay_add_peer (relay, G_IO_STREAM (connection));
  feed (peer[0], data, size);
  for (guint round = 0; round < 4; round++)
    {
      spin ();
      answer_upstream (qemu, inbox);
    }
  close (peer[0]);
  spin ();
  ql_qmp_relay_close (relay);
  ql_qmp_client_close (upstream);
  close (qemu);
  spin ();
  return 0;
}
