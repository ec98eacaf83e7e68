#pragma once

#include <glib.h>
#include <sys/types.h>
#include "ql-prepare.h"
#include "ql-setup-plan.h"

/* qlaunch host-setup's side effects, behind the /etc root
 * (ql_paths_etc ()), the dev root and the state dir: the plan's files
 * written (each atomically, never through a link), the /dev/vfio nodes
 * given to the user for this boot, the taps made persistent, all of it
 * recorded in the VM's manifest (ql-setup-manifest.h) as it is done; and
 * undone from that record alone. */

/* The plan for user from the host as it is now: the devices' drivers'
 * modules and who holds them open, this host's initramfs tool, and the
 * softdep modules an earlier run recorded (the devices may be on vfio-pci
 * by now).  force: root's --force, risky devices allowed
 * (ql-setup-devices.h); bridges: those root lets the taps join (--bridge). */
QlSetupPlan *ql_host_setup_plan (const QlPrepared *prepared, const char *user, gboolean force,
                                 const char *const *bridges, GError **error);

/* What host-setup would do: the devices the user gets (with their groups'
 * other members), every file with its exact lines; changes nothing.
 * FALSE as apply would refuse (a risky device without --force, a file that
 * is not host-setup's).  Ends with the plan's digest (SHA-256 of the text
 * above it), for apply's expect. */
gboolean ql_host_setup_describe (const QlSetupPlan *plan, GString *out, GError **error);

/* Applies the plan for uid; idempotent: a file that has the text already
 * is left as it is.  Refuses, before anything changes, a VM set up for
 * another user (its --undo first), a group another user's node or another
 * VM's udev rule has, risky devices or bridges not allowed (plan->refused),
 * a tap that cannot be the user's (ql_net_host_check_persistent ()), and,
 * with expect (not NULL), a plan whose digest is not expect: not the one
 * root reviewed with the dry run.   A file of the same name that host-setup did not write
 * (or that was changed since) is never overwritten: QL_ERROR_HOST before
 * anything changes, saying how to fix it.  What was done goes to out, one
 * line each, then the commands root runs by hand and the notes. */
gboolean ql_host_setup_apply (const QlSetupPlan *plan, uid_t uid, const char *expect, GString *out,
                              GError **error);

/* Removes what the VM's manifest records, and the manifest with it: files
 * still as written, the nodes' owner before, the taps.  A file changed
 * since is left (FALSE, named in error, kept in the manifest).  Refuses
 * (QL_ERROR_HOST, nothing changed) a record made for another user than
 * user: the VM's name comes from a profile its user may edit. */
gboolean ql_host_setup_undo (const char *vm, const char *user, GString *out, GError **error);
