/* The QMP relay between a scripted QEMU (a socketpair the test plays) and
 * several clients (socketpairs the test plays too): greeting, negotiation,
 * ids rewritten both ways, events to every negotiated client, QEMU's errors
 * for bad input, and what happens to clients that hang up, do not read, or
 * are not the VM's owner. */
#include "ql-qmp-client.h"
#include "ql-qmp-framer.h"
#include "ql-qmp-relay.h"
#include "ql-hotplug.h"

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n"

typedef struct {
  int fd;
  QlQmpFramer *inbox;
} End;

typedef struct {
  End qemu;
  QlQmpClient *upstream;
  QlQmpRelay *relay;
} Fixture;

static void
spin (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
end_write (End *e, const char *text)
{
  gsize len = strlen (text), off = 0;

  while (off < len)
    {
      gssize n = send (e->fd, text + off, len - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EPIPE)
        break;   /* the other side hung up on us */
      if (n > 0)
        off += n;
      spin ();
    }
  spin ();
}

/* The next message the other side sent, parsed; NULL when it hung up. */
static JsonObject *
end_read (End *e)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  g_autofree char *message = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  while (!ql_qmp_framer_next (e->inbox, &message, NULL))
    {
      char buf[65536];
      gssize n = read (e->fd, buf, sizeof buf);
      if (n == 0)
        return NULL;
      if (n > 0)
        ql_qmp_framer_push (e->inbox, buf, n);
      else
        g_main_context_iteration (NULL, FALSE);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  g_assert_true (json_parser_load_from_data (parser, message, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
end_init (End *e, int fd)
{
  e->fd = fd;
  e->inbox = ql_qmp_framer_new (QL_QMP_MAX_MESSAGE_SIZE);
}

static void
end_clear (End *e)
{
  if (e->fd >= 0)
    close (e->fd);
  e->fd = -1;
  g_clear_pointer (&e->inbox, ql_qmp_framer_free);
}

/* QEMU's side: the next command the relay sent upstream. */
static JsonObject *
qemu_expect (Fixture *f, const char *command)
{
  JsonObject *message = end_read (&f->qemu);

  g_assert_nonnull (message);
  g_assert_cmpstr (json_object_get_string_member (message, "execute"), ==, command);
  return message;
}

static void
handshake_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (ql_qmp_client_handshake_finish (QL_QMP_CLIENT (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
setup (Fixture *f, gconstpointer data)
{
  gboolean handshaken = FALSE;
  int fds[2];
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) caps = NULL;
  g_autofree char *reply = NULL;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), ==, 0);
  end_init (&f->qemu, fds[0]);
  f->upstream = ql_qmp_client_new_for_fd (fds[1], &error);
  g_assert_no_error (error);
  ql_qmp_client_handshake_async (f->upstream, NULL, handshake_done, &handshaken);
  end_write (&f->qemu, GREETING);
  caps = qemu_expect (f, "qmp_capabilities");
  reply = g_strdup_printf ("{\"return\": {}, \"id\": %" G_GINT64_FORMAT "}\r\n", json_object_get_int_member (caps, "id"));
  end_write (&f->qemu, reply);
  while (!handshaken)
    g_main_context_iteration (NULL, TRUE);
  f->relay = ql_qmp_relay_new (f->upstream);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->relay, ql_qmp_relay_free);
  ql_qmp_client_close (f->upstream);
  spin ();
  g_clear_object (&f->upstream);
  end_clear (&f->qemu);
  spin ();
}

/* A client of the relay, greeted; negotiated when asked. */
static void
client_connect (Fixture *f, End *c, gboolean negotiate)
{
  int fds[2];
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(JsonObject) greeting = NULL;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), ==, 0);
  end_init (c, fds[0]);
  socket = g_socket_new_from_fd (fds[1], NULL);
  connection = g_socket_connection_factory_create_connection (socket);
  ql_qmp_relay_add_peer (f->relay, G_IO_STREAM (connection));
  greeting = end_read (c);
  g_assert_nonnull (greeting);
  g_assert_true (json_object_has_member (greeting, "QMP"));
  if (negotiate)
    {
      g_autoptr(JsonObject) reply = NULL;
      end_write (c, "{\"execute\": \"qmp_capabilities\"}");
      reply = end_read (c);
      g_assert_true (json_object_has_member (reply, "return"));
    }
}

static const char *
error_class (JsonObject *reply)
{
  g_assert_true (json_object_has_member (reply, "error"));
  return json_object_get_string_member (json_object_get_object_member (reply, "error"), "class");
}

static void
test_greeting_and_negotiation (Fixture *f, gconstpointer data)
{
  End c = { -1 };
  g_autoptr(JsonObject) reply = NULL;
  JsonObject *qmp;

  client_connect (f, &c, FALSE);
  /* before negotiation only qmp_capabilities, with QEMU's words */
  end_write (&c, "{\"execute\": \"query-status\", \"id\": \"early\"}");
  reply = end_read (&c);
  g_assert_cmpstr (error_class (reply), ==, "CommandNotFound");
  g_assert_cmpstr (json_object_get_string_member (reply, "id"), ==, "early");
  g_clear_pointer (&reply, json_object_unref);

  end_write (&c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}");
  reply = end_read (&c);
  g_assert_cmpstr (error_class (reply), ==, "GenericError");
  g_clear_pointer (&reply, json_object_unref);

  end_write (&c, "{\"execute\": \"qmp_capabilities\", \"id\": 7}");
  reply = end_read (&c);
  g_assert_true (json_object_has_member (reply, "return"));
  g_assert_cmpint (json_object_get_int_member (reply, "id"), ==, 7);
  g_clear_pointer (&reply, json_object_unref);

  end_write (&c, "{\"execute\": \"qmp_capabilities\"}");
  reply = end_read (&c);
  g_assert_cmpstr (error_class (reply), ==, "CommandNotFound");
  end_clear (&c);

  /* the greeting carries QEMU's version and no out-of-band capability */
  client_connect (f, &c, FALSE);
  end_clear (&c);
  qmp = json_object_get_object_member (ql_qmp_client_get_greeting (f->upstream), "version");
  g_assert_nonnull (qmp);
}

/* Two clients use the same id at once; QEMU answers in its order; each
 * gets its own reply under its own id. */
static void
test_ids_rewritten (Fixture *f, gconstpointer data)
{
  End a = { -1 }, b = { -1 };
  g_autoptr(JsonObject) sent_a = NULL, sent_b = NULL, reply_a = NULL, reply_b = NULL;
  g_autofree char *answer_a = NULL, *answer_b = NULL;

  client_connect (f, &a, TRUE);
  client_connect (f, &b, TRUE);
  end_write (&a, "{\"execute\": \"query-name\", \"id\": \"same\"}");
  sent_a = qemu_expect (f, "query-name");
  end_write (&b, "{\"execute\": \"query-uuid\", \"arguments\": {}, \"id\": \"same\"}");
  sent_b = qemu_expect (f, "query-uuid");
  g_assert_cmpint (json_object_get_int_member (sent_a, "id"), !=, json_object_get_int_member (sent_b, "id"));
  g_assert_true (json_object_has_member (sent_b, "arguments"));

  answer_b = g_strdup_printf ("{\"return\": {\"UUID\": \"b\"}, \"id\": %" G_GINT64_FORMAT "}\r\n",
                              json_object_get_int_member (sent_b, "id"));
  answer_a = g_strdup_printf ("{\"error\": {\"class\": \"GenericError\", \"desc\": \"for a\"}, \"id\": %" G_GINT64_FORMAT "}\r\n",
                              json_object_get_int_member (sent_a, "id"));
  end_write (&f->qemu, answer_b);
  end_write (&f->qemu, answer_a);
  reply_a = end_read (&a);
  reply_b = end_read (&b);
  g_assert_cmpstr (json_object_get_string_member (reply_a, "id"), ==, "same");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (reply_a, "error"), "desc"), ==, "for a");
  g_assert_cmpstr (json_object_get_string_member (reply_b, "id"), ==, "same");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (reply_b, "return"), "UUID"), ==, "b");
  end_clear (&a);
  end_clear (&b);
}

