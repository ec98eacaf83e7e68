#include "ql-qemu-opts.h"

struct _QlQemuOpts {
  GString *str;
};

char *
ql_qemu_escape (const char *value)
{
  GString *out = g_string_sized_new (strlen (value) + 8);

  for (const char *p = value; *p; p++)
    {
      if (*p == ',')
        g_string_append_c (out, ',');
      g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

QlQemuOpts *
ql_qemu_opts_new (const char *first)
{
  QlQemuOpts *opts = g_new0 (QlQemuOpts, 1);

  opts->str = g_string_new (NULL);
  if (first != NULL)
    {
      g_autofree char *escaped = ql_qemu_escape (first);
      g_string_append (opts->str, escaped);
    }
  return opts;
}

void
ql_qemu_opts_add (QlQemuOpts *opts, const char *key, const char *value)
{
  g_autofree char *escaped = ql_qemu_escape (value);

  if (opts->str->len > 0)
    g_string_append_c (opts->str, ',');
  g_string_append_printf (opts->str, "%s=%s", key, escaped);
}

void
ql_qemu_opts_addf (QlQemuOpts *opts, const char *key, const char *fmt, ...)
{
  g_autofree char *value = NULL;
  va_list ap;

  va_start (ap, fmt);
  value = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  ql_qemu_opts_add (opts, key, value);
}

void
ql_qemu_opts_add_bool (QlQemuOpts *opts, const char *key, gboolean value)
{
  ql_qemu_opts_add (opts, key, value ? "on" : "off");
}

char *
ql_qemu_opts_finish (QlQemuOpts *opts)
{
  char *ret = g_string_free (g_steal_pointer (&opts->str), FALSE);

  g_free (opts);
  return ret;
}

void
ql_qemu_opts_free (QlQemuOpts *opts)
{
  if (opts == NULL)
    return;
  if (opts->str != NULL)
    g_string_free (opts->str, TRUE);
  g_free (opts);
}
