/* The real thing: qlaunch starts real QEMU (TCG here) with the test guest,
 * and the tests check the machine over real QMP, stop it through the ladder,
 * kill QEMU under it, and look at what is left on the host. */
#include "ql-qmp-client.h"
#include "ql-runtime.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

static char *tmp_root;
static char *runtime_base;
static char *state_base;
static char *source_root;
static const char *qlaunch;
static char *skip_reason;

static char *
profile_path (const char *name)
{
  if (g_str_has_prefix (name, "data/"))
    return g_build_filename (source_root, "tests", "data", "profiles", name + 5, NULL);
  return g_build_filename (source_root, "profiles", name, NULL);
}

static gchar **
child_env (void)
{
  gchar **env = g_get_environ ();

  env = g_environ_setenv (env, "QLAUNCH_RUNTIME_DIR", runtime_base, TRUE);
  env = g_environ_setenv (env, "QLAUNCH_STATE_DIR", state_base, TRUE);
  return env;
}

/* Runs qlaunch to completion; returns its exit status. */
static int
run_qlaunch (char **ret_out, char **ret_err, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_auto(GStrv) env = child_env ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  const char *arg;
  int status = -1;
  va_list ap;

  g_ptr_array_add (argv, (char *) qlaunch);
  va_start (ap, ret_err);
  while ((arg = va_arg (ap, const char *)))
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  /* always captured: the child's words must not land in this test's TAP stream */
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("qlaunch %s: %s%s", (char *) argv->pdata[1], out, err);
  if (ret_out != NULL)
    *ret_out = g_steal_pointer (&out);
  if (ret_err != NULL)
    *ret_err = g_steal_pointer (&err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

/* A foreground 'qlaunch start', as systemd would run it. */
static GSubprocess *
start_foreground (const char *profile)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                      G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = profile_path (profile);
  g_auto(GStrv) env = child_env ();
  GSubprocess *proc;

  g_subprocess_launcher_set_environ (launcher, env);
  proc = g_subprocess_launcher_spawn (launcher, &error, qlaunch, "start", path, NULL);
  g_assert_no_error (error);
  return proc;
}

static JsonObject *
status_json (const char *name)
{
  g_autofree char *out = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_cmpint (run_qlaunch (&out, NULL, "status", name, "--json", NULL), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
wait_running (const char *name)
{
  gint64 deadline = g_get_monotonic_time () + 90 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(JsonObject) status = status_json (name);
      if (g_strcmp0 (json_object_get_string_member (status, "state"), "running") == 0)
        return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (100 * 1000);
    }
}

static int
wait_exit (GSubprocess *proc, char **ret_stdout)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;

  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, ret_stdout, &err, &error));
  g_assert_no_error (error);
  g_test_message ("supervisor stderr:\n%s", err);
  return g_subprocess_get_exit_status (proc);
}

static char *
runtime_file (const char *name, const char *file)
{
  return g_build_filename (runtime_base, name, file, NULL);
}

static JsonObject *
last_exit (const char *name)
{
  g_autofree char *path = g_build_filename (state_base, name, QL_STATE_LAST_EXIT, NULL);
  g_autoptr(GError) error = NULL;
  JsonObject *o = ql_json_read_object (path, &error);

  g_assert_no_error (error);
  return o;
}

