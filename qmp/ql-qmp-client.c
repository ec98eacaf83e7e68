#include "ql-qmp-client.h"
#include "ql-qmp-framer.h"

#include <gio/gunixsocketaddress.h>

G_DEFINE_QUARK (ql-qmp-error-quark, ql_qmp_error)

static const char *const error_classes[] = {
  [QL_QMP_ERROR_GENERIC] = "GenericError",
  [QL_QMP_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
  [QL_QMP_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
  [QL_QMP_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
  [QL_QMP_ERROR_KVM_MISSING_CAP] = "KVMMissingCap",
};

const char *
ql_qmp_error_class_to_string (QlQmpError code)
{
  if ((guint) code < G_N_ELEMENTS (error_classes))
    return error_classes[code];
  return NULL;
}

struct _QlQmpClient {
  GObject parent;
  GIOStream *stream;
  GMainContext *context;
  GCancellable *cancellable;     /* cancels the read and write loops on close */
  QlQmpFramer *framer;
  JsonObject *greeting;
  GTask *handshake;              /* pending handshake, if any */
  GQueue after_handshake;        /* Deferred*: sent right behind qmp_capabilities */
  GHashTable *pending;           /* id (gint64*) -> GTask* */
  gint64 next_id;
  GQueue write_queue;            /* GBytes* */
  GBytes *writing;               /* the message being written, NULL when idle */
  gboolean closed;
  GError *close_error;           /* why the connection closed */
};

enum { SIGNAL_EVENT, SIGNAL_CLOSED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (QlQmpClient, ql_qmp_client, G_TYPE_OBJECT)

static void start_read (QlQmpClient *self);
static void close_with_error (QlQmpClient *self, const GError *why);

typedef struct {
  char *command;
  GAsyncReadyCallback callback;
  gpointer user_data;
} Deferred;

static void
deferred_free (Deferred *deferred)
{
  g_free (deferred->command);
  g_free (deferred);
}

static void
ql_qmp_client_dispose (GObject *object)
{
  QlQmpClient *self = QL_QMP_CLIENT (object);

  ql_qmp_client_close (self);
  G_OBJECT_CLASS (ql_qmp_client_parent_class)->dispose (object);
}

static void
ql_qmp_client_finalize (GObject *object)
{
  QlQmpClient *self = QL_QMP_CLIENT (object);

  g_clear_object (&self->stream);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->framer, ql_qmp_framer_free);
  g_clear_pointer (&self->greeting, json_object_unref);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_queue_clear_full (&self->after_handshake, (GDestroyNotify) deferred_free);
  g_queue_clear_full (&self->write_queue, (GDestroyNotify) g_bytes_unref);
  g_clear_pointer (&self->writing, g_bytes_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_error (&self->close_error);
  G_OBJECT_CLASS (ql_qmp_client_parent_class)->finalize (object);
}

static void
ql_qmp_client_class_init (QlQmpClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ql_qmp_client_dispose;
  object_class->finalize = ql_qmp_client_finalize;

  signals[SIGNAL_EVENT] = g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                                        G_TYPE_STRING, JSON_TYPE_NODE, G_TYPE_INT64);
  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
ql_qmp_client_init (QlQmpClient *self)
{
  self->cancellable = g_cancellable_new ();
  self->framer = ql_qmp_framer_new (QL_QMP_MAX_MESSAGE_SIZE);
  self->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_object_unref);
  self->next_id = 1;
  g_queue_init (&self->write_queue);
  g_queue_init (&self->after_handshake);
}

QlQmpClient *
ql_qmp_client_new (GIOStream *stream)
{
  QlQmpClient *self = g_object_new (QL_TYPE_QMP_CLIENT, NULL);

  self->stream = g_object_ref (stream);
  self->context = g_main_context_ref_thread_default ();
  start_read (self);
  return self;
}

QlQmpClient *
ql_qmp_client_new_for_fd (int fd, GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);
  g_autoptr(GSocketConnection) connection = NULL;

  if (socket == NULL)
    {
      g_prefix_error (error, "QMP socket fd %d: ", fd);
      return NULL;
    }
  connection = g_socket_connection_factory_create_connection (socket);
  return ql_qmp_client_new (G_IO_STREAM (connection));
}

QlQmpClient *
ql_qmp_client_connect_unix (const char *path, GError **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, error);
  if (connection == NULL)
    {
      g_prefix_error (error, "Cannot connect to QMP socket '%s': ", path);
      return NULL;
    }
  return ql_qmp_client_new (G_IO_STREAM (connection));
}

JsonObject *
ql_qmp_client_get_greeting (QlQmpClient *self)
{
  return self->greeting;
}

gboolean
ql_qmp_client_is_closed (QlQmpClient *self)
{
  return self->closed;
}

/* ---- writing ---- */

static void write_next (QlQmpClient *self);

static void
write_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(QlQmpClient) self = user_data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&self->writing, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (!self->closed)
        {
          g_autoptr(GError) why = g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED,
                                               "QMP write failed: %s", error->message);
          close_with_error (self, why);
        }
      return;
    }
  write_next (self);
}

