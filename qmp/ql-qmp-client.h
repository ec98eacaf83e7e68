#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define QL_QMP_ERROR (ql_qmp_error_quark ())
GQuark ql_qmp_error_quark (void);

/* Error codes of QL_QMP_ERROR.  The first five mirror QMP's error classes
 * (qapi/error.json); the message of such an error is QMP's "desc". */
typedef enum {
  QL_QMP_ERROR_GENERIC,            /* class GenericError */
  QL_QMP_ERROR_COMMAND_NOT_FOUND,  /* class CommandNotFound */
  QL_QMP_ERROR_DEVICE_NOT_ACTIVE,  /* class DeviceNotActive */
  QL_QMP_ERROR_DEVICE_NOT_FOUND,   /* class DeviceNotFound */
  QL_QMP_ERROR_KVM_MISSING_CAP,    /* class KVMMissingCap */
  QL_QMP_ERROR_UNKNOWN_CLASS,      /* an error class this client does not know; the message names it */
  QL_QMP_ERROR_PROTOCOL,           /* the peer broke the protocol (bad JSON, no greeting, oversized) */
  QL_QMP_ERROR_DISCONNECTED,       /* the connection closed before the reply */
  QL_QMP_ERROR_TIMEOUT,            /* no reply within the time the caller allowed */
} QlQmpError;

/* The QMP class name of an error code, or NULL for codes that are not classes. */
const char *ql_qmp_error_class_to_string (QlQmpError code);

#define QL_TYPE_QMP_CLIENT (ql_qmp_client_get_type ())
G_DECLARE_FINAL_TYPE (QlQmpClient, ql_qmp_client, QL, QMP_CLIENT, GObject)

/* Signals:
 *  "event"  (const char *name, JsonNode *data (nullable), gint64 timestamp_usec)
 *           emitted in arrival order, also while commands are in flight;
 *  "closed" (GError *why) emitted once when the connection ends. */

/* Takes a reference on stream and starts reading at once in the
 * thread-default main context; all callbacks run there. */
QlQmpClient *ql_qmp_client_new (GIOStream *stream);
/* Takes ownership of fd, a connected stream socket. */
QlQmpClient *ql_qmp_client_new_for_fd (int fd, GError **error);
QlQmpClient *ql_qmp_client_connect_unix (const char *path, GError **error);

/* Waits for the greeting and negotiates capabilities. */
void ql_qmp_client_handshake_async (QlQmpClient *self, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
gboolean ql_qmp_client_handshake_finish (QlQmpClient *self, GAsyncResult *result, GError **error);

/* While a handshake waits for the greeting, COMMAND is held and then sent
 * right behind qmp_capabilities, so that a peer still initialising answers
 * both without a round trip between them; otherwise it is sent at once.
 * Its reply comes back from ql_qmp_client_execute_finish. */
void ql_qmp_client_execute_after_handshake_async (QlQmpClient *self, const char *command,
                                                  GAsyncReadyCallback callback, gpointer user_data);

/* The greeting's "QMP" object once it arrived, else NULL (borrowed). */
JsonObject *ql_qmp_client_get_greeting (QlQmpClient *self);

/* Sends {"execute": command, "arguments": arguments, "id": N}; arguments
 * (nullable) must be an object node and is not consumed.  The reply's
 * "return" value comes back from _finish. */
void ql_qmp_client_execute_async (QlQmpClient *self, const char *command, JsonNode *arguments,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
JsonNode *ql_qmp_client_execute_finish (QlQmpClient *self, GAsyncResult *result, GError **error);

/* Sends a command on behalf of another QMP client (a relay): the reply
 * comes back whole, an object with "return" or "error" as QEMU sent it,
 * without the id; a QMP error is not a GError here, only a lost connection,
 * a cancellation or bad arguments are. */
void ql_qmp_client_forward_async (QlQmpClient *self, const char *command, JsonNode *arguments,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
JsonObject *ql_qmp_client_forward_finish (QlQmpClient *self, GAsyncResult *result, GError **error);

/* Blocking forms for command-line verbs and tests: they iterate the client's
 * main context until done or timeout_ms passed (QL_QMP_ERROR_TIMEOUT). */
gboolean ql_qmp_client_handshake_sync (QlQmpClient *self, guint timeout_ms, GError **error);
JsonNode *ql_qmp_client_execute_sync (QlQmpClient *self, const char *command, JsonNode *arguments,
                                      guint timeout_ms, GError **error);

JsonObject *ql_qmp_client_forward_sync (QlQmpClient *self, const char *command, JsonNode *arguments,
                                        guint timeout_ms, GError **error);

gboolean ql_qmp_client_is_closed (QlQmpClient *self);
/* Closes the connection; pending commands fail with QL_QMP_ERROR_DISCONNECTED.  Idempotent. */
void ql_qmp_client_close (QlQmpClient *self);

G_END_DECLS
