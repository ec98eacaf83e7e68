#include "ql-host-undo.h"
#include "ql-error.h"
#include "ql-handover.h"
#include "ql-host-chown.h"
#include "ql-host-shm.h"
#include "ql-hugepages.h"
#include "ql-mdev.h"
#include "ql-net-host.h"
#include "ql-pci-power.h"
#include "ql-systemd-dbus.h"
#include "ql-value.h"
#include "ql-vfio.h"

#include <errno.h>
#include <glib/gstdio.h>

static gboolean
remove_file (const QlHostStep *step, char **ret_done, GError **error)
{
  if (g_unlink (step->path) != 0 && errno != ENOENT)
    return ql_error_set_errno (error, errno, "Cannot remove '%s'", step->path);
  *ret_done = g_strdup_printf ("%s removed", step->path);
  return TRUE;
}

static gboolean
shrink_hugepages (const QlHostStep *step, const char *sysfs, char **ret_done, GError **error)
{
  guint64 total;

  if (!ql_hugepages_shrink (sysfs, step->pool, step->added, step->before, &total, error))
    {
      g_prefix_error (error, "Cannot shrink the hugepage pool %s/%s back: ", sysfs, step->pool);
      return FALSE;
    }
  *ret_done = g_strdup_printf ("hugepage pool %s back to %" G_GUINT64_FORMAT " pages", step->pool, total);
  return TRUE;
}

/* power= applies once the device is where release= puts it; a device that
 * cannot be power-managed keeps its place, with a warning, not a failure. */
static char *
apply_power (const QlHostStep *step, const char *sysfs)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;

  if (step->power == QL_PCI_POWER_UNCHANGED)
    return g_strdup ("");
  if (!ql_pci_power_set_control (sysfs, step->device, ql_pci_power_names[step->power], &error))
    return g_strdup_printf ("; power/control not set: %s", error->message);
  status = ql_pci_power_runtime_status (sysfs, step->device);
  return g_strdup_printf ("; power/control=%s (runtime status: %s)", ql_pci_power_names[step->power],
                          status ? status : "unknown");
}

static gboolean
driver_present (const char *sysfs, const char *driver)
{
  g_autofree char *dir = g_build_filename (sysfs, "bus", "pci", "drivers", driver, NULL);
  return g_file_test (dir, G_FILE_TEST_IS_DIR);
}

/* [host] unload-modules: the driver's module is loaded again only after
 * this (the undo runs in reverse), and loading it binds the device. */
static gboolean
give_back_without_driver (const QlHostStep *step, const char *sysfs, char **ret_done, GError **error)
{
  g_autofree char *power = NULL;

  if (!ql_vfio_restore (sysfs, step->device, NULL, step->driver_override, FALSE, error))
    return FALSE;
  power = apply_power (step, sysfs);
  *ret_done = g_strdup_printf ("%s is off vfio-pci and left without a driver until its module is loaded (%s)%s",
                               step->device, step->driver, power);
  return TRUE;
}

/* Only a device that is on vfio-pci (or on no driver) is qlaunch's to give
 * back: one that something else moved since is left where it is. */
static gboolean
give_back_device (const QlHostStep *step, const char *sysfs, char **ret_done, GError **error)
{
  g_autofree char *current = ql_vfio_current_driver (sysfs, step->device);
  g_autofree char *power = NULL;

  if (current != NULL && g_strcmp0 (current, "vfio-pci") != 0 && g_strcmp0 (current, step->driver) != 0)
    {
      *ret_done = g_strdup_printf ("%s is on %s now, not on vfio-pci; left alone", step->device, current);
      return TRUE;
    }
  if (step->release == QL_PCI_RELEASE_VFIO && g_strcmp0 (current, "vfio-pci") == 0)
    {
      power = apply_power (step, sysfs);
      *ret_done = g_strdup_printf ("%s stays on vfio-pci (release=vfio; 'qlaunch unbind %s' gives it back)%s",
                                   step->device, step->device, power);
      return TRUE;
    }
  if (step->driver != NULL && !driver_present (sysfs, step->driver))
    return give_back_without_driver (step, sysfs, ret_done, error);
  if (!ql_vfio_restore (sysfs, step->device, step->driver, step->driver_override, FALSE, error))
    return FALSE;
  power = apply_power (step, sysfs);
  *ret_done = g_strdup_printf ("%s is back on %s%s", step->device, step->driver ? step->driver : "no driver", power);
  return TRUE;
}

/* The earlier AllowedCPUs=; "" (not set) is the empty mask: all CPUs. */
static gboolean
restore_unit_cpus (const QlHostStep *step, char **ret_done, GError **error)
{
  g_autoptr(GArray) cpus = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree char *message = NULL;

  if (step->cpus_before[0] != '\0' && !ql_value_parse_cpu_list (step->cpus_before, &cpus, &message))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "Cannot give %s its CPUs back: '%s': %s", step->unit,
                   step->cpus_before, message);
      return FALSE;
    }
  if (!ql_systemd_set_allowed_cpus (step->unit, cpus, error))
    {
      g_prefix_error (error, "Cannot give %s its CPUs back: ", step->unit);
      return FALSE;
    }
  *ret_done = g_strdup_printf ("%s may run on %s again", step->unit,
                               step->cpus_before[0] ? step->cpus_before : "all CPUs");
  return TRUE;
}