static void
write_next (QlQmpClient *self)
{
  gsize len;
  gconstpointer data;

  if (self->writing != NULL || self->closed || g_queue_is_empty (&self->write_queue))
    return;
  self->writing = g_queue_pop_head (&self->write_queue);
  data = g_bytes_get_data (self->writing, &len);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (self->stream), data, len,
                                   G_PRIORITY_DEFAULT, self->cancellable, write_done,
                                   g_object_ref (self));
}

static gint64
send_command (QlQmpClient *self, const char *command, JsonNode *arguments)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  gint64 id = self->next_id++;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "execute");
  json_builder_add_string_value (builder, command);
  if (arguments != NULL)
    {
      json_builder_set_member_name (builder, "arguments");
      json_builder_add_value (builder, json_node_copy (arguments));
    }
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, id);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  g_debug ("qmp: -> %s", text);
  g_queue_push_tail (&self->write_queue,
                     g_bytes_new_take (g_strconcat (text, "\n", NULL), strlen (text) + 1));
  write_next (self);
  return id;
}

/* ---- cancelling a task ---- */

typedef struct {
  GCancellable *cancellable;
  gulong handler;
} CancelWatch;

static void
cancel_watch_end (gpointer data, GObject *task_was)
{
  CancelWatch *watch = data;

  /* a cancelled cancellable emits no more (ours are never reset); and
   * disconnecting from inside its handler would wait for itself */
  if (!g_cancellable_is_cancelled (watch->cancellable))
    g_cancellable_disconnect (watch->cancellable, watch->handler);
  g_object_unref (watch->cancellable);
  g_free (watch);
}

/* The handler gets the task without a reference: the task holds the
 * cancellable, so a reference back would keep both, and the client, for
 * ever.  The handler goes when the task does. */
static void
watch_cancel (GTask *task, GCancellable *cancellable, GCallback handler)
{
  CancelWatch *watch;

  if (cancellable == NULL)
    return;
  watch = g_new0 (CancelWatch, 1);
  watch->cancellable = g_object_ref (cancellable);
  watch->handler = g_cancellable_connect (cancellable, handler, task, NULL);
  g_object_weak_ref (G_OBJECT (task), cancel_watch_end, watch);
}

/* ---- commands ---- */

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;
  QlQmpClient *self = g_task_get_source_object (task);
  gint64 id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (task), "ql-qmp-id"));
  gpointer stolen_key = NULL, stolen_task = NULL;

  if (g_hash_table_steal_extended (self->pending, &id, &stolen_key, &stolen_task))
    {
      g_free (stolen_key);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "QMP command cancelled");
      g_object_unref (stolen_task);
    }
}

