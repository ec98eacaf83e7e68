#include "ql-import.h"
#include "ql-value.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct _QlImport {
  char *source;
  GKeyFile *keyfile;
  GKeyFile *tail;        /* [qemu]: written after every other section */
  GPtrArray *args;       /* char*: [qemu] args, unquoted */
  GPtrArray *args_why;   /* char*: a comment line per kept group of args */
  GPtrArray *warnings;
  GPtrArray *notes;
};

QlImport *
ql_import_new (const char *source)
{
  QlImport *import = g_new0 (QlImport, 1);

  import->source = g_strdup (source);
  import->keyfile = g_key_file_new ();
  import->tail = g_key_file_new ();
  import->args = g_ptr_array_new_with_free_func (g_free);
  import->args_why = g_ptr_array_new_with_free_func (g_free);
  import->warnings = g_ptr_array_new_with_free_func (g_free);
  import->notes = g_ptr_array_new_with_free_func (g_free);
  return import;
}

void
ql_import_free (QlImport *import)
{
  if (import == NULL)
    return;
  g_free (import->source);
  g_key_file_free (import->keyfile);
  g_key_file_free (import->tail);
  g_ptr_array_unref (import->args);
  g_ptr_array_unref (import->args_why);
  g_ptr_array_unref (import->warnings);
  g_ptr_array_unref (import->notes);
  g_free (import);
}

const char *
ql_import_source (const QlImport *import)
{
  return import->source;
}

static GKeyFile *
keyfile_for (const QlImport *import, const char *group)
{
  return strcmp (group, "qemu") == 0 ? import->tail : import->keyfile;
}

void
ql_import_set (QlImport *import, const char *group, const char *key, const char *value)
{
  g_key_file_set_string (keyfile_for (import, group), group, key, value);
}

void
ql_import_setf (QlImport *import, const char *group, const char *key, const char *fmt, ...)
{
  g_autofree char *value = NULL;
  va_list ap;

  va_start (ap, fmt);
  value = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  ql_import_set (import, group, key, value);
}

void
ql_import_set_bool (QlImport *import, const char *group, const char *key, gboolean value)
{
  ql_import_set (import, group, key, value ? "true" : "false");
}

void
ql_import_append (QlImport *import, const char *group, const char *key, const char *item)
{
  GKeyFile *kf = keyfile_for (import, group);
  g_auto(GStrv) list = g_key_file_get_string_list (kf, group, key, NULL, NULL);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) items = NULL;

  if (list != NULL)
    g_strv_builder_addv (builder, (const char **) list);
  g_strv_builder_add (builder, item);
  items = g_strv_builder_end (builder);
  g_key_file_set_string_list (kf, group, key, (const char *const *) items, g_strv_length (items));
}

char *
ql_import_get (const QlImport *import, const char *group, const char *key)
{
  return g_key_file_get_string (keyfile_for (import, group), group, key, NULL);
}

gboolean
ql_import_has_group (const QlImport *import, const char *group)
{
  return g_key_file_has_group (keyfile_for (import, group), group);
}

gboolean
ql_import_has_key (const QlImport *import, const char *group, const char *key)
{
  return g_key_file_has_key (keyfile_for (import, group), group, key, NULL);
}

void
ql_import_comment (QlImport *import, const char *group, const char *key, const char *fmt, ...)
{
  GKeyFile *kf = keyfile_for (import, group);
  g_autofree char *text = NULL, *before = NULL, *joined = NULL;
  g_auto(GStrv) lines = NULL;
  va_list ap;

  va_start (ap, fmt);
  text = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  /* GKeyFile puts '#' before each line; the space keeps it readable */
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *line = lines[i];
      lines[i] = g_strconcat (" ", line, NULL);
    }
  joined = g_strjoinv ("\n", lines);
  before = g_key_file_get_comment (kf, group, key, NULL);
  if (before != NULL && before[0] != '\0')
    {
      g_autofree char *both = g_strconcat (before, "\n", joined, NULL);
      g_key_file_set_comment (kf, group, key, both, NULL);
    }
  else
    g_key_file_set_comment (kf, group, key, joined, NULL);
}

