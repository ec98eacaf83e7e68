/* The QMP client against a scripted peer on a socketpair: the peer plays
 * QEMU byte for byte, including what QEMU 7.2 really does (events before the
 * reply of the command that caused them, CRLF line ends). */
#include "ql-qmp-client.h"
#include "ql-qmp-framer.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": \"Debian\"}, \"capabilities\": [\"oob\"]}}\r\n"

typedef struct {
  int peer;                  /* the "QEMU" end */
  QlQmpClient *client;
  QlQmpFramer *inbox;        /* what the client sent, split into messages */
  GPtrArray *log;            /* "event:NAME" and "reply:ID" in the order the client delivered them */
  guint closed_signals;
  GError *closed_error;
} Fixture;

static void
on_event (QlQmpClient *client, const char *name, JsonNode *data, gint64 usec, Fixture *f)
{
  g_ptr_array_add (f->log, g_strdup_printf ("event:%s", name));
}

static void
on_closed (QlQmpClient *client, GError *why, Fixture *f)
{
  f->closed_signals++;
  g_clear_error (&f->closed_error);
  f->closed_error = g_error_copy (why);
}

static void
setup (Fixture *f, gconstpointer data)
{
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), ==, 0);
  f->peer = fds[0];
  f->client = ql_qmp_client_new_for_fd (fds[1], NULL);
  g_assert_nonnull (f->client);
  f->inbox = ql_qmp_framer_new (QL_QMP_MAX_MESSAGE_SIZE);
  f->log = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (f->client, "event", G_CALLBACK (on_event), f);
  g_signal_connect (f->client, "closed", G_CALLBACK (on_closed), f);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  /* let the cancelled reads and writes finish before their fd numbers are reused */
  ql_qmp_client_close (f->client);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&f->client);
  if (f->peer >= 0)
    close (f->peer);
  ql_qmp_framer_free (f->inbox);
  g_ptr_array_unref (f->log);
  g_clear_error (&f->closed_error);
}

static void
spin (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
peer_send (Fixture *f, const char *text)
{
  gsize len = strlen (text), off = 0;

  while (off < len)
    {
      gssize n = write (f->peer, text + off, len - off);
      if (n < 0)
        {
          spin ();
          continue;
        }
      off += n;
    }
  spin ();
}

static void
peer_close (Fixture *f)
{
  close (f->peer);
  f->peer = -1;
}

/* Waits for the next message the client sends, as text. */
static char *
peer_read (Fixture *f)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  char *message = NULL;

  while (!ql_qmp_framer_next (f->inbox, &message, NULL))
    {
      char buf[4096];
      gssize n = read (f->peer, buf, sizeof buf);
      if (n > 0)
        ql_qmp_framer_push (f->inbox, buf, n);
      else
        g_main_context_iteration (NULL, FALSE);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  return message;
}

/* Waits for the next command the client sends; returns its id. */
static gint64
peer_expect (Fixture *f, const char *command)
{
  g_autofree char *message = peer_read (f);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o;

  g_assert_true (json_parser_load_from_data (parser, message, -1, NULL));
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (o, "execute"), ==, command);
  return json_object_get_int_member (o, "id");
}

static void
handshake (Fixture *f)
{
  gint64 id;

  peer_send (f, GREETING);
  ql_qmp_client_handshake_async (f->client, NULL, NULL, NULL);
  id = peer_expect (f, "qmp_capabilities");
  {
    g_autofree char *reply = g_strdup_printf ("{\"return\": {}, \"id\": %" G_GINT64_FORMAT "}\r\n", id);
    peer_send (f, reply);
  }
  g_assert_nonnull (ql_qmp_client_get_greeting (f->client));
}

typedef struct {
  Fixture *f;
  char *tag;
  JsonNode *ret;
  GError *error;
  gboolean done;
} Call;

static void
call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *call = user_data;

  call->ret = ql_qmp_client_execute_finish (QL_QMP_CLIENT (source), result, &call->error);
  call->done = TRUE;
  g_ptr_array_add (call->f->log, g_strdup_printf ("reply:%s", call->tag));
}

static void
call_clear (Call *call)
{
  g_clear_pointer (&call->ret, json_node_unref);
  g_clear_error (&call->error);
  g_free (call->tag);
}

static void
call_start (Fixture *f, Call *call, const char *command, const char *tag)
{
  memset (call, 0, sizeof *call);
  call->f = f;
  call->tag = g_strdup (tag);
  ql_qmp_client_execute_async (f->client, command, NULL, NULL, call_done, call);
}