static void
test_events_to_negotiated (Fixture *f, gconstpointer data)
{
  End a = { -1 }, b = { -1 }, early = { -1 };
  g_autoptr(JsonObject) ev_a = NULL, ev_b = NULL, reply = NULL;

  client_connect (f, &a, TRUE);
  client_connect (f, &b, TRUE);
  client_connect (f, &early, FALSE);
  end_write (&f->qemu, "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 5}}\r\n");
  ev_a = end_read (&a);
  ev_b = end_read (&b);
  g_assert_cmpstr (json_object_get_string_member (ev_a, "event"), ==, "STOP");
  g_assert_cmpstr (json_object_get_string_member (ev_b, "event"), ==, "STOP");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (ev_a, "timestamp"), "seconds"), ==, 1700000000);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (ev_a, "timestamp"), "microseconds"), ==, 5);
  /* the client still negotiating saw no event: its next message is its reply */
  end_write (&early, "{\"execute\": \"qmp_capabilities\", \"id\": 1}");
  reply = end_read (&early);
  g_assert_true (json_object_has_member (reply, "return"));
  end_clear (&a);
  end_clear (&b);
  end_clear (&early);
}

static void
test_bad_input (Fixture *f, gconstpointer data)
{
  static const char *const inputs[] = {
    "{\"execute\": }",
    "{\"execute\": 3, \"id\": 1}",
    "{\"arguments\": {}, \"id\": 1}",
    "{\"execute\": \"query-name\", \"arguments\": [], \"id\": 1}",
    "{\"execute\": \"query-name\", \"control\": {}, \"id\": 1}",
    "{\"exec-oob\": \"query-name\", \"id\": 1}",
  };
  End c = { -1 };

  client_connect (f, &c, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(JsonObject) reply = NULL;
      end_write (&c, inputs[i]);
      reply = end_read (&c);
      g_assert_nonnull (reply);
      g_assert_cmpstr (error_class (reply), ==, "GenericError");
    }
  /* none of it went upstream, and the client is still served */
  g_assert_cmpuint (ql_qmp_relay_get_n_peers (f->relay), ==, 1);
  end_write (&c, "{\"execute\": \"query-name\"}");
  json_object_unref (qemu_expect (f, "query-name"));
  /* a stream that is not JSON objects cannot be resynchronised: dropped */
  end_write (&c, "[1]");
  for (JsonObject *m; (m = end_read (&c)) != NULL;)
    json_object_unref (m);
  g_assert_cmpuint (ql_qmp_relay_get_n_peers (f->relay), ==, 0);
  end_clear (&c);
}

