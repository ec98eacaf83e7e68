/* One QEMU's capabilities as data: built from QMP replies, written to and
 * read back from the cache as JSON, asked by the machine model. */
#include "ql-qemu-caps.h"
#include "ql-error.h"

#include <string.h>

#define NAME_MAX_LEN 128
#define LIST_MAX 4096

static void
machine_type_free (QlQemuMachineType *t)
{
  g_free (t->name);
  g_free (t->alias);
  g_free (t);
}

void
ql_qemu_caps_free (QlQemuCaps *caps)
{
  if (caps == NULL)
    return;
  g_clear_pointer (&caps->machine_types, g_ptr_array_unref);
  g_strfreev (caps->machine_props);
  g_strfreev (caps->chardev_props);
  g_strfreev (caps->run_with_props);
  g_strfreev (caps->vfio_pci_props);
  g_strfreev (caps->vfio_nohotplug_props);
  g_free (caps);
}

QlQemuCaps *
ql_qemu_caps_new (guint version)
{
  QlQemuCaps *caps = g_new0 (QlQemuCaps, 1);

  caps->version = version;
  caps->machine_types = g_ptr_array_new_with_free_func ((GDestroyNotify) machine_type_free);
  caps->machine_props = g_new0 (char *, 1);
  caps->chardev_props = g_new0 (char *, 1);
  caps->run_with_props = g_new0 (char *, 1);
  caps->vfio_pci_props = g_new0 (char *, 1);
  caps->vfio_nohotplug_props = g_new0 (char *, 1);
  return caps;
}

void
ql_qemu_caps_add_machine_type (QlQemuCaps *caps, const char *name, const char *alias, gboolean is_default,
                               gboolean deprecated)
{
  QlQemuMachineType *t = g_new0 (QlQemuMachineType, 1);

  t->name = g_strdup (name);
  t->alias = g_strdup (alias);
  t->is_default = is_default;
  t->deprecated = deprecated;
  g_ptr_array_add (caps->machine_types, t);
}

const QlQemuMachineType *
ql_qemu_caps_find_machine_type (const QlQemuCaps *caps, const char *name)
{
  for (guint i = 0; i < caps->machine_types->len; i++)
    {
      const QlQemuMachineType *t = caps->machine_types->pdata[i];
      if (g_str_equal (t->name, name))
        return t;
    }
  return NULL;
}

const char *
ql_qemu_caps_resolve_alias (const QlQemuCaps *caps, const char *alias)
{
  for (guint i = 0; i < caps->machine_types->len; i++)
    {
      const QlQemuMachineType *t = caps->machine_types->pdata[i];
      if (g_strcmp0 (t->alias, alias) == 0)
        return t->name;
    }
  return NULL;
}

/* pc-q35-10.0 before pc-q35-7.2 before pc-q35-4.0.1 before pc-q35-4.0 */
static int
compare_q35_newest_first (gconstpointer a, gconstpointer b)
{
  const char *x = *(const char *const *) a + strlen ("pc-q35-"), *y = *(const char *const *) b + strlen ("pc-q35-");

  while (*x || *y)
    {
      char *x_end, *y_end;
      guint64 vx = g_ascii_strtoull (x, &x_end, 10), vy = g_ascii_strtoull (y, &y_end, 10);

      if (vx != vy || x_end == x || y_end == y)
        return vx < vy ? 1 : vx > vy ? -1 : (int) (y_end == y) - (int) (x_end == x);
      x = *x_end == '.' ? x_end + 1 : x_end;
      y = *y_end == '.' ? y_end + 1 : y_end;
    }
  return 0;
}

char *
ql_qemu_caps_q35_types (const QlQemuCaps *caps)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GString) list = g_string_new (NULL);

  for (guint i = 0; i < caps->machine_types->len; i++)
    {
      const QlQemuMachineType *t = caps->machine_types->pdata[i];
      if (g_str_has_prefix (t->name, "pc-q35-"))
        g_ptr_array_add (names, t->name);
    }
  g_ptr_array_sort (names, compare_q35_newest_first);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (list, "%s%s", list->len ? ", " : "", (const char *) names->pdata[i]);
  return g_string_free (g_steal_pointer (&list), list->len == 0);
}

gboolean
ql_qemu_caps_has_machine_prop (const QlQemuCaps *caps, const char *prop)
{
  return g_strv_contains ((const char *const *) caps->machine_props, prop);
}

gboolean
ql_qemu_caps_has_chardev_prop (const QlQemuCaps *caps, const char *prop)
{
  return g_strv_contains ((const char *const *) caps->chardev_props, prop);
}

gboolean
ql_qemu_caps_has_vfio_pci_prop (const QlQemuCaps *caps, const char *prop)
{
  return g_strv_contains ((const char *const *) caps->vfio_pci_props, prop);
}