/* Nothing of a VM's run is left on the host: no lock, socket, or runtime dir. */
static void
assert_nothing_left (const char *name)
{
  g_autofree char *dir = g_build_filename (runtime_base, name, NULL);
  g_autofree char *sock = runtime_file (name, "qmp.sock");
  g_autofree char *lock = runtime_file (name, "lock");

  g_assert_false (ql_lock_is_held (dir));
  g_assert_false (g_file_test (sock, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (lock, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
}

static QlQmpClient *
qmp_connect (const char *name)
{
  g_autofree char *sock = runtime_file (name, "qmp.sock");
  g_autoptr(GError) error = NULL;
  QlQmpClient *qmp = ql_qmp_client_connect_unix (sock, &error);

  g_assert_no_error (error);
  g_assert_true (ql_qmp_client_handshake_sync (qmp, 10000, &error));
  g_assert_no_error (error);
  return qmp;
}

static JsonNode *
qmp (QlQmpClient *client, const char *command)
{
  g_autoptr(GError) error = NULL;
  JsonNode *ret = ql_qmp_client_execute_sync (client, command, NULL, 10000, &error);

  g_assert_no_error (error);
  return ret;
}

/* "00:03.0 1af4:1000" for each device on bus 0, from query-pci */
static char *
pci_summary (QlQmpClient *client)
{
  g_autoptr(JsonNode) ret = qmp (client, "query-pci");
  JsonObject *bus0 = json_array_get_object_element (json_node_get_array (ret), 0);
  JsonArray *devices = json_object_get_array_member (bus0, "devices");
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (devices); i++)
    {
      JsonObject *d = json_array_get_object_element (devices, i);
      JsonObject *id = json_object_get_object_member (d, "id");
      g_string_append_printf (out, "%02" G_GINT64_MODIFIER "x:%02" G_GINT64_MODIFIER "x.%" G_GINT64_FORMAT
                              " %04" G_GINT64_MODIFIER "x:%04" G_GINT64_MODIFIER "x\n",
                              json_object_get_int_member (d, "bus"), json_object_get_int_member (d, "slot"),
                              json_object_get_int_member (d, "function"),
                              json_object_get_int_member (id, "vendor"), json_object_get_int_member (id, "device"));
    }
  return g_string_free (out, FALSE);
}

static gboolean
skip_if_unavailable (void)
{
  if (skip_reason != NULL)
    {
      g_test_skip (skip_reason);
      return TRUE;
    }
  return FALSE;
}

/* ---- tests ---- */

/* Start, check the machine the profile asked for over QMP, refuse a second
 * start, stop through the power button: the guest powers off, exit 0. */
static void
test_start_query_stop (void)
{
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(QlQmpClient) client = NULL;
  g_autoptr(JsonNode) status = NULL, name = NULL, cpus = NULL, mem = NULL;
  g_autoptr(JsonObject) exit_info = NULL;
  g_autofree char *pci = NULL, *err = NULL, *out = NULL, *path = profile_path ("test-acpi.ini");
  g_autofree char *console = NULL;

  if (skip_if_unavailable ())
    return;
  proc = start_foreground ("test-acpi.ini");
  wait_running ("test-acpi");

  client = qmp_connect ("test-acpi");
  status = qmp (client, "query-status");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (status), "status"), ==, "running");
  name = qmp (client, "query-name");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (name), "name"), ==, "test-acpi");
  cpus = qmp (client, "query-cpus-fast");
  g_assert_cmpuint (json_array_get_length (json_node_get_array (cpus)), ==, 2);
  mem = qmp (client, "query-memory-size-summary");
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (mem), "base-memory"), ==, 256 << 20);
  /* the fixed topology: q35 host bridge, NIC at 03.0, disk at 04.0, ICH9 functions at 1f */
  pci = pci_summary (client);
  g_assert_cmpstr (pci, ==,
                   "00:00.0 8086:29c0\n"
                   "00:03.0 1af4:1000\n"
                   "00:04.0 1af4:1001\n"
                   "00:1f.0 8086:2918\n"
                   "00:1f.2 8086:2922\n"
                   "00:1f.3 8086:2930\n");
  ql_qmp_client_close (client);

  /* the lock refuses a second supervisor */
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", path, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "VM 'test-acpi' is already running"));

  /* wait until the guest's acpid listens, then stop through the power button */
  {
    g_autofree char *log = runtime_file ("test-acpi", "serial.log");
    gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
    g_autofree char *text = NULL;
    while (!(g_file_get_contents (log, &text, NULL, NULL) && strstr (text, "QL: ready")))
      {
        g_clear_pointer (&text, g_free);
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_usleep (100 * 1000);
      }
  }
  g_assert_cmpint (run_qlaunch (&out, NULL, "stop", "test-acpi", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "VM 'test-acpi' stopped: the guest powered off after the power button\n");
  g_assert_cmpint (wait_exit (proc, &console), ==, 0);
  /* the serial console was relayed to the supervisor's stdout */
  g_assert_nonnull (strstr (console, "QL: power button pressed, powering off"));
  exit_info = last_exit ("test-acpi");
  g_assert_cmpstr (json_object_get_string_member (exit_info, "reason"), ==, "poweroff");
  assert_nothing_left ("test-acpi");
}

