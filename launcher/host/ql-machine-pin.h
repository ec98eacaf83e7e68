#pragma once

#include <glib.h>

/* The machine type a VM's first start pinned (QL_STATE_MACHINE_TYPE in its
 * state dir), read as untrusted: *ret_type NULL and TRUE when there is none
 * yet; FALSE when the file is there but not a valid pin. */
gboolean ql_machine_pin_read (const char *state_dir, char **ret_type, GError **error);