/* A client that hangs up with a command in flight: QEMU's late reply goes
 * nowhere, the others are served on. */
static void
test_client_hangs_up (Fixture *f, gconstpointer data)
{
  End gone = { -1 }, stays = { -1 };
  g_autoptr(JsonObject) sent = NULL, ev = NULL;
  g_autofree char *answer = NULL;

  client_connect (f, &gone, TRUE);
  client_connect (f, &stays, TRUE);
  end_write (&gone, "{\"execute\": \"query-name\", \"id\": 1}");
  sent = qemu_expect (f, "query-name");
  end_clear (&gone);
  spin ();
  g_assert_cmpuint (ql_qmp_relay_get_n_peers (f->relay), ==, 1);
  answer = g_strdup_printf ("{\"return\": {}, \"id\": %" G_GINT64_FORMAT "}\r\n", json_object_get_int_member (sent, "id"));
  end_write (&f->qemu, answer);
  end_write (&f->qemu, "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 0}}\r\n");
  ev = end_read (&stays);
  g_assert_cmpstr (json_object_get_string_member (ev, "event"), ==, "RESUME");
  end_clear (&stays);
}

/* QEMU gone: every client is hung up on, and new ones are turned away. */
static void
test_upstream_closes (Fixture *f, gconstpointer data)
{
  End a = { -1 }, b = { -1 };
  int fds[2];
  char byte;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;

  client_connect (f, &a, TRUE);
  client_connect (f, &b, FALSE);
  end_clear (&f->qemu);
  spin ();
  g_assert_null (end_read (&a));
  g_assert_null (end_read (&b));
  g_assert_cmpuint (ql_qmp_relay_get_n_peers (f->relay), ==, 0);

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  socket = g_socket_new_from_fd (fds[1], NULL);
  connection = g_socket_connection_factory_create_connection (socket);
  ql_qmp_relay_add_peer (f->relay, G_IO_STREAM (connection));
  g_assert_cmpint (read (fds[0], &byte, 1), ==, 0);
  close (fds[0]);
  end_clear (&a);
  end_clear (&b);
}

