#include "ql-watchdog.h"
#include "ql-notify.h"

static struct {
  QlQmpClient *qmp;
  GCancellable *cancellable;
  guint timer;
  gboolean query_pending;
} watchdog;

static void
status_answered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GCancellable) cancellable = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = ql_qmp_client_execute_finish (QL_QMP_CLIENT (source), result, &error);

  /* stopped meanwhile: the state belongs to no one now */
  if (g_cancellable_is_cancelled (cancellable))
    return;
  watchdog.query_pending = FALSE;
  if (reply == NULL)
    {
      g_debug ("watchdog: query-status failed: %s; not feeding the watchdog", error->message);
      return;
    }
  ql_notify_watchdog_ping ();
}

static void
query_status (void)
{
  watchdog.query_pending = TRUE;
  ql_qmp_client_execute_async (watchdog.qmp, "query-status", NULL, watchdog.cancellable, status_answered,
                               g_object_ref (watchdog.cancellable));
}

static gboolean
watchdog_due (gpointer user_data)
{
  if (watchdog.query_pending)
    g_debug ("watchdog: QEMU has not answered the last query-status; not feeding the watchdog");
  else if (!ql_qmp_client_is_closed (watchdog.qmp))
    query_status ();
  return G_SOURCE_CONTINUE;
}

void
ql_watchdog_start (QlQmpClient *qmp)
{
  guint64 usec = ql_notify_watchdog_usec ();

  if (usec == 0 || watchdog.qmp != NULL)
    return;
  watchdog.qmp = g_object_ref (qmp);
  watchdog.cancellable = g_cancellable_new ();
  /* half the interval, as sd_watchdog_enabled(3) advises; at least 1 ms */
  watchdog.timer = g_timeout_add (MAX (usec / 2000, 1), watchdog_due, NULL);
  query_status ();
}

void
ql_watchdog_stop (void)
{
  if (watchdog.qmp == NULL)
    return;
  g_clear_handle_id (&watchdog.timer, g_source_remove);
  g_cancellable_cancel (watchdog.cancellable);
  g_clear_object (&watchdog.cancellable);
  g_clear_object (&watchdog.qmp);
  watchdog.query_pending = FALSE;
}
