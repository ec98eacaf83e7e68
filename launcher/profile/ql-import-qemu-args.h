#pragma once

#include <glib.h>
#include "ql-import.h"

/* QEMU options found in a foreign configuration (libvirt's
 * <qemu:commandline>, Proxmox's args:), mapped onto profile keys where
 * qlaunch has them: -set device.ID.PROP= of a passed-through device
 * (x-pci-*-id, romfile, rombar, x-vga), -acpitable file=, -fw_cfg
 * name=opt/…,file=, -cpu's model and hiding flags.  The rest goes to
 * [qemu] args with a warning. */

/* A device the foreign configuration names by an id (libvirt's alias
 * hostdev0 or ua-NAME, Proxmox's hostpci0): either a [pci NAME] section,
 * or a mediated device that stays a -device in [qemu] args (no [mdev]
 * section yet), whose properties collect here until it is written. */
typedef struct {
  char *group;           /* "pci NAME"; NULL for an mdev */
  char *driver;          /* mdev: vfio-pci, or what -set device.ID.driver= says */
  GPtrArray *props;      /* mdev: "key=value", in order */
  guint line;
} QlImportDevice;

/* id → QlImportDevice*, owned */
GHashTable *ql_import_devices_new (void);
QlImportDevice *ql_import_device_add (GHashTable *devices, const char *id, const char *group, guint line);

/* Sets a property of an mdev record, replacing an earlier one of the same key. */
void ql_import_device_set_prop (QlImportDevice *device, const char *key, const char *value);

/* Maps args (what follows a QEMU binary) onto the profile.  what names
 * their origin for warnings ("<qemu:commandline>", "args"). */
void ql_import_qemu_args (QlImport *import, GHashTable *devices, guint line, const char *what,
                          const char *const *args);

/* One property of a device by id (-set, <qemu:override>); FALSE when the
 * id names no device (the caller keeps it). */
gboolean ql_import_device_property (QlImport *import, GHashTable *devices, guint line, const char *id,
                                    const char *key, const char *value);

/* Writes each mdev record as -device args in [qemu] args, with a warning
 * that says how to create the mediated device first.  ids in order. */
void ql_import_write_mdevs (QlImport *import, GHashTable *devices, const GPtrArray *ids);

/* "10de" from "0x10de", "10de" or a decimal "4318"; NULL when not a 16-bit number. */
char *ql_import_hex16 (const char *value, gboolean decimal);
