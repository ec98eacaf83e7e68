#pragma once

#include <glib.h>
#include "ql-journal.h"
#include "ql-machine.h"
#include "ql-vfio-plan.h"

/* The host side of a start: look at the host as it is now, plan, and
 * apply the plan with every change journaled first. */

/* Scans sysfs and /proc for the devices a machine passes through (or the
 * given requests) and plans; no side effects. */
QlVfioPlan *ql_host_plan_for_requests (GPtrArray *requests, GError **error);
QlVfioPlan *ql_host_plan_for_machine (const QlMachine *machine, GError **error);

/* Loads vfio-pci if needed and binds the plan's devices, journaling each
 * before it is touched.  On failure, what was done is undone again. */
gboolean ql_host_plan_apply (const QlVfioPlan *plan, QlJournal *journal, GError **error);

/* Undoes the journaled changes, newest first, logging each one; see
 * ql_journal_undo (). */
gboolean ql_host_plan_give_back (QlJournal *journal, GError **error);
