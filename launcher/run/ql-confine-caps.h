#pragma once

#include <glib.h>

/* The capabilities a supervisor started as root keeps once QEMU runs: only
 * what teardown needs to undo this run's journal (see ql-confine-caps.c for
 * each one's reason).  steps: the journal's QlHostStep; qemu_other_user:
 * QEMU runs as another user than the supervisor ([vm] run-as), so that
 * signalling it needs CAP_KILL.  Returns the capability numbers, sorted. */
GArray *ql_confine_caps_for_run (const GPtrArray *steps, gboolean qemu_other_user);

/* "cap_kill,cap_net_admin", or "none". */
char *ql_confine_caps_describe (const GArray *keep);

/* Sets no_new_privs, then keeps exactly keep in the calling thread's
 * permitted and effective sets and its bounding set, and empties its
 * inheritable and ambient sets.  Capabilities are per thread in Linux: a
 * thread started afterwards inherits the result; GLib's "gmain" worker,
 * started before, keeps its own (see the FIXME in ql-confine.c).  A no-op
 * for a process without capabilities.  Irreversible. */
gboolean ql_confine_caps_drop (const GArray *keep, GError **error);
