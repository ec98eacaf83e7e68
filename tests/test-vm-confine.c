/* The supervisor confined, in real runs of the test guest under TCG with a
 * tap on a bridge in this test's own network namespace: what
 * /proc/PID/status says while the VM runs, a stop and a kill -9 + recover
 * that still give the host back, the test hook's forbidden syscall, and
 * root's refusal of a profile others can write. */
#include "vm-harness.h"
#include "ql-link.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TAP "ql-conf-0"


static void
ip (const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_ptr_array_add (argv, (char *) "ip");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static gboolean
link_exists (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlNetlink) nl = ql_netlink_open (&error);
  QlLinkInfo info;
  gboolean found;

  g_assert_no_error (error);
  found = ql_link_get (nl, name, &info, &error);
  if (!found)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  return found;
}

static char *
confined_profile (const char *name)
{
  return write_guest_profile (name, "acpi", "",
                              "[memory]\nsize = 256M\n[shutdown]\ntimeout = 30\n"
                              "[net lan]\nmode = tap\nbridge = qlbr0\nifname = " TAP "\n");
}

/* "Key:\tvalue" of /proc/PID[/task/TID]/status */
static char *
status_field (const char *status_path, const char *key)
{
  g_autofree char *body = NULL, *text = NULL;
  g_autofree char *needle = g_strdup_printf ("\n%s:\t", key);
  const char *at;

  g_assert_true (g_file_get_contents (status_path, &body, NULL, NULL));
  /* every key, the first included, after a newline */
  text = g_strconcat ("\n", body, NULL);
  at = strstr (text, needle);
  g_assert_nonnull (at);
  at += strlen (needle);
  return g_strndup (at, strcspn (at, "\n"));
}

static char *
pid_field (gint64 pid, const char *key)
{
  g_autofree char *path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/status", pid);
  return status_field (path, key);
}

/* What the supervisor keeps for a run whose only step with a capability is
 * a tap: CAP_NET_ADMIN to delete it (and, in a sanitizer build,
 * CAP_SYS_PTRACE for LeakSanitizer's tracer). */
static guint64
expected_caps (void)
{
  guint64 caps = G_GUINT64_CONSTANT (1) << CAP_NET_ADMIN;
#ifdef QL_SANITIZER_BUILD
  caps |= G_GUINT64_CONSTANT (1) << CAP_SYS_PTRACE;
#endif
  return caps;
}

static void
assert_field (gint64 pid, const char *key, const char *expected)
{
  g_autofree char *value = pid_field (pid, key);
  g_assert_cmpstr (value, ==, expected);
}

static guint64
caps_field (gint64 pid, const char *key)
{
  g_autofree char *value = pid_field (pid, key);
  return g_ascii_strtoull (value, NULL, 16);
}

/* every thread of the supervisor runs under the filter (TSYNC) */
static void
assert_every_thread_filtered (gint64 pid)
{
  g_autofree char *task_dir = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/task", pid);
  g_autoptr(GDir) dir = g_dir_open (task_dir, 0, NULL);
  const char *tid;
  guint threads = 0;

  g_assert_nonnull (dir);
  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (task_dir, tid, "status", NULL);
      g_autofree char *seccomp = status_field (path, "Seccomp");
      g_autofree char *nnp = status_field (path, "NoNewPrivs");
      g_autofree char *name = status_field (path, "Name");
      g_autofree char *caps = status_field (path, "CapEff");

      g_test_message ("supervisor thread %s (%s): Seccomp %s, NoNewPrivs %s, CapEff %s", tid, name, seccomp, nnp, caps);
      g_assert_cmpstr (seccomp, ==, "2");
      g_assert_cmpstr (nnp, ==, "1");
      threads++;
    }
  g_assert_cmpuint (threads, >=, 1);
}

/* While the VM runs: the supervisor is filtered (mode 2) with no_new_privs
 * and, started as root, keeps only what teardown needs; QEMU keeps its own
 * -sandbox.  A stop then still gives the tap back. */
static void
test_running_confined (void)
{
  g_autofree char *path = NULL, *out = NULL, *kept = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(JsonObject) exit_record = NULL;
  gint64 supervisor, qemu;

  if (skip_if_no_net ())
    return;
  path = confined_profile ("confined");
  proc = start_foreground (path);
  wait_running ("confined");
  supervisor = status_pid ("confined", "supervisor-pid");
  qemu = status_pid ("confined", "qemu-pid");

  assert_field (supervisor, "Seccomp", "2");
  assert_field (supervisor, "NoNewPrivs", "1");
  g_assert_cmphex (caps_field (supervisor, "CapEff"), ==, expected_caps ());
  g_assert_cmphex (caps_field (supervisor, "CapPrm"), ==, expected_caps ());
  g_assert_cmphex (caps_field (supervisor, "CapBnd"), ==, expected_caps ());
  g_assert_cmphex (caps_field (supervisor, "CapInh"), ==, 0);
  g_assert_cmphex (caps_field (supervisor, "CapAmb"), ==, 0);
  assert_every_thread_filtered (supervisor);
  assert_field (qemu, "Seccomp", "2");
  g_assert_true (link_exists (TAP));

  g_assert_cmpint (run_qlaunch (&out, NULL, "stop", "confined", NULL), ==, 0);
  g_assert_cmpint (wait_exit (proc, NULL), ==, 0);
  g_assert_false (link_exists (TAP));
  assert_nothing_left ("confined");
  /* copied from the runtime dir's file system by the confined supervisor */
  kept = g_build_filename (state_base, "confined", "serial.log", NULL);
  g_assert_true (g_file_test (kept, G_FILE_TEST_IS_REGULAR));
  exit_record = last_exit ("confined");
  g_assert_cmpstr (json_object_get_string_member (exit_record, "reason"), ==, "poweroff");
}

