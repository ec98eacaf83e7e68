#pragma once

#include <glib.h>
#include "ql-pin.h"
#include "ql-qmp-client.h"

/* QEMU's threads (see ql_pin_list_threads ()), asking a running QEMU over QMP. */
GPtrArray *ql_pin_query_threads (QlQmpClient *qmp, gint64 qemu_pid, guint timeout_ms, GError **error);
