#include "ql-vfio-plan.h"
#include "ql-error.h"

#include <string.h>

static void
item_free (QlVfioPlanItem *item)
{
  g_free (item->description);
  g_free (item->driver);
  g_free (item->driver_override);
  g_free (item->label);
  g_free (item);
}

void
ql_vfio_plan_free (QlVfioPlan *plan)
{
  if (plan == NULL)
    return;
  g_clear_pointer (&plan->items, g_ptr_array_unref);
  g_clear_pointer (&plan->notes, g_ptr_array_unref);
  g_free (plan);
}

void
ql_vfio_request_free (QlVfioRequest *r)
{
  g_free (r->label);
  g_free (r);
}

QlVfioRequest *
ql_vfio_request_new (const char *address, const char *label)
{
  QlVfioRequest *r = g_new0 (QlVfioRequest, 1);

  g_strlcpy (r->address, address, sizeof r->address);
  r->label = g_strdup (label);
  return r;
}

GPtrArray *
ql_vfio_requests_from_machine (const QlMachine *m)
{
  GPtrArray *requests = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_vfio_request_free);

  for (guint i = 0; m->hostdevs && i < m->hostdevs->len; i++)
    {
      const QlMachineHostdev *h = m->hostdevs->pdata[i];
      g_autofree char *label = g_strdup_printf ("[pci %s]", h->pci->id);

      for (guint j = 0; j < h->functions->len; j++)
        {
          QlVfioRequest *r = ql_vfio_request_new (((QlMachineFunction *) h->functions->pdata[j])->host, label);
          r->release = h->pci->release;
          r->power = h->pci->power;
          r->holders_may_go = ql_profile_has_handover (m->profile);
          g_ptr_array_add (requests, r);
        }
    }
  return requests;
}

static const QlVfioRequest *
find_request (GPtrArray *requests, const char *address)
{
  for (guint i = 0; i < requests->len; i++)
    if (strcmp (((QlVfioRequest *) requests->pdata[i])->address, address) == 0)
      return requests->pdata[i];
  return NULL;
}

void
ql_vfio_describe_holders (GString *out, const QlPciDevice *d)
{
  for (guint i = 0; i < d->holders->len; i++)
    {
      const QlPciHolder *h = d->holders->pdata[i];
      g_string_append_printf (out, "%s%d (%s) through %s", i ? ", PID " : "PID ", h->pid, h->comm, h->node);
    }
}

/* A member of a group that VFIO can share the group with. */
static gboolean
member_is_harmless (const QlPciDevice *d)
{
  return d->is_bridge || d->driver == NULL || strcmp (d->driver, "vfio-pci") == 0 ||
         strcmp (d->driver, "pci-stub") == 0;
}

/* The device a request names, or NULL after adding why it cannot be passed through. */
static const QlPciDevice *
lookup_requested (const QlPciHost *host, const QlVfioRequest *r, GPtrArray *problems)
{
  const QlPciDevice *d = NULL;
  QlPciAddress addr;

  if (ql_pci_address_parse (r->address, FALSE, &addr, NULL))
    d = ql_pci_host_lookup (host, &addr);
  if (d == NULL)
    {
      g_ptr_array_add (problems, g_strdup_printf ("%s: no PCI device %s on this host", r->label, r->address));
      return NULL;
    }
  if (d->is_bridge)
    {
      g_ptr_array_add (problems, g_strdup_printf ("%s: %s is a PCI bridge; pass through the device behind it",
                                                  r->label, r->address));
      return NULL;
    }
  if (d->iommu_group < 0)
    {
      g_ptr_array_add (problems,
                       g_strdup_printf ("%s: %s is in no IOMMU group: the IOMMU is off. Fix: enable VT-d or AMD-Vi "
                                        "in the firmware setup and add intel_iommu=on (Intel) or amd_iommu=on "
                                        "(AMD) to the kernel command line", r->label, r->address));
      return NULL;
    }
  return d;
}

static void
check_host_holders (QlVfioPlan *plan, const QlPciDevice *d, const QlVfioRequest *r, GPtrArray *problems)
{
  g_autoptr(GString) who = NULL;

  if (d->holders->len == 0 || g_strcmp0 (d->driver, "vfio-pci") == 0)
    return;
  who = g_string_new (NULL);
  ql_vfio_describe_holders (who, d);
  if (r->holders_may_go)
    {
      g_ptr_array_add (plan->notes,
                       g_strdup_printf ("%s: %s (%s) is in use on the host by %s now; the [host] handover steps "
                                        "should end that, and it is checked again right before its bind",
                                        r->label, r->address, d->driver ? d->driver : "no driver", who->str));
      return;
    }
  g_ptr_array_add (problems,
                   g_strdup_printf ("%s: %s (%s) is in use on the host by %s. Fix: stop what uses it "
                                    "(display manager, sound server, CUDA/compute jobs) and try again",
                                    r->label, r->address, d->driver ? d->driver : "no driver", who->str));
}

