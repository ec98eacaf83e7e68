#pragma once

#include <glib.h>
#include "ql-cpu-topology.h"
#include "ql-profile.h"
#include <json-glib/json-glib.h>

/* Which host CPUs each of QEMU's threads may run on: the profile's [cpu]
 * pin keys resolved against the host's topology, without I/O. */
typedef struct {
  GArray *vcpus;       /* guint host CPU per vCPU, in vCPU order; NULL: not pinned */
  GArray *emulator;    /* guint host CPU set for QEMU's other threads; NULL: not pinned */
  GArray *iothreads;   /* guint host CPU set shared by the iothreads; NULL: not pinned */
  int memory_node;     /* the one NUMA node of every pinned vCPU on a multi-node host; -1 */
} QlPinPlan;

void ql_pin_plan_free (QlPinPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlPinPlan, ql_pin_plan_free)

QlPinPlan *ql_pin_plan_copy (const QlPinPlan *plan);

/* NULL without error when the profile pins nothing.  What pin=auto chose
 * goes to notes, one line each. */
QlPinPlan *ql_pin_plan_resolve (const QlProfile *profile, const QlCpuTopology *topology, GPtrArray *notes,
                                GError **error);

/* pin=auto: host CPU per vCPU for a guest of sockets × cores × threads.
 * Guest cores go on whole host cores, guest SMT siblings on host SMT
 * siblings, a guest socket within one L3 cache and NUMA node where one has
 * room; the first host core stays with the host. */
GArray *ql_pin_auto (const QlCpuTopology *topology, guint sockets, guint cores, guint threads, char **ret_note,
                     GError **error);

/* {"vcpus": [..], "emulator": "0-1", "iothreads": "2"}: what 'qlaunch pin' re-applies. */
JsonNode *ql_pin_plan_to_json (const QlPinPlan *plan);
QlPinPlan *ql_pin_plan_from_json (JsonNode *node, GError **error);