static void
test_too_many_clients (Fixture *f, gconstpointer data)
{
  End clients[QL_QMP_RELAY_MAX_PEERS + 1];
  char byte;

  for (guint i = 0; i < QL_QMP_RELAY_MAX_PEERS; i++)
    client_connect (f, &clients[i], FALSE);
  {
    int fds[2];
    g_autoptr(GSocket) socket = NULL;
    g_autoptr(GSocketConnection) connection = NULL;

    g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
    socket = g_socket_new_from_fd (fds[1], NULL);
    connection = g_socket_connection_factory_create_connection (socket);
    ql_qmp_relay_add_peer (f->relay, G_IO_STREAM (connection));
    g_assert_cmpint (read (fds[0], &byte, 1), ==, 0);
    close (fds[0]);
  }
  g_assert_cmpuint (ql_qmp_relay_get_n_peers (f->relay), ==, QL_QMP_RELAY_MAX_PEERS);
  for (guint i = 0; i < QL_QMP_RELAY_MAX_PEERS; i++)
    end_clear (&clients[i]);
}

/* A client that never reads is dropped once its backlog passes the limit;
 * a client that reads is served on. */
static void
test_slow_reader_dropped (Fixture *f, gconstpointer data)
{
  End slow = { -1 }, fast = { -1 };
  g_autofree char *blob = g_strnfill (60 * 1024, 'x');
  g_autofree char *event = g_strdup_printf ("{\"event\": \"BIG\", \"data\": {\"x\": \"%s\"}}\r\n", blob);
  guint sent = 0;

  client_connect (f, &slow, TRUE);
  client_connect (f, &fast, TRUE);
  while (ql_qmp_relay_get_n_peers (f->relay) == 2)
    {
      g_autoptr(JsonObject) ev = NULL;
      end_write (&f->qemu, event);
      ev = end_read (&fast);
      g_assert_cmpstr (json_object_get_string_member (ev, "event"), ==, "BIG");
      sent++;
      g_assert_cmpuint (sent, <, 2 * QL_QMP_RELAY_MAX_QUEUED / strlen (event) + 16);
    }
  g_assert_cmpuint (sent, >=, QL_QMP_RELAY_MAX_QUEUED / strlen (event) / 2);
  end_clear (&slow);
  end_clear (&fast);
}

