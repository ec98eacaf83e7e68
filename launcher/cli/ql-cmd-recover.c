/* qlaunch recover: the host changes of a VM whose supervisor died, undone. */
#include "ql-commands.h"
#include "ql-error.h"
#include "ql-host-undo.h"
#include "ql-journal.h"
#include "ql-paths.h"
#include "ql-runtime.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define OLD_QEMU_WAIT_S 10

static void
print_line (const char *line)
{
  printf ("%s\n", line);
}

static gboolean
process_is_alive (pid_t pid)
{
  return kill (pid, 0) == 0 || errno == EPERM;
}

static gboolean
wait_for_exit (pid_t pid, guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;

  while (process_is_alive (pid) && g_get_monotonic_time () < deadline)
    g_usleep (50000);
  return !process_is_alive (pid);
}

/* The QEMU of the crashed run got SIGTERM from the kernel when its
 * supervisor died; the devices are only free once it is gone. */
static gboolean
wait_for_old_qemu (pid_t pid, GError **error)
{
  g_autofree char *cmdline_path = g_strdup_printf ("%s/%d/cmdline", ql_paths_procfs (), pid);
  g_autofree char *cmdline = NULL;

  if (pid <= 0 || !g_file_get_contents (cmdline_path, &cmdline, NULL, NULL) || strstr (cmdline, "qemu") == NULL)
    return TRUE;
  printf ("waiting for QEMU (pid %d) of the previous run to exit\n", pid);
  if (!wait_for_exit (pid, OLD_QEMU_WAIT_S))
    {
      printf ("QEMU (pid %d) is still there; sending SIGKILL\n", pid);
      kill (pid, SIGKILL);
      wait_for_exit (pid, OLD_QEMU_WAIT_S);
    }
  if (process_is_alive (pid))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_TIMEOUT, "QEMU (pid %d) of the previous run does not exit", pid);
      return FALSE;
    }
  return TRUE;
}

/* the lock keeps a live supervisor's journal out of reach */
static QlLock *
lock_dead_run (const char *name, const char *runtime_dir)
{
  g_autoptr(GError) error = NULL;
  QlLock *lock = ql_lock_acquire (runtime_dir, name, &error);

  if (lock == NULL && g_error_matches (error, QL_ERROR, QL_ERROR_BUSY))
    g_printerr ("qlaunch: VM '%s' is running; its supervisor gives the devices back when it ends "
                "(see 'qlaunch stop %s')\n", name, name);
  else if (lock == NULL)
    ql_cmd_print_error (error);
  return lock;
}

int
ql_cmd_recover (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlLock) lock = NULL;
  g_autoptr(QlJournal) journal = NULL;
  g_autofree char *runtime_dir = NULL;
  g_autofree char *state_dir = NULL;
  const char *name;

  g_option_context_set_summary (context,
                                "Undo the host changes of a VM whose supervisor died (kill -9, crash, power\n"
                                "loss of the session): devices go back to their host drivers.");
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1))
    return 1;
  name = argv[1];
  runtime_dir = ql_paths_runtime_dir (name);
  state_dir = ql_paths_state_dir (name);
  if (!ql_journal_exists (runtime_dir))
    {
      printf ("VM '%s' has no host changes to undo\n", name);
      return 0;
    }
  lock = lock_dead_run (name, runtime_dir);
  if (lock == NULL)
    return 1;
  journal = ql_journal_load (runtime_dir, state_dir, &error);
  if (journal == NULL || !wait_for_old_qemu ((pid_t) ql_journal_get_qemu_pid (journal), &error) ||
      !ql_host_undo (journal, ql_paths_sysfs (), /* start_failed= */ FALSE, print_line, &error))
    {
      ql_cmd_print_error (error);
      return 1;
    }
  ql_runtime_remove_run_files (runtime_dir);
  ql_runtime_keep_logs (runtime_dir, state_dir);
  g_clear_pointer (&lock, ql_lock_release);
  g_rmdir (runtime_dir);
  printf ("VM '%s': host restored\n", name);
  return 0;
}
