#pragma once

#include <glib.h>
#include "ql-mdev-plan.h"

/* Mediated devices through sysfs: the types a parent device offers
 * (class/mdev_bus/PARENT/mdev_supported_types/TYPE/{name,description,
 * device_api,available_instances}), the mdevs there are (bus/mdev/devices/UUID), and
 * their creation (TYPE/create <- UUID) and removal (UUID/remove <- 1).
 * Every name read is checked before a path is built from it. */

/* The parent of that name (exists FALSE when there is no such device). */
QlMdevParent *ql_mdev_read_parent (const char *sysfs, const char *name);

/* Every device that offers mdev types (class/mdev_bus), by name. */
GPtrArray *ql_mdev_read_parents (const char *sysfs);

/* What a profile's [mdev] sections need: their parents, the mdevs there are. */
QlMdevHost *ql_mdev_host_read (const char *sysfs, const QlProfile *profile);

/* Writes uuid to the type's create, with the sysfs write timeout; an error
 * says what the kernel's errno usually means there. */
gboolean ql_mdev_create (const char *sysfs, const char *parent, const char *type, const char *uuid, GError **error);

/* The IOMMU group of an mdev that exists (its iommu_group link), or -1
 * with an error, also when the group holds any device but the mdev. */
int ql_mdev_iommu_group (const char *sysfs, const char *uuid, GError **error);

/* Writes 1 to the mdev's remove when it is of type on parent (its
 * mdev_type link), and refuses to when it is not; an mdev that is gone
 * already is success.  *ret_done says what was done. */
gboolean ql_mdev_remove (const char *sysfs, const char *parent, const char *type, const char *uuid, char **ret_done,
                         GError **error);
