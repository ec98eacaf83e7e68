#pragma once

#include <glib.h>
#include "ql-pci-address.h"

/* The host's PCI functions as host/ql-pci-scan.c found them, with what the
 * passthrough planning needs: driver, driver_override, IOMMU group, and
 * the processes that hold the device's /dev nodes open. */

typedef struct {
  int pid;
  char *comm;
  char *node;            /* the /dev path the process holds */
  guint64 rdev;
} QlPciHolder;

typedef struct {
  QlPciAddress addr;
  char address[QL_PCI_ADDRESS_LEN];
  guint16 vendor, device;
  guint16 sub_vendor, sub_device;
  guint32 class_code;    /* base << 16 | sub-class << 8 | prog-if */
  char *vendor_name;
  char *device_name;
  char *class_name;
  char *driver;          /* NULL: no driver bound */
  char *driver_override; /* NULL: none */
  int iommu_group;       /* -1: no IOMMU */
  gboolean boot_vga;
  gboolean is_bridge;    /* a PCI-to-PCI bridge, which VFIO leaves to the host */
  GPtrArray *holders;    /* QlPciHolder*, filled by ql_pci_host_find_holders () */
} QlPciDevice;

typedef struct {
  char *sysfs;           /* "/sys", or a tree made by a test */
  GPtrArray *devices;    /* QlPciDevice*, sorted by address */
} QlPciHost;

void ql_pci_holder_free (QlPciHolder *holder);
void ql_pci_device_free (QlPciDevice *device);
void ql_pci_host_free (QlPciHost *host);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlPciHost, ql_pci_host_free)


const QlPciDevice *ql_pci_host_lookup (const QlPciHost *host, const QlPciAddress *addr);
/* The devices of an IOMMU group, in address order (borrowed pointers). */
GPtrArray *ql_pci_host_group_members (const QlPciHost *host, int group);

/* "NVIDIA Corporation GP104GLM [Quadro P5000 Mobile]" or "10de:1bb6" */
char *ql_pci_device_describe (const QlPciDevice *device);
gboolean ql_pci_device_is_display (const QlPciDevice *device);
gboolean ql_pci_device_is_audio (const QlPciDevice *device);
