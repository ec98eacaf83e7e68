#pragma once

#include <glib.h>
#include <sys/types.h>

/* The service manager's notification protocol (sd_notify(3), without
 * libsystemd): datagrams to the unix socket in $NOTIFY_SOCKET.  Every call
 * is a no-op when qlaunch was not started by a service manager that asked
 * for them.  Sending is best effort and never blocks: a failure (no
 * manager, or its queue full) is logged at debug level and ignored, since
 * the VM must not stop because its manager went away or fell behind. */

/* Takes NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID out of the
 * environment (so that QEMU, started later, does not inherit them) and
 * keeps them for the calls below.  Call once, early in main, before any
 * thread exists. */
void ql_notify_init (void);

/* Whether a notify socket was given. */
gboolean ql_notify_enabled (void);

/* Sends state, newline-separated "KEY=VALUE" assignments, as one datagram.
 * FALSE with error when the socket cannot be reached; TRUE when disabled. */
gboolean ql_notify_send (const char *state, GError **error);

/* "STATUS=what" (and nothing else). */
void ql_notify_status (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* "EXTEND_TIMEOUT_USEC=usec" with "STATUS=what": a step that may outlast
 * the unit's start timeout (compacting memory for hugepages, preallocating
 * guest memory) is under way; the manager waits usec more from now. */
void ql_notify_extend_timeout (guint64 usec, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* "READY=1" with "STATUS=running": the guest runs (after QMP cont). */
void ql_notify_ready (void);

/* "STOPPING=1" with "STATUS=stopping: what". */
void ql_notify_stopping (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* "STOPPING=1" with "STATUS=stopping: RUNG" or "STATUS=stopping: RUNG
 * PRESS/PRESSES" (the power button's presses); press 0: no count. */
void ql_notify_ladder (const char *rung, guint press, guint presses);

/* "MAINPID=pid": the supervisor is another process than the one started
 * (start --detach forks it). */
void ql_notify_main_pid (pid_t pid);

/* The watchdog interval the manager asked this process for (WATCHDOG_USEC,
 * when WATCHDOG_PID is unset or ours); 0: none. */
guint64 ql_notify_watchdog_usec (void);

/* "WATCHDOG=1". */
void ql_notify_watchdog_ping (void);
