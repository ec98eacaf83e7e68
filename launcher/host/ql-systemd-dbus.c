#include "ql-systemd-dbus.h"
#include "ql-error.h"

#include <gio/gunixfdlist.h>
#include <string.h>

#define SYSTEMD_NAME "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define LOGIND_NAME "org.freedesktop.login1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define LOGIND_MANAGER "org.freedesktop.login1.Manager"
#define CPU_MASK_MAX_CPUS 8192

/* ---- errors ---- */

static const char *
hint_for (const GError *error, const char *service)
{
  g_autofree char *remote = g_dbus_error_get_remote_error (error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return " (no answer in time: is the service hung?)";
  if (remote == NULL)
    return "";
  if (strcmp (remote, "org.freedesktop.DBus.Error.AccessDenied") == 0 ||
      strcmp (remote, "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired") == 0)
    return " (run qlaunch as root, or allow the call with a polkit rule)";
  if (strcmp (remote, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 ||
      strcmp (remote, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0)
    return strcmp (service, LOGIND_NAME) == 0 ? " (no systemd-logind on this host)"
                                              : " (no systemd on the system bus: is PID 1 systemd?)";
  if (strcmp (remote, "org.freedesktop.systemd1.NoSuchUnit") == 0)
    return " (no such unit is loaded)";
  return "";
}

/* "systemd: SetUnitProperties (system.slice): Access denied (run qlaunch as root, …)" */
static gboolean
fail_call (GError **error, GError *cause, const char *service, const char *call, const char *unit)
{
  const char *hint = hint_for (cause, service);
  gboolean timed_out = g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);

  g_dbus_error_strip_remote_error (cause);
  g_set_error (error, QL_ERROR, timed_out ? QL_ERROR_TIMEOUT : QL_ERROR_HOST, "%s: %s%s%s%s: %s%s",
               strcmp (service, LOGIND_NAME) == 0 ? "logind" : "systemd", call, unit ? " (" : "",
               unit ? unit : "", unit ? ")" : "", cause->message, hint);
  g_error_free (cause);
  return FALSE;
}

/* ---- the bus ---- */

static void
store_result (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static gboolean
cancel_now (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

/* Connecting does the bus's Hello, which has no timeout of its own. */
static GDBusConnection *
connect_with_timeout (const char *address, guint timeout_ms, GError **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GSource) timer = g_timeout_source_new (timeout_ms);
  g_autoptr(GAsyncResult) result = NULL;
  GDBusConnection *bus;

  g_main_context_push_thread_default (context);
  g_source_set_callback (timer, cancel_now, cancellable, NULL);
  g_source_attach (timer, context);
  g_dbus_connection_new_for_address (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, cancellable,
                                     store_result, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timer);
  bus = g_dbus_connection_new_for_address_finish (result, error);
  g_main_context_pop_thread_default (context);
  if (bus == NULL && g_cancellable_is_cancelled (cancellable))
    {
      g_clear_error (error);
      g_set_error (error, QL_ERROR, QL_ERROR_TIMEOUT, "the system bus at '%s' did not answer within %u ms", address,
                   timeout_ms);
    }
  return bus;
}

GDBusConnection *
ql_system_bus_open (guint timeout_ms, GError **error)
{
  g_autofree char *address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SYSTEM, NULL, error);
  GDBusConnection *bus;

  if (address == NULL)
    return NULL;
  bus = connect_with_timeout (address, timeout_ms, error);
  if (bus == NULL)
    g_prefix_error (error, "Cannot connect to the system bus (is dbus running? DBUS_SYSTEM_BUS_ADDRESS=%s): ",
                    address);
  return bus;
}

/* ---- CPU masks ---- */

GVariant *
ql_systemd_cpus_to_mask (const GArray *cpus)
{
  g_autoptr(GByteArray) mask = g_byte_array_new ();

  for (guint i = 0; cpus != NULL && i < cpus->len; i++)
    {
      guint cpu = g_array_index (cpus, guint, i);

      while (mask->len <= cpu / 8)
        g_byte_array_append (mask, (const guint8[]) { 0 }, 1);
      mask->data[cpu / 8] |= 1u << (cpu % 8);
    }
  return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, mask->data, mask->len, 1);
}

GArray *
ql_systemd_mask_to_cpus (GVariant *mask)
{
  GArray *cpus = g_array_new (FALSE, FALSE, sizeof (guint));
  gsize len = 0;
  const guint8 *bytes = g_variant_get_fixed_array (mask, &len, 1);

  for (guint cpu = 0; cpu < MIN (len * 8, CPU_MASK_MAX_CPUS); cpu++)
    if (bytes[cpu / 8] & (1u << (cpu % 8)))
      g_array_append_val (cpus, cpu);
  return cpus;
}

/* ---- systemd units ---- */

static GVariant *
call (GDBusConnection *bus, const char *service, const char *path, const char *interface, const char *method,
      GVariant *args, const char *reply_type, const char *unit, GError **error)
{
  GError *cause = NULL;
  GVariant *reply = g_dbus_connection_call_sync (bus, service, path, interface, method, args,
                                                 reply_type ? G_VARIANT_TYPE (reply_type) : NULL,
                                                 G_DBUS_CALL_FLAGS_NO_AUTO_START, QL_DBUS_TIMEOUT_MS, NULL, &cause);

  if (reply == NULL)
    fail_call (error, cause, service, method, unit);
  return reply;
}

static const char *
unit_interface (const char *unit)
{
  if (g_str_has_suffix (unit, ".slice"))
    return SYSTEMD_NAME ".Slice";
  if (g_str_has_suffix (unit, ".scope"))
    return SYSTEMD_NAME ".Scope";
  return SYSTEMD_NAME ".Service";
}

gboolean
ql_systemd_get_allowed_cpus (const char *unit, GArray **ret_cpus, GError **error)
{
  g_autoptr(GDBusConnection) bus = ql_system_bus_open (QL_DBUS_TIMEOUT_MS, error);
  g_autoptr(GVariant) path = NULL, value = NULL, mask = NULL;
  const char *object;

  if (bus == NULL)
    return FALSE;
  path = call (bus, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER, "GetUnit", g_variant_new ("(s)", unit), "(o)", unit,
               error);
  if (path == NULL)
    return FALSE;
  g_variant_get (path, "(&o)", &object);
  value = call (bus, SYSTEMD_NAME, object, "org.freedesktop.DBus.Properties", "Get",
                g_variant_new ("(ss)", unit_interface (unit), "AllowedCPUs"), "(v)", unit, error);
  if (value == NULL)
    return FALSE;
  g_variant_get (value, "(v)", &mask);
  if (!g_variant_is_of_type (mask, G_VARIANT_TYPE_BYTESTRING))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "systemd: AllowedCPUs of '%s' is a '%s', not an 'ay'", unit,
                   g_variant_get_type_string (mask));
      return FALSE;
    }
  *ret_cpus = ql_systemd_mask_to_cpus (mask);
  return TRUE;
}

