#pragma once

#include <glib.h>

/* Enumerations of the profile vocabulary and their spellings.  Each table is
 * NULL-terminated and indexed by the enum value. */

typedef enum { QL_ACCEL_AUTO, QL_ACCEL_KVM, QL_ACCEL_TCG } QlAccel;
typedef enum { QL_FIRMWARE_UEFI, QL_FIRMWARE_BIOS } QlFirmware;
typedef enum { QL_HUGEPAGES_NONE, QL_HUGEPAGES_2M, QL_HUGEPAGES_1G } QlHugepages;
typedef enum { QL_DISK_FORMAT_AUTO, QL_DISK_FORMAT_RAW, QL_DISK_FORMAT_QCOW2 } QlDiskFormat;
typedef enum { QL_DISK_BUS_VIRTIO, QL_DISK_BUS_SCSI, QL_DISK_BUS_SATA, QL_DISK_BUS_NVME } QlDiskBus;
typedef enum {
  QL_DISK_CACHE_NONE, QL_DISK_CACHE_WRITEBACK, QL_DISK_CACHE_WRITETHROUGH,
  QL_DISK_CACHE_DIRECTSYNC, QL_DISK_CACHE_UNSAFE,
} QlDiskCache;
typedef enum { QL_DISK_AIO_THREADS, QL_DISK_AIO_NATIVE, QL_DISK_AIO_IO_URING } QlDiskAio;
typedef enum { QL_NET_MODE_USER, QL_NET_MODE_TAP, QL_NET_MODE_NONE } QlNetMode;
typedef enum { QL_NET_MODEL_VIRTIO, QL_NET_MODEL_E1000E, QL_NET_MODEL_E1000, QL_NET_MODEL_RTL8139 } QlNetModel;
typedef enum { QL_DISPLAY_NONE, QL_DISPLAY_VNC, QL_DISPLAY_SPICE, QL_DISPLAY_GTK } QlDisplayType;
typedef enum { QL_PCI_HOTPLUG_ACPI, QL_PCI_HOTPLUG_NATIVE } QlPciHotplug;
/* [pci] release=: where a device goes when the VM ends */
typedef enum { QL_PCI_RELEASE_HOST, QL_PCI_RELEASE_VFIO } QlPciRelease;
/* [pci] power=: the device's power/control once released */
typedef enum { QL_PCI_POWER_UNCHANGED, QL_PCI_POWER_ON, QL_PCI_POWER_AUTO } QlPciPower;
/* [vm] inhibit-sleep=: the logind sleep lock the supervisor holds while the VM runs */
typedef enum { QL_INHIBIT_SLEEP_AUTO, QL_INHIBIT_SLEEP_BLOCK, QL_INHIBIT_SLEEP_DELAY, QL_INHIBIT_SLEEP_NO } QlInhibitSleep;
typedef enum { QL_VGA_AUTO, QL_VGA_NONE, QL_VGA_STD, QL_VGA_QXL, QL_VGA_VIRTIO } QlVga;

extern const char *const ql_accel_names[];
extern const char *const ql_firmware_names[];
extern const char *const ql_hugepages_names[];
extern const char *const ql_disk_format_names[];
extern const char *const ql_disk_bus_names[];
extern const char *const ql_disk_cache_names[];
extern const char *const ql_disk_aio_names[];
extern const char *const ql_net_mode_names[];
extern const char *const ql_net_model_names[];
extern const char *const ql_display_type_names[];
extern const char *const ql_vga_names[];
extern const char *const ql_pci_hotplug_names[];
extern const char *const ql_pci_release_names[];
extern const char *const ql_pci_power_names[];
extern const char *const ql_inhibit_sleep_names[];

/* Index of name in table (case-insensitive), or -1. */
int ql_enum_from_string (const char *const *table, const char *name);
/* "a, b or c" */
char *ql_enum_describe (const char *const *table);
