/* Finding and reading QEMU's firmware descriptors. */
#include "ql-firmware-load.h"

#include <string.h>

GStrv
ql_firmware_default_dirs (void)
{
  const char *override = g_getenv ("QLAUNCH_FIRMWARE_PATH");
  g_autofree char *user = g_build_filename (g_get_user_config_dir (), "qemu", "firmware", NULL);

  if (override != NULL)
    return g_strsplit (override, ":", -1);
  return g_strdupv ((char *[]) { "/usr/share/qemu/firmware", "/etc/qemu/firmware", user, NULL });
}

GPtrArray *
ql_firmware_load_all (const char *const *dirs)
{
  g_autoptr(GHashTable) by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_firmware_descriptor_free);
  g_autoptr(GList) names = NULL;

  for (guint i = 0; dirs[i]; i++)
    {
      g_autoptr(GDir) dir = g_dir_open (dirs[i], 0, NULL);
      const char *name;

      while (dir && (name = g_dir_read_name (dir)))
        if (g_str_has_suffix (name, ".json"))
          g_hash_table_insert (by_name, g_strdup (name), g_build_filename (dirs[i], name, NULL));
    }

  names = g_list_sort (g_hash_table_get_keys (by_name), (GCompareFunc) strcmp);
  for (GList *l = names; l; l = l->next)
    {
      const char *path = g_hash_table_lookup (by_name, l->data);
      g_autofree char *text = NULL;
      g_autoptr(GError) error = NULL;
      QlFirmwareDescriptor *d;

      if (!g_file_get_contents (path, &text, NULL, &error) ||
          (d = ql_firmware_descriptor_parse (path, text, &error)) == NULL)
        {
          g_debug ("firmware: skipping %s: %s", path, error->message);
          continue;
        }
      g_ptr_array_add (out, d);
    }
  return g_steal_pointer (&out);
}
