#include "ql-sleep-inhibit.h"
#include "ql-error.h"
#include "ql-systemd-dbus.h"

#include <string.h>
#include <unistd.h>

struct _QlSleepInhibitor {
  char *vm;
  char *why;
  const char *mode;          /* "block" or "delay" */
  GDBusConnection *bus;
  int fd;                    /* the lock; -1 while given up for a sleep */
  guint sleep_watch;
  QlQmpClient *qmp;
  gboolean paused_by_us;     /* the guest ran when the host went to sleep */
  gboolean closed;           /* freed by its owner; pending QMP replies only drop their reference */
};

const char *
ql_sleep_inhibit_mode (const QlMachine *m)
{
  switch (m->profile->vm.inhibit_sleep)
    {
    case QL_INHIBIT_SLEEP_BLOCK:
      return "block";
    case QL_INHIBIT_SLEEP_DELAY:
      return "delay";
    case QL_INHIBIT_SLEEP_AUTO:
      return m->hostdevs->len > 0 ? "block" : NULL;
    case QL_INHIBIT_SLEEP_NO:
    default:
      return NULL;
    }
}

static void
inhibitor_clear (QlSleepInhibitor *self)
{
  if (self->fd >= 0)
    close (self->fd);
  g_clear_object (&self->bus);
  g_clear_object (&self->qmp);
  g_free (self->vm);
  g_free (self->why);
}

static QlSleepInhibitor *
inhibitor_ref (QlSleepInhibitor *self)
{
  return g_rc_box_acquire (self);
}

static void
inhibitor_unref (QlSleepInhibitor *self)
{
  g_rc_box_release_full (self, (GDestroyNotify) inhibitor_clear);
}

static void
give_up_lock (QlSleepInhibitor *self)
{
  if (self->fd >= 0)
    {
      close (self->fd);
      self->fd = -1;
      g_message ("%s: sleep lock given up: the host may sleep now", self->vm);
    }
}

static void
take_lock_again (QlSleepInhibitor *self)
{
  g_autoptr(GError) error = NULL;

  if (self->fd >= 0)
    return;
  self->fd = ql_logind_inhibit (self->bus, "sleep", "qlaunch", self->why, self->mode, &error);
  if (self->fd < 0)
    g_warning ("%s: cannot take the sleep lock again after the host woke: %s, ignoring", self->vm, error->message);
}

static void
stopped (GObject *source, GAsyncResult *result, gpointer data)
{
  QlSleepInhibitor *self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = ql_qmp_client_execute_finish (QL_QMP_CLIENT (source), result, &error);

  if (!self->closed)
    {
      if (reply == NULL)
        g_warning ("%s: QMP stop before the host sleeps failed: %s, ignoring", self->vm, error->message);
      self->paused_by_us = reply != NULL;
      if (reply != NULL)
        g_message ("%s: guest paused: the host goes to sleep", self->vm);
      give_up_lock (self);
    }
  inhibitor_unref (self);
}

/* A guest paused by someone else stays paused after the host woke. */
static void
status_queried (GObject *source, GAsyncResult *result, gpointer data)
{
  QlSleepInhibitor *self = data;
  g_autoptr(JsonNode) reply = ql_qmp_client_execute_finish (QL_QMP_CLIENT (source), result, NULL);
  JsonObject *o = reply != NULL && JSON_NODE_HOLDS_OBJECT (reply) ? json_node_get_object (reply) : NULL;
  gboolean running = o != NULL && json_object_get_boolean_member_with_default (o, "running", FALSE);

  if (!self->closed && running)
    ql_qmp_client_execute_async (self->qmp, "stop", NULL, NULL, stopped, inhibitor_ref (self));
  else if (!self->closed)
    give_up_lock (self);
  inhibitor_unref (self);
}