static void
call_wait (Call *call)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (!call->done)
    {
      g_main_context_iteration (NULL, FALSE);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
}

static char *
log_text (Fixture *f)
{
  g_ptr_array_add (f->log, NULL);
  {
    char *text = g_strjoinv (" ", (char **) f->log->pdata);
    g_ptr_array_remove_index (f->log, f->log->len - 1);
    return text;
  }
}

/* ---- tests ---- */

static void
handshake_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError **error = user_data;
  gboolean ok = ql_qmp_client_handshake_finish (QL_QMP_CLIENT (source), result, error);

  g_assert_true (ok);
}

static void
handshake_failed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (ql_qmp_client_handshake_finish (QL_QMP_CLIENT (source), result, &error));
  g_assert_nonnull (error);
  *(gboolean *) user_data = TRUE;
}

static void
test_handshake (Fixture *f, gconstpointer data)
{
  GError *error = NULL;
  JsonObject *version;
  gint64 id;

  peer_send (f, GREETING);
  ql_qmp_client_handshake_async (f->client, NULL, handshake_done, &error);
  id = peer_expect (f, "qmp_capabilities");
  g_assert_cmpint (id, ==, 1);
  peer_send (f, "{\"return\": {}, \"id\": 1}\r\n");
  g_assert_no_error (error);
  version = json_object_get_object_member (ql_qmp_client_get_greeting (f->client), "version");
  g_assert_cmpstr (json_object_get_string_member (version, "package"), ==, "Debian");
}

/* A command asked for before the greeting goes out right behind
 * qmp_capabilities, before the capabilities' reply: QEMU answers both when
 * its main loop starts, with no round trip between. */
static void
test_after_handshake (Fixture *f, gconstpointer data)
{
  Call call = { .f = f, .tag = g_strdup ("cont") };
  GError *error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *replies = NULL;
  gint64 caps_id, cont_id;

  ql_qmp_client_handshake_async (f->client, NULL, handshake_done, &error);
  ql_qmp_client_execute_after_handshake_async (f->client, "cont", call_done, &call);
  spin ();
  /* nothing may reach QEMU before its greeting */
  {
    char buf[64];
    g_assert_cmpint (read (f->peer, buf, sizeof buf), <, 0);
  }
  peer_send (f, GREETING);
  caps_id = peer_expect (f, "qmp_capabilities");
  cont_id = peer_expect (f, "cont");
  g_assert_cmpint (cont_id, >, caps_id);
  g_assert_false (call.done);
  replies = g_strdup_printf ("{\"return\": {}, \"id\": %" G_GINT64_FORMAT "}\r\n"
                             "{\"return\": {}, \"id\": %" G_GINT64_FORMAT "}\r\n", caps_id, cont_id);
  peer_send (f, replies);
  call_wait (&call);
  g_assert_no_error (error);
  g_assert_no_error (call.error);
  text = log_text (f);
  g_assert_cmpstr (text, ==, "reply:cont");
  call_clear (&call);

  /* once the greeting is in, such a command is an ordinary one */
  call = (Call) { .f = f, .tag = g_strdup ("stop") };
  ql_qmp_client_execute_after_handshake_async (f->client, "stop", call_done, &call);
  cont_id = peer_expect (f, "stop");
  g_free (replies);
  replies = g_strdup_printf ("{\"return\": {}, \"id\": %" G_GINT64_FORMAT "}\r\n", cont_id);
  peer_send (f, replies);
  call_wait (&call);
  g_assert_no_error (call.error);
  call_clear (&call);
}

/* QEMU gone before its greeting: the held command fails with the handshake,
 * it is never sent. */
