#pragma once

#include "ql-journal.h"
#include "ql-machine.h"
#include "ql-qmp-client.h"
#include "ql-qmp-relay.h"

/* The passed-through devices' life while the VM runs: taken out of the
 * guest and given back to their host driver (detach), bound to vfio-pci
 * again and put back at the same guest address with the same options
 * (attach), and where each one is now.  Every host change goes through the
 * run's journal first, so teardown and 'qlaunch recover' know which devices
 * are on vfio-pci and which are back on the host.
 *
 * Served to QMP clients through the supervisor's relay as qlaunch's own
 * commands:
 *   qlaunch-devices                       -> [{name, state, functions: [...]}]
 *   qlaunch-detach  {device, timeout?}     -> {device, functions: [...]}
 *   qlaunch-attach  {device}               -> {device, functions: [...]} */

typedef struct _QlHotplug QlHotplug;

/* argv: QEMU's, whose -device options are reused by attach. */
QlHotplug *ql_hotplug_new (const QlMachine *machine, const char *const *argv, QlQmpClient *qmp,
                           QlJournal *journal);
void ql_hotplug_serve (QlHotplug *hotplug, QlQmpRelay *relay);
void ql_hotplug_free (QlHotplug *hotplug);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlHotplug, ql_hotplug_free)

#define QL_HOTPLUG_DETACH_TIMEOUT_S 30
