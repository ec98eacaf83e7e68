#include "ql-pin-plan.h"
#include "ql-error.h"
#include "ql-value.h"

void
ql_pin_plan_free (QlPinPlan *plan)
{
  if (plan == NULL)
    return;
  g_clear_pointer (&plan->vcpus, g_array_unref);
  g_clear_pointer (&plan->emulator, g_array_unref);
  g_clear_pointer (&plan->iothreads, g_array_unref);
  g_free (plan);
}

static GArray *
copy_or_null (const GArray *cpus)
{
  return cpus ? g_array_copy ((GArray *) cpus) : NULL;
}

QlPinPlan *
ql_pin_plan_copy (const QlPinPlan *plan)
{
  QlPinPlan *copy = g_new0 (QlPinPlan, 1);

  copy->vcpus = copy_or_null (plan->vcpus);
  copy->emulator = copy_or_null (plan->emulator);
  copy->iothreads = copy_or_null (plan->iothreads);
  copy->memory_node = plan->memory_node;
  return copy;
}

/* ---- pin=auto ---- */

typedef struct {
  guint first;         /* lowest CPU: the core's key */
  guint package, l3, node;
  GArray *threads;     /* guint, ascending */
  gboolean taken;
} HostCore;

static void
host_core_clear (HostCore *core)
{
  g_array_unref (core->threads);
}

/* The host's cores in the order of their lowest CPU. */
static GArray *
host_cores (const QlCpuTopology *t)
{
  GArray *cores = g_array_new (FALSE, TRUE, sizeof (HostCore));

  g_array_set_clear_func (cores, (GDestroyNotify) host_core_clear);
  for (guint i = 0; i < t->cpus->len; i++)
    {
      const QlHostCpu *cpu = &g_array_index (t->cpus, QlHostCpu, i);
      HostCore *core = NULL;

      for (guint j = 0; j < cores->len && core == NULL; j++)
        if (g_array_index (cores, HostCore, j).first == cpu->core)
          core = &g_array_index (cores, HostCore, j);
      if (core == NULL)
        {
          HostCore fresh = { .first = cpu->core, .package = cpu->package, .l3 = cpu->l3, .node = cpu->node,
                             .threads = g_array_new (FALSE, FALSE, sizeof (guint)) };
          g_array_append_val (cores, fresh);
          core = &g_array_index (cores, HostCore, cores->len - 1);
        }
      g_array_append_val (core->threads, cpu->cpu);
    }
  return cores;
}

static guint
count_free (GArray *cores, guint threads, const HostCore *like)
{
  guint n = 0;

  for (guint i = 1; i < cores->len; i++)
    {
      HostCore *c = &g_array_index (cores, HostCore, i);
      if (!c->taken && c->threads->len >= threads && (like == NULL || (c->l3 == like->l3 && c->node == like->node)))
        n++;
    }
  return n;
}

/* Takes n free cores for one guest socket: from the first L3 cache (and
 * node) with room for all of them, else from wherever they are. */
static void
take_cores (GArray *cores, guint threads, guint n, GPtrArray *out, gboolean *ret_spread)
{
  const HostCore *home = NULL;

  for (guint i = 1; i < cores->len && home == NULL; i++)
    {
      HostCore *c = &g_array_index (cores, HostCore, i);
      if (!c->taken && c->threads->len >= threads && count_free (cores, threads, c) >= n)
        home = c;
    }
  *ret_spread = home == NULL;
  for (guint i = 1; i < cores->len && n > 0; i++)
    {
      HostCore *c = &g_array_index (cores, HostCore, i);
      if (c->taken || c->threads->len < threads || (home != NULL && (c->l3 != home->l3 || c->node != home->node)))
        continue;
      c->taken = TRUE;
      g_ptr_array_add (out, c);
      n--;
    }
}

static guint
max_threads_per_core (GArray *cores)
{
  guint max = 0;

  for (guint i = 0; i < cores->len; i++)
    max = MAX (max, g_array_index (cores, HostCore, i).threads->len);
  return max;
}

