#pragma once

#include <glib.h>
#include "ql-setup-manifest.h"
#include "ql-setup-plan.h"

/* What host-setup refuses before anything changes (QL_ERROR_HOST, every
 * problem named): what the plan refused (risky devices without --force,
 * bridges root did not allow, more memory than the host can spare); a VM
 * whose record (previous) is another user's; a group whose /dev/vfio node
 * another user owns or that another VM's udev rule gives to another user;
 * a tap that cannot be the user's (ql_net_host_check_persistent ()); a
 * file of the plan's names that host-setup did not write. */
gboolean ql_setup_check_plan (const QlSetupPlan *plan, const QlSetupManifest *previous, GError **error);

/* Adds to the plan's notes the other VMs' files that set vfio-pci ids=
 * too: modprobe keeps only the last. */
void ql_setup_note_other_ids (QlSetupPlan *plan);
