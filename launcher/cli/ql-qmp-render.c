#include "ql-qmp-render.h"
#include "ql-qmp-command.h"

#include <string.h>

static gint64
int_member (JsonObject *o, const char *name)
{
  JsonNode *node = o ? json_object_get_member (o, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return 0;
  return json_node_get_int (node);
}

static const char *
string_member (JsonObject *o, const char *name)
{
  JsonNode *node = o ? json_object_get_member (o, name) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return "";
  return json_node_get_string (node);
}

static JsonObject *
object_member (JsonObject *o, const char *name)
{
  JsonNode *node = o ? json_object_get_member (o, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
array_member (JsonObject *o, const char *name)
{
  JsonNode *node = o ? json_object_get_member (o, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

char *
ql_qmp_render_for_terminal (char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  GString *out = g_string_sized_new (strlen (valid));

  g_free (text);
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c == '\r' && p[1] == '\n')
        continue;   /* HMP ends its lines so; a lone CR could overwrite what was printed */
      if ((c < 0x20 && c != '\n' && c != '\t') || (c >= 0x7f && c < 0xa0))
        g_string_append_c (out, '?');
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

char *
ql_qmp_render_event (const char *name, JsonNode *data, gint64 usec, gboolean json)
{
  g_autofree char *data_text = data ? json_to_string (data, FALSE) : NULL;
  g_autoptr(GDateTime) second = NULL;
  g_autoptr(GDateTime) when = NULL;
  g_autofree char *clock = NULL;

  if (json)
    {
      g_autoptr(JsonObject) event = ql_qmp_event_object (name, data, usec);
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), event);

      return json_to_string (node, FALSE);
    }
  second = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);
  when = second ? g_date_time_add (second, usec % G_USEC_PER_SEC) : NULL;
  clock = when ? g_date_time_format (when, "%H:%M:%S.%f") : g_strdup ("--:--:--");
  return ql_qmp_render_for_terminal (g_strdup_printf ("%s %s%s%s", clock, name, data_text ? " " : "",
                                                      data_text ? data_text : ""));
}

static void render_devices (GString *out, JsonArray *devices, const char *prefix, guint depth);

static void
render_device (GString *out, JsonObject *d, const char *prefix, gboolean last, guint depth)
{
  JsonObject *id = object_member (d, "id");
  JsonObject *class_info = object_member (d, "class_info");
  JsonObject *bridge = object_member (d, "pci_bridge");
  const char *qdev = string_member (d, "qdev_id");
  const char *desc = string_member (class_info, "desc");

  g_string_append_printf (out, "%s%s%02x.%x  %04x:%04x  %s", prefix, last ? "\\-" : "+-",
                          (guint) int_member (d, "slot") & 0xff, (guint) int_member (d, "function") & 7,
                          (guint) int_member (id, "vendor") & 0xffff, (guint) int_member (id, "device") & 0xffff,
                          desc[0] ? desc : "(unknown class)");
  if (qdev[0])
    g_string_append_printf (out, "  [%s]", qdev);
  if (bridge != NULL)
    g_string_append_printf (out, "  -> bus %02x", (guint) int_member (object_member (bridge, "bus"), "secondary") & 0xff);
  g_string_append_c (out, '\n');
  /* QEMU nests at most a few bridges; a deeper tree is not from QEMU */
  if (bridge != NULL && array_member (bridge, "devices") != NULL && depth < 16)
    {
      g_autofree char *inner = g_strconcat (prefix, last ? "  " : "| ", NULL);
      render_devices (out, array_member (bridge, "devices"), inner, depth + 1);
    }
}

static void
render_devices (GString *out, JsonArray *devices, const char *prefix, guint depth)
{
  guint n = json_array_get_length (devices);

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (devices, i);
      if (JSON_NODE_HOLDS_OBJECT (node))
        render_device (out, json_node_get_object (node), prefix, i == n - 1, depth);
    }
}

char *
ql_qmp_render_pci_tree (JsonNode *query_pci)
{
  GString *out = g_string_new (NULL);
  JsonArray *buses = query_pci && JSON_NODE_HOLDS_ARRAY (query_pci) ? json_node_get_array (query_pci) : NULL;

  for (guint i = 0; buses != NULL && i < json_array_get_length (buses); i++)
    {
      JsonNode *node = json_array_get_element (buses, i);
      JsonObject *bus = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

      if (bus == NULL || array_member (bus, "devices") == NULL)
        continue;
      g_string_append_printf (out, "[0000:%02x]\n", (guint) int_member (bus, "bus") & 0xff);
      render_devices (out, array_member (bus, "devices"), " ", 0);
    }
  return ql_qmp_render_for_terminal (g_string_free (out, FALSE));
}

char *
ql_qmp_render_reply (JsonObject *reply)
{
  JsonObject *error = object_member (reply, "error");
  JsonNode *ret;

  if (error != NULL || json_object_has_member (reply, "error"))
    return ql_qmp_render_for_terminal (g_strdup_printf ("error: %s: %s", string_member (error, "class"),
                                                        string_member (error, "desc")));
  ret = json_object_get_member (reply, "return");
  if (ret == NULL)
    return g_strdup ("");
  if (JSON_NODE_HOLDS_VALUE (ret) && json_node_get_value_type (ret) == G_TYPE_STRING)
    return ql_qmp_render_for_terminal (g_strdup (json_node_get_string (ret)));   /* human-monitor-command's output */
  return ql_qmp_render_for_terminal (json_to_string (ret, TRUE));
}
