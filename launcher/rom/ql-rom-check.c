#include "ql-rom-check.h"
#include "ql-error.h"

#include <errno.h>
#include <unistd.h>

gboolean
ql_rom_check_hostdev (const QlMachine *m, const QlMachineHostdev *h, QlRom **ret_rom, GPtrArray *notes,
                      GError **error)
{
  const QlPci *pci = h->pci;
  g_autoptr(QlRom) rom = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *why = NULL;
  guint16 vendor, device;
  gboolean ok = TRUE;

  g_return_val_if_fail (pci->rom != NULL, FALSE);
  /* QEMU runs as this user and opens the file itself */
  if (access (pci->rom, R_OK) != 0)
    {
      int e = errno;
      g_set_error (error, QL_ERROR, QL_ERROR_PROFILE, "%s: QEMU cannot read '%s': %s", pci->rom_where, pci->rom,
                   g_strerror (e));
      return FALSE;
    }
  rom = ql_rom_load (pci->rom, NULL, &local_error);
  if (rom == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_PROFILE, "%s: %s (check it with 'qlaunch rom info %s')", pci->rom_where,
                   local_error->message, pci->rom);
      return FALSE;
    }
  vendor = pci->vendor >= 0 ? (guint16) pci->vendor : h->host_vendor;
  device = pci->device >= 0 ? (guint16) pci->device : h->host_device;
  if (!ql_rom_matches (rom, vendor, device, &why))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_PROFILE,
                   "%s: '%s' is not this device's ROM: %s%s; the guest driver would reject it", pci->rom_where,
                   pci->rom, why, pci->vendor >= 0 || pci->device >= 0 ? " (with vendor=/device= applied)" : "");
      ok = FALSE;
    }
  else if (notes != NULL)
    {
      for (guint j = 0; j < rom->warnings->len; j++)
        g_ptr_array_add (notes, g_strdup_printf ("%s: %s", pci->rom_where, (char *) rom->warnings->pdata[j]));
      if (m->uefi && !ql_rom_is_uefi_capable (rom) && !pci->rom_acpi)
        g_ptr_array_add (notes, g_strdup_printf ("%s: the ROM has no x86-64 EFI image: OVMF shows nothing on this "
                                                 "GPU until the guest's driver loads", pci->rom_where));
    }
  if (ret_rom != NULL)
    *ret_rom = g_steal_pointer (&rom);
  return ok;
}

gboolean
ql_rom_check_for_machine (const QlMachine *m, GPtrArray *notes, GError **error)
{
  for (guint i = 0; i < m->hostdevs->len; i++)
    {
      const QlMachineHostdev *h = m->hostdevs->pdata[i];
      if (h->pci->rom != NULL && !ql_rom_check_hostdev (m, h, NULL, notes, error))
        return FALSE;
    }
  return TRUE;
}
