/* qlaunch recover: the host changes of a VM whose supervisor died, undone. */
#include "ql-commands.h"
#include "ql-error.h"
#include "ql-host-undo.h"
#include "ql-journal.h"
#include "ql-paths.h"
#include "ql-process.h"
#include "ql-runtime.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define OLD_QEMU_WAIT_S 10

static void
print_line (const char *line, gpointer data)
{
  printf ("%s\n", line);
}

/* The QEMU of the dead run got SIGTERM from the kernel when its supervisor
 * died; the devices are only free once it is gone.  It is known by its PID
 * and start time, so a process that got the PID since is left alone. */
static gboolean
wait_for_old_qemu (const QlProcessId *qemu, GError **error)
{
  const char *procfs = ql_paths_procfs ();
  g_autoptr(GError) signal_error = NULL;

  if (qemu->pid == 0 || !ql_process_is_alive (procfs, qemu))
    return TRUE;
  printf ("waiting for QEMU (pid %" G_GINT64_FORMAT ") of the previous run to exit\n", qemu->pid);
  if (ql_process_wait_gone (procfs, qemu, OLD_QEMU_WAIT_S * 1000))
    return TRUE;
  printf ("QEMU (pid %" G_GINT64_FORMAT ") is still there; sending SIGKILL\n", qemu->pid);
  if (!ql_process_signal (procfs, qemu, SIGKILL, &signal_error) &&
      !g_error_matches (signal_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&signal_error));
      return FALSE;
    }
  if (!ql_process_wait_gone (procfs, qemu, OLD_QEMU_WAIT_S * 1000))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_TIMEOUT, "QEMU (pid %" G_GINT64_FORMAT ") of the previous run does not exit",
                   qemu->pid);
      return FALSE;
    }
  return TRUE;
}

/* A dead run without host changes still left its QEMU, state and logs. */
static gboolean
recover_without_journal (const char *name, const char *runtime_dir, GError **error)
{
  g_autoptr(QlRuntimeState) state = ql_runtime_state_read (runtime_dir, NULL);

  if (state != NULL && !wait_for_old_qemu (&state->qemu, error))
    return FALSE;
  printf ("VM '%s' has no host changes to undo\n", name);
  return TRUE;
}

static gboolean
recover_journal (const char *runtime_dir, const char *state_dir, GError **error)
{
  g_autoptr(QlJournal) journal = ql_journal_load (runtime_dir, state_dir, error);
  QlProcessId qemu;

  if (journal == NULL)
    return FALSE;
  qemu = ql_journal_get_qemu (journal);
  return wait_for_old_qemu (&qemu, error) &&
         ql_host_undo (journal, ql_paths_sysfs (), /* start_failed= */ FALSE, print_line, NULL, error);
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
  g_autofree char *runtime_dir = NULL;
  g_autofree char *state_dir = NULL;
  const char *name;

  g_option_context_set_summary (context,
                                "Undo the host changes of a VM whose supervisor died (kill -9, crash, power\n"
                                "loss of the session): devices go back to their host drivers.");
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1) || !ql_cmd_check_vm_name (argv[1]))
    return 1;
  name = argv[1];
  runtime_dir = ql_paths_runtime_dir (name);
  state_dir = ql_paths_state_dir (name);
  if (!g_file_test (runtime_dir, G_FILE_TEST_IS_DIR))
    {
      printf ("VM '%s' has no host changes to undo\n", name);
      return 0;
    }
  lock = lock_dead_run (name, runtime_dir);
  if (lock == NULL)
    return 1;
  if (ql_journal_exists (runtime_dir) ? !recover_journal (runtime_dir, state_dir, &error)
                                      : !recover_without_journal (name, runtime_dir, &error))
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
