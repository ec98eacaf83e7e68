#pragma once

#include <glib.h>
#include "ql-host-facts.h"
#include "ql-machine.h"
#include "ql-profile.h"
#include "ql-stages.h"

/* The left half of a start, shared by 'start', 'argv': find and validate the
 * profile, look at the host, resolve the machine, build the argv.  No side
 * effects. */
typedef struct {
  QlProfile *profile;
  QlHostFacts *host;
  QlMachine *machine;
  GStrv argv;
} QlPrepared;

void ql_prepared_free (QlPrepared *prepared);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlPrepared, ql_prepared_free)

QlPrepared *ql_prepare (const char *name_or_path, GError **error);
/* The same, timing its stages (reading the profile, scanning the host, planning) */
QlPrepared *ql_prepare_staged (const char *name_or_path, QlStages *stages, GError **error);
/* What host-setup plans from: the same, except that nothing the profile
 * names is run or opened (no QEMU asked what it can do, no disk probed), as
 * root reads a user's profile then. */
QlPrepared *ql_prepare_for_setup (const char *name_or_path, GError **error);
