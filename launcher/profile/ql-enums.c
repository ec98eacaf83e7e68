#include "ql-enums.h"

const char *const ql_accel_names[] = { "auto", "kvm", "tcg", NULL };
const char *const ql_firmware_names[] = { "uefi", "bios", NULL };
const char *const ql_hugepages_names[] = { "none", "2M", "1G", NULL };
const char *const ql_disk_format_names[] = { "auto", "raw", "qcow2", NULL };
const char *const ql_disk_bus_names[] = { "virtio", "scsi", "sata", "nvme", NULL };
const char *const ql_disk_cache_names[] = { "none", "writeback", "writethrough", "directsync", "unsafe", NULL };
const char *const ql_disk_aio_names[] = { "threads", "native", "io_uring", NULL };
const char *const ql_net_mode_names[] = { "user", "tap", "none", NULL };
const char *const ql_net_model_names[] = { "virtio", "e1000e", "e1000", "rtl8139", NULL };
const char *const ql_display_type_names[] = { "none", "vnc", "spice", "gtk", NULL };
const char *const ql_pci_hotplug_names[] = { "acpi", "native", NULL };
const char *const ql_pci_release_names[] = { "host", "vfio", NULL };
const char *const ql_pci_power_names[] = { "unchanged", "on", "auto", NULL };
const char *const ql_inhibit_sleep_names[] = { "auto", "block", "delay", "no", NULL };
const char *const ql_vga_names[] = { "auto", "none", "std", "qxl", "virtio", NULL };

int
ql_enum_from_string (const char *const *table, const char *name)
{
  for (int i = 0; table[i] != NULL; i++)
    if (g_ascii_strcasecmp (table[i], name) == 0)
      return i;
  return -1;
}

char *
ql_enum_describe (const char *const *table)
{
  GString *out = g_string_new (NULL);
  guint n = g_strv_length ((GStrv) table);

  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (out, i + 1 == n ? " or " : ", ");
      g_string_append (out, table[i]);
    }
  return g_string_free (out, FALSE);
}
