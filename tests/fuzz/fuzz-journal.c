/* libFuzzer harness: the journal loader (a runtime file anyone with access
 * to the runtime dir could have written), on any bytes. */
#include "ql-journal.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(QlJournal) journal = NULL;
  g_autoptr(GError) error = NULL;

  journal = ql_journal_parse ("/fuzz/run", "/fuzz/state", (const char *) data, size, &error);
  g_assert ((journal == NULL) == (error != NULL));
  if (journal != NULL)
    {
      const GPtrArray *steps = ql_journal_steps (journal);

      g_assert (steps->len <= QL_HOST_STEP_LIMIT);
      for (guint i = 0; i < steps->len; i++)
        {
          const QlHostStep *step = steps->pdata[i];
          g_autofree char *line = ql_host_step_describe (step);
          JsonObject *o = ql_host_step_to_json (step);
          g_autoptr(QlHostStep) again = ql_host_step_from_json (o, NULL);

          /* what the journal accepted writes back to the same step */
          g_assert (again != NULL && again->kind == step->kind);
          json_object_unref (o);
        }
    }
  return 0;
}
