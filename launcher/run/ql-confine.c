#include "ql-confine.h"
#include "ql-confine-seccomp.h"
#include "ql-host-step.h"

#include <errno.h>
#include <sys/mount.h>

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

gboolean
ql_confine_supervisor (const char *name, pid_t qemu_pid, const GPtrArray *steps, GError **error)
{
  QlConfineSeccompOptions options = { .qemu_pid = qemu_pid, .run_modprobe = steps_reload_modules (steps) };

  if (g_strcmp0 (g_getenv ("QLAUNCH_CONFINE"), "off") == 0)
    {
      g_warning ("%s: QLAUNCH_CONFINE=off: the supervisor runs without its seccomp filter (for debugging only)", name);
      return TRUE;
    }
  if (!ql_confine_seccomp_install (&options, error))
    return FALSE;
  g_debug ("%s: supervisor confined: seccomp filter installed%s", name,
           options.run_modprobe ? " (modprobe allowed for [host] unload-modules)" : "");
  if (g_strcmp0 (g_getenv ("QLAUNCH_TEST_CONFINE_PROBE"), "1") == 0)
    attempt_forbidden_syscall (name);
  return TRUE;
}