/* A guest that ignores the power button: the ladder escalates to quit, and
 * the supervisor says so in its exit status and the record. */
static void
test_stop_escalates (void)
{
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(JsonObject) exit_info = NULL;
  g_autofree char *out = NULL;
  gint64 t0;

  if (skip_if_unavailable ())
    return;
  proc = start_foreground ("test-ignore-acpi.ini");
  wait_running ("test-ignore-acpi");
  t0 = g_get_monotonic_time ();
  g_assert_cmpint (run_qlaunch (&out, NULL, "stop", "test-ignore-acpi", NULL), ==, 0);
  /* profile: timeout 4 s, 2 presses; then quit */
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 4 * G_USEC_PER_SEC);
  g_assert_true (g_str_has_prefix (out, "VM 'test-ignore-acpi' stopped: stopped by force (quit)"));
  g_assert_cmpint (wait_exit (proc, NULL), ==, 3);
  exit_info = last_exit ("test-ignore-acpi");
  g_assert_cmpstr (json_object_get_string_member (exit_info, "reason"), ==, "forced");
  g_assert_cmpstr (json_object_get_string_member (exit_info, "stop-stage"), ==, "quit");
  g_assert_cmpint (json_object_get_int_member (exit_info, "exit-status"), ==, 3);
  assert_nothing_left ("test-ignore-acpi");

  /* status of a stopped VM tells how its last run ended */
  {
    g_autoptr(JsonObject) status = status_json ("test-ignore-acpi");
    g_assert_cmpstr (json_object_get_string_member (status, "state"), ==, "stopped");
    g_assert_true (json_object_has_member (status, "last-exit"));
  }
}

/* kill -9 of QEMU is noticed; the supervisor exits non-zero and leaves
 * no lock and no socket. */
static void
test_qemu_killed (void)
{
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(JsonObject) status = NULL;
  g_autoptr(JsonObject) exit_info = NULL;
  gint64 pid;

  if (skip_if_unavailable ())
    return;
  proc = start_foreground ("test-ignore-acpi.ini");
  wait_running ("test-ignore-acpi");
  status = status_json ("test-ignore-acpi");
  pid = json_object_get_int_member (status, "qemu-pid");
  g_assert_cmpint (pid, >, 1);
  g_assert_cmpint (kill ((pid_t) pid, SIGKILL), ==, 0);
  g_assert_cmpint (wait_exit (proc, NULL), ==, 2);
  exit_info = last_exit ("test-ignore-acpi");
  g_assert_cmpstr (json_object_get_string_member (exit_info, "reason"), ==, "crashed");
  g_assert_cmpstr (json_object_get_string_member (exit_info, "message"), ==,
                   "QEMU killed by signal 9 (Killed) unexpectedly");
  assert_nothing_left ("test-ignore-acpi");
  /* the QEMU process is gone too */
  g_assert_cmpint (kill ((pid_t) pid, 0), !=, 0);
}

/* A name and a file name with commas reach QEMU as single values. */
static void
test_escaping (void)
{
  g_autoptr(QlQmpClient) client = NULL;
  g_autoptr(JsonNode) name = NULL, block = NULL;
  g_autofree char *path = profile_path ("data/escape.ini");
  g_autofree char *out = NULL, *blocks = NULL;
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  if (skip_if_unavailable ())
    return;
  g_assert_cmpint (run_qlaunch (&out, NULL, "start", "--detach", path, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "VM 'x,id=y' is running (supervisor pid "));
  client = qmp_connect ("x,id=y");
  name = qmp (client, "query-name");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (name), "name"), ==, "x,id=y");
  block = qmp (client, "query-named-block-nodes");
  json_generator_set_root (gen, block);
  blocks = json_generator_to_data (gen, NULL);
  g_assert_nonnull (strstr (blocks, "tests/data/files/a,b.img\""));
  ql_qmp_client_close (client);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "x,id=y", NULL), ==, 0);
  assert_nothing_left ("x,id=y");
}

