#include "step-checks.h"
#include "ql-host-step.h"
#include "ql-journal.h"

#include <string.h>

JsonObject *
parse_object (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

void
assert_step_json (const char *json, const char *expect)
{
  g_autoptr(JsonObject) o = parse_object (json);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlHostStep) step = ql_host_step_from_json (o, &error);

  if (expect == NULL)
    {
      g_assert_no_error (error);
      g_assert_nonnull (step);
      return;
    }
  g_assert_null (step);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expect));
}

void
assert_journal_refused (const char *journal, const char *expect)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlJournal) loaded = ql_journal_parse ("/run/x", "/var/lib/x", journal, strlen (journal), &error);

  g_assert_null (loaded);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expect));
}