gboolean
ql_qemu_caps_has_vfio_nohotplug_prop (const QlQemuCaps *caps, const char *prop)
{
  return g_strv_contains ((const char *const *) caps->vfio_nohotplug_props, prop);
}

gboolean
ql_qemu_caps_has_run_with_user (const QlQemuCaps *caps)
{
  return g_strv_contains ((const char *const *) caps->run_with_props, "user");
}

gboolean
ql_qemu_caps_describes_bridge_slots (const QlQemuCaps *caps)
{
  return caps->version >= 800;
}

/* ---- from QMP ---- */

static gboolean
name_is_sane (const char *name)
{
  if (name == NULL || *name == '\0' || strlen (name) > NAME_MAX_LEN)
    return FALSE;
  for (const char *c = name; *c; c++)
    if (!g_ascii_isgraph (*c))
      return FALSE;
  return TRUE;
}

static gboolean
fail (GError **error, const char *what)
{
  g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s", what);
  return FALSE;
}

static const char *
member_string (JsonObject *o, const char *member)
{
  JsonNode *n = json_object_get_member (o, member);
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING ? json_node_get_string (n)
                                                                                        : NULL;
}

static gboolean
member_bool (JsonObject *o, const char *member)
{
  JsonNode *n = json_object_get_member (o, member);
  return n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_BOOLEAN && json_node_get_boolean (n);
}

static gboolean
member_uint (JsonObject *o, const char *member, guint max, guint *ret)
{
  JsonNode *n = json_object_get_member (o, member);
  gint64 v;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (n);
  if (v < 0 || v > max)
    return FALSE;
  *ret = (guint) v;
  return TRUE;
}

/* The "name" of each object in an array (QMP's property and parameter lists). */
static GStrv
names_of (JsonArray *array, GError **error)
{
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  guint n = json_array_get_length (array);

  if (n > LIST_MAX)
    {
      fail (error, "too many names");
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      const char *name = JSON_NODE_HOLDS_OBJECT (e) ? member_string (json_node_get_object (e), "name") : NULL;
      if (!name_is_sane (name))
        {
          fail (error, "a property without a sane 'name'");
          return NULL;
        }
      g_strv_builder_add (names, name);
    }
  return g_strv_builder_end (names);
}

static gboolean
parse_version (QlQemuCaps *caps, JsonNode *version, GError **error)
{
  JsonObject *qemu;
  guint major, minor;

  if (!JSON_NODE_HOLDS_OBJECT (version) ||
      !json_object_has_member (json_node_get_object (version), "qemu") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (json_node_get_object (version), "qemu")))
    return fail (error, "query-version: no 'qemu' object");
  qemu = json_object_get_object_member (json_node_get_object (version), "qemu");
  if (!member_uint (qemu, "major", 1000, &major) || !member_uint (qemu, "minor", 99, &minor) ||
      !member_uint (qemu, "micro", 999, &caps->micro))
    return fail (error, "query-version: no major/minor/micro numbers");
  caps->version = major * 100 + minor;
  return TRUE;
}

static gboolean
parse_machines (QlQemuCaps *caps, JsonNode *machines, GError **error)
{
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (machines))
    return fail (error, "query-machines: not a list");
  array = json_node_get_array (machines);
  if (json_array_get_length (array) > LIST_MAX)
    return fail (error, "query-machines: too many machine types");
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      const char *name = o ? member_string (o, "name") : NULL;
      const char *alias = o ? member_string (o, "alias") : NULL;

      if (!name_is_sane (name) || (alias != NULL && !name_is_sane (alias)))
        return fail (error, "query-machines: a machine type without a sane name");
      ql_qemu_caps_add_machine_type (caps, name, alias, member_bool (o, "is-default"), member_bool (o, "deprecated"));
    }
  return TRUE;
}

/* query-command-line-options: [{"option": "machine", "parameters": [{"name": ...}]}, ...] */
static gboolean
parse_cmdline_options (QlQemuCaps *caps, JsonNode *options, GError **error)
{
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (options))
    return fail (error, "query-command-line-options: not a list");
  array = json_node_get_array (options);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      const char *option = o ? member_string (o, "option") : NULL;
      JsonNode *params = o ? json_object_get_member (o, "parameters") : NULL;
      GStrv *slot = NULL;

      if (option == NULL || params == NULL || !JSON_NODE_HOLDS_ARRAY (params))
        return fail (error, "query-command-line-options: an entry without 'option' and 'parameters'");
      if (g_str_equal (option, "chardev"))
        slot = &caps->chardev_props;
      else if (g_str_equal (option, "run-with"))
        slot = &caps->run_with_props;
      if (slot != NULL)
        {
          GStrv names = names_of (json_node_get_array (params), error);
          if (names == NULL)
            return FALSE;
          g_strfreev (*slot);
          *slot = names;
        }
    }
  return TRUE;
}

