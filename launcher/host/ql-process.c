#include "ql-process.h"
#include "ql-error.h"

#include <errno.h>
#include <gio/gio.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define STARTTIME_FIELD 22

gboolean
ql_process_pid_valid (gint64 pid)
{
  return pid > 1 && pid <= QL_PROCESS_PID_MAX;
}

/* Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces
 * and parentheses, so fields are counted from the last ')'. */
static gboolean
parse_start_time (const char *stat, guint64 *ret)
{
  const char *p = strrchr (stat, ')');
  g_auto(GStrv) fields = NULL;

  if (p == NULL || p[1] != ' ')
    return FALSE;
  fields = g_strsplit (p + 2, " ", STARTTIME_FIELD);
  if (g_strv_length (fields) < STARTTIME_FIELD - 2)
    return FALSE;
  return g_ascii_string_to_unsigned (fields[STARTTIME_FIELD - 3], 10, 0, G_MAXUINT64, ret, NULL);
}

gboolean
ql_process_start_time (const char *procfs, gint64 pid, guint64 *ret_start_time, GError **error)
{
  g_autofree char *path = g_strdup_printf ("%s/%" G_GINT64_FORMAT "/stat", procfs, pid);
  g_autofree char *stat = NULL;

  if (!ql_process_pid_valid (pid))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%" G_GINT64_FORMAT " is not a process id", pid);
      return FALSE;
    }
  if (!g_file_get_contents (path, &stat, NULL, NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "process %" G_GINT64_FORMAT " is gone", pid);
      return FALSE;
    }
  if (!parse_start_time (stat, ret_start_time))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot read the start time of process %" G_GINT64_FORMAT,
                   pid);
      return FALSE;
    }
  return TRUE;
}

QlProcessId
ql_process_self (const char *procfs)
{
  QlProcessId id = { getpid (), 0, QL_PROCESS_QLAUNCH };

  ql_process_start_time (procfs, id.pid, &id.start_time, NULL);
  return id;
}

/* /proc/PID/exe without the " (deleted)" of a binary replaced since */
static char *
read_exe (const char *procfs, gint64 pid)
{
  g_autofree char *path = g_strdup_printf ("%s/%" G_GINT64_FORMAT "/exe", procfs, pid);
  char *exe = g_file_read_link (path, NULL);

  if (exe != NULL && g_str_has_suffix (exe, " (deleted)"))
    exe[strlen (exe) - strlen (" (deleted)")] = '\0';
  return exe;
}

static char *qlaunch_binary;

void
ql_process_set_qlaunch_binary (const char *path)
{
  g_free (qlaunch_binary);
  qlaunch_binary = g_strdup (path);
}

static gboolean
runs_expected_binary (const char *procfs, const QlProcessId *id)
{
  g_autofree char *exe = NULL, *self = NULL, *name = NULL;

  if (id->kind == QL_PROCESS_ANY)
    return TRUE;
  exe = read_exe (procfs, id->pid);
  if (exe == NULL)
    return FALSE;
  if (id->kind == QL_PROCESS_QEMU)
    {
      name = g_path_get_basename (exe);
      return g_str_has_prefix (name, "qemu");   /* qemu-system-x86_64, qemu-kvm */
    }
  self = qlaunch_binary != NULL ? g_strdup (qlaunch_binary) : read_exe (procfs, getpid ());
  return self != NULL && strcmp (exe, self) == 0;
}

gboolean
ql_process_is_alive (const char *procfs, const QlProcessId *id)
{
  guint64 start_time;

  return ql_process_start_time (procfs, id->pid, &start_time, NULL) && start_time == id->start_time &&
         runs_expected_binary (procfs, id);
}

static int
pidfd_open_pid (gint64 pid)
{
  return (int) syscall (SYS_pidfd_open, (pid_t) pid, 0);
}

static void
close_fd (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}
#define autofd __attribute__ ((cleanup (close_fd)))

gboolean
ql_process_signal (const char *procfs, const QlProcessId *id, int sig, GError **error)
{
  autofd int pidfd = -1;

  if (!ql_process_pid_valid (id->pid))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%" G_GINT64_FORMAT " is not a process id", id->pid);
      return FALSE;
    }
  /* the pidfd holds on to the process: checked through it, the PID cannot
   * be reused between the check and the signal */
  pidfd = pidfd_open_pid (id->pid);
  if (pidfd < 0 && errno == ESRCH)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "process %" G_GINT64_FORMAT " is gone", id->pid);
      return FALSE;
    }
  if (pidfd < 0)
    return ql_error_set_errno (error, errno, "pidfd_open %" G_GINT64_FORMAT, id->pid);
  if (!ql_process_is_alive (procfs, id))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "process %" G_GINT64_FORMAT " is gone (the PID belongs to another process now)", id->pid);
      return FALSE;
    }
  if (syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0) != 0)
    {
      if (errno == ESRCH)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "process %" G_GINT64_FORMAT " is gone", id->pid);
          return FALSE;
        }
      return ql_error_set_errno (error, errno, "Cannot signal process %" G_GINT64_FORMAT, id->pid);
    }
  return TRUE;
}

gboolean
ql_process_wait_gone (const char *procfs, const QlProcessId *id, guint timeout_ms)
{
  autofd int pidfd = pidfd_open_pid (id->pid);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  if (pidfd < 0 || !ql_process_is_alive (procfs, id))
    return !ql_process_is_alive (procfs, id);
  /* a pidfd polls readable when its process exits */
  while (g_get_monotonic_time () < deadline)
    {
      struct pollfd p = { pidfd, POLLIN, 0 };
      int left_ms = (int) MAX (1, (deadline - g_get_monotonic_time ()) / 1000);

      if (poll (&p, 1, left_ms) > 0)
        return TRUE;
    }
  return !ql_process_is_alive (procfs, id);
}

static guint64
status_kib (const char *status, const char *field)
{
  const char *line = strstr (status, field);
  guint64 kib;

  if (line == NULL || (line != status && line[-1] != '\n'))
    return 0;
  kib = g_ascii_strtoull (line + strlen (field), NULL, 10);
  return kib <= G_MAXUINT64 / 1024 ? kib : 0;
}

guint64
ql_process_memory_bytes (const char *procfs, gint64 pid)
{
  g_autofree char *path = g_strdup_printf ("%s/%" G_GINT64_FORMAT "/status", procfs, pid);
  g_autofree char *status = NULL;

  if (!ql_process_pid_valid (pid) || !g_file_get_contents (path, &status, NULL, NULL))
    return 0;
  return (status_kib (status, "VmRSS:") + status_kib (status, "HugetlbPages:")) * 1024;
}