static gboolean
is_no_such_unit (const GError *error)
{
  g_autofree char *remote = g_dbus_error_get_remote_error (error);

  return g_strcmp0 (remote, "org.freedesktop.systemd1.NoSuchUnit") == 0;
}

/* GetUnit's object path; NULL and no error when systemd has no such unit loaded. */
static char *
get_unit_path (GDBusConnection *bus, const char *unit, GError **error)
{
  GError *cause = NULL;
  G_GNUC_UNUSED g_autoptr(GVariant) reply = g_dbus_connection_call_sync (bus, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER, "GetUnit",
                                                           g_variant_new ("(s)", unit), G_VARIANT_TYPE ("(o)"),
                                                           G_DBUS_CALL_FLAGS_NO_AUTO_START, QL_DBUS_TIMEOUT_MS, NULL,
                                                           &cause);
  char *path;

  if (reply == NULL)
    {
      if (is_no_such_unit (cause))
        {
          g_error_free (cause);
          return NULL;
        }
      fail_call (error, cause, SYSTEMD_NAME, "GetUnit", unit);
      return NULL;
    }
  g_variant_get (reply, "(o)", &path);
  return path;
}

gboolean
ql_systemd_get_active_state (const char *unit, char **ret_state, GError **error)
{
  g_autoptr(GDBusConnection) bus = ql_system_bus_open (QL_DBUS_TIMEOUT_MS, error);
  g_autoptr(GVariant) value = NULL, state = NULL;
  g_autofree char *object = NULL;
  GError *local = NULL;

  if (bus == NULL)
    return FALSE;
  object = get_unit_path (bus, unit, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (object == NULL)
    {
      *ret_state = g_strdup ("inactive");
      return TRUE;
    }
  value = call (bus, SYSTEMD_NAME, object, "org.freedesktop.DBus.Properties", "Get",
                g_variant_new ("(ss)", SYSTEMD_NAME ".Unit", "ActiveState"), "(v)", unit, error);
  if (value == NULL)
    return FALSE;
  g_variant_get (value, "(v)", &state);
  if (!g_variant_is_of_type (state, G_VARIANT_TYPE_STRING))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "systemd: ActiveState of '%s' is a '%s', not an 's'", unit,
                   g_variant_get_type_string (state));
      return FALSE;
    }
  *ret_state = g_variant_dup_string (state, NULL);
  return TRUE;
}

