#pragma once

#include "ql-qmp-client.h"

/* The service manager's watchdog, fed only while QEMU answers: every half
 * interval (WATCHDOG_USEC) the supervisor sends QMP query-status and, once
 * the reply is in, WATCHDOG=1.  A QEMU whose main loop hangs answers
 * nothing, the pings stop, and the manager acts (WatchdogSec=).  A query
 * still unanswered when the next is due is not repeated.  No-op without a
 * watchdog.  One per process: the supervisor runs one VM. */

/* Starts feeding through qmp (a reference is kept until ql_watchdog_stop). */
void ql_watchdog_start (QlQmpClient *qmp);

/* Stops, cancelling a query in flight; idempotent. */
void ql_watchdog_stop (void);
