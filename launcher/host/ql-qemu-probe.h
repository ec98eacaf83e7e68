#pragma once

#include <glib.h>
#include "ql-qemu-caps.h"

/* Asks a QEMU binary what it can do: runs it once as
 * 'BINARY -machine none -nodefaults -no-user-config -display none -qmp stdio'
 * and sends query-version, query-machines, query-command-line-options,
 * qom-list-properties generic-pc-machine and device-list-properties of
 * vfio-pci and vfio-pci-nohotplug.  Gives up after timeout_ms. */
QlQemuCaps *ql_qemu_caps_probe (const char *binary, guint timeout_ms, GError **error);

/* The caps of binary from the cache in cache_dir (one JSON file per binary,
 * valid while the binary's path, size and modification time are the same),
 * else probed and written there.  A cache file that does not read back
 * whole and valid is probed again, never trusted; a cache that cannot be
 * written is only logged. */
QlQemuCaps *ql_qemu_caps_get (const char *binary, const char *cache_dir, GError **error);

/* The cache file of binary in cache_dir. */
char *ql_qemu_caps_cache_path (const char *binary, const char *cache_dir);
