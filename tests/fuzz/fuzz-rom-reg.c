/* libFuzzer harness: 'qlaunch rom from-reg' on any bytes: the registry
 * export parser, then the ROM walk on every value it finds. */
#include "ql-reg.h"
#include "ql-rom.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GPtrArray) values = ql_reg_parse_binary_values (data, size, NULL);

  for (guint i = 0; values != NULL && i < values->len; i++)
    {
      QlRegValue *v = values->pdata[i];
      gsize len;
      const guint8 *bytes = g_bytes_get_data (v->bytes, &len);
      QlRom *rom = ql_rom_parse (bytes, len, NULL);
      if (rom != NULL)
        g_assert (rom->chain_size <= len);
      ql_rom_free (rom);
      g_assert (v->name != NULL && v->key != NULL && v->line >= 2);
    }
  return 0;
}
