#pragma once

#include <glib.h>
#include "ql-import.h"

/* A profile from a Proxmox VE VM configuration (/etc/pve/qemu-server/VMID.conf,
 * qm.conf(5)).  vmid (from the file name; 0 when unknown) names mdev UUIDs and
 * volumes.  Every key is either mapped onto a profile key, kept in [qemu]
 * args, or named in a warning with its line; snapshot sections are skipped
 * with a note.  NULL with QL_ERROR_PROFILE when a line is not "key: value". */
QlImport *ql_import_proxmox (const char *data, const char *source, guint vmid, GError **error);
