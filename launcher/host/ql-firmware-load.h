#pragma once

#include <glib.h>
#include "ql-firmware.h"

/* QEMU firmware descriptors: see ql-firmware.h for the search order. */

/* The descriptor search path, lowest precedence first. */
GStrv ql_firmware_default_dirs (void);

/* Every usable descriptor of dirs, ranked; unreadable or invalid files are
 * skipped with a debug message. */
GPtrArray *ql_firmware_load_all (const char *const *dirs);
