/* The notify protocol against the real thing: this test plays the service
 * manager (a SOCK_DGRAM socket in NOTIFY_SOCKET, a WATCHDOG_USEC), starts
 * the test guest with real QEMU under 'qlaunch start', and reads what the
 * supervisor tells it: STATUS lines while it starts, READY=1 only once the
 * guest runs, WATCHDOG=1 while QEMU answers QMP and none while QEMU is
 * stopped (SIGSTOP, a hung QEMU), STOPPING=1 on stop. */
#include "vm-harness.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#define VM "test-acpi"
#define WATCHDOG_USEC "500000"

static GSocket *
bind_notify_socket (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, 0, &error);
  g_autoptr(GSocketAddress) addr = g_unix_socket_address_new (path);

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, addr, FALSE, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&socket);
}

/* The next datagram, or NULL when none comes within timeout_ms. */
static char *
next_datagram (GSocket *socket, guint timeout_ms)
{
  g_autoptr(GError) error = NULL;
  char buf[4096];
  gssize n;

  if (!g_socket_condition_timed_wait (socket, G_IO_IN, (gint64) timeout_ms * 1000, NULL, NULL))
    return NULL;
  n = g_socket_receive (socket, buf, sizeof buf - 1, NULL, &error);
  g_assert_no_error (error);
  buf[n] = '\0';
  return g_strdup (buf);
}

/* Every datagram until one equals until (kept last), within timeout_s. */
static GPtrArray *
datagrams_until (GSocket *socket, const char *until, guint timeout_s)
{
  GPtrArray *got = g_ptr_array_new_with_free_func (g_free);
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  while (got->len == 0 || strcmp (got->pdata[got->len - 1], until) != 0)
    {
      char *d = next_datagram (socket, 500);
      if (d != NULL)
        {
          g_test_message ("datagram: %s", d);
          g_ptr_array_add (got, d);
        }
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
  return got;
}

/* How many WATCHDOG=1 arrive within ms; any other datagram fails the test. */
static guint
count_pings (GSocket *socket, guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;
  guint pings = 0;

  for (gint64 now; (now = g_get_monotonic_time ()) < deadline;)
    {
      g_autofree char *d = next_datagram (socket, (guint) ((deadline - now) / 1000) + 1);
      if (d == NULL)
        break;
      g_assert_cmpstr (d, ==, "WATCHDOG=1");
      pings++;
    }
  return pings;
}

static gint
index_of (GPtrArray *got, const char *datagram)
{
  for (guint i = 0; i < got->len; i++)
    if (strcmp (got->pdata[i], datagram) == 0)
      return (gint) i;
  return -1;
}

/* a failed assertion aborts this test: the VM then stops with it */
static void
die_with_test (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static GSubprocess *
start_notified_profile (const char *notify_path, const char *profile)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                      G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_auto(GStrv) env = child_env ();
  g_autoptr(GError) error = NULL;
  GSubprocess *proc;

  env = g_environ_setenv (env, "NOTIFY_SOCKET", notify_path, TRUE);
  env = g_environ_setenv (env, "WATCHDOG_USEC", WATCHDOG_USEC, TRUE);
  g_subprocess_launcher_set_environ (launcher, env);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  proc = g_subprocess_launcher_spawn (launcher, &error, qlaunch, "start", profile, "--no-console", NULL);
  g_assert_no_error (error);
  return proc;
}

static GSubprocess *
start_notified (const char *notify_path)
{
  g_autofree char *profile = profile_path (VM ".ini");

  return start_notified_profile (notify_path, profile);
}

/* READY=1 comes after the STATUS lines of the start, and the guest runs by then. */
static void
assert_start_reported (GSocket *socket)
{
  g_autoptr(GPtrArray) got = datagrams_until (socket, "READY=1\nSTATUS=running", 120);
  g_autoptr(QlQmpClient) client = NULL;
  g_autoptr(JsonNode) status = NULL;
  gint applying = index_of (got, "STATUS=applying host changes");
  gint starting = index_of (got, "STATUS=starting QEMU");

  g_assert_cmpint (applying, >=, 0);
  g_assert_cmpint (starting, >, applying);
  g_assert_cmpint (index_of (got, "WATCHDOG=1"), ==, -1);
  client = qmp_connect (VM);
  status = qmp (client, "query-status");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (status), "status"), ==, "running");
  ql_qmp_client_close (client);
}

static void
assert_env_not_inherited (gint64 qemu_pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/environ", qemu_pid);
  g_autofree char *environ_text = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &environ_text, &len, NULL));
  for (gsize at = 0; at < len; at += strlen (environ_text + at) + 1)
    {
      g_assert_false (g_str_has_prefix (environ_text + at, "NOTIFY_SOCKET="));
      g_assert_false (g_str_has_prefix (environ_text + at, "WATCHDOG_"));
    }
}

