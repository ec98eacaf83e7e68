#include "ql-confine.h"
#include "ql-confine-caps.h"
#include "ql-confine-seccomp.h"
#include "ql-host-step.h"
#include "ql-paths.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* umount2 of a path that does not exist: harmless if it ran, and a call
 * the filter refuses (mount and unmount are an escape's first tools). */
static void
attempt_forbidden_syscall (const char *name)
{
  g_message ("%s: QLAUNCH_TEST_CONFINE_PROBE: trying umount2, which the filter forbids", name);
  if (umount2 ("/nonexistent/qlaunch-confine-probe", 0) != 0)
    g_warning ("%s: umount2 was not refused by the filter but failed on its own: %s", name, g_strerror (errno));
}

static gboolean
steps_reload_modules (const GPtrArray *steps)
{
  for (guint i = 0; i < steps->len; i++)
    if (((const QlHostStep *) steps->pdata[i])->kind == QL_HOST_STEP_MODULE_UNLOAD)
      return TRUE;
  return FALSE;
}

static gboolean
runs_as_other_user (pid_t pid)
{
  g_autofree char *dir = g_strdup_printf ("%s/%d", ql_paths_procfs (), (int) pid);
  struct stat st;

  return stat (dir, &st) == 0 && st.st_uid != geteuid ();
}

/* Capabilities first (capset is not on the filter's list), the filter last.
 *
 * FIXME: capabilities are per thread, and GLib's "gmain" worker keeps the
 * set it had.  It runs with every signal blocked, so no broadcast reaches
 * it; the seccomp filter does cover it (TSYNC).  The supervisor no longer
 * needs it (signals come through an eventfd, QEMU's end through a pidfd,
 * both in the main loop), but GTask's class initialisation starts it, and
 * every GIO async call makes a GTask. */
gboolean
ql_confine_supervisor (const char *name, pid_t qemu_pid, const GPtrArray *steps, GError **error)
{
  QlConfineSeccompOptions options = { .qemu_pid = qemu_pid, .run_modprobe = steps_reload_modules (steps) };
  g_autoptr(GArray) keep = NULL;
  g_autofree char *caps = NULL;

  if (g_strcmp0 (g_getenv ("QLAUNCH_CONFINE"), "off") == 0)
    {
      g_warning ("%s: QLAUNCH_CONFINE=off: the supervisor keeps its capabilities and runs without its seccomp "
                 "filter (for debugging only)", name);
      return TRUE;
    }
  keep = ql_confine_caps_for_run (steps, runs_as_other_user (qemu_pid));
  caps = ql_confine_caps_describe (keep);
  if (!ql_confine_caps_drop (keep, error) || !ql_confine_seccomp_install (&options, error))
    return FALSE;
  g_debug ("%s: supervisor confined: seccomp filter installed%s; capabilities kept: %s", name,
           options.run_modprobe ? " (modprobe allowed for [host] unload-modules)" : "",
           geteuid () == 0 ? caps : "none (not root)");
  if (g_strcmp0 (g_getenv ("QLAUNCH_TEST_CONFINE_PROBE"), "1") == 0)
    attempt_forbidden_syscall (name);
  return TRUE;
}