static void
test_after_handshake_eof (Fixture *f, gconstpointer data)
{
  Call call = { .f = f, .tag = g_strdup ("cont") };
  gboolean handshake_failed = FALSE;

  ql_qmp_client_handshake_async (f->client, NULL, handshake_failed_cb, &handshake_failed);
  ql_qmp_client_execute_after_handshake_async (f->client, "cont", call_done, &call);
  peer_close (f);
  call_wait (&call);
  g_assert_true (handshake_failed);
  g_assert_error (call.error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  call_clear (&call);
}

/* QEMU 7.2 sends RESUME before the reply to 'cont': the event must reach
 * listeners first, and the reply still completes the command. */
static void
test_event_before_reply (Fixture *f, gconstpointer data)
{
  Call call;
  gint64 id;
  g_autofree char *text = NULL;
  g_autofree char *script = NULL;

  handshake (f);
  call_start (f, &call, "cont", "cont");
  id = peer_expect (f, "cont");
  script = g_strdup_printf ("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\r\n"
                            "{\"return\": {}, \"id\": %" G_GINT64_FORMAT "}\r\n", id);
  peer_send (f, script);
  call_wait (&call);
  g_assert_no_error (call.error);
  text = log_text (f);
  g_assert_cmpstr (text, ==, "event:RESUME reply:cont");
  call_clear (&call);
}

/* Replies are matched by id, not by order; several messages in one read. */
static void
test_merged_out_of_order (Fixture *f, gconstpointer data)
{
  Call a, b;
  gint64 ida, idb;
  g_autofree char *script = NULL;
  g_autofree char *text = NULL;

  handshake (f);
  call_start (f, &a, "query-status", "a");
  call_start (f, &b, "query-name", "b");
  ida = peer_expect (f, "query-status");
  idb = peer_expect (f, "query-name");
  script = g_strdup_printf ("{\"return\": {\"name\": \"vm\"}, \"id\": %" G_GINT64_FORMAT "}"
                            "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 0}}\n"
                            "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": %" G_GINT64_FORMAT "}\r\n",
                            idb, ida);
  peer_send (f, script);
  call_wait (&a);
  call_wait (&b);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (a.ret), "status"), ==, "running");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (b.ret), "name"), ==, "vm");
  text = log_text (f);
  g_assert_cmpstr (text, ==, "reply:b event:STOP reply:a");
  call_clear (&a);
  call_clear (&b);
}

/* One reply arriving a byte at a time, with a string holding braces and escapes. */
static void
test_split_reads (Fixture *f, gconstpointer data)
{
  Call call;
  gint64 id;
  g_autofree char *reply = NULL;

  handshake (f);
  call_start (f, &call, "query-name", "q");
  id = peer_expect (f, "query-name");
  reply = g_strdup_printf ("{\"return\": {\"name\": \"a}\\\"{,b\"}, \"id\": %" G_GINT64_FORMAT "}\r\n", id);
  /* up to the closing brace nothing completes; the brace completes it */
  for (const char *p = reply; *p; p++)
    {
      char one[2] = { *p, 0 };
      g_assert_false (call.done);
      peer_send (f, one);
      if (g_str_equal (p, "}\r\n"))
        break;
    }
  g_assert_true (call.done);
  peer_send (f, "\r\n");
  call_wait (&call);
  g_assert_no_error (call.error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (call.ret), "name"), ==, "a}\"{,b");
  call_clear (&call);
}

static void
test_error_classes (Fixture *f, gconstpointer data)
{
  Call a, b;
  gint64 id;
  g_autofree char *r1 = NULL, *r2 = NULL;

  handshake (f);
  call_start (f, &a, "nope", "a");
  id = peer_expect (f, "nope");
  r1 = g_strdup_printf ("{\"id\": %" G_GINT64_FORMAT ", \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not been found\"}}\r\n", id);
  peer_send (f, r1);
  call_wait (&a);
  g_assert_error (a.error, QL_QMP_ERROR, QL_QMP_ERROR_COMMAND_NOT_FOUND);
  g_assert_cmpstr (a.error->message, ==, "The command nope has not been found");
  g_assert_cmpstr (ql_qmp_error_class_to_string (a.error->code), ==, "CommandNotFound");

  call_start (f, &b, "future", "b");
  id = peer_expect (f, "future");
  r2 = g_strdup_printf ("{\"id\": %" G_GINT64_FORMAT ", \"error\": {\"class\": \"NewClass\", \"desc\": \"odd\"}}\r\n", id);
  peer_send (f, r2);
  call_wait (&b);
  g_assert_error (b.error, QL_QMP_ERROR, QL_QMP_ERROR_UNKNOWN_CLASS);
  g_assert_cmpstr (b.error->message, ==, "odd (QMP error class 'NewClass')");
  g_assert_false (ql_qmp_client_is_closed (f->client));
  call_clear (&a);
  call_clear (&b);
}

/* A command in flight when the peer sends bad bytes fails with a protocol
 * error, and the connection closes once; returns the command's error. */