static void add_message (GPtrArray *list, const QlImport *import, guint line, const char *fmt, va_list ap)
  G_GNUC_PRINTF (4, 0);

static void
add_message (GPtrArray *list, const QlImport *import, guint line, const char *fmt, va_list ap)
{
  g_autofree char *text = g_strdup_vprintf (fmt, ap);

  if (line > 0)
    g_ptr_array_add (list, g_strdup_printf ("%s:%u: %s", import->source, line, text));
  else
    g_ptr_array_add (list, g_strdup_printf ("%s: %s", import->source, text));
}

void
ql_import_warn (QlImport *import, guint line, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  add_message (import->warnings, import, line, fmt, ap);
  va_end (ap);
}

void
ql_import_note (QlImport *import, guint line, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  add_message (import->notes, import, line, fmt, ap);
  va_end (ap);
}

static char *
quote_args (const char *const *args)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; args[i] != NULL; i++)
    {
      gboolean plain = args[i][0] != '\0';

      for (const char *c = args[i]; *c && plain; c++)
        plain = g_ascii_isalnum (*c) || strchr ("-_./=:,@%+", *c) != NULL;
      if (i > 0)
        g_string_append_c (text, ' ');
      if (plain)
        g_string_append (text, args[i]);
      else
        {
          g_autofree char *quoted = g_shell_quote (args[i]);
          g_string_append (text, quoted);
        }
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

void
ql_import_keep_args (QlImport *import, guint line, const char *what, const char *const *args)
{
  g_autofree char *text = quote_args (args);

  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (import->args, g_strdup (args[i]));
  ql_import_warn (import, line, "%s: kept in [qemu] args as '%s'", what, text);
  if (line > 0)
    g_ptr_array_add (import->args_why, g_strdup_printf ("line %u, %s: %s", line, what, text));
  else
    g_ptr_array_add (import->args_why, g_strdup_printf ("%s: %s", what, text));
}

void
ql_import_resolve_x_vga (QlImport *import)
{
  g_auto(GStrv) groups = g_key_file_get_groups (import->keyfile, NULL);
  g_autofree char *vga = ql_import_get (import, "display", "vga");

  if (vga == NULL || strcmp (vga, "none") == 0)
    return;
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autofree char *x_vga = NULL;
      if (!g_str_has_prefix (groups[i], "pci "))
        continue;
      x_vga = ql_import_get (import, groups[i], "x-vga");
      if (g_strcmp0 (x_vga, "true") != 0)
        continue;
      ql_import_set (import, "display", "vga", "none");
      ql_import_warn (import, 0, "[%s] x-vga=true: the passed-through GPU is the guest's VGA; the emulated %s VGA "
                      "is left out (vga=none)", groups[i], vga);
      return;
    }
}

const GPtrArray *
ql_import_warnings (const QlImport *import)
{
  return import->warnings;
}

const GPtrArray *
ql_import_notes (const QlImport *import)
{
  return import->notes;
}

static void
copy_tail (QlImport *import)
{
  g_auto(GStrv) keys = g_key_file_get_keys (import->tail, "qemu", NULL, NULL);

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      g_autofree char *value = g_key_file_get_value (import->tail, "qemu", keys[i], NULL);
      g_autofree char *comment = g_key_file_get_comment (import->tail, "qemu", keys[i], NULL);
      g_key_file_set_value (import->keyfile, "qemu", keys[i], value);
      if (comment != NULL && comment[0] != '\0')
        g_key_file_set_comment (import->keyfile, "qemu", keys[i], comment, NULL);
    }
}

