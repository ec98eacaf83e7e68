/* Pinning and hugepages for real: qlaunch starts real QEMU with the test
 * guest; the tests read every thread's affinity from /proc and the
 * kernel's hugepage pool from sysfs, and put the pool back as it was. */
#include "vm-harness.h"
#include "fake-sysfs.h"
#include "ql-runtime.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static char *hugepage_skip_reason;
static char *hugetlbfs_dir;
static guint64 pool_at_start;   /* nr_hugepages before the tests; restored after */

#define POOL "/sys/kernel/mm/hugepages/hugepages-2048kB/"

/* ---- threads ---- */

static char *
task_field (gint64 pid, const char *tid, const char *file, const char *field)
{
  g_autofree char *path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/task/%s/%s", pid, tid, file);
  g_autofree char *text = NULL;
  const char *line;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  if (field == NULL)
    return g_strstrip (g_steal_pointer (&text));
  line = strstr (text, field);
  g_assert_nonnull (line);
  line += strlen (field);
  return g_strstrip (g_strndup (line, strcspn (line, "\n")));
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* "comm=Cpus_allowed_list" of every thread of QEMU, sorted and without
 * repeats, one per line; threads QEMU does not name for their job as "other".  The thread pool's workers come and go with the
 * I/O; each runs where the thread that made it (the main loop or an
 * iothread) runs, so it must have one of the affinities in workers_may. */
static char *
thread_affinities (gint64 pid, const char *const *workers_may)
{
  g_autofree char *dir_path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/task", pid);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) out = g_string_new (NULL);
  const char *tid;

  g_assert_nonnull (dir);
  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *comm = task_field (pid, tid, "comm", NULL);
      g_autofree char *cpus = task_field (pid, tid, "status", "Cpus_allowed_list:");
      char *line;

      if (comm == NULL || cpus == NULL)
        continue;   /* a worker that just ended */
      if (g_strcmp0 (comm, "worker") == 0)
        {
          g_assert_true (g_strv_contains (workers_may, cpus));
          continue;
        }
      /* the main loop and call_rcu, which QEMU names only sometimes */
      line = g_strdup_printf ("%s=%s", g_str_has_prefix (comm, "CPU ") || g_str_has_prefix (comm, "IO ") ? comm : "other",
                              cpus);
      if (!g_ptr_array_find_with_equal_func (lines, line, g_str_equal, NULL))
        g_ptr_array_add (lines, line);
      else
        g_free (line);
    }
  g_ptr_array_sort (lines, compare_strings);
  for (guint i = 0; i < lines->len; i++)
    g_string_append_printf (out, "%s\n", (char *) lines->pdata[i]);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gint64
thread_named (gint64 pid, const char *name)
{
  g_autofree char *dir_path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/task", pid);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *tid;

  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *comm = task_field (pid, tid, "comm", NULL);
      if (g_strcmp0 (comm, name) == 0)
        return g_ascii_strtoll (tid, NULL, 10);
    }
  g_assert_not_reached ();
}

/* What 'qlaunch status --json' says about each thread agrees with /proc. */
static void
assert_status_agrees (const char *name, gint64 pid)
{
  g_autoptr(JsonObject) status = status_json (name);
  JsonArray *threads = json_object_get_array_member (status, "threads");
  guint vcpus = 0, iothreads = 0;

  g_assert_nonnull (threads);
  for (guint i = 0; i < json_array_get_length (threads); i++)
    {
      JsonObject *t = json_array_get_object_element (threads, i);
      g_autofree char *tid = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (t, "tid"));
      g_autofree char *cpus = task_field (pid, tid, "status", "Cpus_allowed_list:");
      const char *kind = json_object_get_string_member (t, "kind");

      if (cpus == NULL)
        continue;
      g_assert_cmpstr (json_object_get_string_member (t, "cpus"), ==, cpus);
      vcpus += g_strcmp0 (kind, "vcpu") == 0;
      iothreads += g_strcmp0 (kind, "iothread") == 0;
    }
  g_assert_cmpuint (vcpus, ==, 2);
  g_assert_cmpuint (iothreads, ==, 1);
}

