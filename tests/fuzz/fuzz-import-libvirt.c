/* libFuzzer harness: 'qlaunch import libvirt' on any input.  What it writes
 * must be a key file GKeyFile reads back, whatever the input held. */
#include "ql-import-libvirt.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlImport) import = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *text = NULL;

  import = ql_import_libvirt ((const char *) data, size, "fuzz.xml", &error);
  g_assert ((import == NULL) == (error != NULL));
  if (import == NULL)
    return 0;
  text = ql_import_to_data (import, "libvirt");
  g_assert (g_key_file_load_from_data (keyfile, text, -1, G_KEY_FILE_KEEP_COMMENTS, NULL));
  return 0;
}
