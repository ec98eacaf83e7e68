#include "ql-cpu-topology.h"
#include "ql-error.h"
#include "ql-value.h"

void
ql_cpu_topology_free (QlCpuTopology *topology)
{
  if (topology == NULL)
    return;
  g_array_unref (topology->cpus);
  g_free (topology);
}

const QlHostCpu *
ql_cpu_topology_find (const QlCpuTopology *t, guint cpu)
{
  for (guint i = 0; i < t->cpus->len; i++)
    if (g_array_index (t->cpus, QlHostCpu, i).cpu == cpu)
      return &g_array_index (t->cpus, QlHostCpu, i);
  return NULL;
}

char *
ql_cpu_topology_describe_online (const QlCpuTopology *t)
{
  g_autoptr(GArray) cpus = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < t->cpus->len; i++)
    g_array_append_val (cpus, g_array_index (t->cpus, QlHostCpu, i).cpu);
  return ql_value_format_cpu_set (cpus);
}

gboolean
ql_cpu_topology_check_online (const QlCpuTopology *t, const GArray *cpus, const char *what, GError **error)
{
  for (guint i = 0; cpus != NULL && i < cpus->len; i++)
    if (ql_cpu_topology_find (t, g_array_index (cpus, guint, i)) == NULL)
      {
        g_autofree char *online = ql_cpu_topology_describe_online (t);
        g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: host CPU %u is not online on this host (online CPUs %s)",
                     what, g_array_index (cpus, guint, i), online);
        return FALSE;
      }
  return TRUE;
}
