#include "ql-hotplug.h"
#include "ql-json.h"
#include "ql-paths.h"
#include "ql-pci-power.h"
#include "ql-vfio.h"

#include <string.h>

typedef enum { DEV_IN_GUEST, DEV_DETACHING, DEV_ON_HOST, DEV_ATTACHING } DevState;

static const char *const state_names[] = { "in-guest", "detaching", "on-host", "attaching" };

typedef struct {
  QlHotplug *owner;
  const QlMachineHostdev *hostdev;
  DevState state;
  guint64 deleted;             /* bit per function: its DEVICE_DELETED arrived */
  GPtrArray *released;         /* QlHostStep*: bind steps taken out of the journal by detach */
  QlQmpRelayRequest *request;  /* the detach or attach in progress */
  guint timer;
  guint timeout_s;
  guint next_add;              /* attach: functions left to device_add, highest first */
  guint64 added;               /* attach: bit per function device_add put back */
  gboolean unplug_requested;   /* device_del was sent: DEVICE_DELETED counts from then on */
} Device;

struct _QlHotplug {
  const QlMachine *m;
  const char *const *argv;
  QlQmpClient *qmp;
  QlJournal *journal;
  GPtrArray *devices;          /* Device* */
  gulong event_handler;
  GCancellable *cancellable;   /* every QMP call: cancelled before the devices go */
};

/* A reply that arrives after ql_hotplug_free () is for no one: the callbacks
 * check this before they touch their device. */
static gboolean
cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static const char *
device_name (const Device *d)
{
  return d->hostdev->pci->id;
}

static const QlMachineFunction *
function_at (const Device *d, guint i)
{
  return d->hostdev->functions->pdata[i];
}

static guint64
all_functions (const Device *d)
{
  return (G_GUINT64_CONSTANT (1) << d->hostdev->functions->len) - 1;
}

/* Answers the request in progress; the device is then in state. */
static void
finish (Device *d, DevState state, JsonNode *ret, const char *error)
{
  QlQmpRelayRequest *request = g_steal_pointer (&d->request);

  g_clear_handle_id (&d->timer, g_source_remove);
  d->state = state;
  if (request == NULL)
    {
      g_clear_pointer (&ret, json_node_unref);
      return;
    }
  if (error != NULL)
    {
      g_message ("%s: [pci %s]: %s", d->owner->m->profile->vm.name, device_name (d), error);
      ql_qmp_relay_request_error (request, "GenericError", error);
      g_clear_pointer (&ret, json_node_unref);
    }
  else
    ql_qmp_relay_request_return (request, ret);
}

/* ---- where each device is ---- */