static gboolean
start_unit (const QlHostStep *step, char **ret_done, GError **error)
{
  if (!ql_systemd_start_unit (step->unit, QL_HANDOVER_UNIT_TIMEOUT_MS, error))
    {
      g_prefix_error (error, "Cannot start %s again: ", step->unit);
      return FALSE;
    }
  *ret_done = g_strdup_printf ("%s started again", step->unit);
  return TRUE;
}

static gboolean
reload_module (const QlHostStep *step, const char *sysfs, char **ret_done, GError **error)
{
  if (ql_handover_module_state (sysfs, step->name) != QL_HOST_MODULE_NOT_LOADED)
    {
      *ret_done = g_strdup_printf ("module %s is loaded", step->name);
      return TRUE;
    }
  if (!ql_handover_module_load (step->name, QL_HANDOVER_MODULE_TIMEOUT_MS, error))
    return FALSE;
  *ret_done = g_strdup_printf ("module %s loaded again", step->name);
  return TRUE;
}

static gboolean
undo_handover (const QlHostStep *step, const char *sysfs, char **ret_done, GError **error)
{
  switch (step->kind)
    {
    case QL_HOST_STEP_UNIT_STOP:
      return start_unit (step, ret_done, error);
    case QL_HOST_STEP_VTCONSOLE_UNBIND:
      if (!ql_handover_vtconsole_bind (sysfs, step->name, TRUE, error))
        return FALSE;
      *ret_done = g_strdup_printf ("%s is bound to the framebuffer console again", step->name);
      return TRUE;
    case QL_HOST_STEP_FRAMEBUFFER_UNBIND:
      if (!ql_handover_framebuffer_bind (sysfs, step->driver, step->name, TRUE, error))
        return FALSE;
      *ret_done = g_strdup_printf ("%s is bound to %s again", step->name, step->driver);
      return TRUE;
    case QL_HOST_STEP_MODULE_UNLOAD:
      return reload_module (step, sysfs, ret_done, error);
    default:
      g_assert_not_reached ();
    }
}

static gboolean
undo_step (const QlHostStep *step, const char *sysfs, gboolean start_failed, char **ret_done, GError **error)
{
  switch (step->kind)
    {
    case QL_HOST_STEP_SSDT:
      return remove_file (step, ret_done, error);
    case QL_HOST_STEP_NVRAM:
      if (start_failed)
        return remove_file (step, ret_done, error);
      *ret_done = g_strdup_printf ("%s kept: it holds the VM's UEFI settings", step->path);
      return TRUE;
    case QL_HOST_STEP_HUGEPAGES:
      return shrink_hugepages (step, sysfs, ret_done, error);
    case QL_HOST_STEP_VFIO_BIND:
      return give_back_device (step, sysfs, ret_done, error);
    case QL_HOST_STEP_BRIDGE:
      return ql_net_host_remove_bridge (step->name, ret_done, error);
    case QL_HOST_STEP_TAP:
      return ql_net_host_remove_tap (step->name, ret_done, error);
    case QL_HOST_STEP_CPU_ISOLATE:
      return restore_unit_cpus (step, ret_done, error);
    case QL_HOST_STEP_UNIT_STOP:
    case QL_HOST_STEP_VTCONSOLE_UNBIND:
    case QL_HOST_STEP_FRAMEBUFFER_UNBIND:
    case QL_HOST_STEP_MODULE_UNLOAD:
      return undo_handover (step, sysfs, ret_done, error);
    case QL_HOST_STEP_CHOWN:
      return ql_host_chown_undo (step, ret_done, error);
    case QL_HOST_STEP_SHM_FILE:
      return ql_host_shm_undo (step, ret_done, error);
    case QL_HOST_STEP_MDEV_CREATE:
      return ql_mdev_remove (sysfs, step->parent, step->name, step->uuid, ret_done, error);
    case QL_HOST_STEP_MAX:
    default:
      g_assert_not_reached ();
    }
}

gboolean
ql_host_undo (QlJournal *journal, const char *sysfs, gboolean start_failed,
              void (*log) (const char *line, gpointer data), gpointer data, GError **error)
{
  const GPtrArray *steps = ql_journal_steps (journal);
  g_autofree gboolean *keep = g_new0 (gboolean, steps->len + 1);
  g_autoptr(GString) failures = g_string_new (NULL);
  g_autoptr(GError) save_error = NULL;

  for (guint i = steps->len; i-- > 0;)
    {
      g_autoptr(GError) step_error = NULL;
      g_autofree char *done = NULL;

      if (undo_step (steps->pdata[i], sysfs, start_failed, &done, &step_error))
        {
          if (log != NULL)
            log (done, data);
          continue;
        }
      g_string_append_printf (failures, "\n%s", step_error->message);
      keep[i] = TRUE;
    }
  if (!ql_journal_retain (journal, keep, &save_error))
    g_string_append_printf (failures, "\n%s", save_error->message);
  if (failures->len > 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Could not undo every host change (kept in '%s'):%s",
                   ql_journal_path (journal), failures->str);
      return FALSE;
    }
  return TRUE;
}
