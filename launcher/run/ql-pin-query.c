#include "ql-pin-query.h"

GPtrArray *
ql_pin_query_threads (QlQmpClient *qmp, gint64 pid, guint timeout_ms, GError **error)
{
  g_autoptr(JsonNode) cpus_fast = ql_qmp_client_execute_sync (qmp, "query-cpus-fast", NULL, timeout_ms, error);
  g_autoptr(JsonNode) iothreads = NULL;

  if (cpus_fast == NULL)
    return NULL;
  iothreads = ql_qmp_client_execute_sync (qmp, "query-iothreads", NULL, timeout_ms, error);
  if (iothreads == NULL)
    return NULL;
  return ql_pin_list_threads (pid, cpus_fast, iothreads, error);
}