static JsonNode *
describe_device (const Device *d)
{
  const char *sysfs = ql_paths_sysfs ();
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, device_name (d));
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, state_names[d->state]);
  json_builder_set_member_name (b, "root-port");
  json_builder_add_string_value (b, d->hostdev->port_id);
  json_builder_set_member_name (b, "functions");
  json_builder_begin_array (b);
  for (guint i = 0; i < d->hostdev->functions->len; i++)
    {
      const QlMachineFunction *f = function_at (d, i);
      g_autofree char *driver = ql_vfio_current_driver (sysfs, f->host);
      g_autofree char *power = ql_pci_power_runtime_status (sysfs, f->host);
      g_autofree char *guest = g_strdup_printf ("00.%u", f->guest_function);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "host");
      json_builder_add_string_value (b, f->host);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, f->id);
      json_builder_set_member_name (b, "guest-function");
      json_builder_add_string_value (b, guest);
      json_builder_set_member_name (b, "driver");
      driver ? json_builder_add_string_value (b, driver) : json_builder_add_null_value (b);
      json_builder_set_member_name (b, "runtime-status");
      power ? json_builder_add_string_value (b, power) : json_builder_add_null_value (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
serve_devices (QlQmpRelayRequest *request, JsonObject *arguments, gpointer user_data)
{
  QlHotplug *h = user_data;
  JsonArray *list = json_array_new ();

  for (guint i = 0; i < h->devices->len; i++)
    json_array_add_element (list, describe_device (h->devices->pdata[i]));
  ql_qmp_relay_request_return (request, json_node_init_array (json_node_alloc (), list));
  json_array_unref (list);
}

static Device *
find_device (QlHotplug *h, JsonObject *arguments, QlQmpRelayRequest *request)
{
  const char *name = NULL;
  g_autoptr(GString) names = g_string_new (NULL);

  if (arguments != NULL && json_object_has_member (arguments, "device") &&
      JSON_NODE_HOLDS_VALUE (json_object_get_member (arguments, "device")) &&
      json_node_get_value_type (json_object_get_member (arguments, "device")) == G_TYPE_STRING)
    name = json_object_get_string_member (arguments, "device");
  for (guint i = 0; i < h->devices->len; i++)
    {
      Device *d = h->devices->pdata[i];
      if (g_strcmp0 (device_name (d), name) == 0)
        return d;
      g_string_append_printf (names, "%s%s", names->len ? ", " : "", device_name (d));
    }
  if (name == NULL)
    ql_qmp_relay_request_error (request, "GenericError", "Give the device: {\"device\": NAME}, a [pci NAME] of the profile");
  else
    {
      g_autofree char *desc = g_strdup_printf ("This VM has no [pci %s]; its passed-through devices: %s", name,
                                               names->len ? names->str : "none");
      ql_qmp_relay_request_error (request, "DeviceNotFound", desc);
    }
  return NULL;
}

/* A device in the middle of something answers nothing else. */
static gboolean
check_idle (Device *d, QlQmpRelayRequest *request, DevState wanted)
{
  g_autofree char *desc = NULL;

  if (d->state == wanted)
    return TRUE;
  if (d->state == DEV_DETACHING || d->state == DEV_ATTACHING)
    desc = g_strdup_printf ("[pci %s] is being %s; wait for that to end", device_name (d),
                            d->state == DEV_DETACHING ? "detached" : "attached");
  else if (d->state == DEV_ON_HOST)
    desc = g_strdup_printf ("[pci %s] is not in the guest (it was detached); attach puts it back", device_name (d));
  else
    desc = g_strdup_printf ("[pci %s] is in the guest; detach takes it out", device_name (d));
  ql_qmp_relay_request_error (request, "GenericError", desc);
  return FALSE;
}

/* ---- the journal's bind steps ---- */

static int
find_bind_step (QlHotplug *h, const char *address)
{
  const GPtrArray *steps = ql_journal_steps (h->journal);

  for (guint i = 0; i < steps->len; i++)
    {
      const QlHostStep *step = steps->pdata[i];
      if (step->kind == QL_HOST_STEP_VFIO_BIND && strcmp (step->device, address) == 0)
        return (int) i;
    }
  return -1;
}

static gboolean
forget_step (QlHotplug *h, guint index, GError **error)
{
  guint n = ql_journal_steps (h->journal)->len;
  g_autofree gboolean *keep = g_new (gboolean, n + 1);

  for (guint i = 0; i < n; i++)
    keep[i] = i != index;
  return ql_journal_retain (h->journal, keep, error);
}

/* ---- detach ---- */

static gboolean
give_back_function (Device *d, const QlMachineFunction *f, JsonBuilder *report, GError **error)
{
  QlHotplug *h = d->owner;
  int index = find_bind_step (h, f->host);
  g_autoptr(QlHostStep) step = NULL;
  g_autofree char *driver = NULL;

  json_builder_begin_object (report);
  json_builder_set_member_name (report, "host");
  json_builder_add_string_value (report, f->host);
  if (index >= 0)
    {
      step = ql_host_step_copy (ql_journal_steps (h->journal)->pdata[index]);
      /* the journal keeps the step until the device is back, so that a
       * crash in between is undone by recover */
      if (!ql_vfio_restore (ql_paths_sysfs (), f->host, step->driver, step->driver_override, FALSE, error) ||
          !forget_step (h, (guint) index, error))
        {
          json_builder_end_object (report);
          return FALSE;
        }
      g_ptr_array_add (d->released, g_steal_pointer (&step));
    }
  driver = ql_vfio_current_driver (ql_paths_sysfs (), f->host);
  json_builder_set_member_name (report, "driver");
  driver ? json_builder_add_string_value (report, driver) : json_builder_add_null_value (report);
  if (index < 0)
    {
      /* not qlaunch's to give: it was on vfio-pci before the VM started */
      json_builder_set_member_name (report, "note");
      json_builder_add_string_value (report, "left on vfio-pci, where it was before the VM started");
    }
  json_builder_end_object (report);
  return TRUE;
}

static void
give_back (Device *d)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "device");
  json_builder_add_string_value (b, device_name (d));
  json_builder_set_member_name (b, "functions");
  json_builder_begin_array (b);
  for (guint i = d->hostdev->functions->len; ok && i-- > 0;)
    ok = give_back_function (d, function_at (d, i), b, &error);
  json_builder_end_array (b);
  json_builder_end_object (b);
  if (!ok)
    {
      g_autofree char *desc = g_strdup_printf ("[pci %s] left the guest, but: %s (what is still on vfio-pci "
                                               "goes back when the VM ends)", device_name (d), error->message);
      finish (d, DEV_ON_HOST, NULL, desc);
      return;
    }
  g_message ("%s: [pci %s] detached: out of the guest and back on the host", d->owner->m->profile->vm.name,
             device_name (d));
  finish (d, DEV_ON_HOST, json_builder_get_root (b), NULL);
}