/* A property list reply (qom-list-properties, device-list-properties); NULL: none. */
static gboolean
parse_props (JsonNode *reply, const char *what, GStrv *slot, GError **error)
{
  GStrv names;

  if (reply == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (reply))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s: not a list", what);
      return FALSE;
    }
  if ((names = names_of (json_node_get_array (reply), error)) == NULL)
    {
      g_prefix_error (error, "%s: ", what);
      return FALSE;
    }
  g_strfreev (*slot);
  *slot = names;
  return TRUE;
}

QlQemuCaps *
ql_qemu_caps_from_qmp (JsonNode *version, JsonNode *machines, JsonNode *cmdline_options, JsonNode *pc_machine,
                       JsonNode *vfio_pci, JsonNode *vfio_nohotplug, GError **error)
{
  g_autoptr(QlQemuCaps) caps = ql_qemu_caps_new (0);

  if (!parse_version (caps, version, error) || !parse_machines (caps, machines, error) ||
      !parse_cmdline_options (caps, cmdline_options, error) ||
      !parse_props (pc_machine, "qom-list-properties generic-pc-machine", &caps->machine_props, error) ||
      !parse_props (vfio_pci, "device-list-properties vfio-pci", &caps->vfio_pci_props, error) ||
      !parse_props (vfio_nohotplug, "device-list-properties vfio-pci-nohotplug", &caps->vfio_nohotplug_props,
                    error))
    return NULL;
  return g_steal_pointer (&caps);
}

/* ---- the cache's JSON ---- */

static void
add_strv (JsonBuilder *b, const char *member, GStrv strv)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (guint i = 0; strv[i]; i++)
    json_builder_add_string_value (b, strv[i]);
  json_builder_end_array (b);
}

JsonNode *
ql_qemu_caps_to_json (const QlQemuCaps *caps)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, caps->version);
  json_builder_set_member_name (b, "micro");
  json_builder_add_int_value (b, caps->micro);
  json_builder_set_member_name (b, "machine-types");
  json_builder_begin_array (b);
  for (guint i = 0; i < caps->machine_types->len; i++)
    {
      const QlQemuMachineType *t = caps->machine_types->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, t->name);
      if (t->alias)
        {
          json_builder_set_member_name (b, "alias");
          json_builder_add_string_value (b, t->alias);
        }
      json_builder_set_member_name (b, "is-default");
      json_builder_add_boolean_value (b, t->is_default);
      json_builder_set_member_name (b, "deprecated");
      json_builder_add_boolean_value (b, t->deprecated);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  add_strv (b, "machine-props", caps->machine_props);
  add_strv (b, "chardev-props", caps->chardev_props);
  add_strv (b, "run-with-props", caps->run_with_props);
  add_strv (b, "vfio-pci-props", caps->vfio_pci_props);
  add_strv (b, "vfio-pci-nohotplug-props", caps->vfio_nohotplug_props);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static gboolean
read_strv (JsonObject *o, const char *member, GStrv *slot, GError **error)
{
  JsonNode *n = json_object_get_member (o, member);
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  JsonArray *array;

  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    return fail (error, "a list of names is missing");
  array = json_node_get_array (n);
  if (json_array_get_length (array) > LIST_MAX)
    return fail (error, "a list of names is too long");
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *e = json_array_get_element (array, i);
      const char *name = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING
                         ? json_node_get_string (e) : NULL;
      if (!name_is_sane (name))
        return fail (error, "a name in a list is not sane");
      g_strv_builder_add (names, name);
    }
  g_strfreev (*slot);
  *slot = g_strv_builder_end (names);
  return TRUE;
}

QlQemuCaps *
ql_qemu_caps_from_json (JsonNode *node, GError **error)
{
  g_autoptr(QlQemuCaps) caps = ql_qemu_caps_new (0);
  JsonObject *o;
  JsonNode *types;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      fail (error, "not a JSON object");
      return NULL;
    }
  o = json_node_get_object (node);
  if (!member_uint (o, "version", 100099, &caps->version) || caps->version < 100 ||
      !member_uint (o, "micro", 999, &caps->micro))
    {
      fail (error, "'version' or 'micro' is missing or out of range");
      return NULL;
    }
  types = json_object_get_member (o, "machine-types");
  if (types == NULL)
    {
      fail (error, "'machine-types' is missing");
      return NULL;
    }
  if (!parse_machines (caps, types, error) ||
      !read_strv (o, "machine-props", &caps->machine_props, error) ||
      !read_strv (o, "chardev-props", &caps->chardev_props, error) ||
      !read_strv (o, "run-with-props", &caps->run_with_props, error) ||
      !read_strv (o, "vfio-pci-props", &caps->vfio_pci_props, error) ||
      !read_strv (o, "vfio-pci-nohotplug-props", &caps->vfio_nohotplug_props, error))
    return NULL;
  return g_steal_pointer (&caps);
}
