#pragma once

#include <glib.h>

/* Records type as the VM's machine type in its state dir (atomically). */
gboolean ql_machine_pin_write (const char *state_dir, const char *type, GError **error);
