#include "ql-firmware.h"
#include "ql-error.h"

#include <json-glib/json-glib.h>
#include <string.h>

void
ql_firmware_descriptor_free (QlFirmwareDescriptor *d)
{
  if (d == NULL)
    return;
  g_free (d->path);
  g_free (d->description);
  g_strfreev (d->interface_types);
  g_free (d->device);
  g_free (d->executable);
  g_free (d->executable_format);
  g_free (d->nvram_template);
  g_strfreev (d->machines);
  g_strfreev (d->features);
  g_free (d);
}

static GStrv
string_array (JsonObject *object, const char *member)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  JsonNode *node = json_object_get_member (object, member);

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *e = json_array_get_element (array, i);
          if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
            g_ptr_array_add (out, g_strdup (json_node_get_string (e)));
        }
    }
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

static JsonObject *
object_member (JsonObject *object, const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  return node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

QlFirmwareDescriptor *
ql_firmware_descriptor_parse (const char *path, const char *json, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(QlFirmwareDescriptor) d = g_new0 (QlFirmwareDescriptor, 1);
  g_autoptr(GPtrArray) machines = g_ptr_array_new_with_free_func (g_free);
  JsonObject *root, *mapping, *executable, *nvram;
  JsonNode *targets;

  if (!json_parser_load_from_data (parser, json, -1, error))
    {
      g_prefix_error (error, "Firmware descriptor '%s': ", path);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "Firmware descriptor '%s' is not a JSON object", path);
      return NULL;
    }
  root = json_node_get_object (json_parser_get_root (parser));
  mapping = object_member (root, "mapping");
  executable = object_member (mapping, "executable");
  nvram = object_member (mapping, "nvram-template");

  d->path = g_strdup (path);
  d->description = g_strdup (json_object_get_string_member_with_default (root, "description", ""));
  d->interface_types = string_array (root, "interface-types");
  d->features = string_array (root, "features");
  if (mapping != NULL)
    d->device = g_strdup (json_object_get_string_member_with_default (mapping, "device", ""));
  if (executable != NULL)
    {
      d->executable = g_strdup (json_object_get_string_member_with_default (executable, "filename", ""));
      d->executable_format = g_strdup (json_object_get_string_member_with_default (executable, "format", "raw"));
    }
  if (nvram != NULL)
    d->nvram_template = g_strdup (json_object_get_string_member_with_default (nvram, "filename", ""));

  targets = json_object_get_member (root, "targets");
  if (targets != NULL && JSON_NODE_HOLDS_ARRAY (targets))
    {
      JsonArray *array = json_node_get_array (targets);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *t = json_array_get_element (array, i);
          JsonObject *target = JSON_NODE_HOLDS_OBJECT (t) ? json_node_get_object (t) : NULL;
          g_auto(GStrv) globs = NULL;

          if (target == NULL ||
              g_strcmp0 (json_object_get_string_member_with_default (target, "architecture", ""), "x86_64") != 0)
            continue;
          globs = string_array (target, "machines");
          for (guint j = 0; globs[j]; j++)
            g_ptr_array_add (machines, g_strdup (globs[j]));
        }
    }
  g_ptr_array_add (machines, NULL);
  d->machines = (GStrv) g_ptr_array_free (g_steal_pointer (&machines), FALSE);

  if (d->executable == NULL || d->executable[0] == '\0')
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "Firmware descriptor '%s' names no executable", path);
      return NULL;
    }
  return g_steal_pointer (&d);
}

gboolean
ql_firmware_has_feature (const QlFirmwareDescriptor *d, const char *feature)
{
  return g_strv_contains ((const char *const *) d->features, feature);
}

static gboolean
supports_q35 (const QlFirmwareDescriptor *d)
{
  for (guint i = 0; d->machines[i]; i++)
    if (g_pattern_match_simple (d->machines[i], "pc-q35-7.2") || g_str_has_prefix (d->machines[i], "pc-q35-"))
      return TRUE;
  return FALSE;
}

const QlFirmwareDescriptor *
ql_firmware_select_uefi (GPtrArray *descriptors, gboolean secure_boot, GError **error)
{
  for (guint i = 0; i < descriptors->len; i++)
    {
      const QlFirmwareDescriptor *d = descriptors->pdata[i];
      gboolean secure = ql_firmware_has_feature (d, "secure-boot");

      if (!g_strv_contains ((const char *const *) d->interface_types, "uefi") ||
          g_strcmp0 (d->device, "flash") != 0 || !supports_q35 (d) ||
          g_strcmp0 (d->executable_format, "raw") != 0 || d->nvram_template == NULL)
        continue;
      if (secure_boot ? !(secure && ql_firmware_has_feature (d, "enrolled-keys")) : secure)
        continue;
      if (!g_file_test (d->executable, G_FILE_TEST_EXISTS) || !g_file_test (d->nvram_template, G_FILE_TEST_EXISTS))
        {
          g_debug ("firmware: %s names files that do not exist", d->path);
          continue;
        }
      return d;
    }
  g_set_error (error, QL_ERROR, QL_ERROR_HOST,
               "No UEFI firmware%s for q35 found in QEMU's firmware descriptors "
               "(Hint: install the 'ovmf' package, or set firmware=bios)",
               secure_boot ? " with Secure Boot and enrolled keys" : " without Secure Boot");
  return NULL;
}