static GTask *
execute_task (QlQmpClient *self, const char *command, JsonNode *arguments,
              GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data,
              gint64 *ret_id)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  gint64 id;

  g_task_set_source_tag (task, ql_qmp_client_execute_async);
  g_task_set_task_data (task, g_strdup (command), g_free);
  if (arguments != NULL && !JSON_NODE_HOLDS_OBJECT (arguments))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "QMP arguments of '%s' must be an object", command);
      return NULL;
    }
  if (self->closed)
    {
      g_task_return_error (task, g_error_copy (self->close_error));
      return NULL;
    }
  if (g_task_return_error_if_cancelled (task))
    return NULL;

  id = send_command (self, command, arguments);
  g_hash_table_insert (self->pending, g_memdup2 (&id, sizeof id), g_object_ref (task));
  g_object_set_data (G_OBJECT (task), "ql-qmp-id", GSIZE_TO_POINTER ((gsize) id));
  watch_cancel (task, cancellable, G_CALLBACK (on_cancelled));
  if (ret_id != NULL)
    *ret_id = id;
  return g_steal_pointer (&task);
}

void
ql_qmp_client_execute_async (QlQmpClient *self, const char *command, JsonNode *arguments,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (QL_IS_QMP_CLIENT (self));
  task = execute_task (self, command, arguments, cancellable, callback, user_data, NULL);
}

JsonNode *
ql_qmp_client_execute_finish (QlQmpClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
ql_qmp_client_forward_async (QlQmpClient *self, const char *command, JsonNode *arguments,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (QL_IS_QMP_CLIENT (self));
  task = execute_task (self, command, arguments, cancellable, callback, user_data, NULL);
  if (task != NULL)
    g_object_set_data (G_OBJECT (task), "ql-qmp-whole-reply", GINT_TO_POINTER (TRUE));
}

JsonObject *
ql_qmp_client_forward_finish (QlQmpClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* What a (possibly compromised) QEMU sends is checked for its type: a
 * member of another type reads as absent. */
static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return "";
  return json_node_get_string (node);
}

static gint64
member_int (JsonObject *o, const char *name)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return 0;
  return json_node_get_int (node);
}

static QlQmpError
error_code_from_class (const char *klass)
{
  for (guint i = 0; i < G_N_ELEMENTS (error_classes); i++)
    if (g_strcmp0 (error_classes[i], klass) == 0)
      return i;
  return QL_QMP_ERROR_UNKNOWN_CLASS;
}

/* The reply without its id (ours, not the forwarding client's). */
static JsonObject *
whole_reply (JsonObject *message)
{
  JsonObject *reply = json_object_new ();
  const char *member = json_object_has_member (message, "error") ? "error" : "return";

  json_object_set_member (reply, member, json_node_copy (json_object_get_member (message, member)));
  return reply;
}

static void
complete_command (QlQmpClient *self, JsonObject *message)
{
  JsonNode *id_node = json_object_get_member (message, "id");
  gpointer key = NULL, value = NULL;
  g_autoptr(GTask) task = NULL;
  gint64 id;

  if (id_node == NULL || json_node_get_value_type (id_node) != G_TYPE_INT64)
    {
      /* QEMU sends parse errors without an id; we never send bad JSON. */
      g_debug ("qmp: ignoring reply without a numeric id");
      return;
    }
  id = json_node_get_int (id_node);
  if (!g_hash_table_steal_extended (self->pending, &id, &key, &value))
    {
      g_debug ("qmp: ignoring reply to unknown id %" G_GINT64_FORMAT, id);
      return;
    }
  g_free (key);
  task = value;

  if (g_object_get_data (G_OBJECT (task), "ql-qmp-whole-reply") != NULL)
    g_task_return_pointer (task, whole_reply (message), (GDestroyNotify) json_object_unref);
  else if (json_object_has_member (message, "error"))
    {
      JsonNode *err = json_object_get_member (message, "error");
      JsonObject *obj = JSON_NODE_HOLDS_OBJECT (err) ? json_node_get_object (err) : NULL;
      const char *klass = obj ? member_string (obj, "class") : "";
      const char *desc = obj ? member_string (obj, "desc") : "";
      QlQmpError code = error_code_from_class (klass);

      if (code == QL_QMP_ERROR_UNKNOWN_CLASS)
        g_task_return_new_error (task, QL_QMP_ERROR, code, "%s (QMP error class '%s')", desc, klass);
      else
        g_task_return_new_error (task, QL_QMP_ERROR, code, "%s", desc);
    }
  else
    g_task_return_pointer (task, json_node_copy (json_object_get_member (message, "return")),
                           (GDestroyNotify) json_node_unref);
}