static void
on_event (QlQmpClient *client, const char *name, JsonNode *data, gint64 usec, gpointer user_data)
{
  QlHotplug *h = user_data;
  const char *id;

  if (g_strcmp0 (name, "DEVICE_DELETED") != 0 || data == NULL || !JSON_NODE_HOLDS_OBJECT (data))
    return;
  id = json_object_get_string_member_with_default (json_node_get_object (data), "device", "");
  for (guint i = 0; i < h->devices->len; i++)
    {
      Device *d = h->devices->pdata[i];
      /* QEMU's word counts only for an unplug qlaunch asked for */
      for (guint j = 0; d->unplug_requested && j < d->hostdev->functions->len; j++)
        if (g_strcmp0 (function_at (d, j)->id, id) == 0)
          d->deleted |= G_GUINT64_CONSTANT (1) << j;
      if (d->state == DEV_DETACHING && d->deleted == all_functions (d) && d->next_add == 0)
        give_back (d);
    }
}

static gboolean
detach_timed_out (gpointer user_data)
{
  Device *d = user_data;
  g_autofree char *desc = g_strdup_printf (
    "The guest did not let go of [pci %s] within %u s (no DEVICE_DELETED).  The guest must support PCI "
    "hotplug and have it enabled (Linux: pciehp/acpiphp; Windows: \"Safely remove\" may be refused while the "
    "device is in use), and the root port must allow it ([pci] hotplug=true, the default).  The request stands: "
    "when the guest lets go, detach again gives the device back to the host", device_name (d), d->timeout_s);

  d->timer = 0;
  finish (d, DEV_IN_GUEST, NULL, desc);
  return G_SOURCE_REMOVE;
}

static void
device_del_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Device *d = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = ql_qmp_client_execute_finish (QL_QMP_CLIENT (source), result, &error);

  if (ret == NULL && cancelled (error))
    return;
  /* a request of an earlier detach that timed out still stands */
  if (ret == NULL && d->state == DEV_DETACHING && strstr (error->message, "in the process of unplug") == NULL)
    {
      g_autofree char *desc = g_strdup_printf ("QEMU refused to unplug [pci %s]: %s", device_name (d), error->message);
      finish (d, DEV_IN_GUEST, NULL, desc);
    }
}

