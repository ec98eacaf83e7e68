#include "ql-commands.h"
#include "ql-error.h"
#include "ql-paths.h"
#include "ql-process.h"
#include "ql-runtime.h"
#include "ql-supervisor.h"
#include "ql-runtime-files.h"
#include "ql-json.h"

#include <errno.h>
#include <signal.h>
#include <sys/types.h>

/* Beyond the power-button wait, the ladder needs at most quit + SIGTERM grace. */
#define LADDER_TAIL_S 15

/* The supervisor runs the ladder; the request says how, a signal says when. */
gboolean
ql_cmd_request_stop (const char *name, const QlRuntimeState *state, gboolean force, guint timeout_s,
                     GError **error)
{
  g_autofree char *runtime_dir = ql_paths_runtime_dir (name);

  if (!ql_supervisor_request_stop (runtime_dir, force, timeout_s ? timeout_s : (guint) state->stop_timeout_s, error))
    return FALSE;
  if (!ql_process_signal (ql_paths_procfs (), &state->supervisor, SIGTERM, error))
    {
      g_prefix_error (error, "cannot signal the supervisor of '%s' (pid %" G_GINT64_FORMAT "): ", name,
                      state->supervisor.pid);
      return FALSE;
    }
  return TRUE;
}

static int
stop_vm (const char *name, gboolean force, guint timeout_s)
{
  g_autofree char *runtime_dir = ql_paths_runtime_dir (name);
  g_autofree char *state_dir = ql_paths_state_dir (name);
  g_autoptr(QlRuntimeState) state = NULL;
  g_autoptr(JsonObject) last_exit = NULL;
  g_autoptr(GError) error = NULL;
  guint wait_s;

  if (!ql_lock_is_held (runtime_dir))
    {
      g_print ("VM '%s' is not running\n", name);
      return 0;
    }
  state = ql_runtime_state_read (runtime_dir, &error);
  if (state == NULL)
    {
      g_printerr ("qlaunch: VM '%s': %s\n", name, error->message);
      return 1;
    }

  if (!ql_cmd_request_stop (name, state, force, timeout_s, &error))
    {
      ql_cmd_print_error (error);
      return 1;
    }

  wait_s = (force ? 0 : (timeout_s ? timeout_s : (guint) state->stop_timeout_s)) + LADDER_TAIL_S;
  /* the supervisor is gone once the host is given back: wait on it, not on a timer */
  if (!ql_process_wait_gone (ql_paths_procfs (), &state->supervisor, wait_s * 1000))
    {
      g_printerr ("qlaunch: VM '%s' did not stop within %u s; its supervisor (pid %" G_GINT64_FORMAT
                  ") may be stuck\n", name, wait_s, state->supervisor.pid);
      return 1;
    }

  last_exit = ql_runtime_last_exit_read (state_dir);
  g_print ("VM '%s' stopped: %s\n", name,
           last_exit ? json_object_get_string_member_with_default (last_exit, "message", "") : "done");
  return 0;
}

int
ql_cmd_stop (int argc, char **argv)
{
  int timeout = 0;
  const GOptionEntry entries[] = {
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout,
      "Seconds to wait for the guest to power off before forcing (default: the profile's [shutdown] timeout)", "S" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME");

  g_option_context_set_summary (context,
                                "Stop a VM: press the ACPI power button (again, powerdown-retries times),\n"
                                "wait for the guest to power off, then QMP quit, SIGTERM, SIGKILL.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1) || !ql_cmd_check_vm_name (argv[1]))
    return 1;
  if (timeout < 0 || timeout > 3600)
    {
      g_printerr ("%s: --timeout expects 0..3600 seconds, not %d\n", argv[0], timeout);
      return 1;
    }
  return stop_vm (argv[1], FALSE, timeout);
}

int
ql_cmd_kill (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME");

  g_option_context_set_summary (context, "Stop a VM at once: QMP quit, then SIGTERM, then SIGKILL.");
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1) || !ql_cmd_check_vm_name (argv[1]))
    return 1;
  return stop_vm (argv[1], TRUE, 0);
}
