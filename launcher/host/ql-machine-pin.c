/* The pinned machine type, read back from the VM's state dir. */
#include "ql-machine-pin.h"
#include "ql-error.h"
#include "ql-json.h"
#include "ql-runtime-files.h"
#include "ql-value.h"

gboolean
ql_machine_pin_read (const char *state_dir, char **ret_type, GError **error)
{
  g_autofree char *path = g_build_filename (state_dir, QL_STATE_MACHINE_TYPE, NULL);
  g_autoptr(JsonObject) o = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *machine;
  const char *type;

  if (!g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      *ret_type = NULL;
      return TRUE;
    }
  o = ql_json_read_object (path, &local_error);
  machine = o ? json_object_get_member (o, "machine") : NULL;
  type = machine && JSON_NODE_HOLDS_VALUE (machine) && json_node_get_value_type (machine) == G_TYPE_STRING
         ? json_node_get_string (machine) : NULL;
  if (type == NULL || !ql_value_machine_type_is_valid (type))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: %s. Fix: remove it (the next start pins the type q35 "
                   "is then) or set [vm] machine = pc-q35-X.Y in the profile", path,
                   local_error ? local_error->message : "no valid \"machine\": \"pc-q35-X.Y\" in it");
      return FALSE;
    }
  *ret_type = g_strdup (type);
  return TRUE;
}
