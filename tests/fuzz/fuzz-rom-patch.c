/* libFuzzer harness: 'qlaunch rom patch' on any bytes, with and without
 * --keep-footer and --ignore-sanity-check. */
#include "ql-rom.h"
#include "ql-rom-nvidia.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  for (guint mode = 0; mode < 3; mode++)
    {
      QlRomSpliceOptions options = { mode == 1, mode == 2, -1 };
      QlRomSplice splice = { 0 };

      if (ql_rom_nvidia_splice (data, size, &options, &splice, NULL))
        {
          g_autoptr(QlRom) rom = NULL;
          g_assert (splice.start < splice.end && splice.end <= size);
          /* what it cuts out is always a valid chain */
          rom = ql_rom_parse (data + splice.start, splice.end - splice.start, NULL);
          g_assert (rom != NULL);
        }
      ql_rom_splice_clear (&splice);
    }
  return 0;
}
