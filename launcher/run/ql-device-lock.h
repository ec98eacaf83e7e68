#pragma once

#include <glib.h>

/* A device node that only one VM may use at a time (Looking Glass's
 * /dev/kvmfr0: one memory for every process that maps it), held with an
 * flock() by the supervisor for the VM's life; the kernel drops it however
 * the supervisor ends.  Returns the fd that holds it (close it to let go),
 * or -1: QL_ERROR_BUSY when another VM holds it. */
int ql_device_lock_take (const char *path, const char *label, GError **error);
