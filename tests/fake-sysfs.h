#pragma once

#include <glib.h>

/* A sysfs tree in a temp dir with the PCI devices of the seeds' machines,
 * enough for libpci and qlaunch's own sysfs reads:
 *   0000:00:01.0  8086:1901 PCI bridge (pcieport)          group 1
 *   0000:01:00.0  10de:1bb6 Quadro P5000 Mobile (nvidia)    group 1, ssid 1028:07b1  (seed 002)
 *   0000:01:00.1  10de:10f0 HDMI audio (snd_hda_intel)      group 1
 *   0000:02:00.0  10de:1381 GTX 750 (nouveau), boot VGA     group 2  (seed 003)
 *   0000:02:00.1  10de:0fbc HDMI audio (snd_hda_intel)      group 2
 *   0000:03:00.0  8086:10d3 82574L (vfio-pci)               group 3
 *   0000:04:00.0  8086:10d3 82574L (e1000e)                 no IOMMU group
 * Returns the root to pass as "sysfs" (it holds bus/pci/...). */
char *fake_sysfs_new (void);

/* Adds one more PCI function (sub-ids VENDOR:0001), bound to driver, in
 * IOMMU group group (-1: none). */
void fake_sysfs_add_device (const char *sysfs, const char *address, guint16 vendor, guint16 device, guint32 class_code,
                            const char *driver, int group);

/* Adds DEV/drm/card0/dev with "MAJOR:MINOR" to a device. */
void fake_sysfs_add_drm_node (const char *sysfs, const char *address, guint major, guint minor);

void fake_sysfs_remove (const char *sysfs);

/* Adds devices/system/cpu and devices/system/node for a host of packages ×
 * cores × threads, numbered as Linux does on Intel: CPU n is thread n / (packages
 * × cores) of core n % (packages × cores); a package is a NUMA node with one
 * L3 cache.  Node directories get 2 MiB hugepage pools of hugepages_per_node
 * pages, all free, and kernel/mm/hugepages the host-wide one. */
void fake_sysfs_add_cpus (const char *sysfs, guint packages, guint cores, guint threads, guint hugepages_per_node);

/* Adds PARENT/mdev_supported_types/TYPE with its name, description,
 * device_api (vfio-pci), available_instances and an empty create file
 * (which records what is written: the fake models no kernel), and
 * class/mdev_bus/PARENT.  PARENT is a PCI device of the tree, or else a
 * virtual device of that name (as the kernel's sample drivers make). */
void fake_sysfs_add_mdev_type (const char *sysfs, const char *parent, const char *type, const char *name,
                               const char *description, guint available);

/* Adds bus/mdev/devices/UUID with an empty remove file, as an mdev that exists. */
void fake_sysfs_add_mdev (const char *sysfs, const char *uuid);

/* fake_sysfs_add_mdev, and its mdev_type link to PARENT's TYPE (added
 * before with fake_sysfs_add_mdev_type), as the kernel links an mdev to
 * the type it was made of. */
void fake_sysfs_add_mdev_of (const char *sysfs, const char *uuid, const char *parent, const char *type);