gboolean
ql_systemd_set_allowed_cpus (const char *unit, const GArray *cpus, GError **error)
{
  g_autoptr(GDBusConnection) bus = ql_system_bus_open (QL_DBUS_TIMEOUT_MS, error);
  g_autoptr(GVariant) reply = NULL;
  GVariantBuilder properties;

  if (bus == NULL)
    return FALSE;
  g_variant_builder_init (&properties, G_VARIANT_TYPE ("a(sv)"));
  g_variant_builder_add (&properties, "(sv)", "AllowedCPUs", ql_systemd_cpus_to_mask (cpus));
  reply = call (bus, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER, "SetUnitProperties",
                g_variant_new ("(sba(sv))", unit, TRUE, &properties), NULL, unit, error);
  return reply != NULL;
}

/* ---- jobs ---- */

typedef struct {
  GHashTable *results;       /* job path -> result, of every JobRemoved seen */
} JobWatch;

static void
on_job_removed (GDBusConnection *bus, const char *sender, const char *path, const char *interface,
                const char *signal, GVariant *parameters, gpointer data)
{
  JobWatch *watch = data;
  const char *job, *result;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(uoss)")))
    return;
  g_variant_get (parameters, "(u&os&s)", NULL, &job, NULL, &result);
  g_hash_table_insert (watch->results, g_strdup (job), g_strdup (result));
}

/* systemd sends its signals only while some client subscribed; a manager
 * without Subscribe (a mock) sends them anyway. */
static void
subscribe (GDBusConnection *bus)
{
  G_GNUC_UNUSED g_autoptr(GVariant) reply = g_dbus_connection_call_sync (bus, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                                           "Subscribe", NULL, NULL, G_DBUS_CALL_FLAGS_NONE,
                                                           QL_DBUS_TIMEOUT_MS, NULL, NULL);
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* The job's result, or NULL when its JobRemoved did not come within timeout_ms. */
static const char *
wait_job (GMainContext *context, JobWatch *watch, const char *job, guint timeout_ms)
{
  g_autoptr(GSource) timer = g_timeout_source_new (timeout_ms);
  gboolean expired = FALSE;
  const char *result;

  g_source_set_callback (timer, set_flag, &expired, NULL);
  g_source_attach (timer, context);
  while ((result = g_hash_table_lookup (watch->results, job)) == NULL && !expired)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timer);
  return result;
}

