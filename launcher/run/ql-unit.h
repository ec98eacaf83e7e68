#pragma once

#include "ql-supervisor.h"

#include <glib.h>
#include "ql-profile.h"

/* The systemd unit of a VM, as text: what 'qlaunch unit' prints and
 * installs and what qlaunch-generator writes.  Pure: no I/O. */

typedef enum {
  QL_UNIT_SCOPE_USER,      /* the user's service manager (systemctl --user) */
  QL_UNIT_SCOPE_SYSTEM,    /* PID 1 */
} QlUnitScope;

/* The first line of every unit 'qlaunch unit --install' writes: a file
 * without it is someone else's and is never overwritten. */
#define QL_UNIT_MARKER "# qlaunch-unit:"

/* What the stop ladder needs beyond the profile's [shutdown] timeout: the
 * supervisor's grace after QMP quit and after SIGTERM, and the host given
 * back afterwards (a few sysfs writes, each bounded by
 * QLAUNCH_SYSFS_TIMEOUT_MS, 10 s). */
#define QL_UNIT_QUIT_GRACE_S QL_SUPERVISOR_QUIT_GRACE_S
#define QL_UNIT_TERM_GRACE_S QL_SUPERVISOR_TERM_GRACE_S
#define QL_UNIT_TEARDOWN_S 30

typedef struct {
  const QlProfile *profile;
  const char *qlaunch;     /* the absolute path ExecStart= runs */
  QlUnitScope scope;
  const char *header;      /* comment lines put first ("# ...\n"), or NULL */
} QlUnitOptions;

/* "qlaunch-NAME.service", NAME with every byte other than [A-Za-z0-9:_.-]
 * written \xNN as systemd-escape does; QL_ERROR_FAILED when the result
 * would be longer than a unit name may be. */
char *ql_unit_name (const char *vm_name, GError **error);

/* TimeoutStopSec= for a profile: its shutdown timeout and the margins above. */
guint ql_unit_stop_timeout_s (const QlProfile *profile);

/* default.target for the user manager, multi-user.target for the system. */
const char *ql_unit_wanted_by (QlUnitScope scope);

/* The unit: Type=notify, ExecStart= 'qlaunch start PROFILE --no-console',
 * ExecStop= 'qlaunch stop NAME', ExecStopPost= 'qlaunch recover NAME',
 * KillMode=mixed, the [systemd] dependencies.  QL_ERROR_FAILED when the
 * qlaunch path is not absolute or a value cannot be written in a unit file. */
char *ql_unit_text (const QlUnitOptions *options, GError **error);