static void
status_for_detach (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Device *d = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = ql_qmp_client_execute_finish (QL_QMP_CLIENT (source), result, &error);
  const char *status = ret && JSON_NODE_HOLDS_OBJECT (ret)
                         ? json_object_get_string_member_with_default (json_node_get_object (ret), "status", "?")
                         : "?";
  g_autoptr(JsonObject) args = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (ret == NULL && cancelled (error))
    return;
  if (g_strcmp0 (status, "running") != 0)
    {
      g_autofree char *desc = g_strdup_printf ("The guest is %s, and a guest that does not run cannot let go of "
                                               "[pci %s]; resume it first", ret ? status : error->message,
                                               device_name (d));
      finish (d, DEV_IN_GUEST, NULL, desc);
      return;
    }
  args = json_object_new ();
  json_object_set_string_member (args, "id", function_at (d, 0)->id);
  node = json_node_init_object (json_node_alloc (), args);
  d->timer = g_timeout_add_seconds (d->timeout_s, detach_timed_out, d);
  d->unplug_requested = TRUE;
  /* unplugging function 0 takes the whole slot out, every function with it */
  ql_qmp_client_execute_async (d->owner->qmp, "device_del", node, d->owner->cancellable, device_del_done, d);
}

static void
serve_detach (QlQmpRelayRequest *request, JsonObject *arguments, gpointer user_data)
{
  QlHotplug *h = user_data;
  Device *d = find_device (h, arguments, request);
  gint64 timeout = QL_HOTPLUG_DETACH_TIMEOUT_S;

  if (d == NULL || !check_idle (d, request, DEV_IN_GUEST))
    return;
  if (json_object_has_member (arguments, "timeout"))
    {
      JsonNode *t = json_object_get_member (arguments, "timeout");
      if (!JSON_NODE_HOLDS_VALUE (t) || json_node_get_value_type (t) != G_TYPE_INT64 ||
          json_node_get_int (t) < 1 || json_node_get_int (t) > 3600)
        {
          ql_qmp_relay_request_error (request, "GenericError", "timeout: seconds, 1 to 3600");
          return;
        }
      timeout = json_node_get_int (t);
    }
  d->request = request;
  d->state = DEV_DETACHING;
  d->timeout_s = (guint) timeout;
  if (d->deleted == all_functions (d))
    give_back (d);
  else
    ql_qmp_client_execute_async (h->qmp, "query-status", NULL, h->cancellable, status_for_detach, d);
}

/* ---- attach ---- */

/* Whether QEMU's option string (key=value pairs split at ',', where ',,'
 * is a comma inside a value) has id=ID as a pair of its own. */
static gboolean
options_have_id (const char *options, const char *id)
{
  g_autofree char *wanted = g_strdup_printf ("id=%s", id);
  g_autoptr(GString) pair = g_string_new (NULL);

  for (const char *p = options;; p++)
    {
      if (*p == ',' && p[1] == ',')
        {
          g_string_append_c (pair, ',');
          p++;
          continue;
        }
      if (*p == ',' || *p == '\0')
        {
          if (strcmp (pair->str, wanted) == 0)
            return TRUE;
          if (*p == '\0')
            return FALSE;
          g_string_truncate (pair, 0);
          continue;
        }
      g_string_append_c (pair, *p);
    }
}

/* The -device options QEMU got for id at start: attach puts the device back
 * exactly as it was (overrides, ROM, address). */
static const char *
device_options (QlHotplug *h, const char *id)
{
  for (guint i = 0; h->argv[i] != NULL && h->argv[i + 1] != NULL; i++)
    if (strcmp (h->argv[i], "-device") == 0 && options_have_id (h->argv[i + 1], id))
      return h->argv[i + 1];
  return NULL;
}