/* kill -9 of the confined supervisor: recover gives the tap back */
static void
test_killed_recover (void)
{
  g_autofree char *path = NULL, *out = NULL;
  g_autoptr(GSubprocess) proc = NULL;

  if (skip_if_no_net ())
    return;
  path = confined_profile ("confined-kill");
  proc = start_foreground (path);
  wait_running ("confined-kill");
  assert_field (status_pid ("confined-kill", "supervisor-pid"), "Seccomp", "2");
  kill_supervisor ("confined-kill");
  g_assert_true (g_subprocess_wait (proc, NULL, NULL));
  g_assert_cmpint (run_qlaunch (&out, NULL, "recover", "confined-kill", NULL), ==, 0);
  g_assert_true (strstr (out, "tap " TAP " is gone") || strstr (out, "tap " TAP " deleted"));
  g_assert_false (link_exists (TAP));
  assert_nothing_left ("confined-kill");
}

/* QLAUNCH_TEST_CONFINE_PROBE=1: the supervisor tries umount2 once
 * confined; the kernel kills it with SIGSYS, its QEMU follows (PDEATHSIG),
 * and recover gives the host back. */
static void
test_forbidden_syscall (void)
{
  g_autofree char *path = NULL, *out = NULL, *err = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_if_no_net ())
    return;
  path = confined_profile ("confined-probe");
  g_setenv ("QLAUNCH_TEST_CONFINE_PROBE", "1", TRUE);
  proc = start_foreground (path);
  g_unsetenv ("QLAUNCH_TEST_CONFINE_PROBE");
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  g_test_message ("supervisor stderr:\n%s", err);
  g_assert_true (g_subprocess_get_if_signaled (proc));
  g_assert_cmpint (g_subprocess_get_term_sig (proc), ==, SIGSYS);
  g_assert_nonnull (strstr (err, "QLAUNCH_TEST_CONFINE_PROBE: trying umount2"));
  g_assert_null (strstr (err, "was not refused"));
  /* the tap stays until its QEMU is gone and recover runs */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_qlaunch (&out, NULL, "recover", "confined-probe", NULL), ==, 0);
  g_assert_false (link_exists (TAP));
  assert_nothing_left ("confined-probe");
}

/* QLAUNCH_CONFINE=off, for debugging: the supervisor keeps everything */
static void
test_confinement_off (void)
{
  g_autofree char *path = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  gint64 supervisor;

  if (skip_if_no_net ())
    return;
  path = confined_profile ("unconfined");
  g_setenv ("QLAUNCH_CONFINE", "off", TRUE);
  proc = start_foreground (path);
  g_unsetenv ("QLAUNCH_CONFINE");
  wait_running ("unconfined");
  supervisor = status_pid ("unconfined", "supervisor-pid");
  assert_field (supervisor, "Seccomp", "0");
  g_assert_cmphex (caps_field (supervisor, "CapEff"), !=, expected_caps ());
  g_assert_cmpint (run_qlaunch (NULL, NULL, "stop", "unconfined", NULL), ==, 0);
  g_assert_cmpint (wait_exit (proc, NULL), ==, 0);
  g_assert_false (link_exists (TAP));
  assert_nothing_left ("unconfined");
}

/* As root, a profile another user could have written is refused before
 * anything on the host changes. */
static void
test_untrusted_profile (void)
{
  g_autofree char *path = NULL, *err = NULL, *expected = NULL;

  if (skip_if_no_net ())
    return;
  path = confined_profile ("untrusted");
  g_assert_cmpint (chmod (path, 0666), ==, 0);
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", path, NULL), ==, 1);
  expected = g_strdup_printf ("Profile '%s' refused: run as root, a profile must be owned by root and writable by "
                              "nobody else, nor its directories; it '%s' is owned by root (uid 0) with mode 0666", path, path);
  g_assert_nonnull (strstr (err, expected));
  g_assert_false (link_exists (TAP));
  assert_nothing_left ("untrusted");
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  vm_harness_init ();
  /* the taps live in a network namespace of this test's own */
  vm_harness_enter_netns ("confinement as root with a tap: the tests", "ip", NULL);
  /* and the runtime dir on a file system of its own, as /run is, so that
   * teardown moves the logs to the state dir by copying them */
  if (vm_net_skip_reason != NULL)
    g_debug ("no network namespace: %s", vm_net_skip_reason);
  else if (g_mkdir_with_parents (runtime_base, 0755) != 0 || unshare (CLONE_NEWNS) != 0 ||
           mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
           mount ("tmpfs", runtime_base, "tmpfs", 0, "mode=0755") != 0)
    vm_net_skip_reason = g_strdup_printf ("cannot mount a tmpfs on the runtime dir: %s", g_strerror (errno));
  else
    {
      ip ((const char *const[]) { "link", "add", "qlbr0", "type", "bridge", NULL });
      ip ((const char *const[]) { "link", "set", "qlbr0", "up", NULL });
    }

  g_test_add_func ("/vm-confine/running", test_running_confined);
  g_test_add_func ("/vm-confine/killed-recover", test_killed_recover);
  g_test_add_func ("/vm-confine/forbidden-syscall", test_forbidden_syscall);
  g_test_add_func ("/vm-confine/off", test_confinement_off);
  g_test_add_func ("/vm-confine/untrusted-profile", test_untrusted_profile);
  ret = g_test_run ();
  if (vm_net_skip_reason == NULL)
    umount (runtime_base);
  remove_tree (tmp_root);
  return ret;
}
