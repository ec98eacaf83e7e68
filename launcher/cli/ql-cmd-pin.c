#include "ql-commands.h"
#include "ql-cpu-topology.h"
#include "ql-error.h"
#include "ql-paths.h"
#include "ql-pin-query.h"
#include "ql-profile.h"
#include "ql-runtime.h"
#include "ql-value.h"
#include "ql-runtime-files.h"
#include "ql-json.h"
#include "ql-cpu-topology-read.h"

#define PIN_QMP_TIMEOUT_MS 3000

/* "none" unpins; anything else is a CPU list. */
static gboolean
override (const char *option, const char *text, GArray **cpus, GError **error)
{
  g_autofree char *message = NULL;
  GArray *parsed = NULL;

  if (text == NULL)
    return TRUE;
  if (g_ascii_strcasecmp (text, "none") != 0 && !ql_value_parse_cpu_list (text, &parsed, &message))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "--%s: %s, or none", option, message);
      return FALSE;
    }
  g_clear_pointer (cpus, g_array_unref);
  *cpus = parsed;
  return TRUE;
}

static guint
count_vcpus (const GPtrArray *threads)
{
  guint n = 0;

  for (guint i = 0; i < threads->len; i++)
    if (((QlPinThread *) threads->pdata[i])->kind == QL_PIN_THREAD_VCPU)
      n++;
  return n;
}

static gboolean
pin_running_vm (const char *name, const char *vcpus, const char *emulator, const char *iothreads,
                JsonNode **ret_threads, GError **error)
{
  g_autofree char *runtime_dir = ql_paths_runtime_dir (name);
  g_autofree char *plan_path = g_build_filename (runtime_dir, QL_RUNTIME_PIN_PLAN, NULL);
  g_autofree char *socket = g_build_filename (runtime_dir, QL_RUNTIME_QMP_SOCKET, NULL);
  g_autoptr(QlRuntimeState) state = NULL;
  g_autoptr(QlPinPlan) plan = NULL;
  g_autoptr(QlCpuTopology) topology = NULL;
  g_autoptr(QlQmpClient) qmp = NULL;
  g_autoptr(GPtrArray) threads = NULL;
  g_autoptr(JsonNode) plan_json = NULL;

  if (!ql_lock_is_held (runtime_dir) || (state = ql_runtime_state_read (runtime_dir, NULL)) == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_NOT_RUNNING, "VM '%s' is not running", name);
      return FALSE;
    }
  if (g_file_test (plan_path, G_FILE_TEST_EXISTS))
    {
      g_autoptr(JsonObject) o = ql_json_read_object (plan_path, error);
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
      if (o == NULL)
        return FALSE;
      json_node_set_object (node, o);
      plan = ql_pin_plan_from_json (node, error);
      if (plan == NULL)
        {
          g_prefix_error (error, "%s: ", plan_path);
          return FALSE;
        }
    }
  else
    {
      plan = g_new0 (QlPinPlan, 1);
      plan->memory_node = -1;
    }
  if (!override ("vcpus", vcpus, &plan->vcpus, error) || !override ("emulator", emulator, &plan->emulator, error) ||
      !override ("iothreads", iothreads, &plan->iothreads, error))
    return FALSE;

  topology = ql_cpu_topology_read (ql_paths_sysfs (), error);
  if (topology == NULL || !ql_cpu_topology_check_online (topology, plan->vcpus, "--vcpus", error) ||
      !ql_cpu_topology_check_online (topology, plan->emulator, "--emulator", error) ||
      !ql_cpu_topology_check_online (topology, plan->iothreads, "--iothreads", error))
    return FALSE;

  qmp = ql_qmp_client_connect_unix (socket, error);
  if (qmp == NULL || !ql_qmp_client_handshake_sync (qmp, PIN_QMP_TIMEOUT_MS, error))
    return FALSE;
  threads = ql_pin_query_threads (qmp, state->qemu.pid, PIN_QMP_TIMEOUT_MS, error);
  ql_qmp_client_close (qmp);
  if (threads == NULL)
    return FALSE;
  if (plan->vcpus != NULL && plan->vcpus->len != count_vcpus (threads))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                   "--vcpus lists %u host CPUs and VM '%s' has %u vCPUs; give one host CPU per vCPU, in vCPU order",
                   plan->vcpus->len, name, count_vcpus (threads));
      return FALSE;
    }
  if (!ql_pin_apply (threads, plan, error))
    return FALSE;
  plan_json = ql_pin_plan_to_json (plan);
  if (!ql_json_write_file (plan_path, plan_json, error))
    return FALSE;
  *ret_threads = ql_pin_threads_to_json (state->qemu.pid, threads);
  return TRUE;
}

int
ql_cmd_pin (int argc, char **argv)
{
  g_autofree char *vcpus = NULL, *emulator = NULL, *iothreads = NULL;
  const GOptionEntry entries[] = {
    { "vcpus", 0, 0, G_OPTION_ARG_STRING, &vcpus, "Host CPU per vCPU, in vCPU order, or none", "LIST" },
    { "emulator", 0, 0, G_OPTION_ARG_STRING, &emulator, "Host CPUs for QEMU's other threads, or none", "SET" },
    { "iothreads", 0, 0, G_OPTION_ARG_STRING, &iothreads, "Host CPUs for the iothreads, or none", "SET" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) threads = NULL;

  g_option_context_set_summary (context,
                                "Pin a running VM's threads again, as the profile said at start (after\n"
                                "something else moved them), or change where they run.  The change lasts\n"
                                "until the VM ends; the profile's [cpu] pin keys decide the next start.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1))
    return 1;
  if (!ql_cmd_check_vm_name (argv[1]))
    return 1;
  if (!pin_running_vm (argv[1], vcpus, emulator, iothreads, &threads, &error))
    {
      ql_cmd_print_error (error);
      return 1;
    }
  g_print ("%s:\n", argv[1]);
  ql_cmd_print_threads (json_node_get_array (threads));
  return 0;
}
