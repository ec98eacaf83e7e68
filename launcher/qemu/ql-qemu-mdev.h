#pragma once

#include <glib.h>
#include "ql-machine.h"

/* The [mdev] sections' -device options, appended to args (char*, owned
 * by args' free function or not: each added string is newly allocated). */
void ql_qemu_mdev_add_args (GPtrArray *args, const QlMachine *machine);

/* "/sys/bus/mdev/devices/UUID": where QEMU finds an mdev (always the real
 * sysfs: QEMU opens it, whatever root qlaunch reads the host under). */
char *ql_qemu_mdev_sysfsdev (const char *uuid);