/* UEFI: the varstore is copied once into the state dir and never overwritten. */
static void
test_uefi_vars (void)
{
  g_autofree char *path = profile_path ("data/uefi.ini");
  g_autofree char *vars = g_build_filename (state_base, "uefi", "OVMF_VARS.fd", NULL);
  GStatBuf first, second;

  if (skip_if_unavailable ())
    return;
  if (!g_file_test ("/usr/share/OVMF", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("OVMF is not installed (apt install ovmf)");
      return;
    }
  g_assert_cmpint (run_qlaunch (NULL, NULL, "start", "--detach", path, NULL), ==, 0);
  g_assert_cmpint (g_stat (vars, &first), ==, 0);
  g_assert_cmpint (first.st_mode & 0777, ==, 0600);
  g_assert_cmpint (first.st_size, >, 0);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "uefi", NULL), ==, 0);
  assert_nothing_left ("uefi");

  g_assert_cmpint (run_qlaunch (NULL, NULL, "start", "--detach", path, NULL), ==, 0);
  g_assert_cmpint (g_stat (vars, &second), ==, 0);
  g_assert_cmpint (first.st_ino, ==, second.st_ino);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "uefi", NULL), ==, 0);
  assert_nothing_left ("uefi");
}

/* QEMU refuses the machine: the error says QEMU's words, nothing is left. */
static void
test_failed_start (void)
{
  g_autofree char *path = profile_path ("data/bad-device.ini");
  g_autofree char *err = NULL;
  g_autoptr(JsonObject) exit_info = NULL;

  if (skip_if_unavailable ())
    return;
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", path, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "VM 'bad-device' did not start: QEMU exited with status 1 before the VM ran"));
  g_assert_nonnull (strstr (err, "'no-such-device' is not a valid device model name"));
  exit_info = last_exit ("bad-device");
  g_assert_cmpstr (json_object_get_string_member (exit_info, "reason"), ==, "start-failed");
  assert_nothing_left ("bad-device");

  /* --detach reports the same failure to the caller */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", "--detach", path, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "'no-such-device' is not a valid device model name"));
  assert_nothing_left ("bad-device");
}

/* The README's demo: the guest prints its PCI tree and powers off; exit 0. */
static void
test_demo (void)
{
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *console = NULL;

  if (skip_if_unavailable ())
    return;
  proc = start_foreground ("demo.ini");
  g_assert_cmpint (wait_exit (proc, &console), ==, 0);
  g_assert_nonnull (strstr (console, "QL: pci 00:03.0 1af4:1000 Ethernet controller"));
  g_assert_nonnull (strstr (console, "QL: demo done, powering off"));
  assert_nothing_left ("demo");
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

int
main (int argc, char **argv)
{
  g_autofree char *kernel = NULL;
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");
  int ret;

  g_test_init (&argc, &argv, NULL);
  qlaunch = g_getenv ("QL_QLAUNCH");
  source_root = g_canonicalize_filename (g_getenv ("QL_SOURCE_ROOT"), NULL);
  kernel = g_build_filename (source_root, "build", "guest", "vmlinuz", NULL);
  if (qemu == NULL)
    skip_reason = g_strdup ("qemu-system-x86_64 is not installed (apt install qemu-system-x86)");
  else if (!g_file_test (kernel, G_FILE_TEST_EXISTS))
    skip_reason = g_strdup_printf ("the test guest is not built: run tests/guest/mkguest.sh %s/build/guest", source_root);

  /* short paths: unix socket paths are limited to 107 bytes */
  tmp_root = g_dir_make_tmp ("qlvm-XXXXXX", NULL);
  runtime_base = g_build_filename (tmp_root, "run", NULL);
  state_base = g_build_filename (tmp_root, "state", NULL);

  g_test_add_func ("/vm/start-query-stop", test_start_query_stop);
  g_test_add_func ("/vm/stop-escalates", test_stop_escalates);
  g_test_add_func ("/vm/qemu-killed", test_qemu_killed);
  g_test_add_func ("/vm/escaping", test_escaping);
  g_test_add_func ("/vm/uefi-vars", test_uefi_vars);
  g_test_add_func ("/vm/failed-start", test_failed_start);
  g_test_add_func ("/vm/demo", test_demo);
  ret = g_test_run ();
  remove_tree (tmp_root);
  return ret;
}
