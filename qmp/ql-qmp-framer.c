#include "ql-qmp-framer.h"
#include "ql-qmp-client.h"

#include <string.h>

struct _QlQmpFramer {
  GByteArray *buf;
  gsize max;
  gsize scanned;   /* bytes of buf already examined for the current message */
  gsize start;     /* offset of the current message's '{' (valid when depth > 0) */
  guint depth;
  gboolean in_string;
  gboolean escaped;
  gboolean failed;
};

QlQmpFramer *
ql_qmp_framer_new (gsize max_message_size)
{
  QlQmpFramer *framer = g_new0 (QlQmpFramer, 1);

  framer->buf = g_byte_array_new ();
  framer->max = max_message_size;
  return framer;
}

void
ql_qmp_framer_free (QlQmpFramer *framer)
{
  if (framer == NULL)
    return;
  g_byte_array_unref (framer->buf);
  g_free (framer);
}

void
ql_qmp_framer_push (QlQmpFramer *framer, const void *data, gsize len)
{
  g_byte_array_append (framer->buf, data, len);
}

static gboolean
fail (QlQmpFramer *framer, GError **error, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (QlQmpFramer *framer, GError **error, const char *fmt, ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  framer->failed = TRUE;
  va_start (ap, fmt);
  message = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL, message);
  return FALSE;
}

gboolean
ql_qmp_framer_next (QlQmpFramer *framer, char **ret_message, GError **error)
{
  const guint8 *p = framer->buf->data;
  gsize n = framer->buf->len;
  gsize i;

  if (framer->failed)
    return fail (framer, error, "QMP stream already failed");

  for (i = framer->scanned; i < n; i++)
    {
      guint8 c = p[i];

      if (framer->depth == 0)
        {
          if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
          if (c != '{')
            return fail (framer, error,
                         "QMP peer sent data that is not a JSON object (byte 0x%02x at offset %" G_GSIZE_FORMAT ")",
                         c, i);
          framer->start = i;
          framer->depth = 1;
          continue;
        }

      if (i - framer->start + 1 > framer->max)
        return fail (framer, error, "QMP message exceeds %" G_GSIZE_FORMAT " bytes", framer->max);

      if (framer->in_string)
        {
          if (framer->escaped)
            framer->escaped = FALSE;
          else if (c == '\\')
            framer->escaped = TRUE;
          else if (c == '"')
            framer->in_string = FALSE;
          continue;
        }

      if (c == '"')
        framer->in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          /* Nesting this deep is never QMP; it would only make json-glib recurse. */
          if (++framer->depth > 256)
            return fail (framer, error, "QMP message nests deeper than 256 levels");
        }
      else if (c == '}' || c == ']')
        {
          if (--framer->depth == 0)
            {
              gsize len = i - framer->start + 1;

              *ret_message = g_strndup ((const char *) p + framer->start, len);
              if (strlen (*ret_message) != len)
                {
                  g_clear_pointer (ret_message, g_free);
                  return fail (framer, error, "QMP message contains a NUL byte");
                }
              g_byte_array_remove_range (framer->buf, 0, i + 1);
              framer->scanned = 0;
              framer->start = 0;
              return TRUE;
            }
        }
    }

  /* Whitespace between messages is dropped so the buffer cannot grow without bound. */
  if (framer->depth == 0)
    {
      g_byte_array_set_size (framer->buf, 0);
      framer->scanned = 0;
    }
  else
    framer->scanned = n;

  if (framer->depth > 0 && n - framer->start > framer->max)
    return fail (framer, error, "QMP message exceeds %" G_GSIZE_FORMAT " bytes", framer->max);

  return FALSE;
}
