#pragma once

#include <glib.h>
#include "ql-unit.h"

/* qlaunch-generator: a systemd generator (systemd.generator(7)) that makes
 * a unit for every profile with [vm] autostart = true. */

typedef struct {
  const char *output_dir;  /* the generator's "normal" directory */
  QlUnitScope scope;
  const char *qlaunch;     /* the absolute path the units run */
} QlGeneratorOptions;

/* Which manager runs the generator: SYSTEMD_SCOPE (systemd 251 and later),
 * else the generator directory in argv0, else root means the system's. */
QlUnitScope ql_generator_scope (const char *argv0);

/* For each profile in the profile directories (those 'qlaunch list' reads,
 * in their order) with autostart = true, writes OUTPUT/qlaunch-NAME.service
 * (0644) and the symlink OUTPUT/TARGET.wants/qlaunch-NAME.service, TARGET
 * default.target (user) or multi-user.target (system).  A profile that
 * cannot be read or used, or whose VM name an earlier profile has, is
 * logged as a warning naming the file (and line and key) and skipped; the
 * others are still written.  FALSE with error only when the output cannot
 * be written.  ret_written and ret_refused count units and skipped profiles. */
gboolean ql_generator_run (const QlGeneratorOptions *options, guint *ret_written, guint *ret_refused,
                           GError **error);
