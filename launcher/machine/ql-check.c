#include "ql-check.h"

#include <string.h>

void
ql_finding_free (QlFinding *f)
{
  if (f == NULL)
    return;
  g_free (f->check);
  g_free (f->message);
  g_free (f->fix);
  g_free (f);
}

const char *
ql_check_status_to_string (QlCheckStatus status)
{
  static const char *const names[] = { [QL_CHECK_OK] = "ok", [QL_CHECK_WARN] = "warn", [QL_CHECK_FAIL] = "fail" };
  return names[status];
}

GPtrArray *
ql_findings_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) ql_finding_free);
}

void
ql_findings_add (GPtrArray *findings, const char *check, QlCheckStatus status, char *message, char *fix)
{
  QlFinding *f = g_new0 (QlFinding, 1);

  f->check = g_strdup (check);
  f->status = status;
  f->message = message;
  f->fix = fix;
  g_ptr_array_add (findings, f);
}

int
ql_findings_exit_code (const GPtrArray *findings)
{
  int code = 0;

  for (guint i = 0; i < findings->len; i++)
    {
      const QlFinding *f = findings->pdata[i];
      code = MAX (code, f->status == QL_CHECK_FAIL ? 2 : f->status == QL_CHECK_WARN ? 1 : 0);
    }
  return code;
}

JsonNode *
ql_findings_to_json (const GPtrArray *findings)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  for (guint i = 0; i < findings->len; i++)
    {
      const QlFinding *f = findings->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "check");
      json_builder_add_string_value (b, f->check);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, ql_check_status_to_string (f->status));
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, f->message);
      json_builder_set_member_name (b, "fix");
      if (f->fix)
        json_builder_add_string_value (b, f->fix);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  return json_builder_get_root (b);
}
