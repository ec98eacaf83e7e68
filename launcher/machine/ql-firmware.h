#pragma once

#include <glib.h>

/* QEMU firmware descriptors (docs/interop/firmware.json): JSON files in
 * /usr/share/qemu/firmware, /etc/qemu/firmware and
 * $XDG_CONFIG_HOME/qemu/firmware; a file of the same name in a later
 * directory of that list overrides an earlier one, and descriptors are
 * ranked by file name. */

typedef struct {
  char *path;
  char *description;
  GStrv interface_types;   /* "uefi", "bios", ... */
  char *device;            /* "flash", "memory", ... */
  char *executable;
  char *executable_format;
  char *nvram_template;    /* NULL for firmware without a varstore */
  GStrv machines;          /* x86_64 machine globs, e.g. "pc-q35-*" */
  GStrv features;          /* "secure-boot", "enrolled-keys", "requires-smm", ... */
} QlFirmwareDescriptor;

void ql_firmware_descriptor_free (QlFirmwareDescriptor *descriptor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlFirmwareDescriptor, ql_firmware_descriptor_free)

QlFirmwareDescriptor *ql_firmware_descriptor_parse (const char *path, const char *json, GError **error);


gboolean ql_firmware_has_feature (const QlFirmwareDescriptor *descriptor, const char *feature);

/* The best UEFI flash firmware for q35 on x86_64, with or without Secure
 * Boot (secure: keys enrolled, SMM required).  Borrowed from descriptors. */
const QlFirmwareDescriptor *ql_firmware_select_uefi (GPtrArray *descriptors, gboolean secure_boot,
                                                     GError **error);
