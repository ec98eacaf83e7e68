#pragma once

#include <glib.h>
#include "ql-host-plan.h"

/* [vm] run-as, as the host answers it: who starts the VM, who QEMU is to
 * run as (the profile's run-as; for root under sudo, the user who ran sudo;
 * else root, with a note), that user in the user database, and the owner
 * and mode of every path QEMU opens (state->run_as, ->run_as_paths).
 * Fails naming the profile's file, line and key for a user the host does
 * not have, and for a start by a user that names someone else. */
gboolean ql_run_as_read (const QlMachine *m, const char *devfs, QlHostState *state, GError **error);

/* The owner and mode of PATH (or that it does not exist) into PATHS
 * (path -> QlPathInfo), once. */
void ql_run_as_read_path (GHashTable *paths, const char *path);