static GError *
fail_in_flight (Fixture *f, const char *bad_bytes)
{
  Call call;
  GError *error;

  handshake (f);
  call_start (f, &call, "query-status", "q");
  peer_expect (f, "query-status");
  peer_send (f, bad_bytes);
  call_wait (&call);
  g_assert_error (call.error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
  g_assert_true (ql_qmp_client_is_closed (f->client));
  g_assert_cmpuint (f->closed_signals, ==, 1);
  g_assert_error (f->closed_error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
  error = g_steal_pointer (&call.error);
  call_clear (&call);
  return error;
}

static void
test_garbage (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = fail_in_flight (f, "this is not json\r\n");

  g_assert_true (g_str_has_prefix (error->message, "QMP peer sent data that is not a JSON object"));
}

static void
test_malformed_object (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = fail_in_flight (f, "{\"return\": , \"id\": 2}\r\n");

  g_assert_true (g_str_has_prefix (error->message, "QMP peer sent malformed JSON"));
}

/* Members of the wrong type (a compromised QEMU) read as absent, without a
 * GLib critical (fatal in tests) and without an overflowing timestamp. */
static void
test_wrong_member_types (Fixture *f, gconstpointer data)
{
  Call a;
  gint64 id;
  g_autofree char *reply = NULL;

  handshake (f);
  peer_send (f, "{\"event\": {\"x\": 1}, \"timestamp\": {\"seconds\": 9223372036854775807, \"microseconds\": \"1\"}}\r\n");
  call_start (f, &a, "odd", "a");
  id = peer_expect (f, "odd");
  reply = g_strdup_printf ("{\"id\": %" G_GINT64_FORMAT ", \"error\": {\"class\": {}, \"desc\": [1]}}\r\n", id);
  peer_send (f, reply);
  call_wait (&a);
  g_assert_error (a.error, QL_QMP_ERROR, QL_QMP_ERROR_UNKNOWN_CLASS);
  g_assert_cmpstr (a.error->message, ==, " (QMP error class '')");
  g_assert_false (ql_qmp_client_is_closed (f->client));
  call_clear (&a);
}

/* Whatever precedes the greeting, nothing is accepted until it came. */
static void
test_no_greeting (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  peer_send (f, "{\"return\": {}, \"id\": 1}\r\n");
  g_assert_false (ql_qmp_client_handshake_sync (f->client, 2000, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==, "QMP peer did not start with a greeting");
}

static void
test_disconnect_pending (Fixture *f, gconstpointer data)
{
  Call call;

  handshake (f);
  call_start (f, &call, "query-status", "q");
  peer_expect (f, "query-status");
  peer_close (f);
  call_wait (&call);
  g_assert_error (call.error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  g_assert_cmpuint (f->closed_signals, ==, 1);
  /* later commands fail at once */
  {
    Call late;
    call_start (f, &late, "query-status", "late");
    call_wait (&late);
    g_assert_error (late.error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
    call_clear (&late);
  }
  g_assert_cmpuint (f->closed_signals, ==, 1);
  call_clear (&call);
}

static void
test_eof_in_handshake (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  peer_close (f);
  g_assert_false (ql_qmp_client_handshake_sync (f->client, 2000, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
}

static void
test_timeouts (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;

  /* a silent peer: the handshake gives up */
  g_assert_false (ql_qmp_client_handshake_sync (f->client, 200, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT);
  /* what a second client of a monitor sees: the likely cause is named */
  g_assert_true (g_str_has_prefix (error->message, "No QMP greeting: the peer is stuck, or it is a monitor of QEMU's own that another client holds"));
  g_assert_nonnull (strstr (error->message, "no reply within 200 ms"));
  g_clear_error (&error);

  /* a command without a reply gives up, and a late reply is then ignored */
  handshake (f);
  ret = ql_qmp_client_execute_sync (f->client, "query-status", NULL, 200, &error);
  g_assert_null (ret);
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT);
  peer_send (f, "{\"return\": {}, \"id\": 2}\r\n");
  g_assert_false (ql_qmp_client_is_closed (f->client));
}

typedef struct {
  Fixture *f;
  char *request;
} LateReply;

/* The peer answers from the main loop the blocking call iterates. */
static gboolean
reply_later (gpointer user_data)
{
  LateReply *late = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *reply = NULL;

  late->request = peer_read (late->f);
  g_assert_true (json_parser_load_from_data (parser, late->request, -1, NULL));
  reply = g_strdup_printf ("{\"return\": [], \"id\": %" G_GINT64_FORMAT "}\r\n",
                           json_object_get_int_member (json_node_get_object (json_parser_get_root (parser)), "id"));
  if (write (late->f->peer, reply, strlen (reply)) < 0)
    g_assert_not_reached ();
  return G_SOURCE_REMOVE;
}

/* Arguments reach the peer intact (quotes, newlines, commas are JSON's job),
 * and the blocking form returns the reply. */
static void
test_sync_round_trip (Fixture *f, gconstpointer data)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) args = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;
  LateReply late = { f, NULL };

  handshake (f);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, "/machine\"\n,x");
  json_builder_end_object (b);
  args = json_builder_get_root (b);
  g_timeout_add (20, reply_later, &late);
  ret = ql_qmp_client_execute_sync (f->client, "qom-list", args, 5000, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (ret));
  g_assert_cmpstr (late.request, ==, "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine\\\"\\n,x\"},\"id\":2}");
  g_free (late.request);
}

/* ---- the framer alone ---- */

/* A closed client is freed: a task's cancel handler once held the task,
 * which holds the cancellable and the client (found by fuzz-qmp-client,
 * which grew by every client it made). */
static void
test_client_freed (void)
{
  const char *peer = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n{\"return\": {}, \"id\": 1}\r\n";
  g_autoptr(GError) error = NULL;
  QlQmpClient *client;
  gpointer alive;
  int pair[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  g_assert_cmpint (write (pair[1], peer, strlen (peer)), ==, (gssize) strlen (peer));
  close (pair[1]);
  client = ql_qmp_client_new_for_fd (pair[0], &error);
  g_assert_no_error (error);
  alive = client;
  g_object_add_weak_pointer (G_OBJECT (client), &alive);
  g_assert_true (ql_qmp_client_handshake_sync (client, 1000, &error));
  g_assert_null (ql_qmp_client_execute_sync (client, "query-status", NULL, 1000, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  ql_qmp_client_close (client);
  g_object_unref (client);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (alive);
}

static void
test_framer_limits (void)
{
  g_autoptr(QlQmpFramer) small = ql_qmp_framer_new (16);
  g_autoptr(QlQmpFramer) deep = ql_qmp_framer_new (QL_QMP_MAX_MESSAGE_SIZE);
  g_autoptr(QlQmpFramer) nul = ql_qmp_framer_new (QL_QMP_MAX_MESSAGE_SIZE);
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  g_autoptr(GString) nested = g_string_new ("{\"a\":");

  ql_qmp_framer_push (small, "{\"a\": \"0123456789abcdef\"}", 25);
  g_assert_false (ql_qmp_framer_next (small, &message, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
  g_assert_cmpstr (error->message, ==, "QMP message exceeds 16 bytes");
  g_clear_error (&error);

  for (int i = 0; i < 300; i++)
    g_string_append_c (nested, '[');
  ql_qmp_framer_push (deep, nested->str, nested->len);
  g_assert_false (ql_qmp_framer_next (deep, &message, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
  g_clear_error (&error);

  ql_qmp_framer_push (nul, "{\"a\": \"x\0y\"}", 12);
  g_assert_false (ql_qmp_framer_next (nul, &message, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
}

static void
test_framer_incremental (void)
{
  g_autoptr(QlQmpFramer) framer = ql_qmp_framer_new (QL_QMP_MAX_MESSAGE_SIZE);
  const char *stream = "  \r\n{\"a\": \"}\\\\\"}{\"b\": [1, {\"c\": 2}]}\n";
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;

  for (const char *p = stream; *p; p++)
    {
      char *message = NULL;
      ql_qmp_framer_push (framer, p, 1);
      while (ql_qmp_framer_next (framer, &message, &error))
        g_ptr_array_add (out, message);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (out->len, ==, 2);
  g_assert_cmpstr (out->pdata[0], ==, "{\"a\": \"}\\\\\"}");
  g_assert_cmpstr (out->pdata[1], ==, "{\"b\": [1, {\"c\": 2}]}");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/qmp/handshake", test_handshake);
  ADD ("/qmp/after-handshake", test_after_handshake);
  ADD ("/qmp/after-handshake-eof", test_after_handshake_eof);
  ADD ("/qmp/event-before-reply", test_event_before_reply);
  ADD ("/qmp/merged-out-of-order", test_merged_out_of_order);
  ADD ("/qmp/split-reads", test_split_reads);
  ADD ("/qmp/error-classes", test_error_classes);
  ADD ("/qmp/garbage", test_garbage);
  ADD ("/qmp/malformed-object", test_malformed_object);
  ADD ("/qmp/no-greeting", test_no_greeting);
  ADD ("/qmp/disconnect-pending", test_disconnect_pending);
  ADD ("/qmp/eof-in-handshake", test_eof_in_handshake);
  ADD ("/qmp/timeouts", test_timeouts);
  ADD ("/qmp/wrong-member-types", test_wrong_member_types);
  g_test_add_func ("/qmp/client-freed", test_client_freed);
  ADD ("/qmp/sync-round-trip", test_sync_round_trip);
  g_test_add_func ("/qmp/framer/limits", test_framer_limits);
  g_test_add_func ("/qmp/framer/incremental", test_framer_incremental);
  return g_test_run ();
}
