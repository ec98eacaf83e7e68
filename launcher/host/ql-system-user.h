#pragma once

#include <glib.h>

/* qlaunch's own system user: whom QEMU runs as when root starts a VM whose
 * profile has no [vm] run-as and no sudo says who asked (the way libvirt
 * runs its QEMUs as libvirt-qemu).  Made once by 'qlaunch host-setup
 * --system-user' with the distribution's useradd, removed by --undo. */
#define QL_SYSTEM_USER "qlaunch"
/* the highest uid a system user gets (login.defs' SYS_UID_MAX default) */
#define QL_SYSTEM_UID_MAX 999

/* Whether the user exists and is a system user (0 < uid <= QL_SYSTEM_UID_MAX);
 * FALSE with an error when the name belongs to a user that is not one. */
gboolean ql_system_user_lookup (gboolean *ret_exists, GError **error);

/* Makes the user (no home, no login shell, a group of its own); says what it
 * did, or with dry_run would do, in out.  An existing system user is left. */
gboolean ql_system_user_create (gboolean dry_run, GString *out, GError **error);

/* Removes the user made by ql_system_user_create (never a user that is not a
 * system user); refused by userdel while a QEMU still runs as it. */
gboolean ql_system_user_remove (GString *out, GError **error);