static char *
write_profile (const char *name, const char *extra)
{
  g_autofree char *disk = g_build_filename (tmp_root, "data.img", NULL);
  g_autofree char *sections = g_strdup_printf ("[disk data]\nfile = %s\nformat = raw\nbus = virtio\n%s", disk, extra);

  if (!g_file_test (disk, G_FILE_TEST_EXISTS))
    {
      g_autofree char *zeros = g_malloc0 (1 << 20);
      g_assert_true (g_file_set_contents (disk, zeros, 1 << 20, NULL));
    }
  return write_guest_profile (name, "ignore-acpi", "", sections);
}

static gboolean
qemu_of_vm_runs (const char *name)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  g_autofree char *needle = g_strdup_printf ("guest=%s,", name);
  const char *entry;

  while ((entry = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%s/cmdline", entry);
      g_autofree char *cmdline = NULL;
      gsize len;

      if (!g_ascii_isdigit (entry[0]) || !g_file_get_contents (path, &cmdline, &len, NULL))
        continue;
      for (gsize i = 0; i + 1 < len; i++)
        if (cmdline[i] == '\0')
          cmdline[i] = ' ';
      if (strstr (cmdline, needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

static gboolean
skip_unless_two_cpus (void)
{
  if (skip_if_unavailable ())
    return TRUE;
  if (g_get_num_processors () < 2)
    {
      g_test_skip ("pinning tests need two host CPUs to tell pinned from unpinned");
      return TRUE;
    }
  return FALSE;
}

/* Explicit pins, seen in /proc for every thread; qlaunch pin moves them,
 * and re-applies the plan after something else moved one. */
static void
test_pin_explicit (void)
{
  g_autofree char *path = NULL, *threads = NULL, *out = NULL;
  g_autoptr(QlQmpClient) client = NULL;
  g_autoptr(JsonNode) iothread = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *plan = runtime_file ("pinned", "pin.json");
  cpu_set_t both;
  gint64 pid;

  if (skip_unless_two_cpus ())
    return;
  path = write_profile ("pinned", "[cpu]\ncores = 2\npin = 1,0\nemulator-pin = 0\niothreads = 1\n"
                                  "iothread-pin = 1\n[memory]\nsize = 128M\n");
  proc = start_foreground (path);
  wait_running ("pinned");
  pid = status_pid ("pinned", "qemu-pid");

  threads = thread_affinities (pid, (const char *[]) { "0", "1", NULL });
  g_assert_cmpstr (threads, ==, "CPU 0/TCG=1\nCPU 1/TCG=0\nIO io0=1\nIO mon_iothread=0\n"
                                "other=0\n");
  assert_status_agrees ("pinned", pid);
  /* the virtio disk is served by the iothread */
  client = qmp_connect ("pinned");
  iothread = qmp_with (client, "qom-get", "path", "/machine/peripheral/disk-data/virtio-backend", "property",
                       "iothread", NULL);
  g_assert_cmpstr (json_node_get_string (iothread), ==, "/objects/io0");
  ql_qmp_client_close (client);

  /* moved at run time */
  g_assert_cmpint (run_qlaunch (&out, NULL, "pin", "pinned", "--vcpus", "0,0", "--emulator", "1", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "vCPU 1           thread"));
  g_free (threads);
  threads = thread_affinities (pid, (const char *[]) { "1", NULL });
  g_assert_cmpstr (threads, ==, "CPU 0/TCG=0\nCPU 1/TCG=0\nIO io0=1\nIO mon_iothread=1\n"
                                "other=1\n");

  /* something else moves a vCPU; qlaunch pin puts it back where the plan says */
  CPU_ZERO (&both);
  CPU_SET (0, &both);
  CPU_SET (1, &both);
  g_assert_cmpint (sched_setaffinity ((pid_t) thread_named (pid, "CPU 1/TCG"), sizeof both, &both), ==, 0);
  g_free (threads);
  threads = thread_affinities (pid, (const char *[]) { "1", NULL });
  g_assert_cmpstr (threads, ==, "CPU 0/TCG=0\nCPU 1/TCG=0-1\nIO io0=1\nIO mon_iothread=1\n"
                                "other=1\n");
  g_assert_cmpint (run_qlaunch (NULL, NULL, "pin", "pinned", NULL), ==, 0);
  g_free (threads);
  threads = thread_affinities (pid, (const char *[]) { "1", NULL });
  g_assert_cmpstr (threads, ==, "CPU 0/TCG=0\nCPU 1/TCG=0\nIO io0=1\nIO mon_iothread=1\n"
                                "other=1\n");

  /* and back to no pinning at all */
  g_assert_cmpint (run_qlaunch (NULL, NULL, "pin", "pinned", "--vcpus", "none", "--emulator", "none",
                                "--iothreads", "none", NULL), ==, 0);
  g_free (threads);
  threads = thread_affinities (pid, (const char *[]) { "0-1", NULL });
  g_assert_cmpstr (threads, ==, "CPU 0/TCG=0-1\nCPU 1/TCG=0-1\nIO io0=0-1\nIO mon_iothread=0-1\n"
                                "other=0-1\n");

  g_assert_true (g_file_test (plan, G_FILE_TEST_EXISTS));
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "pinned", NULL), ==, 0);
  wait_exit (proc, NULL);
  assert_nothing_left ("pinned");
}

/* The first CPU of the host's cores, other than the first core, in CPU
 * order: where pin=auto puts the vCPUs of a guest with threads=1. */
static GArray *
cores_after_the_first (void)
{
  GArray *firsts = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint cpu = 0; cpu < 4096; cpu++)
    {
      g_autofree char *path = g_strdup_printf ("/sys/devices/system/cpu/cpu%u/topology/thread_siblings_list", cpu);
      g_autofree char *text = NULL;

      if (!g_file_get_contents (path, &text, NULL, NULL))
        continue;
      if ((guint) g_ascii_strtoull (text, NULL, 10) == cpu)   /* lowest of its siblings: a core's first */
        g_array_append_val (firsts, cpu);
    }
  g_array_remove_index (firsts, 0);
  return firsts;
}

/* pin=auto on this host: the vCPU on the second core, QEMU's other
 * threads unpinned; a guest larger than the host is refused
 * before QEMU starts, and nothing is left. */
static void
test_pin_auto (void)
{
  g_autoptr(GArray) cores = NULL;
  g_autofree char *path = NULL, *threads = NULL, *expected = NULL, *err = NULL, *too_big = NULL, *extra = NULL;
  g_autofree char *all = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  gint64 pid;

  if (skip_unless_two_cpus ())
    return;
  cores = cores_after_the_first ();
  if (cores->len == 0)
    {
      g_test_skip ("this host has a single core: pin=auto leaves it to the host and has nothing to give");
      return;
    }
  path = write_profile ("auto", "[cpu]\ncores = 1\npin = auto\n[memory]\nsize = 128M\n");
  proc = start_foreground (path);
  wait_running ("auto");
  pid = status_pid ("auto", "qemu-pid");
  all = g_strdup_printf ("0-%u", g_get_num_processors () - 1);
  threads = thread_affinities (pid, (const char *[]) { all, NULL });
  expected = g_strdup_printf ("CPU 0/TCG=%u\nIO mon_iothread=%s\nother=%s\n",
                              g_array_index (cores, guint, 0), all, all);
  g_assert_cmpstr (threads, ==, expected);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "auto", NULL), ==, 0);
  wait_exit (proc, NULL);
  assert_nothing_left ("auto");

  extra = g_strdup_printf ("[cpu]\ncores = %u\npin = auto\n[memory]\nsize = 128M\n", cores->len + 1);
  too_big = write_profile ("too-big", extra);
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", too_big, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "too-big.ini:14: [cpu] pin: auto needs "));
  g_assert_nonnull (strstr (err, "which stays with the host"));
  assert_nothing_left ("too-big");
  g_assert_false (qemu_of_vm_runs ("too-big"));
}

