#include "ql-prepare.h"
#include "ql-machine-pin.h"
#include "ql-qemu-probe.h"
#include "ql-paths.h"
#include "ql-qemu-argv.h"
#include "ql-pci-scan.h"
#include "ql-cpu-topology-read.h"
#include "ql-host-probe.h"
#include "ql-error.h"

#include <sys/stat.h>
#include <unistd.h>

void
ql_prepared_free (QlPrepared *p)
{
  if (p == NULL)
    return;
  /* the machine borrows the profile */
  ql_machine_free (p->machine);
  ql_profile_free (p->profile);
  ql_host_facts_free (p->host);
  g_strfreev (p->argv);
  g_free (p);
}

QlPrepared *
ql_prepare (const char *name_or_path, GError **error)
{
  return ql_prepare_staged (name_or_path, NULL, error);
}

/* Root asks QEMU what it can do by running it: not a program that the
 * profile's owner, when that is not root, could have put there. */
static gboolean
check_qemu_binary (const QlPrepared *p, GError **error)
{
  g_autofree char *why = NULL;
  struct stat st;

  if (geteuid () != 0 || p->host->qemu_binary == NULL ||
      (stat (p->profile->path, &st) == 0 && st.st_uid == 0) ||
      ql_host_program_root_only (p->host->qemu_binary, &why))
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: the profile is not root's, and root would run its [qemu] binary "
               "to ask what it can do: %s. Fix: a QEMU that only root can change", p->profile->path, why);
  return FALSE;
}

/* The QEMU's capabilities (cached per binary) and the machine type the
 * VM's first start pinned. */
static gboolean
ask_qemu (QlPrepared *p, const char *state_dir, QlStages *stages, GError **error)
{
  g_autofree char *cache = NULL;

  if (!ql_machine_pin_read (state_dir, &p->host->pinned_machine, error))
    return FALSE;
  if (p->host->qemu_binary == NULL)
    return TRUE;  /* the machine model says it is missing */
  if (!check_qemu_binary (p, error))
    return FALSE;
  ql_stages_begin (stages, "ask QEMU what it can do");
  cache = ql_paths_cache_base ();
  p->host->qemu_caps = ql_qemu_caps_get (p->host->qemu_binary, cache, error);
  if (p->host->qemu_caps == NULL)
    return FALSE;
  p->host->qemu_version = p->host->qemu_caps->version;
  return TRUE;
}

/* for_setup: host-setup, root reading a user's profile, runs nothing and
 * opens nothing the profile names (no QEMU asked what it can do, no disk
 * probed); the guest it plans needs neither. */
static QlPrepared *
prepare (const char *name_or_path, QlStages *stages, gboolean for_setup, GError **error)
{
  g_autoptr(QlPrepared) p = g_new0 (QlPrepared, 1);
  g_autofree char *path = ql_paths_find_profile (name_or_path, error);
  g_autofree char *runtime_dir = NULL;
  g_autofree char *state_dir = NULL;

  if (path == NULL)
    return NULL;
  ql_stages_begin (stages, "read the profile");
  p->profile = for_setup ? ql_profile_load_for_setup (path, error) : ql_profile_load (path, error);
  if (p->profile == NULL)
    return NULL;
  ql_stages_begin (stages, "scan the host");
  p->host = ql_host_facts_probe (ql_paths_procfs (), ql_paths_devfs (), p->profile->qemu.binary);
  if (p->profile->pcis->len > 0)
    {
      g_autoptr(GError) pci_error = NULL;
      p->host->pci = ql_pci_host_scan (ql_paths_sysfs (), &pci_error);
      if (p->host->pci == NULL)
        p->host->pci_error = g_strdup (pci_error->message);
    }
  if (ql_profile_pins_threads (p->profile))
    {
      g_autoptr(GError) cpus_error = NULL;
      p->host->cpus = ql_cpu_topology_read (ql_paths_sysfs (), &cpus_error);
      if (p->host->cpus == NULL)
        p->host->cpus_error = g_strdup (cpus_error->message);
    }
  runtime_dir = ql_paths_runtime_dir (p->profile->vm.name);
  state_dir = ql_paths_state_dir (p->profile->vm.name);
  if (!for_setup && !ask_qemu (p, state_dir, stages, error))
    return NULL;
  ql_stages_begin (stages, "plan the machine");
  p->machine = ql_machine_resolve (p->profile, p->host, runtime_dir, state_dir, error);
  if (p->machine == NULL)
    return NULL;
  p->argv = ql_qemu_argv_build (p->machine);
  ql_stages_end (stages);
  return g_steal_pointer (&p);
}

QlPrepared *
ql_prepare_staged (const char *name_or_path, QlStages *stages, GError **error)
{
  return prepare (name_or_path, stages, /* for_setup= */ FALSE, error);
}

QlPrepared *
ql_prepare_for_setup (const char *name_or_path, GError **error)
{
  return prepare (name_or_path, /* stages= */ NULL, /* for_setup= */ TRUE, error);
}
