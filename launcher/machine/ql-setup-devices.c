#include "ql-setup-devices.h"
#include "ql-vfio-plan.h"

#include <string.h>

/* "NVIDIA Corporation GP104GLM [Quadro P5000 Mobile] (10de:1bb6), class 030000 VGA compatible controller,
 * driver nvidia, IOMMU group 1" */
static char *
device_line (const QlPciDevice *d)
{
  g_autofree char *what = ql_pci_device_describe (d);

  return g_strdup_printf ("%s %s (%04x:%04x), class %06x%s%s, %s%s, IOMMU group %d%s", d->address, what, d->vendor,
                          d->device, d->class_code, d->class_name ? " " : "", d->class_name ? d->class_name : "",
                          d->driver ? "driver " : "", d->driver ? d->driver : "no driver", d->iommu_group,
                          d->boot_vga ? ", the boot VGA" : "");
}

static gboolean
is_given (GArray *devices, const QlPciDevice *d)
{
  for (guint i = 0; i < devices->len; i++)
    if (g_array_index (devices, QlSetupDevice, i).device == d)
      return TRUE;
  return FALSE;
}

/* TRUE the first time a group is seen. */
static gboolean
group_first_seen (GArray *seen, int group)
{
  for (guint i = 0; i < seen->len; i++)
    if (g_array_index (seen, int, i) == group)
      return FALSE;
  g_array_append_val (seen, group);
  return TRUE;
}

void
ql_setup_devices_describe (const QlPciHost *pci, GArray *devices, GPtrArray *ret_lines)
{
  g_autoptr(GArray) seen = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; i < devices->len; i++)
    {
      const QlSetupDevice *s = &g_array_index (devices, QlSetupDevice, i);
      g_autofree char *line = device_line (s->device);

      g_ptr_array_add (ret_lines, g_strdup_printf ("[pci %s]: %s", s->pci, line));
    }
  for (guint i = 0; i < devices->len; i++)
    {
      int group = g_array_index (devices, QlSetupDevice, i).device->iommu_group;
      g_autoptr(GPtrArray) members = NULL;

      if (!group_first_seen (seen, group))
        continue;
      members = ql_pci_host_group_members (pci, group);
      for (guint j = 0; j < members->len; j++)
        if (!is_given (devices, members->pdata[j]))
          {
            g_autofree char *member = device_line (members->pdata[j]);
            g_ptr_array_add (ret_lines, g_strdup_printf ("in the same IOMMU group, not passed through: %s", member));
          }
    }
}

/* Why a function should stay the host's, or NULL.  A PCI-to-PCI bridge
 * in the group is left to the host by VFIO; one passed through is not. */
static const char *
risk_of (const QlPciDevice *d, gboolean given)
{
  switch (d->class_code >> 16)
    {
    case 0x01:
      return "a storage controller: whoever has it reads and writes the disks behind it";
    case 0x02:
      return "a network controller: the host's network may run through it";
    case 0x06:
      return given || !d->is_bridge ? "a bridge: part of the host's own plumbing" : NULL;
    default:
      break;
    }
  return d->boot_vga ? "the host's boot VGA: its console" : NULL;
}

static void
check_function (const QlSetupDevice *s, const QlPciDevice *d, GPtrArray *problems)
{
  const char *risk = risk_of (d, d == s->device);
  const char *where = d == s->device ? "" : " (in its IOMMU group)";

  if (risk != NULL)
    g_ptr_array_add (problems, g_strdup_printf ("[pci %s]: %s%s is %s", s->pci, d->address, where, risk));
  if (d->holders->len > 0 && g_strcmp0 (d->driver, "vfio-pci") != 0)
    {
      g_autoptr(GString) who = g_string_new (NULL);
      ql_vfio_describe_holders (who, d);
      g_ptr_array_add (problems, g_strdup_printf ("[pci %s]: %s%s is in use on the host by %s", s->pci, d->address,
                                                  where, who->str));
    }
}

/* vfio-pci ids= takes every device with these ids at boot, also one the host keeps */
static void
check_twins (const QlPciHost *pci, GArray *devices, GPtrArray *problems)
{
  for (guint i = 0; i < pci->devices->len; i++)
    {
      const QlPciDevice *other = pci->devices->pdata[i];

      for (guint j = 0; j < devices->len && !is_given (devices, other); j++)
        {
          const QlSetupDevice *s = &g_array_index (devices, QlSetupDevice, j);
          if (s->device->vendor != other->vendor || s->device->device != other->device)
            continue;
          g_ptr_array_add (problems, g_strdup_printf ("[pci %s]: %s has the same ids %04x:%04x and is not passed through, "
                                                      "yet vfio-pci ids= takes it at boot too", s->pci,
                                                      other->address, other->vendor, other->device));
          break;
        }
    }
}

void
ql_setup_devices_check (const QlPciHost *pci, GArray *devices, GPtrArray *problems)
{
  g_autoptr(GArray) seen = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; i < devices->len; i++)
    {
      const QlSetupDevice *s = &g_array_index (devices, QlSetupDevice, i);
      g_autoptr(GPtrArray) members = NULL;

      check_function (s, s->device, problems);
      if (!group_first_seen (seen, s->device->iommu_group))
        continue;
      members = ql_pci_host_group_members (pci, s->device->iommu_group);
      for (guint j = 0; j < members->len; j++)
        if (!is_given (devices, members->pdata[j]))
          check_function (s, members->pdata[j], problems);
    }
  check_twins (pci, devices, problems);
}
