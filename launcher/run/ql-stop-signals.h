#pragma once

#include <glib.h>

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

/* For a forked child before exec: the default actions back, so that a
 * signal there does not reach the parent's main loop. */
void ql_stop_signals_reset_in_child (void);
