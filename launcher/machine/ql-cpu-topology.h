#pragma once

#include <glib.h>

/* The host's online CPUs as sysfs describes them: which core (SMT
 * siblings), package, last-level cache and NUMA node each belongs to. */

typedef struct {
  guint cpu;
  guint package;
  guint core;      /* the lowest CPU among its SMT siblings */
  guint l3;        /* the lowest CPU sharing its L3 cache; its package when unknown */
  guint node;      /* 0 on a host without NUMA */
} QlHostCpu;

typedef struct {
  GArray *cpus;    /* QlHostCpu by CPU number, online ones only */
  guint n_nodes;
} QlCpuTopology;

void ql_cpu_topology_free (QlCpuTopology *topology);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlCpuTopology, ql_cpu_topology_free)


/* NULL when cpu is not online. */
const QlHostCpu *ql_cpu_topology_find (const QlCpuTopology *topology, guint cpu);

/* FALSE with "WHAT: host CPU N is not online on this host (online CPUs …)"
 * when one of cpus (guint; may be NULL) is not online. */
gboolean ql_cpu_topology_check_online (const QlCpuTopology *topology, const GArray *cpus, const char *what,
                                       GError **error);

/* The online CPUs as a kernel cpulist, for messages. */
char *ql_cpu_topology_describe_online (const QlCpuTopology *topology);