/* ---- handshake ---- */

static void
capabilities_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = ql_qmp_client_execute_finish (QL_QMP_CLIENT (source), result, &error);

  if (ret == NULL)
    {
      g_prefix_error (&error, "QMP capabilities negotiation failed: ");
      g_task_return_error (task, g_steal_pointer (&error));
    }
  else
    g_task_return_boolean (task, TRUE);
}

static void
send_deferred (QlQmpClient *self)
{
  Deferred *deferred;

  while ((deferred = g_queue_pop_head (&self->after_handshake)) != NULL)
    {
      ql_qmp_client_execute_async (self, deferred->command, NULL, NULL, deferred->callback, deferred->user_data);
      deferred_free (deferred);
    }
}

static void
fail_deferred (QlQmpClient *self, const GError *why)
{
  Deferred *deferred;

  while ((deferred = g_queue_pop_head (&self->after_handshake)) != NULL)
    {
      g_task_report_error (self, deferred->callback, deferred->user_data, ql_qmp_client_execute_async,
                           g_error_copy (why));
      deferred_free (deferred);
    }
}

static void
negotiate (QlQmpClient *self)
{
  GTask *task = g_steal_pointer (&self->handshake);

  if (task == NULL || self->greeting == NULL)
    {
      self->handshake = task;
      return;
    }
  ql_qmp_client_execute_async (self, "qmp_capabilities", NULL, g_task_get_cancellable (task),
                               capabilities_done, task);
  send_deferred (self);
}

/* Only the wait for the greeting is cancelled here; once it arrived, the
 * capabilities command carries the same cancellable. */
static void
on_handshake_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;
  QlQmpClient *self = g_task_get_source_object (task);

  if (self->handshake == task)
    {
      g_autoptr(GTask) pending = g_steal_pointer (&self->handshake);
      g_autoptr(GError) why = g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED, "QMP handshake cancelled");

      g_task_return_error (pending, g_error_copy (why));
      fail_deferred (self, why);
    }
}

void
ql_qmp_client_handshake_async (QlQmpClient *self, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, ql_qmp_client_handshake_async);
  if (self->closed)
    {
      g_task_return_error (task, g_error_copy (self->close_error));
      return;
    }
  if (self->handshake != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               "QMP handshake already in progress");
      return;
    }
  self->handshake = g_object_ref (task);
  watch_cancel (task, cancellable, G_CALLBACK (on_handshake_cancelled));
  negotiate (self);
}

void
ql_qmp_client_execute_after_handshake_async (QlQmpClient *self, const char *command,
                                             GAsyncReadyCallback callback, gpointer user_data)
{
  Deferred *deferred;

  g_return_if_fail (QL_IS_QMP_CLIENT (self));
  if (self->handshake == NULL)
    {
      ql_qmp_client_execute_async (self, command, NULL, NULL, callback, user_data);
      return;
    }
  deferred = g_new0 (Deferred, 1);
  deferred->command = g_strdup (command);
  deferred->callback = callback;
  deferred->user_data = user_data;
  g_queue_push_tail (&self->after_handshake, deferred);
}

