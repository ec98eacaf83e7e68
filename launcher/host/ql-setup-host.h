#pragma once

#include <glib.h>
#include <sys/types.h>
#include "ql-pci-host.h"

/* The host side of qlaunch host-setup that is not a file in /etc: what
 * the plan needs to know (the devices' drivers' modules, how this host
 * builds its initramfs) and the /dev/vfio group nodes given to the user
 * for this boot, as the udev rule does from the next. */

/* A /dev/vfio/GROUP node's owner and mode. */
typedef struct {
  int group;
  guint32 uid, gid;
  guint32 mode;              /* permission bits */
} QlVfioNodeOwner;

/* driver -> module (sysfs bus/pci/drivers/DRIVER/module) for the drivers
 * the devices have; a driver without a module is built in and left out. */
GHashTable *ql_setup_read_driver_modules (const char *sysfs, const QlPciHost *pci);

/* The initramfs command of the tool /etc configures (initramfs-tools,
 * dracut, mkinitcpio); NULL when none is found. */
const char *ql_setup_initramfs_command (const char *etc);

/* FALSE (QL_ERROR_HOST) when DEVFS/vfio/GROUP belongs to a user other
 * than root and uid: another user's host-setup gave them the group; TRUE
 * when there is no such node. */
gboolean ql_setup_vfio_node_check (const char *devfs, int group, uid_t uid, GError **error);

/* Gives DEVFS/vfio/GROUP to uid, mode 0600.  *ret_exists is FALSE (and
 * nothing changes) when the node is not there (the group is not on
 * vfio-pci now); *ret_before is how it was.  Refuses a node that is not a
 * character device. */
gboolean ql_setup_vfio_node_give (const char *devfs, int group, uid_t uid, QlVfioNodeOwner *ret_before,
                                  gboolean *ret_exists, GError **error);

/* Puts a node given to uid back as before was; a node that is gone, or
 * that belongs to someone else by now, is left alone (said in *ret_done). */
gboolean ql_setup_vfio_node_restore (const char *devfs, const QlVfioNodeOwner *before, uid_t uid, char **ret_done,
                                     GError **error);
