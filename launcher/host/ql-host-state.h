#pragma once

#include <glib.h>
#include "ql-host-plan.h"
#include "ql-machine.h"

/* The host as the machine's plan needs to see it: the PCI devices it
 * passes through (with their groups and who holds them), the hugepage
 * pool, whether the varstore exists, and the NICs' links.  Reads only. */
QlHostState *ql_host_state_read (const QlMachine *machine, const char *sysfs, const char *procfs,
                                 const char *devfs, GError **error);

/* Scans sysfs and procfs for the requested devices and plans their
 * passthrough (ql_vfio_plan_build ()); no side effects. */
QlVfioPlan *ql_host_vfio_plan_for_requests (GPtrArray *requests, const char *sysfs, const char *procfs,
                                            const char *devfs, GError **error);

/* Who has the device's /dev nodes open now: *ret_who "PID 123 (Xorg)
 * through /dev/dri/card0, …", or NULL when no one does. */
gboolean ql_host_device_holders (const char *address, const char *sysfs, const char *procfs, const char *devfs,
                                 char **ret_who, GError **error);
