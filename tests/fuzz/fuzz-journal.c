/* libFuzzer harness: the journal loader (a runtime file anyone with access
 * to the runtime dir could have written), on any bytes. */
#include "ql-journal.h"
#include "ql-runtime-files.h"

#include <glib/gstdio.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *runtime_dir;

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = NULL;
  g_autoptr(QlJournal) journal = NULL;
  g_autoptr(GError) error = NULL;

  if (runtime_dir == NULL)
    runtime_dir = g_dir_make_tmp ("ql-fuzz-journal-XXXXXX", NULL);
  path = g_build_filename (runtime_dir, QL_RUNTIME_JOURNAL, NULL);
  if (!g_file_set_contents (path, (const char *) data, (gssize) size, NULL))
    return 0;
  journal = ql_journal_load (runtime_dir, "/fuzz/state", &error);
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
  g_unlink (path);
  return 0;
}