gboolean
ql_qmp_client_handshake_finish (QlQmpClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- reading ---- */

static void
handle_message (QlQmpClient *self, const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;
  JsonObject *message;

  g_debug ("qmp: <- %s", text);
  if (!json_parser_load_from_data (parser, text, -1, &error))
    {
      g_autoptr(GError) why = g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL,
                                           "QMP peer sent malformed JSON: %s", error->message);
      close_with_error (self, why);
      return;
    }
  root = json_parser_get_root (parser);
  message = json_node_get_object (root);   /* the framer only passes objects */

  if (json_object_has_member (message, "QMP"))
    {
      JsonNode *greeting = json_object_get_member (message, "QMP");

      if (self->greeting != NULL || !JSON_NODE_HOLDS_OBJECT (greeting))
        {
          g_autoptr(GError) why = g_error_new_literal (QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL,
                                                       "QMP peer sent an unexpected greeting");
          close_with_error (self, why);
          return;
        }
      self->greeting = json_object_ref (json_node_get_object (greeting));
      negotiate (self);
      return;
    }

  if (self->greeting == NULL)
    {
      g_autoptr(GError) why = g_error_new_literal (QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL,
                                                   "QMP peer did not start with a greeting");
      close_with_error (self, why);
      return;
    }

  if (json_object_has_member (message, "event"))
    {
      const char *name = member_string (message, "event");
      JsonNode *data = json_object_get_member (message, "data");
      gint64 usec = 0;

      if (json_object_has_member (message, "timestamp"))
        {
          JsonNode *ts = json_object_get_member (message, "timestamp");
          if (JSON_NODE_HOLDS_OBJECT (ts))
            {
              JsonObject *t = json_node_get_object (ts);
              usec = CLAMP (member_int (t, "seconds"), 0, G_MAXINT64 / G_USEC_PER_SEC - 1) * G_USEC_PER_SEC +
                     CLAMP (member_int (t, "microseconds"), 0, G_USEC_PER_SEC - 1);
            }
        }
      g_signal_emit (self, signals[SIGNAL_EVENT], 0, name, data, usec);
      return;
    }

  if (json_object_has_member (message, "return") || json_object_has_member (message, "error"))
    {
      complete_command (self, message);
      return;
    }

  g_debug ("qmp: ignoring message that is neither event nor reply");
}

static void
read_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(QlQmpClient) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  gsize len;
  gconstpointer data;

  if (self->closed)
    return;
  if (bytes == NULL)
    {
      g_autoptr(GError) why = g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED,
                                           "QMP read failed: %s", error->message);
      close_with_error (self, why);
      return;
    }
  data = g_bytes_get_data (bytes, &len);
  if (len == 0)
    {
      g_autoptr(GError) why = g_error_new_literal (QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED,
                                                   "QMP connection closed by peer");
      close_with_error (self, why);
      return;
    }

  ql_qmp_framer_push (self->framer, data, len);
  for (;;)
    {
      g_autofree char *message = NULL;

      if (!ql_qmp_framer_next (self->framer, &message, &error))
        {
          if (error != NULL)
            close_with_error (self, error);
          break;
        }
      handle_message (self, message);
      if (self->closed)
        break;
    }

  if (!self->closed)
    start_read (self);
}

static void
start_read (QlQmpClient *self)
{
  g_input_stream_read_bytes_async (g_io_stream_get_input_stream (self->stream), 64 * 1024,
                                   G_PRIORITY_DEFAULT, self->cancellable, read_done,
                                   g_object_ref (self));
}

/* ---- closing ---- */

static void
close_with_error (QlQmpClient *self, const GError *why)
{
  G_GNUC_UNUSED g_autoptr(QlQmpClient) hold = g_object_ref (self);
  g_autoptr(GTask) handshake = NULL;
  GHashTableIter iter;
  gpointer value;
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);

  if (self->closed)
    return;
  self->closed = TRUE;
  self->close_error = g_error_copy (why);
  g_debug ("qmp: closing: %s", why->message);
  g_cancellable_cancel (self->cancellable);
  if (self->stream != NULL)
    g_io_stream_close (self->stream, NULL, NULL);

  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (tasks, g_object_ref (value));
  g_hash_table_remove_all (self->pending);
  for (guint i = 0; i < tasks->len; i++)
    g_task_return_error (tasks->pdata[i], g_error_copy (why));

  handshake = g_steal_pointer (&self->handshake);
  if (handshake != NULL)
    g_task_return_error (handshake, g_error_copy (why));
  fail_deferred (self, why);

  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, why);
}

