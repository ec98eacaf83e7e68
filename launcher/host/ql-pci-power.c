#include "ql-pci-power.h"
#include "ql-sysfs.h"

static char *
power_file (const char *sysfs, const char *address, const char *name)
{
  return g_build_filename (sysfs, "bus", "pci", "devices", address, "power", name, NULL);
}

gboolean
ql_pci_power_set_control (const char *sysfs, const char *address, const char *control, GError **error)
{
  g_autofree char *path = power_file (sysfs, address, "control");

  return ql_sysfs_write (path, control, ql_sysfs_timeout_ms (), error);
}

char *
ql_pci_power_runtime_status (const char *sysfs, const char *address)
{
  g_autofree char *path = power_file (sysfs, address, "runtime_status");

  return ql_sysfs_read (path);
}