char *
ql_import_to_data (QlImport *import, const char *kind)
{
  g_autoptr(GString) header = g_string_new (NULL);

  if (import->args->len > 0)
    {
      g_ptr_array_add (import->args, NULL);
      g_autofree char *text = quote_args ((const char *const *) import->args->pdata);
      g_ptr_array_remove_index (import->args, import->args->len - 1);
      ql_import_set (import, "qemu", "args", text);
      ql_import_comment (import, "qemu", "args", "what the %s configuration asks of QEMU that qlaunch has "
                         "no key for:", kind);
      for (guint i = 0; i < import->args_why->len; i++)
        ql_import_comment (import, "qemu", "args", "  %s", (char *) import->args_why->pdata[i]);
    }
  copy_tail (import);

  g_string_append_printf (header, " Imported from the %s configuration %s by 'qlaunch import'.", kind,
                          import->source);
  if (import->warnings->len > 0)
    {
      g_string_append_printf (header, "\n %u warning%s: check these before the first start.",
                              import->warnings->len, import->warnings->len == 1 ? "" : "s");
      for (guint i = 0; i < import->warnings->len; i++)
        g_string_append_printf (header, "\n   %s", (char *) import->warnings->pdata[i]);
    }
  if (import->notes->len > 0)
    {
      g_string_append (header, "\n Done differently by qlaunch:");
      for (guint i = 0; i < import->notes->len; i++)
        g_string_append_printf (header, "\n   %s", (char *) import->notes->pdata[i]);
    }
  /* the header goes above the first group: GKeyFile's comment for the file itself */
  g_key_file_set_comment (import->keyfile, NULL, NULL, header->str, NULL);
  {
    g_autofree char *text = g_key_file_to_data (import->keyfile, NULL, NULL);
    /* GKeyFile leaves the last line without its newline */
    return g_str_has_suffix (text, "\n") ? g_steal_pointer (&text) : g_strconcat (text, "\n", NULL);
  }
}

char *
ql_import_section_id (const char *name)
{
  GString *id = g_string_new (NULL);

  for (const char *c = name; *c; c++)
    g_string_append_c (id, g_ascii_isalnum (*c) || *c == '-' || *c == '_' ? *c : '-');
  if (id->len == 0)
    g_string_append (id, "imported");
  return g_string_free (id, FALSE);
}

gboolean
ql_import_parse_uint (const char *text, guint64 min, guint64 max, guint64 *ret_value)
{
  g_autofree char *message = NULL;

  return text != NULL && ql_value_parse_uint (text, min, max, ret_value, &message);
}

static gint
compare_uint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

GArray *
ql_import_parse_cpuset (const char *text)
{
  g_autoptr(GArray) cpus = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GHashTable) excluded = g_hash_table_new (NULL, NULL);
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      const char *part = g_strstrip (parts[i]);
      gboolean exclude = part[0] == '^';
      guint64 first, last;
      char *end;

      if (exclude)
        part++;
      if (!g_ascii_isdigit (part[0]))
        return NULL;
      first = last = g_ascii_strtoull (part, &end, 10);
      if (*end == '-')
        {
          if (!g_ascii_isdigit (end[1]))
            return NULL;
          last = g_ascii_strtoull (end + 1, &end, 10);
        }
      if (*end != '\0' || last < first || last > 8191)
        return NULL;
      for (guint64 cpu = first; cpu <= last; cpu++)
        {
          guint c = (guint) cpu;
          if (exclude)
            g_hash_table_add (excluded, GUINT_TO_POINTER (c + 1));
          else
            g_array_append_val (cpus, c);
        }
    }
  for (guint i = cpus->len; i-- > 0;)
    if (g_hash_table_contains (excluded, GUINT_TO_POINTER (g_array_index (cpus, guint, i) + 1)))
      g_array_remove_index (cpus, i);
  g_array_sort (cpus, compare_uint);
  for (guint i = cpus->len; i-- > 1;)
    if (g_array_index (cpus, guint, i) == g_array_index (cpus, guint, i - 1))
      g_array_remove_index (cpus, i);
  return cpus->len > 0 ? g_steal_pointer (&cpus) : NULL;
}
