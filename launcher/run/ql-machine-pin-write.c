/* The first start pins the machine type that q35 stood for. */
#include "ql-machine-pin-write.h"
#include "ql-json.h"
#include "ql-runtime-files.h"

gboolean
ql_machine_pin_write (const char *state_dir, const char *type, GError **error)
{
  g_autofree char *path = g_build_filename (state_dir, QL_STATE_MACHINE_TYPE, NULL);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "machine");
  json_builder_add_string_value (b, type);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  if (!ql_json_write_file (path, root, error))
    {
      g_prefix_error (error, "pinning the machine type %s: ", type);
      return FALSE;
    }
  return TRUE;
}
