#include "ql-error.h"

G_DEFINE_QUARK (ql-error-quark, ql_error)

#include <gio/gio.h>

gboolean
ql_error_set_errno (GError **error, int errsv, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s: %s", message, g_strerror (errsv));
  return FALSE;
}
