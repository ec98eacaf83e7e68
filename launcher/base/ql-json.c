#include "ql-json.h"
#include "ql-error.h"

void
ql_json_add_hex (JsonBuilder *b, const char *name, int digits, guint value)
{
  g_autofree char *text = g_strdup_printf ("%0*x", digits, value);

  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, text);
}

void
ql_json_add_string_or_null (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

gboolean
ql_json_write_file (const char *path, JsonNode *root, GError **error)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

JsonObject *
ql_json_read_object (const char *path, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!json_parser_load_from_mapped_file (parser, path, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' does not hold a JSON object", path);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}
