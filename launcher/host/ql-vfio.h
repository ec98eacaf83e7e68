#pragma once

#include <glib.h>

/* Moving host devices between their drivers and vfio-pci through sysfs
 * (driver_override + unbind + drivers_probe, as libvirt and Incus do; never
 * new_id, which catches every device with the same ids, and never
 * modprobe -r).  sysfs is "/sys" or a test's tree. */

/* The driver bound to a device, or NULL. */
char *ql_vfio_current_driver (const char *sysfs, const char *address);

/* Loads vfio-pci when its driver directory is missing. */
gboolean ql_vfio_ensure_driver (const char *sysfs, GError **error);

/* Binds a device to vfio-pci and waits until vfio-pci has it and
 * devfs/vfio/GROUP exists. */
gboolean ql_vfio_bind (const char *sysfs, const char *devfs, const char *address, int iommu_group,
                       GError **error);

/* Gives a device back: unbinds it from vfio-pci, restores driver_override
 * (NULL: none) and binds driver (NULL: leave it without one).  With
 * probe, a NULL driver means "whatever the kernel prefers" instead. */
gboolean ql_vfio_restore (const char *sysfs, const char *address, const char *driver,
                          const char *driver_override, gboolean probe, GError **error);
