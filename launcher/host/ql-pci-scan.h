#pragma once

#include <glib.h>
#include "ql-pci-host.h"

/* Enumerates SYSFS/bus/pci/devices through libpci (names from pci.ids). */
QlPciHost *ql_pci_host_scan (const char *sysfs, GError **error);

/* Looks for processes under proc_root ("/proc") that hold a device's DRM,
 * sound, NVIDIA or VFIO group nodes open; dev_root ("/dev") locates the
 * NVIDIA and VFIO nodes.  Only devices accepted by filter (NULL: all) are
 * looked at. */
void ql_pci_host_find_holders (QlPciHost *host, const char *proc_root, const char *dev_root,
                               gboolean (*filter) (const QlPciDevice *device, gpointer data),
                               gpointer data);
