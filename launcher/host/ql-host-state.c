#include "ql-host-state.h"
#include "ql-run-as-read.h"
#include "ql-handover.h"
#include "ql-hugepages.h"
#include "ql-mdev.h"
#include "ql-net-host.h"
#include "ql-pci-scan.h"
#include "ql-cpu-topology-read.h"
#include "ql-systemd-dbus.h"
#include "ql-value.h"

#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  const QlPciHost *host;
  GPtrArray *requests;
} HolderFilter;

/* Only the requested devices' groups matter; scanning /proc for them is enough. */
static gboolean
in_requested_group (const QlPciDevice *d, gpointer data)
{
  HolderFilter *f = data;

  for (guint i = 0; i < f->requests->len; i++)
    {
      const QlVfioRequest *r = f->requests->pdata[i];
      QlPciAddress addr;
      const QlPciDevice *wanted;

      if (strcmp (r->address, d->address) == 0)
        return TRUE;
      if (ql_pci_address_parse (r->address, FALSE, &addr, NULL) &&
          (wanted = ql_pci_host_lookup (f->host, &addr)) != NULL &&
          wanted->iommu_group >= 0 && wanted->iommu_group == d->iommu_group)
        return TRUE;
    }
  return FALSE;
}

QlVfioPlan *
ql_host_vfio_plan_for_requests (GPtrArray *requests, const char *sysfs, const char *procfs, const char *devfs,
                                GError **error)
{
  g_autoptr(QlPciHost) host = ql_pci_host_scan (sysfs, error);
  HolderFilter filter = { NULL, requests };

  if (host == NULL)
    return NULL;
  filter.host = host;
  ql_pci_host_find_holders (host, procfs, devfs, in_requested_group, &filter);
  return ql_vfio_plan_build (host, requests, error);
}

static gboolean
is_address (const QlPciDevice *d, gpointer data)
{
  return strcmp (d->address, data) == 0;
}

gboolean
ql_host_device_holders (const char *address, const char *sysfs, const char *procfs, const char *devfs,
                        char **ret_who, GError **error)
{
  g_autoptr(QlPciHost) host = ql_pci_host_scan (sysfs, error);
  g_autoptr(GString) who = NULL;
  const QlPciDevice *d;
  QlPciAddress addr;

  if (host == NULL)
    return FALSE;
  ql_pci_host_find_holders (host, procfs, devfs, is_address, (gpointer) address);
  *ret_who = NULL;
  if (!ql_pci_address_parse (address, FALSE, &addr, NULL) || (d = ql_pci_host_lookup (host, &addr)) == NULL ||
      d->holders->len == 0)
    return TRUE;
  who = g_string_new (NULL);
  ql_vfio_describe_holders (who, d);
  *ret_who = g_string_free (g_steal_pointer (&who), FALSE);
  return TRUE;
}

