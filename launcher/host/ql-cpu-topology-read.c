/* The host's CPU topology from SYSFS/devices/system/{cpu,node}. */
#include "ql-cpu-topology-read.h"
#include "ql-error.h"
#include "ql-sysfs.h"
#include "ql-value.h"

#include <string.h>

static GArray *
read_cpulist (const char *path)
{
  g_autofree char *text = ql_sysfs_read (path);
  g_autofree char *message = NULL;
  GArray *cpus = NULL;

  if (text == NULL)
    return NULL;
  if (text[0] == '\0')
    return g_array_new (FALSE, FALSE, sizeof (guint));
  if (!ql_value_parse_cpu_list (text, &cpus, &message))
    return NULL;
  return cpus;
}

static guint
lowest (const GArray *cpus, guint fallback)
{
  guint min = fallback;

  for (guint i = 0; cpus != NULL && i < cpus->len; i++)
    min = MIN (min, g_array_index (cpus, guint, i));
  return min;
}

static guint
read_uint (const char *dir, const char *name, guint fallback)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *text = ql_sysfs_read (path);
  guint64 v;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT, &v, NULL))
    return fallback;
  return (guint) v;
}

/* The lowest CPU sharing the level-3 cache with cpu_dir's CPU, or G_MAXUINT. */
static guint
read_l3 (const char *cpu_dir)
{
  for (guint i = 0; i < 8; i++)
    {
      g_autofree char *index = g_strdup_printf ("%s/cache/index%u", cpu_dir, i);
      g_autofree char *shared = g_build_filename (index, "shared_cpu_list", NULL);
      g_autoptr(GArray) cpus = NULL;

      if (read_uint (index, "level", 0) != 3)
        continue;
      cpus = read_cpulist (shared);
      return lowest (cpus, G_MAXUINT);
    }
  return G_MAXUINT;
}

static void
assign_nodes (QlCpuTopology *t, const char *sysfs)
{
  g_autofree char *nodes_dir = g_build_filename (sysfs, "devices/system/node", NULL);
  g_autoptr(GDir) dir = g_dir_open (nodes_dir, 0, NULL);
  const char *name;

  t->n_nodes = 1;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autoptr(GArray) cpus = NULL;
      guint64 node;

      if (!g_str_has_prefix (name, "node") || !g_ascii_string_to_unsigned (name + 4, 10, 0, 4095, &node, NULL))
        continue;
      path = g_build_filename (nodes_dir, name, "cpulist", NULL);
      cpus = read_cpulist (path);
      t->n_nodes = MAX (t->n_nodes, node + 1);
      for (guint i = 0; cpus != NULL && i < cpus->len; i++)
        for (guint j = 0; j < t->cpus->len; j++)
          if (g_array_index (t->cpus, QlHostCpu, j).cpu == g_array_index (cpus, guint, i))
            g_array_index (t->cpus, QlHostCpu, j).node = (guint) node;
    }
}

QlCpuTopology *
ql_cpu_topology_read (const char *sysfs, GError **error)
{
  g_autofree char *cpu_dir = g_build_filename (sysfs, "devices/system/cpu", NULL);
  g_autofree char *online_path = g_build_filename (cpu_dir, "online", NULL);
  g_autoptr(GArray) online = read_cpulist (online_path);
  g_autoptr(QlCpuTopology) t = g_new0 (QlCpuTopology, 1);

  if (online == NULL || online->len == 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot read the host's online CPUs from '%s'", online_path);
      return NULL;
    }
  t->cpus = g_array_new (FALSE, TRUE, sizeof (QlHostCpu));
  for (guint i = 0; i < online->len; i++)
    {
      guint n = g_array_index (online, guint, i);
      g_autofree char *dir = g_strdup_printf ("%s/cpu%u", cpu_dir, n);
      g_autofree char *topo_dir = g_build_filename (dir, "topology", NULL);
      g_autofree char *siblings_path = g_build_filename (topo_dir, "thread_siblings_list", NULL);
      g_autoptr(GArray) siblings = read_cpulist (siblings_path);
      QlHostCpu cpu = { .cpu = n };

      cpu.package = read_uint (topo_dir, "physical_package_id", 0);
      cpu.core = lowest (siblings, n);
      cpu.l3 = read_l3 (dir);
      if (cpu.l3 == G_MAXUINT)
        cpu.l3 = G_MAXUINT - 1 - cpu.package;   /* unknown: one cache per package */
      g_array_append_val (t->cpus, cpu);
    }
  assign_nodes (t, sysfs);
  return g_steal_pointer (&t);
}