/* HMP's device_add takes the options as one argument, quoted so that a
 * space in a path stays inside it; HMP reads at most 1023 bytes of it. */
static char *
hmp_device_add (const char *options)
{
  g_autoptr(GString) quoted = g_string_new ("device_add \"");

  if (strlen (options) > 1000)
    return NULL;
  for (const char *p = options; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (quoted, '\\');
      g_string_append_c (quoted, *p);
    }
  g_string_append_c (quoted, '"');
  return g_string_free (g_steal_pointer (&quoted), FALSE);
}

static gboolean
rebind_function (Device *d, const QlMachineFunction *f, GError **error)
{
  QlHotplug *h = d->owner;
  g_autofree char *driver = NULL;

  if (find_bind_step (h, f->host) >= 0)
    return TRUE;   /* never given back (a detach that failed half-way) */
  for (guint i = 0; i < d->released->len; i++)
    {
      QlHostStep *step = d->released->pdata[i];
      if (strcmp (step->device, f->host) != 0)
        continue;
      if (!ql_journal_record (h->journal, step, error) ||
          !ql_vfio_bind (ql_paths_sysfs (), ql_paths_devfs (), f->host, step->iommu_group, error))
        return FALSE;
      g_ptr_array_remove_index (d->released, i);
      return TRUE;
    }
  driver = ql_vfio_current_driver (ql_paths_sysfs (), f->host);
  if (g_strcmp0 (driver, "vfio-pci") != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s is on %s, not on vfio-pci, and qlaunch did not "
                   "move it there ('qlaunch bind %s' does)", f->host, driver ? driver : "no driver", f->host);
      return FALSE;
    }
  return TRUE;
}

static void add_next_function (Device *d);

/* An attach that failed half-way takes out what it put in, so that the
 * device is wholly on the host again and can be attached anew. */
static void
unplug_added (Device *d)
{
  for (guint i = 0; i < d->hostdev->functions->len; i++)
    {
      g_autoptr(JsonObject) args = NULL;
      g_autoptr(JsonNode) node = NULL;

      if (!(d->added & (G_GUINT64_CONSTANT (1) << i)))
        continue;
      args = json_object_new ();
      json_object_set_string_member (args, "id", function_at (d, i)->id);
      node = json_node_init_object (json_node_alloc (), args);
      ql_qmp_client_execute_async (d->owner->qmp, "device_del", node, d->owner->cancellable, NULL, NULL);
    }
  d->added = 0;
}

static void
device_add_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Device *d = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = ql_qmp_client_execute_finish (QL_QMP_CLIENT (source), result, &error);
  const char *said = ret && JSON_NODE_HOLDS_VALUE (ret) ? json_node_get_string (ret) : NULL;

  if (ret == NULL && cancelled (error))
    return;
  /* HMP answers success with nothing and failure with its message */
  if (ret == NULL || (said != NULL && *said != '\0'))
    {
      g_autofree char *said_stripped = said ? g_strstrip (g_strdup (said)) : NULL;
      g_autofree char *desc = g_strdup_printf ("QEMU did not take [pci %s] back: %s (it stays on vfio-pci, given "
                                               "back when the VM ends)", device_name (d),
                                               ret ? said_stripped : error->message);
      d->next_add = 0;
      unplug_added (d);
      finish (d, DEV_ON_HOST, NULL, desc);
      return;
    }
  d->added |= G_GUINT64_CONSTANT (1) << d->next_add;
  add_next_function (d);
}