/* [host] release-units: what systemd says of each unit now. */
static gboolean
read_release_units (QlHostState *state, GStrv units, GError **error)
{
  state->release_units = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_unit_state_free);
  for (guint i = 0; units != NULL && units[i] != NULL; i++)
    {
      QlHostUnitState *unit = g_new0 (QlHostUnitState, 1);

      unit->unit = g_strdup (units[i]);
      g_ptr_array_add (state->release_units, unit);
      if (!ql_systemd_get_active_state (units[i], &unit->active_state, error))
        {
          g_prefix_error (error, "[host] release-units: cannot read whether %s runs: ", units[i]);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
read_handover (const QlMachine *m, QlHostState *state, const char *sysfs, GError **error)
{
  const QlProfile *p = m->profile;

  if (p->host.release_units != NULL && !read_release_units (state, p->host.release_units, error))
    return FALSE;
  if (p->host.unbind_consoles)
    {
      state->vtconsoles = ql_handover_read_vtconsoles (sysfs);
      state->framebuffers = ql_handover_read_framebuffers (sysfs);
    }
  state->modules = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_module_free);
  for (guint i = 0; p->host.unload_modules != NULL && p->host.unload_modules[i] != NULL; i++)
    {
      QlHostModule *module = g_new0 (QlHostModule, 1);
      module->name = g_strdup (p->host.unload_modules[i]);
      module->state = ql_handover_module_state (sysfs, module->name);
      g_ptr_array_add (state->modules, module);
    }
  return TRUE;
}

static guint64
page_kib_of (const QlMachine *m)
{
  return m->profile->memory.hugepages == QL_HUGEPAGES_1G ? 1048576 : 2048;
}

static gint64
file_size (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 ? (gint64) st.st_size : -1;
}

static void
read_nvram_sizes (const QlMachine *m, QlHostState *state)
{
  if (!m->uefi)
    return;
  state->nvram_size = file_size (m->firmware_vars);
  state->nvram_exists = state->nvram_size >= 0;
  state->nvram_template_size = file_size (m->firmware_vars_template);
}

/* [cpu] isolate: the online CPUs, and what the units allow now (systemd's
 * answer, so that the run's end can put it back). */
static gboolean
read_isolate_units (QlHostState *state, const char *sysfs, GError **error)
{
  g_autoptr(QlCpuTopology) topology = ql_cpu_topology_read (sysfs, error);

  if (topology == NULL)
    return FALSE;
  state->online_cpus = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint i = 0; i < topology->cpus->len; i++)
    g_array_append_val (state->online_cpus, g_array_index (topology->cpus, QlHostCpu, i).cpu);
  state->isolate_units = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_unit_cpus_free);
  for (guint i = 0; ql_isolate_units[i] != NULL; i++)
    {
      g_autoptr(GArray) cpus = NULL;
      QlHostUnitCpus *unit;

      if (!ql_systemd_get_allowed_cpus (ql_isolate_units[i], &cpus, error))
        {
          g_prefix_error (error, "[cpu] isolate: cannot read what %s may run on: ", ql_isolate_units[i]);
          return FALSE;
        }
      unit = g_new0 (QlHostUnitCpus, 1);
      unit->unit = g_strdup (ql_isolate_units[i]);
      unit->cpus = ql_value_format_cpu_set (cpus);
      g_ptr_array_add (state->isolate_units, unit);
    }
  return TRUE;
}

/* A user's start: what host-setup should have given the user. */
static void
read_user_access (QlHostState *state, const char *devfs)
{
  struct rlimit limit;

  state->user = g_strdup (g_get_user_name ());
  state->vfio_denied = g_array_new (FALSE, FALSE, sizeof (int));
  for (guint i = 0; i < state->vfio->items->len; i++)
    {
      const QlVfioPlanItem *item = state->vfio->items->pdata[i];
      g_autofree char *group = g_strdup_printf ("%d", item->iommu_group);
      g_autofree char *node = g_build_filename (devfs, "vfio", group, NULL);

      if (!item->bind && access (node, R_OK | W_OK) != 0)
        g_array_append_val (state->vfio_denied, item->iommu_group);
    }
  state->memlock = getrlimit (RLIMIT_MEMLOCK, &limit) != 0 ? 0
                   : limit.rlim_cur == RLIM_INFINITY ? G_MAXUINT64 : (guint64) limit.rlim_cur;
}

QlHostState *
ql_host_state_read (const QlMachine *m, const char *sysfs, const char *procfs, const char *devfs, GError **error)
{
  g_autoptr(QlHostState) state = g_new0 (QlHostState, 1);

  if (m->hostdevs->len > 0)
    {
      g_autoptr(GPtrArray) requests = ql_vfio_requests_from_machine (m);
      state->vfio = ql_host_vfio_plan_for_requests (requests, sysfs, procfs, devfs, error);
      if (state->vfio == NULL)
        return NULL;
      if (geteuid () != 0)
        read_user_access (state, devfs);
    }
  if (m->hugetlbfs != NULL)
    {
      state->hugepages = ql_hugepages_read (sysfs, page_kib_of (m), error);
      if (state->hugepages == NULL)
        {
          g_prefix_error (error, "%s: ", m->profile->memory.where);
          return NULL;
        }
    }
  read_nvram_sizes (m, state);
  state->links = ql_net_host_read_links (m, error);
  if (state->links == NULL)
    return NULL;
  if (m->profile->cpu.isolate && !read_isolate_units (state, sysfs, error))
    return NULL;
  if (!read_handover (m, state, sysfs, error))
    return NULL;
  if (ql_profile_n_mdevs (m->profile) > 0)
    state->mdev = ql_mdev_host_read (sysfs, m->profile);
  state->devfs = g_strdup (devfs);
  if (!ql_run_as_read (m, devfs, state, error))
    return NULL;
  return g_steal_pointer (&state);
}
