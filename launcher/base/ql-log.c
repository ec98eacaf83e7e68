#include "ql-log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct {
  char *program;
  char *vm;
  gboolean verbose;
  gboolean quiet;
  gboolean journal;
  char *status_line;          /* shown below the messages on a terminal, redrawn after each */
} log_config;

#define CLEAR_LINE "\r\033[K"

static gboolean
is_pci_address_at (const char *p)
{
  static const char shape[] = "xxxx:xx:xx.f";

  for (guint i = 0; i < sizeof shape - 1; i++)
    {
      if (p[i] == '\0')
        return FALSE;
      if (shape[i] == 'x' ? !g_ascii_isxdigit (p[i]) : shape[i] == 'f' ? (p[i] < '0' || p[i] > '7') : p[i] != shape[i])
        return FALSE;
    }
  /* not part of a longer token */
  return !g_ascii_isxdigit (p[sizeof shape - 1]);
}

char *
ql_log_find_device (const char *message)
{
  for (const char *p = message; *p; p++)
    if ((p == message || !g_ascii_isxdigit (p[-1])) && is_pci_address_at (p))
      return g_ascii_strdown (p, strlen ("0000:00:00.0"));
  return NULL;
}

static void
add_field (GArray *out, const char *key, const char *value)
{
  GLogField field = { key, value, -1 };

  g_array_append_val (out, field);
}

static const GLogField *
find_field (const GLogField *fields, gsize n_fields, const char *key)
{
  for (gsize i = 0; i < n_fields; i++)
    if (strcmp (fields[i].key, key) == 0)
      return &fields[i];
  return NULL;
}

GArray *
ql_log_journal_fields (const GLogField *fields, gsize n_fields, char **ret_device)
{
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (GLogField), n_fields + 3);
  const GLogField *message = find_field (fields, n_fields, "MESSAGE");

  *ret_device = NULL;
  for (gsize i = 0; i < n_fields; i++)
    if (strcmp (fields[i].key, "GLIB_OLD_LOG_API") != 0)
      g_array_append_val (out, fields[i]);
  if (find_field (fields, n_fields, "SYSLOG_IDENTIFIER") == NULL)
    add_field (out, "SYSLOG_IDENTIFIER", log_config.program ? log_config.program : "qlaunch");
  if (log_config.vm != NULL)
    add_field (out, "QLAUNCH_VM", log_config.vm);
  if (message != NULL && message->length < 0)
    *ret_device = ql_log_find_device (message->value);
  if (*ret_device != NULL)
    add_field (out, "QLAUNCH_DEVICE", *ret_device);
  return out;
}

static void
write_line (GLogLevelFlags level, const GLogField *fields, gsize n_fields)
{
  const GLogField *message = find_field (fields, n_fields, "MESSAGE");
  const char *warning = (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) ? "warning: " : "";

  if (message == NULL)
    return;
  if (log_config.status_line != NULL)
    fputs (CLEAR_LINE, stderr);
  if (message->length < 0)
    fprintf (stderr, "%s: %s%s\n", log_config.program, warning, (const char *) message->value);
  else
    fprintf (stderr, "%s: %s%.*s\n", log_config.program, warning, (int) message->length,
             (const char *) message->value);
  if (log_config.status_line != NULL)
    fputs (log_config.status_line, stderr);
  fflush (stderr);
}

void
ql_log_set_status_line (const char *text)
{
  fputs (CLEAR_LINE, stderr);
  g_free (log_config.status_line);
  log_config.status_line = g_strdup (text);
  if (text != NULL)
    fputs (text, stderr);
  fflush (stderr);
}

void
ql_log_print_line (const char *text)
{
  if (log_config.status_line != NULL)
    fputs (CLEAR_LINE, stderr);
  fprintf (stderr, "%s\n", text);
  if (log_config.status_line != NULL)
    fputs (log_config.status_line, stderr);
  fflush (stderr);
}

void
ql_log_set_quiet (gboolean quiet)
{
  log_config.quiet = quiet;
}

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if ((level & G_LOG_LEVEL_DEBUG) && !log_config.verbose)
    return G_LOG_WRITER_HANDLED;
  if ((level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)) && log_config.quiet && !log_config.journal)
    return G_LOG_WRITER_HANDLED;
  if (log_config.journal)
    {
      g_autofree char *device = NULL;
      g_autoptr(GArray) journal_fields = ql_log_journal_fields (fields, n_fields, &device);

      if (g_log_writer_journald (level, (const GLogField *) journal_fields->data, journal_fields->len, NULL) ==
          G_LOG_WRITER_HANDLED)
        return G_LOG_WRITER_HANDLED;
    }
  write_line (level, fields, n_fields);
  return G_LOG_WRITER_HANDLED;
}

void
ql_log_setup (const char *program, gboolean verbose)
{
  g_free (log_config.program);
  log_config.program = g_strdup (program);
  log_config.verbose = verbose;
  log_config.journal = g_log_writer_is_journald (fileno (stderr));
  g_log_set_writer_func (log_writer, NULL, NULL);
}

void
ql_log_set_vm (const char *vm_name)
{
  g_free (log_config.vm);
  log_config.vm = g_strdup (vm_name);
}