/* A pin the kernel refuses (a CPU this host lacks, though a fake sysfs
 * claims it): the start fails with the reason, QEMU is gone and nothing
 * is left. */
static void
test_pin_refused (void)
{
  g_autofree char *sysfs = NULL, *path = NULL, *err = NULL, *extra = NULL, *message = NULL;
  guint missing = g_get_num_processors ();

  if (skip_if_unavailable ())
    return;
  sysfs = fake_sysfs_new ();
  fake_sysfs_add_cpus (sysfs, 1, missing + 1, 1, 0);
  extra = g_strdup_printf ("[cpu]\ncores = 2\npin = 0,%u\n[memory]\nsize = 128M\n", missing);
  path = write_profile ("refused", extra);
  g_setenv ("QLAUNCH_SYSFS", sysfs, TRUE);
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", path, NULL), ==, 1);
  g_unsetenv ("QLAUNCH_SYSFS");
  message = g_strdup_printf ("to host CPU %u: Invalid argument (the CPUs are offline, or outside the cpuset "
                             "qlaunch runs in)", missing);
  g_assert_nonnull (strstr (err, "VM 'refused' did not start: Cannot pin vCPU 1 (thread "));
  g_assert_nonnull (strstr (err, message));
  assert_nothing_left ("refused");
  g_assert_false (qemu_of_vm_runs ("refused"));
  fake_sysfs_remove (sysfs);
}