static gboolean
run_job (const char *method, const char *name, guint timeout_ms, GError **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GDBusConnection) bus = ql_system_bus_open (MIN (timeout_ms, QL_DBUS_TIMEOUT_MS), error);
  g_autoptr(GHashTable) results = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GVariant) reply = NULL;
  JobWatch watch = { results };
  const char *job, *result;
  guint id;

  if (bus == NULL)
    return FALSE;
  g_main_context_push_thread_default (context);
  id = g_dbus_connection_signal_subscribe (bus, SYSTEMD_NAME, SYSTEMD_MANAGER, "JobRemoved", SYSTEMD_PATH, NULL,
                                           G_DBUS_SIGNAL_FLAGS_NONE, on_job_removed, &watch, NULL);
  subscribe (bus);
  reply = call (bus, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER, method, g_variant_new ("(ss)", name, "replace"),
                "(o)", name, error);
  result = NULL;
  if (reply != NULL)
    {
      g_variant_get (reply, "(&o)", &job);
      result = wait_job (context, &watch, job, timeout_ms);
    }
  g_dbus_connection_signal_unsubscribe (bus, id);
  g_main_context_pop_thread_default (context);
  if (reply == NULL)
    return FALSE;
  if (result == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_TIMEOUT, "systemd: %s (%s): job %s did not finish within %u ms; "
                   "see 'systemctl status %s'", method, name, job, timeout_ms, name);
      return FALSE;
    }
  if (strcmp (result, "done") != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "systemd: %s (%s): the job ended with '%s'; see 'systemctl status %s' "
                   "and 'journalctl -u %s'", method, name, result, name, name);
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_systemd_stop_unit (const char *name, guint timeout_ms, GError **error)
{
  return run_job ("StopUnit", name, timeout_ms, error);
}

gboolean
ql_systemd_start_unit (const char *name, guint timeout_ms, GError **error)
{
  return run_job ("StartUnit", name, timeout_ms, error);
}

/* ---- logind ---- */

int
ql_logind_inhibit (GDBusConnection *bus, const char *what, const char *who, const char *why, const char *mode,
                   GError **error)
{
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GVariant) reply = NULL;
  GError *cause = NULL;
  gint32 index;

  reply = g_dbus_connection_call_with_unix_fd_list_sync (bus, LOGIND_NAME, LOGIND_PATH, LOGIND_MANAGER, "Inhibit",
                                                         g_variant_new ("(ssss)", what, who, why, mode),
                                                         G_VARIANT_TYPE ("(h)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
                                                         QL_DBUS_TIMEOUT_MS, NULL, &fds, NULL, &cause);
  if (reply == NULL)
    {
      g_autofree char *call_name = g_strdup_printf ("Inhibit (%s, %s)", what, mode);
      fail_call (error, cause, LOGIND_NAME, call_name, NULL);
      return -1;
    }
  g_variant_get (reply, "(h)", &index);
  return g_unix_fd_list_get (fds, index, error);
}

typedef struct {
  void (*func) (gboolean before, gpointer data);
  gpointer data;
  GDestroyNotify destroy;
} SleepWatch;

static void
sleep_watch_free (SleepWatch *watch)
{
  if (watch->destroy != NULL)
    watch->destroy (watch->data);
  g_free (watch);
}

static void
on_prepare_for_sleep (GDBusConnection *bus, const char *sender, const char *path, const char *interface,
                      const char *signal, GVariant *parameters, gpointer data)
{
  SleepWatch *watch = data;
  gboolean before;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(b)")))
    return;
  g_variant_get (parameters, "(b)", &before);
  watch->func (before, watch->data);
}

guint
ql_logind_watch_sleep (GDBusConnection *bus, void (*func) (gboolean before, gpointer data), gpointer data,
                       GDestroyNotify destroy)
{
  SleepWatch *watch = g_new (SleepWatch, 1);

  watch->func = func;
  watch->data = data;
  watch->destroy = destroy;
  return g_dbus_connection_signal_subscribe (bus, LOGIND_NAME, LOGIND_MANAGER, "PrepareForSleep", LOGIND_PATH, NULL,
                                             G_DBUS_SIGNAL_FLAGS_NONE, on_prepare_for_sleep, watch,
                                             (GDestroyNotify) sleep_watch_free);
}
