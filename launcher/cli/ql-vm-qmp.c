#include "ql-commands.h"
#include "ql-error.h"
#include "ql-paths.h"
#include "ql-runtime.h"
#include "ql-runtime-files.h"

QlQmpClient *
ql_cmd_connect_vm (const char *name, guint timeout_ms, QlRuntimeState **ret_state, GError **error)
{
  g_autofree char *runtime_dir = ql_paths_runtime_dir (name);
  g_autofree char *socket = g_build_filename (runtime_dir, QL_RUNTIME_QMP_SOCKET, NULL);
  g_autoptr(QlRuntimeState) state = NULL;
  g_autoptr(QlQmpClient) qmp = NULL;

  if (!ql_lock_is_held (runtime_dir) || (state = ql_runtime_state_read (runtime_dir, NULL)) == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_NOT_RUNNING, "VM '%s' is not running", name);
      return NULL;
    }
  if (state->qemu.pid == 0 || !g_file_test (socket, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_NOT_RUNNING, "VM '%s' is still starting; try again in a moment", name);
      return NULL;
    }
  qmp = ql_qmp_client_connect_unix (socket, error);
  if (qmp == NULL || !ql_qmp_client_handshake_sync (qmp, timeout_ms, error))
    return NULL;
  if (ret_state != NULL)
    *ret_state = g_steal_pointer (&state);
  return g_steal_pointer (&qmp);
}
