/* libFuzzer harness: the INI profile loader, checks and machine-independent
 * validation, on any text. */
#include "ql-profile.h"

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) profile = NULL;

  /* a profile may name files (disks are probed): none may block the run */
  if (freopen ("/dev/null", "r", stdin) == NULL)
    return 0;
  profile = ql_profile_load_from_data (text, "/fuzz/vm.ini", &error);
  g_assert ((profile == NULL) == (error != NULL));
  if (profile != NULL)
    (void) ql_profile_pins_threads (profile);
  else
    g_assert (error->message[0] != '\0');
  return 0;
}