GArray *
ql_pin_auto (const QlCpuTopology *t, guint sockets, guint cores_per_socket, guint threads, char **ret_note,
             GError **error)
{
  g_autoptr(GArray) cores = host_cores (t);
  g_autoptr(GPtrArray) chosen = g_ptr_array_new ();
  g_autoptr(GArray) vcpus = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree char *reserved_set = ql_value_format_cpu_set (g_array_index (cores, HostCore, 0).threads);
  gboolean reserved_many = g_array_index (cores, HostCore, 0).threads->len > 1;
  g_autofree char *reserved = g_strdup_printf ("CPU%s %s", reserved_many ? "s" : "", reserved_set);
  guint needed = sockets * cores_per_socket;
  guint available = count_free (cores, threads, NULL);
  guint smt = max_threads_per_core (cores);
  gboolean spread = FALSE;
  g_autofree char *vcpu_set = NULL, *last_vcpu = NULL;

  if (available < needed)
    {
      g_autofree char *online = ql_cpu_topology_describe_online (t);
      g_autofree char *hint = NULL;

      if (threads > smt)
        hint = g_strdup_printf ("; this host's cores have %u thread%s each: set threads=%u, or list the CPUs with pin=",
                                smt, smt == 1 ? "" : "s", smt);
      else if (threads == 1 && smt > 1 && count_free (cores, smt, NULL) * smt >= needed)
        hint = g_strdup_printf ("; with threads=%u (and cores= divided by %u) the guest also uses each core's SMT "
                                "siblings", smt, smt);
      else
        hint = g_strdup ("; lower cores=, or list the CPUs with pin=");
      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "auto needs %u host core%s with %u thread%s each for sockets=%u cores=%u threads=%u, and this host "
                   "has %u besides its first core (%s), which stays with the host (online CPUs %s)%s",
                   needed, needed == 1 ? "" : "s", threads, threads == 1 ? "" : "s", sockets, cores_per_socket,
                   threads, available, reserved, online, hint);
      return NULL;
    }
  for (guint s = 0; s < sockets; s++)
    {
      gboolean socket_spread;
      take_cores (cores, threads, cores_per_socket, chosen, &socket_spread);
      spread |= socket_spread;
    }
  for (guint v = 0; v < needed * threads; v++)
    {
      HostCore *core = chosen->pdata[v / threads];
      g_array_append_val (vcpus, g_array_index (core->threads, guint, v % threads));
    }
  vcpu_set = ql_value_format_cpu_set (vcpus);
  last_vcpu = vcpus->len > 1 ? g_strdup_printf ("-%u", vcpus->len - 1) : g_strdup ("");
  *ret_note = g_strdup_printf ("pin=auto: vCPU%s 0%s on host CPU%s %s, one guest core per host core%s; "
                               "%s stay%s with the host", vcpus->len > 1 ? "s" : "",
                               last_vcpu,
                               vcpus->len > 1 ? "s" : "", vcpu_set,
                               spread ? " (a guest socket spans L3 caches: the host has no room in one)" : "",
                               reserved, reserved_many ? "" : "s");
  return g_steal_pointer (&vcpus);
}

/* ---- the profile's keys ---- */

/* The online CPUs that no vCPU is pinned to. */
static GArray *
cpus_left (const QlCpuTopology *t, const GArray *vcpus)
{
  GArray *left = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < t->cpus->len; i++)
    {
      guint cpu = g_array_index (t->cpus, QlHostCpu, i).cpu;
      gboolean used = FALSE;
      for (guint j = 0; j < vcpus->len && !used; j++)
        used = g_array_index (vcpus, guint, j) == cpu;
      if (!used)
        g_array_append_val (left, cpu);
    }
  return left;
}

/* emulator-pin= or iothread-pin=: a set, or auto for the CPUs the vCPUs leave. */
static gboolean
resolve_set (const QlCpuPin *pin, const QlCpuTopology *t, const GArray *vcpus, GArray **ret, GError **error)
{
  if (pin->mode == QL_PIN_NONE)
    return TRUE;
  if (pin->mode == QL_PIN_LIST)
    {
      if (!ql_cpu_topology_check_online (t, pin->cpus, pin->where, error))
        return FALSE;
      *ret = g_array_copy (pin->cpus);
      return TRUE;
    }
  *ret = cpus_left (t, vcpus);
  if ((*ret)->len == 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "%s: auto means the host CPUs the vCPUs leave free, and they use every one; list the CPUs",
                   pin->where);
      return FALSE;
    }
  return TRUE;
}

