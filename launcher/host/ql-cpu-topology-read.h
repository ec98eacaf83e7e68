#pragma once

#include <glib.h>
#include "ql-cpu-topology.h"

/* Reads SYSFS/devices/system/{cpu,node}. */
QlCpuTopology *ql_cpu_topology_read (const char *sysfs, GError **error);
