#include "ql-json.h"

void
ql_json_add_hex (JsonBuilder *b, const char *name, int digits, guint value)
{
  g_autofree char *text = g_strdup_printf ("%0*x", digits, value);

  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, text);
}

void
ql_json_add_string_or_null (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}
