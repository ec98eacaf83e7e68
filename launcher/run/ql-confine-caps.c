#include "ql-confine-caps.h"
#include "ql-error.h"
#include "ql-host-step.h"

#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>

/* What undoing one step needs beyond uid 0.  Everything else teardown does
 * is done as root's uid alone, on files root owns: the sysfs attributes it
 * writes (driver_override, bind, unbind, nr_hugepages, power/control,
 * vtconsole bind, an mdev's remove) are root's, mode 0200 or 0644, and their kernel handlers
 * check no capability; the runtime and state files are root's; systemd
 * grants StartUnit and SetUnitProperties to a caller of uid 0 over the bus
 * (sd_bus_query_sender_privilege: the bus gives it no capabilities to check,
 * so it compares uids).  So no CAP_DAC_OVERRIDE or CAP_SYS_ADMIN; CAP_CHOWN only to
 * take back what [vm] run-as handed to QEMU's user. */
static void
add_step_caps (const QlHostStep *step, GArray *keep)
{
  int cap = -1;

  switch (step->kind)
    {
    case QL_HOST_STEP_TAP:
    case QL_HOST_STEP_BRIDGE:
      cap = CAP_NET_ADMIN;     /* RTM_DELLINK of the tap or the bridge */
      break;
    case QL_HOST_STEP_MODULE_UNLOAD:
      cap = CAP_SYS_MODULE;    /* modprobe loads the module again; it inherits the set */
      break;
    case QL_HOST_STEP_CHOWN:
      /* the owner back to root, and the mode of a file QEMU's user owns now */
      g_array_append_val (keep, (int) { CAP_FOWNER });
      cap = CAP_CHOWN;
      break;
    case QL_HOST_STEP_SSDT:
    case QL_HOST_STEP_NVRAM:
    case QL_HOST_STEP_HUGEPAGES:
    case QL_HOST_STEP_VFIO_BIND:
    case QL_HOST_STEP_CPU_ISOLATE:
    case QL_HOST_STEP_UNIT_STOP:
    case QL_HOST_STEP_VTCONSOLE_UNBIND:
    case QL_HOST_STEP_FRAMEBUFFER_UNBIND:
    case QL_HOST_STEP_MDEV_CREATE:
      break;
    case QL_HOST_STEP_MAX:
    default:
      /* a step this table does not know undoes without extra power: its undo
       * fails with EPERM, kept in the journal, rather than widen the set */
      break;
    }
  if (cap >= 0)
    g_array_append_val (keep, cap);
}

static gint
compare_ints (gconstpointer a, gconstpointer b)
{
  return *(const int *) a - *(const int *) b;
}

GArray *
ql_confine_caps_for_run (const GPtrArray *steps, gboolean qemu_other_user)
{
  g_autoptr(GArray) all = g_array_new (FALSE, FALSE, sizeof (int));
  GArray *keep = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; i < steps->len; i++)
    add_step_caps (steps->pdata[i], all);
  /* the stop ladder's SIGTERM and SIGKILL to a QEMU of another uid */
  if (qemu_other_user)
    {
      int cap = CAP_KILL;
      g_array_append_val (all, cap);
    }
#ifdef QL_SANITIZER_BUILD
  /* LeakSanitizer's tracer, a clone of this thread, attaches to every thread
   * at exit; "gmain" kept its capabilities, and ptrace of a task with more
   * needs CAP_SYS_PTRACE (the filter refuses ptrace in a release build) */
  {
    int cap = CAP_SYS_PTRACE;
    g_array_append_val (all, cap);
  }
#endif
  g_array_sort (all, compare_ints);
  for (guint i = 0; i < all->len; i++)
    if (keep->len == 0 || g_array_index (keep, int, keep->len - 1) != g_array_index (all, int, i))
      g_array_append_val (keep, g_array_index (all, int, i));
  return keep;
}

char *
ql_confine_caps_describe (const GArray *keep)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < keep->len; i++)
    {
      const char *name = capng_capability_to_name (g_array_index (keep, int, i));
      g_autofree char *lower = g_ascii_strdown (name ? name : "?", -1);

      g_string_append_printf (text, "%scap_%s", i ? "," : "", lower);
    }
  return text->len ? g_string_free (g_steal_pointer (&text), FALSE) : g_strdup ("none");
}

gboolean
ql_confine_caps_drop (const GArray *keep, GError **error)
{
  capng_select_t select = CAPNG_SELECT_CAPS;
  int r;

  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return ql_error_set_errno (error, errno, "Cannot set no_new_privs");
  capng_get_caps_process ();
  if (capng_have_capabilities (CAPNG_SELECT_CAPS) == CAPNG_NONE)
    return TRUE;
  /* the bounding set needs CAP_SETPCAP to shrink; the ambient set, 0.8's libcap-ng */
  if (capng_have_capability (CAPNG_EFFECTIVE, CAP_SETPCAP))
    select = CAPNG_SELECT_ALL;
  capng_clear (CAPNG_SELECT_ALL);
  for (guint i = 0; i < keep->len; i++)
    if (capng_update (CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
                      g_array_index (keep, int, i)) != 0)
      {
        g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot keep capability %d", g_array_index (keep, int, i));
        return FALSE;
      }
  r = capng_apply (select);
  if (r != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot drop the supervisor's capabilities (libcap-ng error %d)", r);
      return FALSE;
    }
  return TRUE;
}
