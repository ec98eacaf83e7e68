#pragma once

#include <glib.h>

/* Reads a device's ROM through sysfs: enable the ROM BAR ("1" to
 * DEVICE/rom), read it, disable it again ("0", also after a failure).
 * Errors explain the usual causes (no ROM BAR, a ROM shadowed by the system
 * firmware or a device never initialised). */
GBytes *ql_rom_read_sysfs (const char *sysfs_root, const char *address, GError **error);
