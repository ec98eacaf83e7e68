/* libFuzzer harness: 'qlaunch rom info' on any bytes. */
#include "ql-rom.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(QlRom) rom = ql_rom_parse (data, size, NULL);

  if (rom != NULL)
    {
      g_free (ql_rom_describe (rom));
      json_node_unref (ql_rom_to_json (rom));
      g_assert (rom->chain_size <= size);
      g_assert (rom->images->len > 0);
      (void) ql_rom_is_uefi_capable (rom);
    }
  return 0;
}