void
ql_qmp_client_close (QlQmpClient *self)
{
  g_autoptr(GError) why = NULL;

  if (self->closed)
    return;
  why = g_error_new_literal (QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED, "QMP connection closed");
  close_with_error (self, why);
}

/* ---- blocking forms ---- */

typedef struct {
  GAsyncResult *result;
  gboolean timed_out;
} SyncWait;

static void
sync_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SyncWait *wait = user_data;

  wait->result = g_object_ref (result);
}

static gboolean
sync_timeout (gpointer user_data)
{
  SyncWait *wait = user_data;

  wait->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the client's context until the operation finished or the time ran out;
 * on timeout the operation is cancelled and its (cancelled) result awaited. */
static void
sync_run (QlQmpClient *self, SyncWait *wait, GCancellable *cancellable, guint timeout_ms)
{
  g_autoptr(GSource) timer = g_timeout_source_new (timeout_ms);

  g_source_set_callback (timer, sync_timeout, wait, NULL);
  g_source_attach (timer, self->context);
  while (wait->result == NULL)
    {
      if (wait->timed_out)
        g_cancellable_cancel (cancellable);
      g_main_context_iteration (self->context, TRUE);
    }
  g_source_destroy (timer);
}

static gboolean
sync_error (SyncWait *wait, GError **error, const char *what, guint timeout_ms)
{
  if (wait->timed_out && error != NULL && *error != NULL &&
      g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (error);
      g_set_error (error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT,
                   "QMP %s: no reply within %u ms", what, timeout_ms);
    }
  return FALSE;
}

gboolean
ql_qmp_client_handshake_sync (QlQmpClient *self, guint timeout_ms, GError **error)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  SyncWait wait = { 0 };
  gboolean ok;

  g_main_context_push_thread_default (self->context);
  ql_qmp_client_handshake_async (self, cancellable, sync_done, &wait);
  sync_run (self, &wait, cancellable, timeout_ms);
  g_main_context_pop_thread_default (self->context);
  ok = ql_qmp_client_handshake_finish (self, wait.result, error);
  g_object_unref (wait.result);
  if (!ok)
    {
      sync_error (&wait, error, "handshake", timeout_ms);
      /* a monitor of QEMU's own serves one client at a time, the next waits
       * ungreeted; qlaunch's relay greets at once unless its supervisor is stuck */
      if (error != NULL && g_error_matches (*error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT))
        g_prefix_error (error, "No QMP greeting: the peer is stuck, or it is a monitor of QEMU's own that "
                               "another client holds (it takes one at a time).  ");
      return FALSE;
    }
  return TRUE;
}

JsonNode *
ql_qmp_client_execute_sync (QlQmpClient *self, const char *command, JsonNode *arguments,
                            guint timeout_ms, GError **error)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  SyncWait wait = { 0 };
  JsonNode *ret;

  g_main_context_push_thread_default (self->context);
  ql_qmp_client_execute_async (self, command, arguments, cancellable, sync_done, &wait);
  sync_run (self, &wait, cancellable, timeout_ms);
  g_main_context_pop_thread_default (self->context);
  ret = ql_qmp_client_execute_finish (self, wait.result, error);
  g_object_unref (wait.result);
  if (ret == NULL)
    sync_error (&wait, error, command, timeout_ms);
  return ret;
}

JsonObject *
ql_qmp_client_forward_sync (QlQmpClient *self, const char *command, JsonNode *arguments,
                            guint timeout_ms, GError **error)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  SyncWait wait = { 0 };
  JsonObject *reply;

  g_main_context_push_thread_default (self->context);
  ql_qmp_client_forward_async (self, command, arguments, cancellable, sync_done, &wait);
  sync_run (self, &wait, cancellable, timeout_ms);
  g_main_context_pop_thread_default (self->context);
  reply = ql_qmp_client_forward_finish (self, wait.result, error);
  g_object_unref (wait.result);
  if (reply == NULL)
    sync_error (&wait, error, command, timeout_ms);
  return reply;
}