/* The listening socket: 0600, served to the owner, not to another user. */
static void
test_listen_owner_only (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-relay-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "qmp.sock", NULL);
  g_autoptr(GError) error = NULL;
  struct stat st;
  pid_t child;
  int status;

  g_assert_true (ql_qmp_relay_listen (f->relay, path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  if (geteuid () != 0)
    g_test_message ("not root: the other-user half is not run");
  else
    {
      /* another user, let in by the modes: greeted by nothing but a hang-up */
      g_assert_cmpint (chmod (dir, 0755), ==, 0);
      g_assert_cmpint (chmod (path, 0666), ==, 0);
      child = fork ();
      if (child == 0)
        {
          struct sockaddr_un sa = { .sun_family = AF_UNIX };
          char buf[16];
          int fd;
          if (setgid (65534) != 0 || setuid (65534) != 0)
            _exit (3);
          fd = socket (AF_UNIX, SOCK_STREAM, 0);
          g_strlcpy (sa.sun_path, path, sizeof sa.sun_path);
          if (connect (fd, (struct sockaddr *) &sa, sizeof sa) != 0)
            _exit (4);
          _exit (read (fd, buf, sizeof buf) == 0 ? 0 : 5);
        }
      while (waitpid (child, &status, WNOHANG) == 0)
        g_main_context_iteration (NULL, FALSE);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    }

  {
    g_autoptr(QlQmpClient) owner = ql_qmp_client_connect_unix (path, &error);
    g_assert_no_error (error);
    g_assert_true (ql_qmp_client_handshake_sync (owner, 5000, &error));
    g_assert_no_error (error);
    ql_qmp_client_close (owner);
  }
  ql_qmp_relay_close (f->relay);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  spin ();
  g_rmdir (dir);
}

static void
echo_command (QlQmpRelayRequest *request, JsonObject *arguments, gpointer user_data)
{
  JsonObject *copy = json_object_new ();

  if (arguments != NULL && json_object_has_member (arguments, "fail"))
    {
      ql_qmp_relay_request_error (request, "DeviceNotFound", "as asked");
      json_object_unref (copy);
      return;
    }
  json_object_set_int_member (copy, "args", arguments ? (gint64) json_object_get_size (arguments) : -1);
  ql_qmp_relay_request_return (request, json_node_init_object (json_node_alloc (), copy));
  json_object_unref (copy);
}

static void
later_command (QlQmpRelayRequest *request, JsonObject *arguments, gpointer user_data)
{
  *(QlQmpRelayRequest **) user_data = request;
}

/* qlaunch's own commands are answered by the relay's owner, at once or
 * later, never by QEMU; a late answer to a client that hung up is harmless. */
static void
test_local_commands (Fixture *f, gconstpointer data)
{
  End c = { -1 };
  QlQmpRelayRequest *pending = NULL;
  g_autoptr(JsonObject) r1 = NULL, r2 = NULL, r3 = NULL, r4 = NULL, sent = NULL;

  ql_qmp_relay_add_command (f->relay, "qlaunch-echo", echo_command, NULL);
  ql_qmp_relay_add_command (f->relay, "qlaunch-later", later_command, &pending);
  client_connect (f, &c, FALSE);
  end_write (&c, "{\"execute\": \"qlaunch-echo\", \"id\": 1}");
  r1 = end_read (&c);
  g_assert_cmpstr (error_class (r1), ==, "CommandNotFound");   /* not before negotiation */
  end_write (&c, "{\"execute\": \"qmp_capabilities\"}");
  json_object_unref (end_read (&c));
  end_write (&c, "{\"execute\": \"qlaunch-echo\", \"arguments\": {\"a\": 1, \"b\": 2}, \"id\": \"x\"}");
  r2 = end_read (&c);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (r2, "return"), "args"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (r2, "id"), ==, "x");
  end_write (&c, "{\"execute\": \"qlaunch-echo\", \"arguments\": {\"fail\": true}, \"id\": 3}");
  r3 = end_read (&c);
  g_assert_cmpstr (error_class (r3), ==, "DeviceNotFound");
  g_assert_cmpint (json_object_get_int_member (r3, "id"), ==, 3);
  /* QEMU saw none of it: the next thing upstream is a forwarded command */
  end_write (&c, "{\"execute\": \"query-name\"}");
  sent = qemu_expect (f, "query-name");

  end_write (&c, "{\"execute\": \"qlaunch-later\", \"id\": 4}");
  while (pending == NULL)
    g_main_context_iteration (NULL, TRUE);
  end_clear (&c);
  spin ();
  ql_qmp_relay_request_return (pending, NULL);
  spin ();
  g_assert_cmpuint (ql_qmp_relay_get_n_peers (f->relay), ==, 0);
}

/* Everything QEMU has been sent so far, as commands. */
static guint
qemu_drain_commands (Fixture *f, GPtrArray *ids)
{
  guint n = 0;

  for (;;)
    {
      g_autofree char *message = NULL;
      char buf[65536];
      gssize got;

      spin ();
      while ((got = read (f->qemu.fd, buf, sizeof buf)) > 0)
        ql_qmp_framer_push (f->qemu.inbox, buf, got);
      if (!ql_qmp_framer_next (f->qemu.inbox, &message, NULL))
        return n;
      {
        g_autoptr(JsonParser) parser = json_parser_new ();
        g_assert_true (json_parser_load_from_data (parser, message, -1, NULL));
        if (ids != NULL)
          g_ptr_array_add (ids, GSIZE_TO_POINTER ((gsize) json_object_get_int_member (
                                  json_node_get_object (json_parser_get_root (parser)), "id")));
      }
      n++;
    }
}

/* A client is held to QEMU's own monitor's limit of commands in flight, its
 * commands are bounded in size, and what it leaves queued goes with it. */
