/* Pinning and hugepage pools against host topologies from fake sysfs
 * trees: 2-socket SMT servers, SMT laptops, non-SMT hosts.  The real
 * threads and the real pool are tested in test-vm. */
#include "fake-sysfs.h"
#include "ql-cpu-topology.h"
#include "ql-error.h"
#include "ql-hugepages.h"
#include "ql-host-undo.h"
#include "ql-journal.h"
#include "ql-pin-plan.h"
#include "ql-profile.h"
#include "ql-value.h"
#include "ql-cpu-topology-read.h"

#include <glib/gstdio.h>
#include <string.h>

static QlCpuTopology *
fake_topology (guint packages, guint cores, guint threads, char **ret_sysfs)
{
  char *sysfs = fake_sysfs_new ();
  QlCpuTopology *t;
  g_autoptr(GError) error = NULL;

  fake_sysfs_add_cpus (sysfs, packages, cores, threads, 512);
  t = ql_cpu_topology_read (sysfs, &error);
  g_assert_no_error (error);
  if (ret_sysfs != NULL)
    *ret_sysfs = sysfs;
  else
    {
      fake_sysfs_remove (sysfs);
      g_free (sysfs);
    }
  return t;
}

/* pin=auto's choice as "cpu,cpu,..." (or the error message) and its note */
static char *
auto_pin (const QlCpuTopology *t, guint sockets, guint cores, guint threads, char **ret_note)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *note = NULL;
  g_autoptr(GArray) vcpus = ql_pin_auto (t, sockets, cores, threads, &note, &error);

  if (vcpus == NULL)
    {
      g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
      return g_strdup (error->message);
    }
  g_assert_cmpuint (vcpus->len, ==, sockets * cores * threads);
  if (ret_note != NULL)
    *ret_note = g_steal_pointer (&note);
  return ql_value_format_cpu_list (vcpus);
}

static void
test_topology_read (void)
{
  g_autoptr(QlCpuTopology) t = fake_topology (2, 4, 2, NULL);
  const QlHostCpu *cpu;
  g_autofree char *online = ql_cpu_topology_describe_online (t);

  g_assert_cmpuint (t->cpus->len, ==, 16);
  g_assert_cmpuint (t->n_nodes, ==, 2);
  g_assert_cmpstr (online, ==, "0-15");
  cpu = ql_cpu_topology_find (t, 8);         /* core 0's second thread */
  g_assert_cmpuint (cpu->core, ==, 0);
  g_assert_cmpuint (cpu->package, ==, 0);
  g_assert_cmpuint (cpu->node, ==, 0);
  cpu = ql_cpu_topology_find (t, 13);        /* core 5, in package 1 */
  g_assert_cmpuint (cpu->core, ==, 5);
  g_assert_cmpuint (cpu->package, ==, 1);
  g_assert_cmpuint (cpu->node, ==, 1);
  g_assert_cmpuint (cpu->l3, ==, 4);
  g_assert_null (ql_cpu_topology_find (t, 16));
}

/* The machine the tests run on: whatever it is, the reading is consistent. */
static void
test_topology_this_host (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlCpuTopology) t = ql_cpu_topology_read ("/sys", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (t->cpus->len, ==, g_get_num_processors ());
  for (guint i = 0; i < t->cpus->len; i++)
    {
      const QlHostCpu *cpu = &g_array_index (t->cpus, QlHostCpu, i);
      g_assert_cmpuint (cpu->core, <=, cpu->cpu);
      g_assert_nonnull (ql_cpu_topology_find (t, cpu->core));
      g_assert_cmpuint (cpu->node, <, t->n_nodes);
    }
}

