#pragma once

#include <glib.h>
#include "ql-pci-host.h"

/* Which devices host-setup may give a user.  Whoever owns a device's
 * IOMMU group node has the device, and through its DMA what the device
 * reaches: a disk controller's disks, a NIC's traffic, the host's console.
 * So each device, and each member of its group, is shown as the host has
 * it (names, class, driver), and the risky ones are refused unless root
 * says --force.  Pure: a function of the host's PCI scan (with holders). */

typedef struct {
  const QlPciDevice *device;
  const char *pci;           /* the [pci NAME] section's NAME */
} QlSetupDevice;

/* One line per device and per other member of its group, for root to
 * read before anything is written. */
void ql_setup_devices_describe (const QlPciHost *pci, GArray *devices, GPtrArray *ret_lines);

/* Adds to problems (char*) each device, or member of its group, that is
 * a storage, network or bridge function, the host's boot VGA or in use on
 * the host, and each other host device with a passed device's
 * vendor:device (vfio-pci ids= takes it at boot too). */
void ql_setup_devices_check (const QlPciHost *pci, GArray *devices, GPtrArray *problems);
