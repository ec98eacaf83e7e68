#include "ql-host-plan.h"
#include "ql-paths.h"
#include "ql-vfio.h"

#include <string.h>

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
ql_host_plan_for_requests (GPtrArray *requests, GError **error)
{
  g_autoptr(QlPciHost) host = ql_pci_host_scan (ql_paths_sysfs (), error);
  HolderFilter filter = { NULL, requests };

  if (host == NULL)
    return NULL;
  filter.host = host;
  ql_pci_host_find_holders (host, ql_paths_procfs (), ql_paths_devfs (), in_requested_group, &filter);
  return ql_vfio_plan_build (host, requests, error);
}

QlVfioPlan *
ql_host_plan_for_machine (const QlMachine *m, GError **error)
{
  g_autoptr(GPtrArray) requests = ql_vfio_requests_from_machine (m);
  return ql_host_plan_for_requests (requests, error);
}

static void
log_undo (const char *line)
{
  g_message ("%s", line);
}

gboolean
ql_host_plan_give_back (QlJournal *journal, GError **error)
{
  return ql_journal_length (journal) == 0 || ql_journal_undo (journal, ql_paths_sysfs (), log_undo, error);
}

gboolean
ql_host_plan_apply (const QlVfioPlan *plan, QlJournal *journal, GError **error)
{
  const char *sysfs = ql_paths_sysfs ();
  gboolean any = FALSE;

  for (guint i = 0; i < plan->items->len; i++)
    any |= ((QlVfioPlanItem *) plan->items->pdata[i])->bind;
  if (!any)
    return TRUE;
  if (!ql_vfio_ensure_driver (sysfs, error))
    return FALSE;

  for (guint i = 0; i < plan->items->len; i++)
    {
      const QlVfioPlanItem *item = plan->items->pdata[i];
      g_autoptr(GError) bind_error = NULL;
      g_autoptr(GError) undo_error = NULL;

      if (!item->bind)
        continue;
      g_message ("%s: %s -> vfio-pci (%s)", item->address, item->driver ? item->driver : "no driver", item->label);
      if (ql_journal_record_vfio (journal, item->address, item->driver, item->driver_override, &bind_error) &&
          ql_vfio_bind (sysfs, ql_paths_devfs (), item->address, item->iommu_group, &bind_error))
        continue;

      /* nothing half-done: what was bound goes back */
      if (ql_host_plan_give_back (journal, &undo_error))
        g_propagate_error (error, g_steal_pointer (&bind_error));
      else
        g_set_error (error, bind_error->domain, bind_error->code, "%s\n%s", bind_error->message, undo_error->message);
      return FALSE;
    }
  return TRUE;
}