static int
common_node (const QlCpuTopology *t, const GArray *vcpus)
{
  int node = -1;

  if (t->n_nodes < 2)
    return -1;
  for (guint i = 0; i < vcpus->len; i++)
    {
      const QlHostCpu *cpu = ql_cpu_topology_find (t, g_array_index (vcpus, guint, i));
      if (node >= 0 && (guint) node != cpu->node)
        return -1;
      node = cpu->node;
    }
  return node;
}

QlPinPlan *
ql_pin_plan_resolve (const QlProfile *p, const QlCpuTopology *t, GPtrArray *notes, GError **error)
{
  g_autoptr(QlPinPlan) plan = NULL;
  g_autoptr(GArray) no_vcpus = g_array_new (FALSE, FALSE, sizeof (guint));

  if (!ql_profile_pins_threads (p))
    return NULL;
  plan = g_new0 (QlPinPlan, 1);
  plan->memory_node = -1;

  if (p->cpu.pin.mode == QL_PIN_LIST)
    {
      if (!ql_cpu_topology_check_online (t, p->cpu.pin.cpus, p->cpu.pin.where, error))
        return NULL;
      plan->vcpus = g_array_copy (p->cpu.pin.cpus);
    }
  else if (p->cpu.pin.mode == QL_PIN_AUTO)
    {
      g_autofree char *note = NULL;
      g_autoptr(GError) local_error = NULL;

      plan->vcpus = ql_pin_auto (t, p->cpu.sockets, p->cpu.cores, p->cpu.threads, &note, &local_error);
      if (plan->vcpus == NULL)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: %s", p->cpu.pin.where, local_error->message);
          return NULL;
        }
      g_ptr_array_add (notes, g_steal_pointer (&note));
    }

  if (!resolve_set (&p->cpu.emulator_pin, t, plan->vcpus ? plan->vcpus : no_vcpus, &plan->emulator, error) ||
      !resolve_set (&p->cpu.iothread_pin, t, plan->vcpus ? plan->vcpus : no_vcpus, &plan->iothreads, error))
    return NULL;

  if (plan->vcpus != NULL)
    {
      plan->memory_node = common_node (t, plan->vcpus);
      if (plan->memory_node >= 0)
        g_ptr_array_add (notes, g_strdup_printf ("guest memory comes from NUMA node %d, where every vCPU is pinned",
                                                 plan->memory_node));
    }
  return g_steal_pointer (&plan);
}

/* ---- runtime file ---- */

static void
set_cpus (JsonObject *o, const char *name, const GArray *cpus, gboolean ordered)
{
  g_autofree char *text = NULL;

  if (cpus == NULL)
    return;
  text = ordered ? ql_value_format_cpu_list (cpus) : ql_value_format_cpu_set (cpus);
  json_object_set_string_member (o, name, text);
}

JsonNode *
ql_pin_plan_to_json (const QlPinPlan *plan)
{
  JsonObject *o = json_object_new ();
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  set_cpus (o, "vcpus", plan->vcpus, TRUE);
  set_cpus (o, "emulator", plan->emulator, FALSE);
  set_cpus (o, "iothreads", plan->iothreads, FALSE);
  json_object_set_int_member (o, "memory-node", plan->memory_node);
  json_node_take_object (node, o);
  return node;
}

static gboolean
get_cpus (JsonObject *o, const char *name, GArray **ret, GError **error)
{
  const char *text = json_object_get_string_member_with_default (o, name, NULL);
  g_autofree char *message = NULL;

  if (text == NULL)
    return TRUE;
  if (!ql_value_parse_cpu_list (text, ret, &message))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s: %s", name, message);
      return FALSE;
    }
  return TRUE;
}

QlPinPlan *
ql_pin_plan_from_json (JsonNode *node, GError **error)
{
  g_autoptr(QlPinPlan) plan = g_new0 (QlPinPlan, 1);
  JsonObject *o = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

  if (o == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "a pinning plan is not a JSON object");
      return NULL;
    }
  if (!get_cpus (o, "vcpus", &plan->vcpus, error) || !get_cpus (o, "emulator", &plan->emulator, error) ||
      !get_cpus (o, "iothreads", &plan->iothreads, error))
    return NULL;
  plan->memory_node = json_object_get_int_member_with_default (o, "memory-node", -1);
  return g_steal_pointer (&plan);
}
