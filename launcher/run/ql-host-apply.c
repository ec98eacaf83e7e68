#include "ql-host-apply.h"
#include "ql-error.h"
#include "ql-handover.h"
#include "ql-host-chown.h"
#include "ql-host-shm.h"
#include "ql-host-state.h"
#include "ql-hugepages.h"
#include "ql-mdev.h"
#include "ql-net-host.h"
#include "ql-paths.h"
#include "ql-ssdt.h"
#include "ql-systemd-dbus.h"
#include "ql-value.h"
#include "ql-vfio.h"

#include <string.h>
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

QlHostPlan *
ql_host_plan_for_machine (const QlMachine *m, GError **error)
{
  g_autoptr(QlHostState) state = ql_host_state_read (m, ql_paths_sysfs (), ql_paths_procfs (), ql_paths_devfs (),
                                                     error);

  return state != NULL ? ql_host_plan_build (m, state, error) : NULL;
}

static gboolean
write_ssdt (const QlMachine *m, const QlHostStep *step, GError **error)
{
  g_autoptr(GBytes) table = ql_ssdt_for_machine (m);
  gsize size = 0;
  const char *data = table != NULL ? g_bytes_get_data (table, &size) : NULL;

  if (!g_file_set_contents_full (step->path, data ? data : "", size, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    {
      g_prefix_error (error, "Cannot write the generated SSDT: ");
      return FALSE;
    }
  return TRUE;
}

/* A copy of the template, whole or not at all. */
static gboolean
copy_nvram (const QlHostStep *step, GError **error)
{
  g_autoptr(GFile) template = g_file_new_for_path (step->source);
  g_autofree char *tmp_path = g_strconcat (step->path, ".tmp", NULL);
  g_autoptr(GFile) tmp = g_file_new_for_path (tmp_path);

  if (!g_file_copy (template, tmp, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error))
    {
      g_prefix_error (error, "Cannot copy UEFI varstore '%s' to '%s': ", step->source, step->path);
      g_unlink (tmp_path);
      return FALSE;
    }
  if (chmod (tmp_path, 0600) != 0 || rename (tmp_path, step->path) != 0)
    {
      ql_error_set_errno (error, errno, "Cannot create '%s'", step->path);
      g_unlink (tmp_path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
grow_hugepages (const char *vm, const QlHostStep *step, GError **error)
{
  if (!ql_hugepages_grow (ql_paths_sysfs (), ql_paths_procfs (), step->pool, step->added, step->before, error))
    {
      g_prefix_error (error, "%s: ", step->label);
      return FALSE;
    }
  g_message ("%s: hugepage pool grown by %" G_GUINT64_FORMAT " pages to %" G_GUINT64_FORMAT
             "; it shrinks back when the VM ends", vm, step->added, step->before + step->added);
  return TRUE;
}

typedef struct {
  gboolean vfio_loaded;
  gboolean recheck_holders;  /* the vfio plan let holders be, expecting [host] handover to end them */
} ApplyState;

static gboolean
check_still_held (const QlHostStep *step, GError **error)
{
  g_autofree char *who = NULL;

  if (!ql_host_device_holders (step->device, ql_paths_sysfs (), ql_paths_procfs (), ql_paths_devfs (), &who, error))
    return FALSE;
  if (who == NULL)
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST,
               "%s: %s (%s) is still in use on the host by %s after the [host] handover steps; the start stops "
               "and everything is put back. Fix: stop what uses it (add its unit to [host] release-units, or its "
               "driver's users to unload-modules) and try again", step->label, step->device,
               step->driver ? step->driver : "no driver", who);
  return FALSE;
}

static gboolean
bind_vfio (const QlHostStep *step, ApplyState *state, GError **error)
{
  if (state->recheck_holders && !check_still_held (step, error))
    return FALSE;
  if (!state->vfio_loaded && !ql_vfio_ensure_driver (ql_paths_sysfs (), error))
    return FALSE;
  state->vfio_loaded = TRUE;
  g_message ("%s: %s -> vfio-pci (%s)", step->device, step->driver ? step->driver : "no driver", step->label);
  return ql_vfio_bind (ql_paths_sysfs (), ql_paths_devfs (), step->device, step->iommu_group, error);
}

static gboolean
isolate_unit (const char *vm, const QlHostStep *step, GError **error)
{
  g_autoptr(GArray) cpus = NULL;
  g_autofree char *message = NULL;

  if (!ql_value_parse_cpu_list (step->cpus, &cpus, &message))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "[cpu] isolate: '%s': %s", step->cpus, message);
      return FALSE;
    }
  if (!ql_systemd_set_allowed_cpus (step->unit, cpus, error))
    {
      g_prefix_error (error, "[cpu] isolate: ");
      return FALSE;
    }
  g_message ("%s: %s may run on CPUs %s while the VM runs (vCPUs on %s)", vm, step->unit, step->cpus, step->vcpus);
  return TRUE;
}

static gboolean
stop_unit (const char *vm, const QlHostStep *step, GError **error)
{
  if (!ql_systemd_stop_unit (step->unit, QL_HANDOVER_UNIT_TIMEOUT_MS, error))
    {
      g_prefix_error (error, "[host] release-units: ");
      return FALSE;
    }
  g_message ("%s: %s stopped; it starts again when the VM ends", vm, step->unit);
  return TRUE;
}

static gboolean
apply_handover (const char *vm, const QlHostStep *step, GError **error)
{
  const char *sysfs = ql_paths_sysfs ();
  gboolean ok;

  switch (step->kind)
    {
    case QL_HOST_STEP_UNIT_STOP:
      return stop_unit (vm, step, error);
    case QL_HOST_STEP_VTCONSOLE_UNBIND:
      ok = ql_handover_vtconsole_bind (sysfs, step->name, FALSE, error);
      break;
    case QL_HOST_STEP_FRAMEBUFFER_UNBIND:
      ok = ql_handover_framebuffer_bind (sysfs, step->driver, step->name, FALSE, error);
      break;
    case QL_HOST_STEP_MODULE_UNLOAD:
      ok = ql_handover_module_unload (sysfs, step->name, QL_HANDOVER_MODULE_TIMEOUT_MS, error);
      break;
    default:
      g_assert_not_reached ();
    }
  if (!ok)
    g_prefix_error (error, "%s: ", step->label);
  else
    g_message ("%s: %s: %s %s", vm, step->label, step->kind == QL_HOST_STEP_MODULE_UNLOAD ? "unloaded" : "unbound",
               step->name);
  return ok;
}

static gboolean
create_mdev (const char *vm, const QlHostStep *step, GError **error)
{
  if (!ql_mdev_create (ql_paths_sysfs (), step->parent, step->name, step->uuid, error))
    {
      g_prefix_error (error, "%s: ", step->label);
      return FALSE;
    }
  g_message ("%s: mdev %s of %s created on %s (%s); removed when the VM ends", vm, step->uuid, step->name,
             step->parent, step->label);
  return TRUE;
}

/* [vm] run-as: an mdev's VFIO group exists only once the mdev does, so its
 * node is handed to QEMU's user here, right after the creation, as a chown
 * step of its own: read, journaled, then changed (undone before the mdev
 * is removed, the undo running in reverse). */
static gboolean
give_mdev_group (const QlHostPlan *plan, const QlHostStep *mdev, QlJournal *journal, GError **error)
{
  g_autoptr(QlHostStep) step = NULL;
  g_autofree char *name = NULL;
  int group;

  if (plan->run_as == NULL || plan->run_as->uid == 0)
    return TRUE;
  group = ql_mdev_iommu_group (ql_paths_sysfs (), mdev->uuid, error);
  if (group < 0)
    return FALSE;
  name = g_strdup_printf ("%d", group);
  step = ql_host_step_new (QL_HOST_STEP_CHOWN, mdev->label);
  step->path = g_build_filename (ql_paths_devfs (), "vfio", name, NULL);
  step->run_uid = plan->run_as->uid;
  return ql_host_chown_read (step, error) && ql_journal_record (journal, step, error) &&
         ql_host_chown_apply (step, error);
}

static const QlMachineTap *
machine_tap (const QlMachine *m, const char *ifname)
{
  for (guint i = 0; i < m->taps->len; i++)
    if (g_strcmp0 (g_array_index (m->taps, QlMachineTap, i).net->ifname, ifname) == 0)
      return &g_array_index (m->taps, QlMachineTap, i);
  return NULL;
}

static gboolean
apply_step (const QlMachine *m, const QlHostStep *step, ApplyState *state, GArray *passed_fds, GError **error)
{
  const char *vm = m->profile->vm.name;

  switch (step->kind)
    {
    case QL_HOST_STEP_SSDT:
      return write_ssdt (m, step, error);
    case QL_HOST_STEP_NVRAM:
      return copy_nvram (step, error);
    case QL_HOST_STEP_HUGEPAGES:
      return grow_hugepages (vm, step, error);
    case QL_HOST_STEP_VFIO_BIND:
      return bind_vfio (step, state, error);
    case QL_HOST_STEP_BRIDGE:
      return ql_net_host_create_bridge (step->name, error);
    case QL_HOST_STEP_TAP:
      return ql_net_host_open_tap (vm, machine_tap (m, step->name), TRUE, passed_fds, error);
    case QL_HOST_STEP_CPU_ISOLATE:
      return isolate_unit (vm, step, error);
    case QL_HOST_STEP_UNIT_STOP:
    case QL_HOST_STEP_VTCONSOLE_UNBIND:
    case QL_HOST_STEP_FRAMEBUFFER_UNBIND:
    case QL_HOST_STEP_MODULE_UNLOAD:
      return apply_handover (vm, step, error);
    case QL_HOST_STEP_CHOWN:
      return ql_host_chown_apply (step, error);
    case QL_HOST_STEP_SHM_FILE:
      return ql_host_shm_apply (step, error);
    case QL_HOST_STEP_MDEV_CREATE:
      return create_mdev (vm, step, error);
    case QL_HOST_STEP_MAX:
    default:
      g_assert_not_reached ();
    }
}

/* Taps the plan did not create are persistent ones made for the user. */
static gboolean
open_persistent_taps (const QlHostPlan *plan, const QlMachine *m, GArray *passed_fds, GError **error)
{
  for (guint i = 0; i < m->taps->len; i++)
    {
      const QlMachineTap *tap = &g_array_index (m->taps, QlMachineTap, i);

      if (ql_host_plan_find_tap (plan, tap->net->ifname) == NULL &&
          !ql_net_host_open_tap (m->profile->vm.name, tap, FALSE, passed_fds, error))
        return FALSE;
    }
  return TRUE;
}

/* The step as a stage: what plan says of it before the first "  (" */
static void
begin_step_stage (QlStages *stages, const QlHostStep *step)
{
  g_autofree char *text = NULL;
  char *aside;
  g_auto(GStrv) words = NULL;

  if (stages == NULL)
    return;
  text = ql_host_step_describe (step);
  aside = strstr (text, "  (");
  if (aside != NULL)
    *aside = '\0';
  words = g_strsplit (text, "  ", -1);
  g_free (text);
  text = g_strjoinv (" ", words);
  ql_stages_begin (stages, "%s", text);
}

/* The Looking Glass file is made only new (O_EXCL) in a directory every
 * user writes, and an mdev only under a uuid no mdev has: a failed apply of
 * either made nothing, and what is there is another's (a VM of the same
 * name, a client still holding the file, an mdev made by hand), which the
 * failed start's undo must not remove.  A write that timed out is not
 * known to have failed (stuck in the kernel, it may finish yet): kept. */
static void
forget_unmade (QlJournal *journal, const QlHostStep *step, const GError *apply_error)
{
  guint n = ql_journal_length (journal);
  g_autofree gboolean *keep = g_new0 (gboolean, n);
  g_autoptr(GError) error = NULL;

  if (step->kind != QL_HOST_STEP_SHM_FILE && step->kind != QL_HOST_STEP_MDEV_CREATE)
    return;
  if (g_error_matches (apply_error, QL_ERROR, QL_ERROR_TIMEOUT))
    return;
  for (guint i = 0; i + 1 < n; i++)
    keep[i] = TRUE;
  if (!ql_journal_retain (journal, keep, &error))
    g_warning ("%s", error->message);
}

gboolean
ql_host_apply (const QlHostPlan *plan, const QlMachine *m, QlJournal *journal, GArray *passed_fds,
               QlStages *stages, gboolean (*interrupted) (gpointer data), gpointer data, GError **error)
{
  /* as the vfio plan: holders were noted, not refused, for any [host] key */
  ApplyState state = { .recheck_holders = ql_profile_has_handover (m->profile) };

  for (guint i = 0; i < plan->steps->len; i++)
    {
      const QlHostStep *step = plan->steps->pdata[i];

      if (interrupted != NULL && interrupted (data))
        {
          g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "Start of VM '%s' interrupted", m->profile->vm.name);
          return FALSE;
        }
      begin_step_stage (stages, step);
      if (step->kind == QL_HOST_STEP_CHOWN)
        {
          /* what the undo gives back is read now, after the steps that
           * made the path, and journaled before the change */
          g_autoptr(QlHostStep) read = ql_host_step_copy (step);
          if (!ql_host_chown_read (read, error) || !ql_journal_record (journal, read, error) ||
              !apply_step (m, read, &state, passed_fds, error))
            return FALSE;
          continue;
        }
      if (!ql_journal_record (journal, step, error))
        return FALSE;
      if (!apply_step (m, step, &state, passed_fds, error))
        {
          forget_unmade (journal, step, error != NULL ? *error : NULL);
          return FALSE;
        }
      if (step->kind == QL_HOST_STEP_MDEV_CREATE && !give_mdev_group (plan, step, journal, error))
        return FALSE;
    }
  return open_persistent_taps (plan, m, passed_fds, error);
}
