#pragma once

#include <glib.h>
#include "ql-machine.h"
#include "ql-qmp-client.h"

/* [vm] inhibit-sleep: logind's sleep lock, held by the supervisor while
 * the VM runs.  block: the host does not suspend.  delay: it may, and the
 * guest is paused first (QMP stop, then the lock goes, so logind goes on)
 * and continued once the host woke (cont, and the lock is taken again).
 * The lock is an fd: it dies with the supervisor, so it needs no journal. */

typedef struct _QlSleepInhibitor QlSleepInhibitor;

/* "block", "delay", or NULL for none; auto is block when [pci] devices
 * are passed through. */
const char *ql_sleep_inhibit_mode (const QlMachine *machine);

/* Takes the lock the profile asks for.  NULL without error when it asks
 * for none, or when, with auto, logind cannot be reached (a warning says
 * so); with block or delay asked for explicitly, that is an error. */
QlSleepInhibitor *ql_sleep_inhibitor_take (const QlMachine *machine, GError **error);

/* delay: the QMP client (a reference is kept) that pauses and continues
 * the guest.  Without one the lock is only given up and taken again. */
void ql_sleep_inhibitor_set_qmp (QlSleepInhibitor *inhibitor, QlQmpClient *qmp);

/* Gives the lock up (closes its fd) and stops watching for sleep; a QMP
 * command still pending finishes without effect.  NULL-safe. */
void ql_sleep_inhibitor_free (QlSleepInhibitor *inhibitor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlSleepInhibitor, ql_sleep_inhibitor_free)
