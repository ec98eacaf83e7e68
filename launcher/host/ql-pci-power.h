#pragma once

#include <glib.h>

/* A PCI function's runtime power management through sysfs: power/control
 * ("on": never suspended; "auto": the kernel suspends it when idle, down to
 * D3cold where the platform can) and power/runtime_status. */

gboolean ql_pci_power_set_control (const char *sysfs, const char *address, const char *control, GError **error);

/* "active", "suspended", "suspending", "resuming", "error" or
 * "unsupported"; NULL when the device has no power directory. */
char *ql_pci_power_runtime_status (const char *sysfs, const char *address);