static void
add_next_function (Device *d)
{
  g_autoptr(JsonObject) args = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *command_line = NULL;
  const QlMachineFunction *f;
  const char *options;

  if (d->next_add == 0)
    {
      g_autoptr(JsonNode) ret = describe_device (d);
      d->deleted = 0;
      g_message ("%s: [pci %s] attached: back in the guest", d->owner->m->profile->vm.name, device_name (d));
      finish (d, DEV_IN_GUEST, g_steal_pointer (&ret), NULL);
      return;
    }
  f = function_at (d, --d->next_add);
  options = device_options (d->owner, f->id);
  if (options == NULL)
    {
      unplug_added (d);
      finish (d, DEV_ON_HOST, NULL, "qlaunch lost the device's options");
      return;
    }
  /* HMP's device_add parses the options as the command line did, escaping
   * included; QMP's would need every property's JSON type */
  command_line = hmp_device_add (options);
  if (command_line == NULL)
    {
      unplug_added (d);
      finish (d, DEV_ON_HOST, NULL, "The device's options are too long for QEMU's human monitor (1023 bytes)");
      return;
    }
  args = json_object_new ();
  json_object_set_string_member (args, "command-line", command_line);
  node = json_node_init_object (json_node_alloc (), args);
  ql_qmp_client_execute_async (d->owner->qmp, "human-monitor-command", node, d->owner->cancellable,
                               device_add_done, d);
}

static void
serve_attach (QlQmpRelayRequest *request, JsonObject *arguments, gpointer user_data)
{
  QlHotplug *h = user_data;
  Device *d = find_device (h, arguments, request);
  g_autoptr(GError) error = NULL;

  if (d == NULL || !check_idle (d, request, DEV_ON_HOST))
    return;
  d->request = request;
  d->state = DEV_ATTACHING;
  d->deleted = 0;
  d->added = 0;
  d->unplug_requested = FALSE;
  for (guint i = 0; i < d->hostdev->functions->len; i++)
    if (!rebind_function (d, function_at (d, i), &error))
      {
        g_autofree char *desc = g_strdup_printf ("[pci %s] cannot go back to vfio-pci: %s", device_name (d),
                                                 error->message);
        finish (d, DEV_ON_HOST, NULL, desc);
        return;
      }
  /* function 0 last: the guest sees the slot when it arrives */
  d->next_add = d->hostdev->functions->len;
  add_next_function (d);
}

/* ---- life ---- */

QlHotplug *
ql_hotplug_new (const QlMachine *m, const char *const *argv, QlQmpClient *qmp, QlJournal *journal)
{
  QlHotplug *h = g_new0 (QlHotplug, 1);

  h->m = m;
  h->argv = argv;
  h->qmp = g_object_ref (qmp);
  h->journal = journal;
  h->devices = g_ptr_array_new ();
  h->cancellable = g_cancellable_new ();
  for (guint i = 0; m->hostdevs != NULL && i < m->hostdevs->len; i++)
    {
      Device *d = g_new0 (Device, 1);
      d->owner = h;
      d->hostdev = m->hostdevs->pdata[i];
      d->released = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
      g_ptr_array_add (h->devices, d);
    }
  h->event_handler = g_signal_connect (qmp, "event", G_CALLBACK (on_event), h);
  return h;
}

void
ql_hotplug_serve (QlHotplug *h, QlQmpRelay *relay)
{
  ql_qmp_relay_add_command (relay, "qlaunch-devices", serve_devices, h);
  ql_qmp_relay_add_command (relay, "qlaunch-detach", serve_detach, h);
  ql_qmp_relay_add_command (relay, "qlaunch-attach", serve_attach, h);
}

void
ql_hotplug_free (QlHotplug *h)
{
  if (h == NULL)
    return;
  g_clear_signal_handler (&h->event_handler, h->qmp);
  g_cancellable_cancel (h->cancellable);
  for (guint i = 0; i < h->devices->len; i++)
    {
      Device *d = h->devices->pdata[i];
      d->next_add = 0;
      finish (d, d->state, NULL, "the VM ended first");
      g_ptr_array_unref (d->released);
      g_free (d);
    }
  g_ptr_array_unref (h->devices);
  g_object_unref (h->cancellable);
  g_object_unref (h->qmp);
  g_free (h);
}
