#pragma once

#include <glib.h>
#include "ql-host-plan.h"
#include "ql-journal.h"
#include "ql-stages.h"

/* Applies a host plan in order, journaling each step before it is made:
 * writes the SSDT and the varstore, grows hugepage pools, binds devices to
 * vfio-pci (loading it first), creates bridges and taps.  The fds QEMU
 * inherits (taps and vhost-net, also of persistent taps) go to passed_fds
 * (QlPassedFd).  Each step is a stage of stages (may be NULL).  Before each step interrupted (may be NULL) is asked
 * whether to go on.  On failure the caller undoes the journal
 * (ql_host_undo ()) and closes passed_fds. */
gboolean ql_host_apply (const QlHostPlan *plan, const QlMachine *machine, QlJournal *journal,
                        GArray *passed_fds, QlStages *stages, gboolean (*interrupted) (gpointer data),
                        gpointer data, GError **error);

/* The host as it is now, planned for machine (host/ql-host-state.c and
 * ql_host_plan_build ()). */
QlHostPlan *ql_host_plan_for_machine (const QlMachine *machine, GError **error);