static void
test_in_flight_limit (Fixture *f, gconstpointer data)
{
  End c = { -1 }, other = { -1 };
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  g_autofree char *answer = NULL;
  g_autofree char *huge = NULL;
  g_autofree char *pad = g_strnfill (QL_QMP_RELAY_MAX_MESSAGE, 'a');
  g_autoptr(JsonObject) reply = NULL, ev = NULL;

  client_connect (f, &c, TRUE);
  for (guint i = 0; i < 3 * QL_QMP_RELAY_MAX_IN_FLIGHT; i++)
    end_write (&c, "{\"execute\": \"query-name\"}");
  g_assert_cmpuint (qemu_drain_commands (f, ids), ==, QL_QMP_RELAY_MAX_IN_FLIGHT);
  answer = g_strdup_printf ("{\"return\": {}, \"id\": %" G_GSIZE_FORMAT "}\r\n", GPOINTER_TO_SIZE (ids->pdata[0]));
  end_write (&f->qemu, answer);
  reply = end_read (&c);
  g_assert_true (json_object_has_member (reply, "return"));
  g_assert_cmpuint (qemu_drain_commands (f, NULL), ==, 1);   /* one answered, one more let through */

  /* another client is not held back by the first one's backlog */
  client_connect (f, &other, TRUE);
  end_write (&other, "{\"execute\": \"query-uuid\"}");
  g_assert_cmpuint (qemu_drain_commands (f, NULL), ==, 1);
  end_clear (&c);            /* hangs up with 16 commands unread, 8 unanswered */
  spin ();
  end_write (&f->qemu, "{\"event\": \"STOP\"}\r\n");
  ev = end_read (&other);
  g_assert_cmpstr (json_object_get_string_member (ev, "event"), ==, "STOP");

  /* one command beyond the size limit: an error, and the client is dropped */
  huge = g_strdup_printf ("{\"execute\": \"x\", \"arguments\": {\"a\": \"%s\"}}", pad);
  end_write (&other, huge);
  for (JsonObject *m; (m = end_read (&other)) != NULL;)
    json_object_unref (m);
  g_assert_cmpuint (ql_qmp_relay_get_n_peers (f->relay), ==, 0);
  end_clear (&other);
}

/* The supervisor's teardown while a detach waits for QEMU: relay closed,
 * hotplug freed, QEMU's connection closed, the main loop run again (as the
 * undo's log does).  The late callback must not touch the freed device
 * (found by review: a use-after-free under ASan). */
static void
test_hotplug_freed_in_flight (Fixture *f, gconstpointer data)
{
  QlProfile profile = { .vm.name = (char *) "vm" };
  QlPci pci = { .id = (char *) "gpu" };
  QlMachineFunction fn = { .host = "0000:01:00.0", .id = (char *) "hostdev-gpu" };
  QlMachineHostdev hostdev = { .pci = &pci, .port_id = (char *) "rp-gpu", .functions = g_ptr_array_new () };
  QlMachine m = { .profile = &profile, .hostdevs = g_ptr_array_new () };
  const char *argv[] = { "qemu", "-device", "vfio-pci,host=0000:01:00.0,id=hostdev-gpu", NULL };
  g_autoptr(JsonObject) sent = NULL;
  QlHotplug *h;
  End c = { -1 };

  g_ptr_array_add (hostdev.functions, &fn);
  g_ptr_array_add (m.hostdevs, &hostdev);
  h = ql_hotplug_new (&m, argv, f->upstream, NULL);
  ql_hotplug_serve (h, f->relay);
  client_connect (f, &c, TRUE);
  end_write (&c, "{\"execute\": \"qlaunch-detach\", \"arguments\": {\"device\": \"gpu\"}, \"id\": 1}");
  sent = qemu_expect (f, "query-status");   /* never answered */
  ql_qmp_relay_close (f->relay);
  ql_hotplug_free (h);
  ql_qmp_client_close (f->upstream);
  spin ();
  end_clear (&c);
  g_ptr_array_unref (hostdev.functions);
  g_ptr_array_unref (m.hostdevs);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/qmp-relay/greeting-negotiation", test_greeting_and_negotiation);
  ADD ("/qmp-relay/ids-rewritten", test_ids_rewritten);
  ADD ("/qmp-relay/events", test_events_to_negotiated);
  ADD ("/qmp-relay/bad-input", test_bad_input);
  ADD ("/qmp-relay/client-hangs-up", test_client_hangs_up);
  ADD ("/qmp-relay/upstream-closes", test_upstream_closes);
  ADD ("/qmp-relay/too-many-clients", test_too_many_clients);
  ADD ("/qmp-relay/slow-reader-dropped", test_slow_reader_dropped);
  ADD ("/qmp-relay/listen-owner-only", test_listen_owner_only);
  ADD ("/qmp-relay/local-commands", test_local_commands);
  ADD ("/qmp-relay/in-flight-limit", test_in_flight_limit);
  ADD ("/qmp-relay/hotplug-freed-in-flight", test_hotplug_freed_in_flight);
  return g_test_run ();
}
