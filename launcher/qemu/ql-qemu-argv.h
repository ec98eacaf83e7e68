#pragma once

#include <glib.h>
#include "ql-machine.h"

/* The complete qemu-system-x86_64 argv for a machine, argv[0] included,
 * NULL-terminated.  Pure: no I/O.  QEMU starts paused (-S); the supervisor
 * continues it over QMP once connected.  Every user value inside an option
 * is escaped. */
GStrv ql_qemu_argv_build (const QlMachine *machine);

/* One argument per line, each quoted for a POSIX shell when it needs it. */
char *ql_qemu_argv_format (const char *const *argv);
