/* libFuzzer harness: 'qlaunch import proxmox' on any input.  What it writes
 * must be a key file GKeyFile reads back, whatever the input held. */
#include "ql-import-proxmox.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlImport) import = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *text = NULL;
  g_autofree char *conf = g_strndup ((const char *) data, size);

  import = ql_import_proxmox (conf, "100.conf", 100, &error);
  g_assert ((import == NULL) == (error != NULL));
  if (import == NULL)
    return 0;
  text = ql_import_to_data (import, "Proxmox");
  g_assert (g_key_file_load_from_data (keyfile, text, -1, G_KEY_FILE_KEEP_COMMENTS, NULL));
  return 0;
}