/* Pings while QEMU answers, none while it is stopped, again once it runs. */
static void
assert_watchdog_follows_qemu (GSocket *socket, gint64 qemu_pid)
{
  guint running, hung, resumed;

  running = count_pings (socket, 2000);
  g_assert_cmpint (kill ((pid_t) qemu_pid, SIGSTOP), ==, 0);
  /* a reply already on its way may still be counted: let it pass */
  count_pings (socket, 400);
  hung = count_pings (socket, 2000);
  g_assert_cmpint (kill ((pid_t) qemu_pid, SIGCONT), ==, 0);
  resumed = count_pings (socket, 2000);
  g_test_message ("WATCHDOG=1 in 2 s: %u running, %u stopped, %u resumed", running, hung, resumed);
  g_assert_cmpuint (running, >=, 3);
  g_assert_cmpuint (hung, ==, 0);
  g_assert_cmpuint (resumed, >=, 1);
}

/* 'qlaunch stop', not waited for: the datagrams must be read meanwhile, as
 * a manager would (a full queue loses them) */
static GSubprocess *
stop_process (void)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                      G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_auto(GStrv) env = child_env ();
  g_autoptr(GError) error = NULL;
  GSubprocess *proc;

  g_subprocess_launcher_set_environ (launcher, env);
  proc = g_subprocess_launcher_spawn (launcher, &error, qlaunch, "stop", "--timeout", "3", VM, NULL);
  g_assert_no_error (error);
  return proc;
}

static void
test_notify_vm (void)
{
  g_autofree char *notify_path = g_build_filename (tmp_root, "notify.sock", NULL);
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSubprocess) proc = NULL, stop = NULL;
  g_autoptr(GPtrArray) stopping = NULL;
  gint64 qemu_pid;
  int exit_status;

  if (skip_if_unavailable ())
    return;
  socket = bind_notify_socket (notify_path);
  proc = start_notified (notify_path);
  assert_start_reported (socket);
  qemu_pid = status_pid (VM, "qemu-pid");
  assert_env_not_inherited (qemu_pid);
  assert_watchdog_follows_qemu (socket, qemu_pid);

  /* a guest still booting (TCG on a busy host) ignores the button: then the
   * ladder goes on to quit, and says so */
  stop = stop_process ();
  stopping = datagrams_until (socket, "STOPPING=1\nSTATUS=stopping: QEMU exited; giving the host back", 60);
  g_assert_cmpint (index_of (stopping, "STOPPING=1\nSTATUS=stopping: powerdown 1/3"), >=, 0);
  g_assert_cmpint (wait_exit (stop, NULL), ==, 0);
  exit_status = wait_exit (proc, NULL);
  if (exit_status != 0)
    {
      g_assert_cmpint (exit_status, ==, 3);
      g_assert_cmpint (index_of (stopping, "STOPPING=1\nSTATUS=stopping: powerdown 3/3"), >=, 0);
      g_assert_cmpint (index_of (stopping, "STOPPING=1\nSTATUS=stopping: quit"), >=, 0);
    }
  assert_nothing_left (VM);
  g_unlink (notify_path);
}

/* Preallocating guest memory may outlast a unit's start timeout: the
 * manager is told to wait longer before QEMU starts, and READY comes after. */
static void
test_extend_timeout (void)
{
  g_autofree char *notify_path = g_build_filename (tmp_root, "notify-x.sock", NULL);
  g_autofree char *profile = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GPtrArray) got = NULL;
  gint extend, ready;

  if (skip_if_unavailable ())
    return;
  profile = write_guest_profile ("prealloc", "ignore-acpi", "", "[memory]\nsize = 256M\nprealloc = true\n");
  socket = bind_notify_socket (notify_path);
  proc = start_notified_profile (notify_path, profile);
  got = datagrams_until (socket, "READY=1\nSTATUS=running", 120);
  extend = index_of (got, "EXTEND_TIMEOUT_USEC=62000000\nSTATUS=starting QEMU: preallocating 1 GiB");
  ready = index_of (got, "READY=1\nSTATUS=running");
  g_assert_cmpint (extend, >=, 0);
  g_assert_cmpint (extend, <, ready);
  g_assert_cmpint (index_of (got, "STATUS=starting QEMU"), <, extend);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "prealloc", NULL), ==, 0);
  wait_exit (proc, NULL);
  assert_nothing_left ("prealloc");
  g_unlink (notify_path);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  vm_harness_init ();
  g_test_add_func ("/systemd-vm/notify", test_notify_vm);
  g_test_add_func ("/systemd-vm/extend-timeout", test_extend_timeout);
  status = g_test_run ();
  remove_tree (tmp_root);
  return status;
}
