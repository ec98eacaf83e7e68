#include "ql-progress.h"
#include "ql-log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STAGE_PREFIX "STAGE\t"

struct _QlProgress {
  QlProgressMode mode;
  char *vm_name;
  char *current;          /* the stage under way, as shown */
  gint64 current_began;   /* monotonic, in this process */
  gboolean utf8;
};

QlProgressMode
ql_progress_mode_for_stderr (gboolean quiet)
{
  if (quiet)
    return QL_PROGRESS_QUIET;
  if (isatty (STDERR_FILENO) && g_strcmp0 (g_getenv ("TERM"), "dumb") != 0)
    return QL_PROGRESS_TERMINAL;
  return QL_PROGRESS_PLAIN;
}

QlProgress *
ql_progress_new (QlProgressMode mode, const char *vm_name)
{
  QlProgress *progress = g_new0 (QlProgress, 1);

  progress->mode = mode;
  progress->vm_name = g_strdup (vm_name);
  progress->utf8 = g_get_charset (NULL);
  return progress;
}

void
ql_progress_free (QlProgress *progress)
{
  if (progress == NULL)
    return;
  if (progress->current != NULL && progress->mode == QL_PROGRESS_TERMINAL)
    ql_log_set_status_line (NULL);
  g_free (progress->current);
  g_free (progress->vm_name);
  g_free (progress);
}

void
ql_progress_set_vm_name (QlProgress *progress, const char *vm_name)
{
  g_free (progress->vm_name);
  progress->vm_name = g_strdup (vm_name);
}

static char *
format_duration (gint64 usec)
{
  if (usec < 10000)
    return g_strdup_printf ("%.1f ms", usec / 1000.0);
  if (usec < 1000000)
    return g_strdup_printf ("%.0f ms", usec / 1000.0);
  return g_strdup_printf ("%.1f s", usec / 1e6);
}

static void
show_under_way (QlProgress *progress, const char *detail, gint64 elapsed_us)
{
  g_autofree char *line = NULL;
  g_autofree char *elapsed = elapsed_us >= G_USEC_PER_SEC ? format_duration (elapsed_us) : NULL;

  line = g_strdup_printf ("  %s %s%s%s%s%s%s", progress->utf8 ? "\u2026" : "...", progress->current,
                          detail || elapsed ? "  (" : "", detail ? detail : "", detail && elapsed ? ", " : "",
                          elapsed ? elapsed : "", detail || elapsed ? ")" : "");
  ql_log_set_status_line (line);
}

static void
show_done (QlProgress *progress, const char *stage, gint64 elapsed_us, gboolean ok)
{
  g_autofree char *duration = format_duration (elapsed_us);
  g_autofree char *line = NULL;

  if (progress->mode == QL_PROGRESS_PLAIN)
    {
      if (ok)
        g_message ("%s: %s (%s)", progress->vm_name, stage, duration);
      else
        g_message ("%s: %s failed after %s", progress->vm_name, stage, duration);
      return;
    }
  ql_log_set_status_line (NULL);
  line = g_strdup_printf ("  %s %-56s %10s", ok ? (progress->utf8 ? "\u2713" : "ok") : (progress->utf8 ? "\u2717" : "FAILED"),
                          stage, duration);
  ql_log_print_line (line);
}

void
ql_progress_show (QlStageEvent event, const char *stage, const char *detail, gint64 elapsed_us, gpointer data)
{
  QlProgress *progress = data;

  if (progress->mode == QL_PROGRESS_QUIET)
    return;
  switch (event)
    {
    case QL_STAGE_BEGIN:
      g_free (progress->current);
      progress->current = g_strdup (stage);
      progress->current_began = g_get_monotonic_time ();
      if (progress->mode == QL_PROGRESS_TERMINAL)
        show_under_way (progress, NULL, 0);
      break;
    case QL_STAGE_PROGRESS:
      if (progress->mode == QL_PROGRESS_TERMINAL && progress->current != NULL)
        show_under_way (progress, detail, elapsed_us);
      break;
    case QL_STAGE_END:
      g_clear_pointer (&progress->current, g_free);
      show_done (progress, stage, elapsed_us, TRUE);
      break;
    default:
      g_assert_not_reached ();
    }
}

void
ql_progress_failed (QlProgress *progress)
{
  g_autofree char *stage = NULL;

  if (progress == NULL || progress->current == NULL || progress->mode == QL_PROGRESS_QUIET)
    return;
  stage = g_steal_pointer (&progress->current);
  show_done (progress, stage, g_get_monotonic_time () - progress->current_began, FALSE);
}

static const char event_letters[] = { [QL_STAGE_BEGIN] = 'b', [QL_STAGE_PROGRESS] = 'p', [QL_STAGE_END] = 'e' };

void
ql_progress_send (QlStageEvent event, const char *stage, const char *detail, gint64 elapsed_us, gpointer data)
{
  int fd = GPOINTER_TO_INT (data);
  /* names and details come from ql_stages_*: printable, no tab, no newline */
  g_autofree char *line = g_strdup_printf (STAGE_PREFIX "%c\t%" G_GINT64_FORMAT "\t%s\t%s\n", event_letters[event],
                                           elapsed_us, stage, detail ? detail : "");

  if (write (fd, line, strlen (line)) < 0)
    g_debug ("the parent is gone: no one to show the stage to");
}

static gboolean
parse_event (const char *letter, QlStageEvent *ret)
{
  for (guint i = 0; i < G_N_ELEMENTS (event_letters); i++)
    if (letter[0] == event_letters[i] && letter[1] == '\0')
      {
        *ret = (QlStageEvent) i;
        return TRUE;
      }
  return FALSE;
}

gboolean
ql_progress_receive (QlProgress *progress, const char *line)
{
  g_auto(GStrv) fields = NULL;
  QlStageEvent event;
  guint64 elapsed_us;

  if (!g_str_has_prefix (line, STAGE_PREFIX))
    return FALSE;
  fields = g_strsplit (line + strlen (STAGE_PREFIX), "\t", -1);
  if (g_strv_length (fields) != 4 || !parse_event (fields[0], &event) ||
      !g_ascii_string_to_unsigned (fields[1], 10, 0, G_MAXINT64, &elapsed_us, NULL) || fields[2][0] == '\0' ||
      strlen (fields[2]) > QL_STAGE_NAME_MAX || strlen (fields[3]) > QL_STAGE_NAME_MAX)
    return FALSE;
  for (guint f = 2; f < 4; f++)
    for (const char *p = fields[f]; *p != '\0'; p++)
      if (g_ascii_iscntrl (*p))
        return FALSE;
  ql_progress_show (event, fields[2], fields[3][0] ? fields[3] : NULL, (gint64) elapsed_us, progress);
  return TRUE;
}