static void
test_auto_two_sockets_smt (void)
{
  g_autoptr(QlCpuTopology) t = fake_topology (2, 4, 2, NULL);
  g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *note = NULL, *spread_note = NULL;

  /* one guest socket per host socket, sibling threads together; core 0 (CPUs 0,8) stays with the host */
  a = auto_pin (t, 2, 3, 2, &note);
  g_assert_cmpstr (a, ==, "1,9,2,10,3,11,4,12,5,13,6,14");
  g_assert_cmpstr (note, ==, "pin=auto: vCPUs 0-11 on host CPUs 1-6,9-14, one guest core per host core; "
                             "CPUs 0,8 stay with the host");
  /* four guest cores do not fit beside the host's core in package 0: all of package 1 */
  b = auto_pin (t, 1, 4, 2, NULL);
  g_assert_cmpstr (b, ==, "4,12,5,13,6,14,7,15");
  /* six cores fit in no one L3 cache: spread, and said so */
  c = auto_pin (t, 1, 6, 2, &spread_note);
  g_assert_cmpstr (c, ==, "1,9,2,10,3,11,4,12,5,13,6,14");
  g_assert_nonnull (strstr (spread_note, "a guest socket spans L3 caches"));
  /* threads=1: one vCPU per host core, the sibling left idle */
  d = auto_pin (t, 1, 3, 1, NULL);
  g_assert_cmpstr (d, ==, "1,2,3");
}

static void
test_auto_no_smt (void)
{
  g_autoptr(QlCpuTopology) t = fake_topology (1, 8, 1, NULL);
  g_autofree char *a = auto_pin (t, 1, 4, 1, NULL);
  g_autofree char *b = auto_pin (t, 1, 2, 2, NULL);
  g_autofree char *c = auto_pin (t, 1, 8, 1, NULL);

  g_assert_cmpstr (a, ==, "1,2,3,4");
  g_assert_cmpstr (b, ==, "auto needs 2 host cores with 2 threads each for sockets=1 cores=2 threads=2, and this "
                          "host has 0 besides its first core (CPU 0), which stays with the host (online CPUs 0-7); "
                          "this host's cores have 1 thread each: set threads=1, or list the CPUs with pin=");
  g_assert_cmpstr (c, ==, "auto needs 8 host cores with 1 thread each for sockets=1 cores=8 threads=1, and this "
                          "host has 7 besides its first core (CPU 0), which stays with the host (online CPUs 0-7); "
                          "lower cores=, or list the CPUs with pin=");
}

static void
test_auto_laptop (void)
{
  g_autoptr(QlCpuTopology) t = fake_topology (1, 4, 2, NULL);
  g_autofree char *a = auto_pin (t, 1, 3, 2, NULL);
  g_autofree char *b = auto_pin (t, 1, 6, 1, NULL);

  g_assert_cmpstr (a, ==, "1,5,2,6,3,7");
  g_assert_cmpstr (b, ==, "auto needs 6 host cores with 1 thread each for sockets=1 cores=6 threads=1, and this "
                          "host has 3 besides its first core (CPUs 0,4), which stays with the host (online CPUs 0-7); "
                          "with threads=2 (and cores= divided by 2) the guest also uses each core's SMT siblings");
}

static QlProfile *
profile (const char *text)
{
  g_autoptr(GError) error = NULL;
  QlProfile *p = ql_profile_load_from_data (text, "/vm.ini", &error);

  g_assert_no_error (error);
  return p;
}

