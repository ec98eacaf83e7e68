#include "ql-reg.h"
#include "ql-error.h"

#include <string.h>

void
ql_reg_value_free (QlRegValue *value)
{
  g_free (value->key);
  g_free (value->name);
  g_bytes_unref (value->bytes);
  g_free (value);
}

/* The export as ASCII text; regedit writes names and hex digits in ASCII. */
static char *
to_ascii (const guint8 *data, gsize size, GError **error)
{
  GString *text = g_string_sized_new (size / 2 + 1);
  gboolean utf16 = size >= 2 && data[0] == 0xFF && data[1] == 0xFE;
  gsize i = utf16 ? 2 : (size >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0);
  guint line = 1;

  if (size >= 2 && data[0] == 0xFE && data[1] == 0xFF)
    {
      g_set_error_literal (error, QL_ERROR, QL_ERROR_FAILED, "big-endian UTF-16; regedit writes UTF-16LE");
      g_string_free (text, TRUE);
      return NULL;
    }
  if (utf16 && size % 2 != 0)
    {
      g_set_error_literal (error, QL_ERROR, QL_ERROR_FAILED, "UTF-16 text with an odd number of bytes (truncated?)");
      g_string_free (text, TRUE);
      return NULL;
    }
  for (; i < size; i += utf16 ? 2 : 1)
    {
      guint c = utf16 ? (guint) data[i] | (guint) data[i + 1] << 8 : data[i];
      if (c == 0 && !utf16)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "line %u: a NUL byte: UTF-16 text without a BOM?", line);
          g_string_free (text, TRUE);
          return NULL;
        }
      if (c == '\n')
        line++;
      /* names and strings may hold any character; hex values never do */
      g_string_append_c (text, c < 0x80 ? (char) c : '?');
    }
  return g_string_free (text, FALSE);
}

static gboolean
parse_hex_list (const char *text, GByteArray *out)
{
  g_auto(GStrv) tokens = g_strsplit (text, ",", -1);

  for (guint i = 0; tokens[i] != NULL; i++)
    {
      char *t = g_strstrip (tokens[i]);
      gsize len = strlen (t);

      if (len == 0 && tokens[i + 1] == NULL)
        break;   /* a trailing comma */
      if (len == 0 || len > 2 || !g_ascii_isxdigit (t[0]) || (len == 2 && !g_ascii_isxdigit (t[1])))
        return FALSE;
      guint8 b = (guint8) (len == 2 ? g_ascii_xdigit_value (t[0]) << 4 | g_ascii_xdigit_value (t[1])
                                    : g_ascii_xdigit_value (t[0]));
      g_byte_array_append (out, &b, 1);
    }
  return TRUE;
}

/* "NAME"=hex: or @=hex(N): at the start of a line: the name and where the digits start. */
static gboolean
value_start (const char *line, char **ret_name, const char **ret_rest)
{
  const char *p = line;
  GString *name = g_string_new (NULL);

  while (*p == ' ' || *p == '\t')
    p++;
  if (*p == '@')
    {
      g_string_append_c (name, '@');
      p++;
    }
  else if (*p == '"')
    {
      for (p++; *p && *p != '"'; p++)
        {
          if (*p == '\\' && p[1] != '\0')
            p++;
          g_string_append_c (name, *p);
        }
      if (*p != '"')
        goto no;
      p++;
    }
  else
    goto no;
  if (*p++ != '=' || strncmp (p, "hex", 3) != 0)
    goto no;
  p += 3;
  if (*p == '(')
    {
      while (*p && *p != ')')
        p++;
      if (*p != ')')
        goto no;
      p++;
    }
  if (*p++ != ':')
    goto no;
  *ret_name = g_string_free (name, FALSE);
  *ret_rest = p;
  return TRUE;
no:
  g_string_free (name, TRUE);
  return FALSE;
}

GPtrArray *
ql_reg_parse_binary_values (const guint8 *data, gsize size, GError **error)
{
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_reg_value_free);
  g_autofree char *text = to_ascii (data, size, error);
  g_auto(GStrv) lines = NULL;
  g_autofree char *key = NULL;

  if (text == NULL)
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  {
    const char *first = lines[0] ? g_strstrip (lines[0]) : "";
    if (strcmp (first, "Windows Registry Editor Version 5.00") != 0 && strcmp (first, "REGEDIT4") != 0)
      {
        g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                     "line 1: not a registry export: it should start with 'Windows Registry Editor Version 5.00', "
                     "not '%.40s'", first);
        return NULL;
      }
  }
  for (guint i = 1; lines[i] != NULL; i++)
    {
      char *line = g_strchomp (lines[i]);
      g_autofree char *name = NULL;
      const char *rest;
      g_autoptr(GString) digits = NULL;
      g_autoptr(GByteArray) bytes = NULL;
      guint first_line = i + 1;
      QlRegValue *value;

      if (line[0] == '[')
        {
          char *end = strrchr (line, ']');
          g_free (key);
          key = end ? g_strndup (line + 1, end - line - 1) : g_strdup (line + 1);
          continue;
        }
      if (!value_start (line, &name, &rest))
        continue;
      digits = g_string_new (rest);
      while (digits->len > 0 && digits->str[digits->len - 1] == '\\')
        {
          g_string_truncate (digits, digits->len - 1);
          if (lines[i + 1] == NULL || *g_strstrip (lines[i + 1]) == '\0')
            {
              g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "line %u: value \"%s\" continues past the end of the file",
                           first_line, name);
              return NULL;
            }
          g_string_append (digits, g_strstrip (lines[++i]));
        }
      bytes = g_byte_array_new ();
      if (!parse_hex_list (digits->str, bytes))
        {
          g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "line %u: value \"%s\" holds something that is not a hex byte",
                       first_line, name);
          return NULL;
        }
      value = g_new0 (QlRegValue, 1);
      value->key = g_strdup (key ? key : "");
      value->name = g_steal_pointer (&name);
      value->line = first_line;
      value->bytes = g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
      g_ptr_array_add (values, value);
    }
  return g_steal_pointer (&values);
}