static void
plan_item_add (QlVfioPlan *plan, const QlPciDevice *d, const QlVfioRequest *r)
{
  QlVfioPlanItem *item = g_new0 (QlVfioPlanItem, 1);

  g_strlcpy (item->address, d->address, sizeof item->address);
  item->description = ql_pci_device_describe (d);
  item->driver = g_strdup (d->driver);
  item->driver_override = g_strdup (d->driver_override);
  item->iommu_group = d->iommu_group;
  item->bind = g_strcmp0 (d->driver, "vfio-pci") != 0;
  item->label = g_strdup (r->label);
  item->release = r->release;
  item->power = r->power;
  g_ptr_array_add (plan->items, item);
  if (d->boot_vga)
    g_ptr_array_add (plan->notes,
                     g_strdup_printf ("%s is the host's boot VGA: the host console on it goes dark while the VM "
                                      "runs", d->address));
}

/* TRUE the first time a group is seen. */
static gboolean
group_first_seen (GArray *groups_seen, int group)
{
  for (guint g = 0; g < groups_seen->len; g++)
    if (g_array_index (groups_seen, int, g) == group)
      return FALSE;
  g_array_append_val (groups_seen, group);
  return TRUE;
}

/* A member of d's group that no request names: in use, left alone, or in the way. */
static void
check_group_member (QlVfioPlan *plan, const QlPciDevice *d, const QlPciDevice *member, const QlVfioRequest *r,
                    GPtrArray *problems)
{
  g_autofree char *what = ql_pci_device_describe (member);

  if (g_strcmp0 (member->driver, "vfio-pci") == 0 && member->holders->len > 0)
    {
      g_autoptr(GString) who = g_string_new (NULL);
      ql_vfio_describe_holders (who, member);
      g_ptr_array_add (problems,
                       g_strdup_printf ("%s: IOMMU group %d is in use by %s (another VM?)", r->label,
                                        d->iommu_group, who->str));
    }
  else if (member_is_harmless (member))
    g_ptr_array_add (plan->notes,
                     g_strdup_printf ("IOMMU group %d: %s (%s) stays as it is (%s)", d->iommu_group,
                                      member->address, what,
                                      member->is_bridge ? "a bridge" :
                                      member->driver ? member->driver : "no driver"));
  else
    g_ptr_array_add (problems,
                     g_strdup_printf ("%s: IOMMU group %d is not viable: it also holds %s (%s, driver %s), "
                                      "which is not passed through. Fix: %s, or give it to vfio-pci with "
                                      "'qlaunch bind %s'", r->label, d->iommu_group, member->address, what,
                                      member->driver,
                                      ql_pci_address_same_slot (&member->addr, &d->addr)
                                        ? "pass it through as well (functions=all)"
                                        : "pass it through as well (another [pci] section)",
                                      member->address));
}

/* the whole group goes to the VM, or the kernel refuses it ("group is not viable") */
static void
check_group (QlVfioPlan *plan, const QlPciHost *host, GPtrArray *requests, const QlPciDevice *d,
             const QlVfioRequest *r, GPtrArray *problems)
{
  g_autoptr(GPtrArray) members = ql_pci_host_group_members (host, d->iommu_group);

  for (guint j = 0; j < members->len; j++)
    {
      const QlPciDevice *member = members->pdata[j];

      if (find_request (requests, member->address) == NULL)
        check_group_member (plan, d, member, r, problems);
    }
  /* a VFIO group node held open means a VM (or a tool) owns the group already */
  if (g_strcmp0 (d->driver, "vfio-pci") == 0 && d->holders->len > 0)
    {
      g_autoptr(GString) who = g_string_new (NULL);
      ql_vfio_describe_holders (who, d);
      g_ptr_array_add (problems, g_strdup_printf ("%s: %s is in use by %s (another VM?)", r->label,
                                                  d->address, who->str));
    }
}

QlVfioPlan *
ql_vfio_plan_build (const QlPciHost *host, GPtrArray *requests, GError **error)
{
  g_autoptr(QlVfioPlan) plan = g_new0 (QlVfioPlan, 1);
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) groups_seen = g_array_new (FALSE, FALSE, sizeof (int));

  plan->items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  plan->notes = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < requests->len; i++)
    {
      const QlVfioRequest *r = requests->pdata[i];
      const QlPciDevice *d = lookup_requested (host, r, problems);

      if (d == NULL)
        continue;
      check_host_holders (plan, d, r, problems);
      plan_item_add (plan, d, r);
      if (group_first_seen (groups_seen, d->iommu_group))
        check_group (plan, host, requests, d, r, problems);
    }

  if (problems->len > 0)
    {
      g_ptr_array_add (problems, NULL);
      g_autofree char *all = g_strjoinv ("\n", (char **) problems->pdata);
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot pass the devices through:\n%s", all);
      return NULL;
    }
  return g_steal_pointer (&plan);
}