static void
test_resolve (void)
{
  g_autoptr(QlCpuTopology) server = fake_topology (2, 4, 2, NULL);
  g_autoptr(QlCpuTopology) small = fake_topology (1, 2, 1, NULL);
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) listed = profile ("[cpu]\ncores = 2\npin = 3,11\nemulator-pin = auto\niothreads = 1\n"
                                         "iothread-pin = 0,8\n");
  g_autoptr(QlProfile) offline = profile ("[cpu]\ncores = 2\npin = 1,16\n");
  g_autoptr(QlProfile) crowded = profile ("[cpu]\ncores = 2\npin = 0,1\nemulator-pin = auto\n");
  g_autoptr(QlProfile) unpinned = profile ("[cpu]\ncores = 2\n");
  g_autoptr(QlProfile) automatic = profile ("[cpu]\ncores = 2\nthreads = 2\npin = auto\n");
  g_autoptr(QlPinPlan) plan = ql_pin_plan_resolve (listed, server, notes, &error);
  g_autoptr(QlPinPlan) auto_plan = NULL;
  g_autofree char *vcpus = NULL, *emulator = NULL, *iothreads = NULL;

  g_assert_no_error (error);
  vcpus = ql_value_format_cpu_list (plan->vcpus);
  emulator = ql_value_format_cpu_set (plan->emulator);
  iothreads = ql_value_format_cpu_list (plan->iothreads);
  g_assert_cmpstr (vcpus, ==, "3,11");
  g_assert_cmpstr (emulator, ==, "0-2,4-10,12-15");   /* every CPU but the vCPUs' */
  g_assert_cmpstr (iothreads, ==, "0,8");
  g_assert_cmpint (plan->memory_node, ==, 0);       /* both vCPUs on node 0 */
  g_assert_cmpuint (notes->len, ==, 1);
  g_assert_cmpstr (notes->pdata[0], ==, "guest memory comes from NUMA node 0, where every vCPU is pinned");

  g_assert_null (ql_pin_plan_resolve (offline, server, notes, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_cmpstr (error->message, ==, "/vm.ini:3: [cpu] pin: host CPU 16 is not online on this host (online CPUs 0-15)");
  g_clear_error (&error);

  g_assert_null (ql_pin_plan_resolve (crowded, small, notes, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_cmpstr (error->message, ==, "/vm.ini:4: [cpu] emulator-pin: auto means the host CPUs the vCPUs leave "
                                       "free, and they use every one; list the CPUs");
  g_clear_error (&error);

  g_assert_null (ql_pin_plan_resolve (unpinned, small, notes, &error));
  g_assert_no_error (error);

  g_assert_null (ql_pin_plan_resolve (automatic, small, notes, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_true (g_str_has_prefix (error->message, "/vm.ini:4: [cpu] pin: auto needs 2 host cores with 2 threads"));
  g_clear_error (&error);

  auto_plan = ql_pin_plan_resolve (automatic, server, notes, &error);
  g_assert_no_error (error);
  g_free (vcpus);
  vcpus = ql_value_format_cpu_list (auto_plan->vcpus);
  g_assert_cmpstr (vcpus, ==, "1,9,2,10");
  g_assert_null (auto_plan->emulator);
}

static void
test_plan_json (void)
{
  QlPinPlan plan = { .memory_node = 1 };
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(QlPinPlan) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *vcpus = NULL, *emulator = NULL;
  guint v[] = { 5, 4, 4 }, e[] = { 0, 1, 2, 8 };

  plan.vcpus = g_array_new (FALSE, FALSE, sizeof (guint));
  g_array_append_vals (plan.vcpus, v, G_N_ELEMENTS (v));
  plan.emulator = g_array_new (FALSE, FALSE, sizeof (guint));
  g_array_append_vals (plan.emulator, e, G_N_ELEMENTS (e));
  node = ql_pin_plan_to_json (&plan);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "emulator"), ==, "0-2,8");
  back = ql_pin_plan_from_json (node, &error);
  g_assert_no_error (error);
  vcpus = ql_value_format_cpu_list (back->vcpus);
  emulator = ql_value_format_cpu_list (back->emulator);
  g_assert_cmpstr (vcpus, ==, "5,4,4");
  g_assert_cmpstr (emulator, ==, "0,1,2,8");
  g_assert_null (back->iothreads);
  g_assert_cmpint (back->memory_node, ==, 1);
  g_array_unref (plan.vcpus);
  g_array_unref (plan.emulator);
}

static void
set_count (const char *sysfs, const char *pool_dir, const char *name, guint64 value)
{
  g_autofree char *path = g_build_filename (sysfs, pool_dir, name, NULL);
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", value);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
test_hugepage_pools (void)
{
  g_autofree char *sysfs = NULL;
  g_autoptr(QlCpuTopology) t = fake_topology (2, 2, 1, &sysfs);
  g_autoptr(QlHugepagePool) pool = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *any = NULL, *node1 = NULL;

  set_count (sysfs, "devices/system/node/node1/hugepages/hugepages-2048kB", "free_hugepages", 100);
  set_count (sysfs, "kernel/mm/hugepages/hugepages-2048kB", "free_hugepages", 612);
  set_count (sysfs, "kernel/mm/hugepages/hugepages-2048kB", "resv_hugepages", 12);
  pool = ql_hugepages_read (sysfs, 2048, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pool->total, ==, 1024);
  g_assert_cmpuint (pool->nodes->len, ==, 2);
  g_assert_cmpuint (ql_hugepages_available (pool, -1), ==, 600);   /* free less the promised */
  g_assert_cmpuint (ql_hugepages_available (pool, 1), ==, 100);
  any = ql_hugepages_describe_shortfall (pool, 4096, -1);
  g_assert_cmpstr (any, ==, "4096 × 2 MiB, 600 free (node 0: 512, node 1: 100); 12 more are promised to other mappings");
  node1 = ql_hugepages_describe_shortfall (pool, 4096, 1);
  g_assert_cmpstr (node1, ==, "4096 × 2 MiB on node 1, 100 free; 12 more are promised to other mappings");

  g_assert_null (ql_hugepages_read (sysfs, 1048576, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_true (g_str_has_prefix (error->message, "This host's kernel has no 1 GiB hugepages"));
  fake_sysfs_remove (sysfs);
}

/* The journal shrinks a pool by what the start added, never below what was
 * there before: after a start that grew it, and after one that died first. */
static void
test_hugepage_journal (void)
{
  g_autofree char *sysfs = NULL;
  g_autoptr(QlCpuTopology) t = fake_topology (1, 2, 1, &sysfs);
  g_autofree char *runtime = g_dir_make_tmp ("ql-journal-XXXXXX", NULL);
  const char *pool_dir = "kernel/mm/hugepages/hugepages-2048kB";
  g_autoptr(GError) error = NULL;
  guint64 total;

  for (int grown = 1; grown >= 0; grown--)
    {
      g_autoptr(QlJournal) j = ql_journal_new (runtime);
      g_autoptr(QlJournal) loaded = NULL;

      set_count (sysfs, pool_dir, "nr_hugepages", 3);
      g_autoptr(QlHostStep) step = ql_host_step_new (QL_HOST_STEP_HUGEPAGES, "[memory]");

      step->pool = g_strdup (pool_dir);
      step->before = 3;
      step->added = 64;
      g_assert_true (ql_journal_record (j, step, &error));
      if (grown)
        set_count (sysfs, pool_dir, "nr_hugepages", 3 + 64);
      loaded = ql_journal_load (runtime, "/nonexistent", &error);
      g_assert_no_error (error);
      g_assert_true (ql_host_undo (loaded, sysfs, FALSE, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (ql_hugepages_read_total (sysfs, pool_dir, &total, &error));
      g_assert_cmpuint (total, ==, 3);
      g_assert_false (ql_journal_exists (runtime));
    }
  g_rmdir (runtime);
  fake_sysfs_remove (sysfs);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pin/topology/read", test_topology_read);
  g_test_add_func ("/pin/topology/this-host", test_topology_this_host);
  g_test_add_func ("/pin/auto/two-sockets-smt", test_auto_two_sockets_smt);
  g_test_add_func ("/pin/auto/no-smt", test_auto_no_smt);
  g_test_add_func ("/pin/auto/laptop", test_auto_laptop);
  g_test_add_func ("/pin/resolve", test_resolve);
  g_test_add_func ("/pin/plan-json", test_plan_json);
  g_test_add_func ("/hugepages/pools", test_hugepage_pools);
  g_test_add_func ("/hugepages/journal", test_hugepage_journal);
  return g_test_run ();
}