/* ---- hugepages ---- */

static guint64
pool_count (const char *file)
{
  g_autofree char *path = g_strconcat (POOL, file, NULL);
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return g_ascii_strtoull (text, NULL, 10);
}

static void
set_pool (guint64 pages)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", pages);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents_full (POOL "nr_hugepages", text, -1, G_FILE_SET_CONTENTS_NONE, 0644, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pool_count ("nr_hugepages"), ==, pages);
}

/* The pool with exactly `spare` free pages beside the ones in use. */
static guint64
pool_with_free (guint64 spare)
{
  guint64 in_use = pool_count ("nr_hugepages") - pool_count ("free_hugepages");

  set_pool (in_use + spare);
  return in_use + spare;
}

static gboolean
skip_without_hugepages (void)
{
  if (skip_if_unavailable ())
    return TRUE;
  if (hugepage_skip_reason != NULL)
    {
      g_test_skip (hugepage_skip_reason);
      return TRUE;
    }
  return FALSE;
}

/* Too few free pages and no allocate=true: the exact shortfall and the
 * fix, before QEMU starts; the pool is untouched. */
static void
test_hugepages_shortfall (void)
{
  g_autofree char *path = NULL, *err = NULL;
  guint64 pool;

  if (skip_without_hugepages ())
    return;
  pool = pool_with_free (5);
  path = write_profile ("hp-short", "[memory]\nsize = 128M\nhugepages = 2M\n");
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", path, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "hp-short.ini:14: [memory] hugepages: VM 'hp-short' needs 64 × 2 MiB on node 0, "
                                 "5 free; run 'qlaunch hugepages reserve 128M' or set allocate=true in [memory]"));
  g_assert_null (strstr (err, "unable to map backing store"));
  g_assert_cmpuint (pool_count ("nr_hugepages"), ==, pool);
  assert_nothing_left ("hp-short");
  g_assert_false (qemu_of_vm_runs ("hp-short"));
}

/* allocate=true grows the pool by what is missing, the guest runs from
 * it, and the pool shrinks back by exactly that when the VM ends; with
 * pinned vCPUs the preallocation runs on a thread per vCPU. */
static void
test_hugepages_allocate (void)
{
  g_autofree char *path = NULL, *out = NULL, *serial = NULL, *smaps = NULL, *smaps_text = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  guint64 pool;

  if (skip_without_hugepages ())
    return;
  pool = pool_with_free (3);
  path = write_profile ("hp-alloc", "[cpu]\ncores = 2\npin = 0,1\n"
                                    "[memory]\nsize = 128M\nhugepages = 2M\nallocate = true\n");
  proc = start_foreground (path);
  wait_running ("hp-alloc");
  /* 61 more pages, all of them and the 3 spare ones now backing the guest */
  g_assert_cmpuint (pool_count ("nr_hugepages"), ==, pool + 61);
  g_assert_cmpuint (pool_count ("free_hugepages"), ==, 0);
  serial = wait_serial ("hp-alloc", "QL: ready");
  smaps = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/smaps", status_pid ("hp-alloc", "qemu-pid"));
  g_assert_true (g_file_get_contents (smaps, &smaps_text, NULL, NULL));
  g_assert_nonnull (strstr (smaps_text, hugetlbfs_dir));

  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "hp-alloc", NULL), ==, 0);
  wait_exit (proc, NULL);
  g_assert_cmpuint (pool_count ("nr_hugepages"), ==, pool);
  assert_nothing_left ("hp-alloc");
}

/* A supervisor killed with SIGKILL leaves the grown pool in its journal;
 * recover shrinks it back. */
