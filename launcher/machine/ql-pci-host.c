#include "ql-pci-host.h"

#include <string.h>


void
ql_pci_holder_free (QlPciHolder *holder)
{
  g_free (holder->comm);
  g_free (holder->node);
  g_free (holder);
}

void
ql_pci_device_free (QlPciDevice *d)
{
  g_free (d->vendor_name);
  g_free (d->device_name);
  g_free (d->class_name);
  g_free (d->driver);
  g_free (d->driver_override);
  g_clear_pointer (&d->holders, g_ptr_array_unref);
  g_free (d);
}

void
ql_pci_host_free (QlPciHost *host)
{
  if (host == NULL)
    return;
  g_free (host->sysfs);
  g_clear_pointer (&host->devices, g_ptr_array_unref);
  g_free (host);
}


const QlPciDevice *
ql_pci_host_lookup (const QlPciHost *host, const QlPciAddress *addr)
{
  for (guint i = 0; i < host->devices->len; i++)
    {
      const QlPciDevice *d = host->devices->pdata[i];
      if (ql_pci_address_equal (&d->addr, addr))
        return d;
    }
  return NULL;
}

GPtrArray *
ql_pci_host_group_members (const QlPciHost *host, int group)
{
  GPtrArray *members = g_ptr_array_new ();

  for (guint i = 0; group >= 0 && i < host->devices->len; i++)
    {
      QlPciDevice *d = host->devices->pdata[i];
      if (d->iommu_group == group)
        g_ptr_array_add (members, d);
    }
  return members;
}

char *
ql_pci_device_describe (const QlPciDevice *d)
{
  if (d->vendor_name && d->device_name)
    return g_strdup_printf ("%s %s", d->vendor_name, d->device_name);
  if (d->vendor_name)
    return g_strdup_printf ("%s device %04x", d->vendor_name, d->device);
  return g_strdup_printf ("%04x:%04x", d->vendor, d->device);
}

gboolean
ql_pci_device_is_display (const QlPciDevice *d)
{
  return d->class_code >> 16 == 0x03;
}

gboolean
ql_pci_device_is_audio (const QlPciDevice *d)
{
  return d->class_code >> 8 == 0x0403;
}
