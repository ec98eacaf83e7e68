#include "ql-mdev-render.h"
#include "ql-json.h"

#include <string.h>

void
ql_mdev_render_table (GString *out, const GPtrArray *parents)
{
  if (parents->len == 0)
    return;
  g_string_append_printf (out, "\nMediated device types ([mdev] parent= and type=):\n%-12s  %-24s  %-5s  %-16s  %s\n",
                          "PARENT", "TYPE", "FREE", "NAME", "DESCRIPTION");
  for (guint i = 0; i < parents->len; i++)
    {
      const QlMdevParent *parent = parents->pdata[i];

      for (guint j = 0; j < parent->types->len; j++)
        {
          const QlMdevType *type = parent->types->pdata[j];
          g_autofree char *available = type->available >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, type->available)
                                                             : g_strdup ("?");

          g_string_append_printf (out, "%-12s  %-24s  %-5s  %-16s  %s\n", parent->name, type->name, available,
                                  type->pretty_name ? type->pretty_name : "-",
                                  type->description ? type->description : "");
        }
    }
}

void
ql_mdev_render_json_types (JsonBuilder *b, const GPtrArray *parents, const char *name)
{
  json_builder_set_member_name (b, "mdev-types");
  json_builder_begin_array (b);
  for (guint i = 0; i < parents->len; i++)
    {
      const QlMdevParent *parent = parents->pdata[i];

      if (strcmp (parent->name, name) != 0)
        continue;
      for (guint j = 0; j < parent->types->len; j++)
        {
          const QlMdevType *type = parent->types->pdata[j];

          json_builder_begin_object (b);
          ql_json_add_string_or_null (b, "type", type->name);
          ql_json_add_string_or_null (b, "name", type->pretty_name);
          ql_json_add_string_or_null (b, "description", type->description);
          ql_json_add_string_or_null (b, "device-api", type->device_api);
          json_builder_set_member_name (b, "available-instances");
          if (type->available >= 0)
            json_builder_add_int_value (b, type->available);
          else
            json_builder_add_null_value (b);
          json_builder_end_object (b);
        }
    }
  json_builder_end_array (b);
}

void
ql_mdev_render_json_other_parents (JsonBuilder *b, const GPtrArray *parents)
{
  for (guint i = 0; i < parents->len; i++)
    {
      const QlMdevParent *parent = parents->pdata[i];

      if (strchr (parent->name, ':') != NULL)
        continue;   /* a PCI device's: in its own object */
      json_builder_begin_object (b);
      ql_json_add_string_or_null (b, "address", NULL);
      ql_json_add_string_or_null (b, "mdev-parent", parent->name);
      ql_json_add_string_or_null (b, "driver", parent->driver);
      ql_mdev_render_json_types (b, parents, parent->name);
      json_builder_end_object (b);
    }
}