static void
test_hugepages_supervisor_killed (void)
{
  g_autofree char *path = NULL, *out = NULL;
  g_autoptr(JsonNode) steps = NULL;
  guint64 pool;

  if (skip_without_hugepages ())
    return;
  pool = pool_with_free (0);
  path = write_profile ("hp-killed", "[memory]\nsize = 128M\nhugepages = 2M\nallocate = true\n");
  steps = plan_steps (path);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "start", "--detach", path, NULL), ==, 0);
  g_assert_cmpuint (pool_count ("nr_hugepages"), ==, pool + 64);
  /* what plan said is what start journaled, step for step */
  assert_journal_is_plan ("hp-killed", steps);
  kill_supervisor ("hp-killed");
  g_assert_cmpint (run_qlaunch (&out, NULL, "recover", "hp-killed", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "hugepage pool kernel/mm/hugepages/hugepages-2048kB back to"));
  g_assert_cmpuint (pool_count ("nr_hugepages"), ==, pool);
  assert_nothing_left ("hp-killed");
}

/* qlaunch hugepages reserve makes room ahead of time; release gives it back. */
static void
test_hugepages_reserve (void)
{
  g_autofree char *path = NULL, *out = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  guint64 pool;

  if (skip_without_hugepages ())
    return;
  pool = pool_with_free (0);
  g_assert_cmpint (run_qlaunch (&out, NULL, "hugepages", "reserve", "128M", NULL), ==, 0);
  g_assert_cmpuint (pool_count ("free_hugepages"), ==, 64);
  g_assert_nonnull (strstr (out, "This lasts until the next boot"));
  path = write_profile ("hp-reserved", "[memory]\nsize = 128M\nhugepages = 2M\n");
  proc = start_foreground (path);
  wait_running ("hp-reserved");
  g_assert_cmpuint (pool_count ("free_hugepages"), ==, 0);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "hp-reserved", NULL), ==, 0);
  wait_exit (proc, NULL);
  /* the reservation outlives the VM: it was the user's, not the start's */
  g_assert_cmpuint (pool_count ("nr_hugepages"), ==, pool + 64);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "hugepages", "release", "all", NULL), ==, 0);
  g_assert_cmpuint (pool_count ("nr_hugepages"), ==, pool);
}

/* A hugetlbfs of this test's own, in a mount namespace of its own. */
static void
setup_hugepages (void)
{
  if (geteuid () != 0)
    hugepage_skip_reason = g_strdup ("hugepage tests resize the host's pool: they need root");
  else if (!g_file_test (POOL, G_FILE_TEST_IS_DIR))
    hugepage_skip_reason = g_strdup ("this kernel has no 2 MiB hugepages (" POOL ")");
  else if (unshare (CLONE_NEWNS) != 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    hugepage_skip_reason = g_strdup_printf ("cannot make a mount namespace: %s", g_strerror (errno));
  else
    {
      hugetlbfs_dir = g_build_filename (tmp_root, "hugepages", NULL);
      g_mkdir (hugetlbfs_dir, 0755);
      if (mount ("none", hugetlbfs_dir, "hugetlbfs", 0, "pagesize=2M") != 0)
        hugepage_skip_reason = g_strdup_printf ("cannot mount hugetlbfs: %s", g_strerror (errno));
      else
        pool_at_start = pool_count ("nr_hugepages");
    }
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  vm_harness_init ();
  setup_hugepages ();

  g_test_add_func ("/vm-host/pin/explicit", test_pin_explicit);
  g_test_add_func ("/vm-host/pin/auto", test_pin_auto);
  g_test_add_func ("/vm-host/pin/refused", test_pin_refused);
  g_test_add_func ("/vm-host/hugepages/shortfall", test_hugepages_shortfall);
  g_test_add_func ("/vm-host/hugepages/allocate", test_hugepages_allocate);
  g_test_add_func ("/vm-host/hugepages/supervisor-killed", test_hugepages_supervisor_killed);
  g_test_add_func ("/vm-host/hugepages/reserve", test_hugepages_reserve);
  ret = g_test_run ();
  if (hugetlbfs_dir != NULL && hugepage_skip_reason == NULL)
    {
      set_pool (pool_at_start);
      umount (hugetlbfs_dir);
    }
  remove_tree (tmp_root);
  return ret;
}
