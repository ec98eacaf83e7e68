#pragma once

#include <glib.h>
#include <signal.h>

/* SIGTERM, SIGINT and SIGHUP as a source of the thread-default main
 * context: the handler runs in whichever thread the kernel picks (the main
 * thread, in practice) and only writes an eventfd that the main loop polls,
 * so a stop reaches the supervisor's main loop without the hop through
 * GLib's worker thread that g_unix_signal_add takes.  Signals that come
 * together may be seen as one, as with g_unix_signal_add. */
typedef struct QlStopSignals QlStopSignals;

QlStopSignals *ql_stop_signals_watch (GSourceFunc callback, gpointer user_data, GError **error);

/* Puts the default actions back and removes the source. */
void ql_stop_signals_free (QlStopSignals *signals);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlStopSignals, ql_stop_signals_free)

/* Around a fork: blocked in the parent, so that the child starts with them
 * blocked; there, before anything else, the default actions are put back
 * and they are unblocked.  Without that, a signal between fork and exec
 * would run the parent's handler in the child, which writes 8 bytes to an
 * fd number that may by then be one of QEMU's (its QMP socket, a tap). */
void ql_stop_signals_block (sigset_t *saved);
void ql_stop_signals_restore (const sigset_t *saved);
void ql_stop_signals_reset_in_child (void);