static void
continued (GObject *source, GAsyncResult *result, gpointer data)
{
  QlSleepInhibitor *self = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = ql_qmp_client_execute_finish (QL_QMP_CLIENT (source), result, &error);

  if (!self->closed && reply == NULL)
    g_warning ("%s: QMP cont after the host woke failed: %s; 'qlaunch console %s' and 'resume' continues it",
               self->vm, error->message, self->vm);
  else if (!self->closed)
    g_message ("%s: guest continued: the host woke", self->vm);
  inhibitor_unref (self);
}

static gboolean
qmp_usable (QlSleepInhibitor *self)
{
  return self->qmp != NULL && !ql_qmp_client_is_closed (self->qmp);
}

/* logind waits for delay locks (InhibitDelayMaxSec=, 5 s by default): the
 * guest is paused before the lock goes, so it never sees the host stop. */
static void
on_prepare_for_sleep (gboolean before, gpointer data)
{
  QlSleepInhibitor *self = data;

  if (self->closed)
    return;
  if (before)
    {
      if (qmp_usable (self))
        ql_qmp_client_execute_async (self->qmp, "query-status", NULL, NULL, status_queried, inhibitor_ref (self));
      else
        give_up_lock (self);
      return;
    }
  take_lock_again (self);
  if (self->paused_by_us && qmp_usable (self))
    ql_qmp_client_execute_async (self->qmp, "cont", NULL, NULL, continued, inhibitor_ref (self));
  self->paused_by_us = FALSE;
}

static char *
describe_why (const QlMachine *m)
{
  return m->hostdevs->len > 0 ? g_strdup_printf ("VM %s runs with passed-through devices", m->profile->vm.name)
                              : g_strdup_printf ("VM %s runs", m->profile->vm.name);
}

static gboolean
take_first_lock (QlSleepInhibitor *self, GError **error)
{
  self->bus = ql_system_bus_open (QL_DBUS_TIMEOUT_MS, error);
  if (self->bus == NULL)
    return FALSE;
  self->fd = ql_logind_inhibit (self->bus, "sleep", "qlaunch", self->why, self->mode, error);
  return self->fd >= 0;
}

QlSleepInhibitor *
ql_sleep_inhibitor_take (const QlMachine *m, GError **error)
{
  const char *mode = ql_sleep_inhibit_mode (m);
  g_autoptr(GError) lock_error = NULL;
  QlSleepInhibitor *self;

  if (mode == NULL)
    return NULL;
  self = g_rc_box_new0 (QlSleepInhibitor);
  self->fd = -1;
  self->vm = g_strdup (m->profile->vm.name);
  self->why = describe_why (m);
  self->mode = mode;
  if (!take_first_lock (self, &lock_error))
    {
      self->closed = TRUE;
      inhibitor_unref (self);
      if (m->profile->vm.inhibit_sleep == QL_INHIBIT_SLEEP_AUTO)
        {
          g_warning ("%s: no sleep lock: %s; the host may suspend while devices are passed through, ignoring",
                     m->profile->vm.name, lock_error->message);
          return NULL;
        }
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: [vm] inhibit-sleep=%s: cannot take logind's sleep lock: %s; "
                   "set inhibit-sleep=no to run without it", m->profile->path, mode, lock_error->message);
      return NULL;
    }
  if (strcmp (mode, "delay") == 0)
    self->sleep_watch = ql_logind_watch_sleep (self->bus, on_prepare_for_sleep, inhibitor_ref (self),
                                               (GDestroyNotify) inhibitor_unref);
  g_message ("%s: sleep lock taken (%s)", self->vm, mode);
  return self;
}

void
ql_sleep_inhibitor_set_qmp (QlSleepInhibitor *self, QlQmpClient *qmp)
{
  if (self == NULL)
    return;
  g_set_object (&self->qmp, qmp);
}

void
ql_sleep_inhibitor_free (QlSleepInhibitor *self)
{
  if (self == NULL)
    return;
  self->closed = TRUE;
  if (self->sleep_watch != 0)
    g_dbus_connection_signal_unsubscribe (self->bus, self->sleep_watch);
  self->sleep_watch = 0;
  if (self->fd >= 0)
    close (self->fd);
  self->fd = -1;
  inhibitor_unref (self);
}
