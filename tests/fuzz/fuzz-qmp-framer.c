/* libFuzzer harness: the QMP framer, fed any bytes in pieces of any size. */
#include "ql-qmp-framer.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(QlQmpFramer) framer = ql_qmp_framer_new (4096);
  size_t at = 0;

  /* the first byte chooses the piece size: reads split messages anywhere */
  gsize piece = size > 0 ? (data[0] % 64) + 1 : 1;

  while (at < size)
    {
      gsize len = MIN (piece, size - at);
      gboolean more = TRUE;

      ql_qmp_framer_push (framer, data + at, len);
      at += len;
      while (more)
        {
          g_autofree char *message = NULL;
          g_autoptr(GError) error = NULL;

          more = ql_qmp_framer_next (framer, &message, &error);
          g_assert (!more || message != NULL);
          if (error != NULL)
            return 0;
        }
    }
  return 0;
}
