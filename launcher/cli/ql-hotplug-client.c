#include "ql-hotplug-client.h"
#include "ql-qmp-render.h"

/* The supervisor answers detach once the guest let go, or timed out. */
#define HOTPLUG_REPLY_MARGIN_MS 30000

JsonObject *
ql_cmd_hotplug_request (QlQmpClient *qmp, const char *command, const char *device, guint timeout_s,
                        GError **error)
{
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(JsonNode) node = NULL;

  json_object_set_string_member (args, "device", device);
  if (timeout_s > 0)
    json_object_set_int_member (args, "timeout", timeout_s);
  node = json_node_init_object (json_node_alloc (), args);
  return ql_qmp_client_forward_sync (qmp, command, node, (timeout_s ? timeout_s : 30) * 1000 + HOTPLUG_REPLY_MARGIN_MS,
                                     error);
}

static void
describe_functions (GString *out, JsonObject *device, const char *indent)
{
  JsonArray *functions = json_object_has_member (device, "functions") &&
                             JSON_NODE_HOLDS_ARRAY (json_object_get_member (device, "functions"))
                           ? json_object_get_array_member (device, "functions")
                           : NULL;

  for (guint i = 0; functions != NULL && i < json_array_get_length (functions); i++)
    {
      JsonNode *node = json_array_get_element (functions, i);
      JsonObject *f = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *driver = f && json_object_has_member (f, "driver") && !json_object_get_null_member (f, "driver")
                             ? json_object_get_string_member (f, "driver")
                             : "no driver";

      if (f == NULL)
        continue;
      g_string_append_printf (out, "%s%s  on %s", indent, json_object_get_string_member_with_default (f, "host", "?"),
                              driver);
      if (json_object_has_member (f, "guest-function"))
        g_string_append_printf (out, "  guest %s [%s]", json_object_get_string_member_with_default (f, "guest-function", "?"),
                                json_object_get_string_member_with_default (f, "id", "?"));
      if (json_object_has_member (f, "runtime-status") && !json_object_get_null_member (f, "runtime-status"))
        g_string_append_printf (out, "  power %s", json_object_get_string_member (f, "runtime-status"));
      if (json_object_has_member (f, "note"))
        g_string_append_printf (out, "  (%s)", json_object_get_string_member_with_default (f, "note", ""));
      g_string_append_c (out, '\n');
    }
}

char *
ql_cmd_hotplug_describe (JsonObject *reply)
{
  JsonNode *ret = json_object_get_member (reply, "return");
  JsonObject *device = ret && JSON_NODE_HOLDS_OBJECT (ret) ? json_node_get_object (ret) : NULL;
  GString *out;

  if (device == NULL)
    return ql_qmp_render_reply (reply);
  out = g_string_new (NULL);
  g_string_append_printf (out, "[pci %s] %s\n", json_object_get_string_member_with_default (device, "device",
                            json_object_get_string_member_with_default (device, "name", "?")),
                          json_object_has_member (device, "state") ? "is back in the guest" : "is out of the guest");
  describe_functions (out, device, "  ");
  return ql_qmp_render_for_terminal (g_string_free (out, FALSE));
}

char *
ql_cmd_hotplug_describe_devices (JsonNode *devices)
{
  JsonArray *list = devices && JSON_NODE_HOLDS_ARRAY (devices) ? json_node_get_array (devices) : NULL;
  GString *out = g_string_new (NULL);

  if (list == NULL || json_array_get_length (list) == 0)
    g_string_append (out, "no [pci] devices are passed through\n");
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      JsonObject *d = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

      if (d == NULL)
        continue;
      g_string_append_printf (out, "[pci %s]  %s  behind root port %s\n",
                              json_object_get_string_member_with_default (d, "name", "?"),
                              json_object_get_string_member_with_default (d, "state", "?"),
                              json_object_get_string_member_with_default (d, "root-port", "?"));
      describe_functions (out, d, "  ");
    }
  return ql_qmp_render_for_terminal (g_string_free (out, FALSE));
}
