/* The real thing: qlaunch starts real QEMU (TCG here) with the test guest,
 * and the tests check the machine over real QMP, stop it through the ladder,
 * kill QEMU under it, and look at what is left on the host. */
#include "vm-harness.h"
#include "ql-link.h"
#include "ql-qmp-client.h"
#include "ql-runtime.h"
#include "ql-tap.h"

#include <glib/gstdio.h>
#include <errno.h>
#include <grp.h>
#include <gio/gio.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <string.h>
#include <sys/wait.h>

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

/* The QEMU the VM runs is the one this run is for (QLAUNCH_TEST_QEMU: the
 * second, 10.x), and the first start pinned the machine type that q35
 * stands for in it, in the state dir, and ran that type. */
static void
assert_machine_type_pinned (QlQmpClient *client, const char *name)
{
  g_autoptr(JsonNode) version = qmp (client, "query-version");
  g_autoptr(JsonNode) type = qmp_with (client, "qom-get", "path", "/machine", "property", "type", NULL);
  JsonObject *qemu = json_object_get_object_member (json_node_get_object (version), "qemu");
  gint64 major = json_object_get_int_member (qemu, "major"), minor = json_object_get_int_member (qemu, "minor");
  g_autofree char *expected = g_strdup_printf ("pc-q35-%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT, major, minor);
  g_autofree char *expected_class = g_strconcat (expected, "-machine", NULL);
  g_autofree char *pin_path = g_build_filename (state_base, name, "machine-type.json", NULL);
  g_autofree char *pin = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_test_message ("QEMU %" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT, major, minor,
                  json_object_get_int_member (qemu, "micro"));
  if (g_getenv ("QLAUNCH_TEST_QEMU") != NULL)
    g_assert_cmpint (major, >=, 10);
  g_assert_cmpstr (json_node_get_string (type), ==, expected_class);
  g_assert_true (g_file_get_contents (pin_path, &pin, NULL, NULL));
  g_assert_true (json_parser_load_from_data (parser, pin, -1, NULL));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)), "machine"), ==,
                   expected);
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
  assert_machine_type_pinned (client, "test-acpi");
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
  g_free (wait_serial ("test-acpi", "QL: ready"));
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

/* A pinned machine type is kept: the guest's hardware stays what its first
 * start was (pc-q35-7.2 on Debian 12's QEMU) on a newer QEMU too; a pin that
 * does not read back valid, or a [vm] machine this QEMU lacks, is refused
 * with the fix. */
static void
test_machine_type_kept (void)
{
  g_autofree char *dir = g_build_filename (state_base, "mtype", NULL);
  g_autofree char *pin = g_build_filename (dir, "machine-type.json", NULL);
  g_autofree char *out = NULL, *err = NULL, *bad = NULL;
  g_autoptr(QlQmpClient) client = NULL;
  g_autoptr(JsonNode) type = NULL;

  if (skip_if_unavailable ())
    return;
  bad = write_guest_profile ("mtype", "acpi", "", "");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (pin, "{\"machine\": \"pc-q35-7.2\"}", -1, NULL));
  g_assert_cmpint (run_qlaunch (&out, NULL, "plan", bad, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "machine type pc-q35-7.2 (pinned in "));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "start", "--detach", bad, NULL), ==, 0);
  client = qmp_connect ("mtype");
  type = qmp_with (client, "qom-get", "path", "/machine", "property", "type", NULL);
  g_assert_cmpstr (json_node_get_string (type), ==, "pc-q35-7.2-machine");
  ql_qmp_client_close (client);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "mtype", NULL), ==, 0);
  assert_nothing_left ("mtype");

  /* a pin that is not one: refused, with the fix */
  g_assert_true (g_file_set_contents (pin, "{\"machine\": \"pc-q35-7.2,accel=kvm\"}", -1, NULL));
  g_assert_cmpint (run_qlaunch (NULL, &err, "argv", bad, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "machine-type.json"));
  g_assert_nonnull (strstr (err, "Fix: remove it"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (g_unlink (pin), ==, 0);

  /* a type this QEMU does not have: the ones it has are listed */
  g_free (bad);
  bad = write_guest_profile ("mtype", "acpi", "machine = pc-q35-1.0\n", "");
  g_assert_cmpint (run_qlaunch (NULL, &err, "argv", bad, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "[vm] machine = pc-q35-1.0: QEMU "));
  g_assert_nonnull (strstr (err, "has no such machine type; it has pc-q35-"));
  g_assert_nonnull (strstr (err, "pc-q35-7.2"));
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

/* [acpi] fake-battery: qlaunch's SSDT reaches the guest byte for byte, and
 * Linux's battery and ac drivers bind to what it describes; with SeaBIOS
 * (data: the profile) and with OVMF, which installs QEMU's tables itself. */
static void
test_fake_battery (gconstpointer data)
{
  const char *firmware = data;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *console = NULL, *table = NULL, *err = NULL, *md5 = NULL, *line = NULL;
  g_autofree char *profile = NULL, *text = NULL, *aml = NULL, *vm = NULL;
  g_autofree char *original = profile_path ("test-battery.ini");
  g_autoptr(GString) copy = NULL;
  gsize len;

  if (skip_if_unavailable ())
    return;
  vm = g_strconcat ("battery-", firmware, NULL);
  g_assert_true (g_file_get_contents (original, &text, NULL, NULL));
  /* a copy in tmp_root: another name and firmware, the guest by absolute path */
  copy = g_string_new (text);
  {
    g_autofree char *name = g_strconcat ("name = ", vm, NULL);
    g_autofree char *fw = g_strconcat ("firmware = ", firmware, NULL);
    g_autofree char *build = g_build_filename (source_root, "build/", NULL);
    g_string_replace (copy, "name = test-battery", name, 0);
    g_string_replace (copy, "firmware = bios", fw, 0);
    g_string_replace (copy, "../build/", build, 0);
  }
  profile = g_build_filename (tmp_root, "battery.ini", NULL);
  g_assert_true (g_file_set_contents (profile, copy->str, -1, NULL));

  aml = g_build_filename (tmp_root, "battery.aml", NULL);
  g_assert_cmpint (run_qlaunch (NULL, &err, "acpi", "ssdt", profile, "-o", aml, NULL), ==, 0);
  g_assert_nonnull (strstr (err, "battery BAT0 (PNP0C0A, full) and AC adapter AC0"));
  g_assert_true (g_file_get_contents (aml, &table, &len, NULL));
  md5 = g_compute_checksum_for_data (G_CHECKSUM_MD5, (const guchar *) table, len);

  proc = start_foreground (profile);
  g_assert_cmpint (wait_exit (proc, &console), ==, 0);
  line = g_strdup_printf ("QL: table SSDT QLSSDT %zu bytes md5 %s", len, md5);
  g_assert_nonnull (strstr (console, line));
  g_assert_nonnull (strstr (console, "QL: acpi-device PNP0C0A:00 \\_SB_.PCI0.SF8_.BAT0 status 31"));
  g_assert_nonnull (strstr (console, "QL: acpi-device ACPI0003:00 \\_SB_.PCI0.SF8_.AC0_ status 15"));
  g_assert_nonnull (strstr (console, "QL: power-supply BAT0 battery Full capacity 100"));
  g_assert_nonnull (strstr (console, "QL: power-supply AC0 Mains online 1"));
  g_assert_nonnull (strstr (console, "QL: acpi-check done"));
  g_assert_null (strstr (console, "QL: acpi-error"));
  assert_nothing_left (vm);

  /* a start that fails after the table was written takes it away again */
  g_string_append (copy, "\n[qemu]\nargs = -no-such-option\n");
  g_assert_true (g_file_set_contents (profile, copy->str, -1, NULL));
  g_clear_object (&proc);
  proc = start_foreground (profile);
  g_assert_cmpint (wait_exit (proc, NULL), ==, 1);
  assert_nothing_left (vm);
}

/* ---- a run that did not end cleanly, and the start after it ---- */

/* The QEMUs that serve this VM's QMP socket, whichever run started them. */
static guint
count_qemus (const char *name)
{
  g_autofree char *sock = runtime_file (name, "serial.log");
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *pid;
  guint n = 0;

  g_assert_nonnull (proc);
  while ((pid = g_dir_read_name (proc)))
    {
      g_autofree char *path = g_build_filename ("/proc", pid, "cmdline", NULL);
      g_autofree char *cmdline = NULL;
      gsize len = 0;

      if (!g_ascii_isdigit (pid[0]) || !g_file_get_contents (path, &cmdline, &len, NULL) ||
          strstr (cmdline, "qemu-system") == NULL)
        continue;
      /* argv is NUL-separated; a zombie's is empty */
      for (const char *arg = cmdline; arg < cmdline + len; arg += strlen (arg) + 1)
        if (strstr (arg, sock) != NULL)
          {
            n++;
            break;
          }
    }
  return n;
}

static guint64
file_inode (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_ino;
}

/* The start succeeded; returns the supervisor pid it reports. */
static gint64
started_supervisor (GSubprocess *start)
{
  g_autofree char *out = NULL;
  const char *pid;

  g_assert_cmpint (wait_exit (start, &out), ==, 0);
  g_test_message ("qlaunch start: %s", out);
  pid = strstr (out, "(supervisor pid ");
  g_assert_nonnull (pid);
  return g_ascii_strtoll (pid + strlen ("(supervisor pid "), NULL, 10);
}

static gint64
start_detached (const char *profile)
{
  g_autoptr(GSubprocess) start = start_process (profile, TRUE);
  return started_supervisor (start);
}

/* The supervisor state.json names, once it is another than old (or 0 after 5 s). */
static gint64
wait_state_supervisor_not (const char *name, gint64 old)
{
  g_autofree char *dir = g_build_filename (runtime_base, name, NULL);
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(QlRuntimeState) state = ql_runtime_state_read (dir, NULL);
      if (state != NULL && state->supervisor.pid != old)
        return state->supervisor.pid;
      g_usleep (20 * 1000);
    }
  return 0;
}

/* kill -9 of the supervisor, then at once a new start.  The old QEMU is held
 * stopped, so that it outlives its supervisor as long as the test likes:
 * the new supervisor names itself in state.json at once, waits for that
 * QEMU before it starts its own, keeps the old run's console log, and stop
 * reaches it. */
static void
test_start_after_supervisor_killed (void)
{
  const char *vm = "test-ignore-acpi";
  g_autofree char *serial = runtime_file (vm, "serial.log");
  g_autofree char *kept = g_build_filename (state_base, vm, "serial.log", NULL);
  g_autofree char *out = NULL;
  g_autoptr(GSubprocess) start = NULL;
  gint64 old_supervisor, new_supervisor, old_qemu;
  guint64 old_log;

  if (skip_if_unavailable ())
    return;
  old_supervisor = start_detached ("test-ignore-acpi.ini");
  old_qemu = status_pid (vm, "qemu-pid");
  old_log = file_inode (serial);
  /* its PDEATHSIG waits until SIGCONT; status would wait for its QMP */
  g_assert_cmpint (kill ((pid_t) old_qemu, SIGSTOP), ==, 0);
  kill_supervisor_pid (vm, old_supervisor);

  start = start_process ("test-ignore-acpi.ini", TRUE);
  new_supervisor = wait_state_supervisor_not (vm, old_supervisor);
  g_assert_cmpint (new_supervisor, >, 0);
  g_assert_cmpint (kill ((pid_t) new_supervisor, 0), ==, 0);
  g_usleep (200 * 1000);
  g_assert_cmpuint (count_qemus (vm), ==, 1);
  g_assert_cmpint (kill ((pid_t) old_qemu, SIGCONT), ==, 0);
  g_assert_cmpint (started_supervisor (start), ==, new_supervisor);

  g_assert_cmpint (status_pid (vm, "supervisor-pid"), ==, new_supervisor);
  g_assert_cmpint (status_pid (vm, "qemu-pid"), !=, old_qemu);
  g_assert_cmpuint (count_qemus (vm), ==, 1);
  /* moved, not overwritten by the new QEMU */
  g_assert_cmpuint (file_inode (kept), ==, old_log);
  g_assert_cmpuint (file_inode (serial), !=, old_log);

  g_assert_cmpint (run_qlaunch (&out, NULL, "stop", "--timeout", "1", vm, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "VM 'test-ignore-acpi' stopped: stopped by force (quit)"));
  g_assert_cmpuint (count_qemus (vm), ==, 0);
  assert_nothing_left (vm);
}


/* A state.json left in the runtime dir that names a live process as the
 * supervisor (its true start time) and as QEMU (a PID reused since). */
static void
plant_state (const char *name, GPid stand_in)
{
  g_autofree char *dir = g_build_filename (runtime_base, name, NULL);
  g_autofree char *path = g_build_filename (dir, "state.json", NULL);
  g_autofree char *state = NULL;
  guint64 start_time;

  g_assert_true (ql_process_start_time ("/proc", stand_in, &start_time, NULL));
  state = g_strdup_printf ("{\"supervisor-pid\": %d, \"supervisor-start-time\": %" G_GUINT64_FORMAT ", "
                           "\"qemu-pid\": %d, \"qemu-start-time\": 1, \"started-usec\": 1, \"stop-timeout\": 5}",
                           (int) stand_in, start_time, (int) stand_in);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, state, -1, NULL));
}

/* A planted state.json is replaced by the start, so that kill signals the
 * new supervisor and never the process the file named. */
static void
test_start_replaces_planted_state (void)
{
  const char *vm = "test-ignore-acpi";
  g_autofree char *out = NULL;
  gint64 supervisor, t0;
  GPid stand_in;

  if (skip_if_unavailable ())
    return;
  stand_in = stand_in_qemu ();
  plant_state (vm, stand_in);
  /* no lock held: nothing runs, whatever the file says */
  g_assert_cmpint (run_qlaunch (&out, NULL, "kill", vm, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "VM 'test-ignore-acpi' is not running\n");

  /* the reused QEMU PID is not waited for */
  t0 = g_get_monotonic_time ();
  supervisor = start_detached ("test-ignore-acpi.ini");
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 8 * G_USEC_PER_SEC);
  g_assert_cmpint (status_pid (vm, "supervisor-pid"), ==, supervisor);
  g_assert_cmpint (status_pid (vm, "qemu-pid"), !=, stand_in);
  g_assert_true (stand_in_alive (stand_in));
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", vm, NULL), ==, 0);
  g_assert_cmpuint (count_qemus (vm), ==, 0);
  assert_nothing_left (vm);
  g_assert_true (stand_in_alive (stand_in));
  stop_stand_in (stand_in);
}

/* kill -9 of the supervisor of a VM without host changes: recover waits for
 * its QEMU, cleans the runtime dir and keeps the run's console log. */
static void
test_recover_without_host_changes (void)
{
  g_autofree char *serial = runtime_file ("demo", "serial.log");
  g_autofree char *kept = g_build_filename (state_base, "demo", "serial.log", NULL);
  g_autofree char *out = NULL;
  guint64 old_log;

  if (skip_if_unavailable ())
    return;
  start_detached ("demo.ini");
  old_log = file_inode (serial);
  kill_supervisor ("demo");
  g_assert_cmpint (run_qlaunch (&out, NULL, "recover", "demo", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "VM 'demo' has no host changes to undo\n"));
  g_assert_cmpuint (count_qemus ("demo"), ==, 0);
  assert_nothing_left ("demo");
  g_assert_cmpuint (file_inode (kept), ==, old_log);
}

/* ---- taps: in this test's own network namespace, a bridge with a veth
 * pair, one end a port, the other the "peer" at 10.99.0.1 ---- */


/* Runs a host tool (ip, busybox) to completion; returns its exit status. */
static int
run_tool (char **ret_out, const char *first, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  const char *arg;
  int status = -1;
  va_list ap;

  g_ptr_array_add (argv, (char *) first);
  va_start (ap, first);
  while ((arg = va_arg (ap, const char *)))
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                               NULL, NULL, &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s %s: %s", first, (char *) argv->pdata[1], out);
  if (ret_out != NULL)
    *ret_out = g_steal_pointer (&out);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

#define IP(...) g_assert_cmpint (run_tool (NULL, "ip", __VA_ARGS__, NULL), ==, 0)

static void
peer_net_up (void)
{
  IP ("link", "add", "qlbr0", "type", "bridge");
  IP ("link", "add", "qlv0", "type", "veth", "peer", "name", "qlv1");
  IP ("link", "set", "qlv0", "master", "qlbr0", "up");
  IP ("link", "set", "qlbr0", "up");
  IP ("addr", "add", "10.99.0.1/24", "dev", "qlv1");
  IP ("link", "set", "qlv1", "up");
}

static void
peer_net_down (void)
{
  IP ("link", "del", "qlv0");
  IP ("link", "del", "qlbr0");
}

typedef struct {
  QlLinkInfo link;
  int ports;
} BridgeState;

static void
bridge_state (const char *name, BridgeState *state)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlNetlink) nl = ql_netlink_open (&error);

  g_assert_no_error (error);
  g_assert_true (ql_link_get (nl, name, &state->link, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (state->link.kind, ==, "bridge");
  state->ports = ql_link_count_ports (nl, state->link.ifindex, &error);
  g_assert_no_error (error);
}

/* the bridge has the ports, address, MTU and flags it had before the VM */
static void
assert_bridge_unchanged (const BridgeState *before)
{
  BridgeState now;

  bridge_state (before->link.name, &now);
  g_assert_cmpint (now.link.ifindex, ==, before->link.ifindex);
  g_assert_cmpint (now.ports, ==, before->ports);
  g_assert_cmpmem (now.link.mac, 6, before->link.mac, 6);
  g_assert_cmpuint (now.link.mtu, ==, before->link.mtu);
  g_assert_cmpuint (now.link.flags & 1, ==, before->link.flags & 1);
}

/* FALSE when there is no link of that name */
static gboolean
get_link (const char *name, QlLinkInfo *info)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlNetlink) nl = ql_netlink_open (&error);
  gboolean found;

  g_assert_no_error (error);
  found = ql_link_get (nl, name, info, &error);
  if (!found)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  return found;
}

static gboolean
link_exists (const char *name)
{
  QlLinkInfo info;
  return get_link (name, &info);
}

/* The guest gets its address over the tap and answers the peer across the
 * bridge; two queues, seen from the host, QMP and the guest; after stop no
 * tap is left and the bridge is as it was. */
static void
test_tap_ping_stop (void)
{
  static const guint8 host_mac[6] = { 0xfe, 0x00, 0x00, 0x99, 0x00, 0x02 };
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(QlQmpClient) client = NULL;
  g_autoptr(JsonNode) network = NULL, mq = NULL;
  g_autofree char *console = NULL, *ping = NULL, *out = NULL;
  BridgeState before;
  QlLinkInfo tap;

  if (skip_if_no_net ())
    return;
  peer_net_up ();
  bridge_state ("qlbr0", &before);
  proc = start_foreground ("test-tap.ini");
  wait_running ("test-tap");

  /* the host side: a port of the bridge, two queues, fe: MAC, the bridge's MTU */
  g_assert_true (get_link ("ql-test-tap-0", &tap));
  g_assert_cmpstr (tap.kind, ==, "tun");
  g_assert_false (tap.tun_persist);
  g_assert_cmpuint (tap.tun_queues + tap.tun_disabled_queues, ==, 2);
  g_assert_cmpint (tap.master, ==, before.link.ifindex);
  g_assert_cmpmem (tap.mac, 6, host_mac, 6);
  g_assert_cmpuint (tap.mtu, ==, before.link.mtu);
  g_assert_true (tap.flags & 1);

  /* QEMU's side: one tap queue per fd, a multiqueue virtio-net */
  client = qmp_connect ("test-tap");
  network = qmp_with (client, "human-monitor-command", "command-line", "info network", NULL);
  g_test_message ("info network: %s", json_node_get_string (network));
  g_assert_nonnull (strstr (json_node_get_string (network), "net-lan: index=0,type=tap,fd=5"));
  g_assert_nonnull (strstr (json_node_get_string (network), "net-lan: index=1,type=tap,fd=6"));
  mq = qmp_with (client, "qom-get", "path", "/machine/peripheral/net-lan", "property", "mq", NULL);
  g_assert_true (json_node_get_boolean (mq));
  ql_qmp_client_close (client);

  /* the guest's side */
  console = wait_serial ("test-tap", "QL: ready");
  g_assert_nonnull (strstr (console, "QL: net eth0 02:00:00:99:00:02 mtu 1500 addr 10.99.0.2/24 rx-queues 2 tx-queues 2"));
  /* the guest's driver uses both queue pairs, so QEMU keeps both enabled */
  g_assert_true (get_link ("ql-test-tap-0", &tap));
  g_assert_cmpuint (tap.tun_queues, ==, 2);
  g_assert_cmpuint (tap.tun_disabled_queues, ==, 0);
  g_assert_cmpint (run_tool (&ping, "busybox", "ping", "-c", "3", "-W", "5", "-I", "qlv1", "10.99.0.2", NULL), ==, 0);
  g_assert_nonnull (strstr (ping, "64 bytes from 10.99.0.2"));

  g_assert_cmpint (run_qlaunch (&out, NULL, "stop", "test-tap", NULL), ==, 0);
  g_assert_cmpint (wait_exit (proc, NULL), ==, 0);
  g_assert_false (link_exists ("ql-test-tap-0"));
  assert_bridge_unchanged (&before);
  assert_nothing_left ("test-tap");
  peer_net_down ();
}

/* kill -9 of QEMU: its fds close, the tap goes, the supervisor finds it gone. */
static void
test_tap_qemu_killed (void)
{
  g_autoptr(GSubprocess) proc = NULL;
  BridgeState before;

  if (skip_if_no_net ())
    return;
  peer_net_up ();
  bridge_state ("qlbr0", &before);
  proc = start_foreground ("test-tap.ini");
  wait_running ("test-tap");
  g_assert_true (link_exists ("ql-test-tap-0"));
  g_assert_cmpint (kill ((pid_t) status_pid ("test-tap", "qemu-pid"), SIGKILL), ==, 0);
  g_assert_cmpint (wait_exit (proc, NULL), ==, 2);
  g_assert_false (link_exists ("ql-test-tap-0"));
  assert_bridge_unchanged (&before);
  assert_nothing_left ("test-tap");
  peer_net_down ();
}

/* kill -9 of the supervisor: the journal stays, recover replays it. */
static void
test_tap_supervisor_killed (void)
{
  g_autofree char *out = NULL, *path = profile_path ("test-tap.ini");
  g_autofree char *journal = runtime_file ("test-tap", "journal.json");
  g_autoptr(JsonNode) steps = NULL;
  BridgeState before;

  if (skip_if_no_net ())
    return;
  peer_net_up ();
  bridge_state ("qlbr0", &before);
  steps = plan_steps (path);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "start", "--detach", path, NULL), ==, 0);
  g_assert_true (link_exists ("ql-test-tap-0"));
  assert_journal_is_plan ("test-tap", steps);
  kill_supervisor ("test-tap");
  g_assert_true (g_file_test (journal, G_FILE_TEST_EXISTS));
  g_assert_cmpint (run_qlaunch (&out, NULL, "recover", "test-tap", NULL), ==, 0);
  g_assert_true (strstr (out, "tap ql-test-tap-0 is gone") || strstr (out, "tap ql-test-tap-0 deleted"));
  g_assert_false (link_exists ("ql-test-tap-0"));
  assert_bridge_unchanged (&before);
  assert_nothing_left ("test-tap");
  peer_net_down ();
}

/* Errors name the cause and leave nothing: a missing bridge, a taken name. */
static void
test_tap_errors (void)
{
  g_autofree char *path = profile_path ("test-tap.ini");
  g_autofree char *err = NULL;
  QlLinkInfo taken;

  if (skip_if_no_net ())
    return;
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", path, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "test-tap.ini:19: [net lan] bridge: there is no bridge 'qlbr0' on this host; "
                                 "create it (ip link add qlbr0 type bridge && ip link set qlbr0 up) "
                                 "or set create-bridge=true"));
  g_assert_false (link_exists ("ql-test-tap-0"));
  assert_nothing_left ("test-tap");

  IP ("link", "add", "qlbr0", "type", "veth", "peer", "name", "qlv8");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", path, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "test-tap.ini:19: [net lan] bridge: 'qlbr0' is a veth, not a bridge\n"));
  g_assert_false (link_exists ("ql-test-tap-0"));
  assert_nothing_left ("test-tap");
  IP ("link", "del", "qlbr0");

  peer_net_up ();
  IP ("link", "add", "ql-test-tap-0", "type", "veth", "peer", "name", "qlv9");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", path, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "test-tap.ini:19: [net lan] ifname: 'ql-test-tap-0' is taken by a veth; "
                                 "set ifname= to a free name"));
  /* the other device is untouched */
  g_assert_true (get_link ("ql-test-tap-0", &taken));
  g_assert_cmpstr (taken.kind, ==, "veth");
  g_assert_cmpint (taken.master, ==, 0);
  assert_nothing_left ("test-tap");
  IP ("link", "del", "ql-test-tap-0");
  peer_net_down ();
}

/* create-bridge: made when missing and deleted with the VM; a bridge that was
 * there before stays. */
static void
test_tap_create_bridge (void)
{
  g_autofree char *path = profile_path ("data/tap-create.ini");
  g_autoptr(JsonNode) steps = NULL;
  BridgeState bridge;

  if (skip_if_no_net ())
    return;
  steps = plan_steps (path);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "start", "--detach", path, NULL), ==, 0);
  assert_journal_is_plan ("tap-create", steps);
  bridge_state ("qlbr9", &bridge);
  g_assert_cmpint (bridge.ports, ==, 1);
  g_assert_true (bridge.link.flags & 1);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "tap-create", NULL), ==, 0);
  g_assert_false (link_exists ("qlbr9"));
  g_assert_false (link_exists ("ql-tap-create-0"));
  assert_nothing_left ("tap-create");

  IP ("link", "add", "qlbr9", "type", "bridge");
  g_assert_cmpint (run_qlaunch (NULL, NULL, "start", "--detach", path, NULL), ==, 0);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "tap-create", NULL), ==, 0);
  g_assert_true (link_exists ("qlbr9"));
  g_assert_false (link_exists ("ql-tap-create-0"));
  IP ("link", "del", "qlbr9");
}

/* host-setup makes the tap persistent and a user's; a start uses it as it is
 * and leaves it; host-setup --undo takes it away. */
static void
test_tap_host_setup (void)
{
  g_autofree char *path = profile_path ("test-tap.ini");
  g_autofree char *out = NULL, *undone = NULL;
  BridgeState bridge;
  QlLinkInfo tap;

  if (skip_if_no_net ())
    return;
  peer_net_up ();
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", path, "--user", "nobody", "--bridge", "qlbr0", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "tap ql-test-tap-0: persistent, owned by uid 65534, 2 queues, port of qlbr0\n");
  g_assert_true (get_link ("ql-test-tap-0", &tap));
  g_assert_true (tap.tun_persist);
  bridge_state ("qlbr0", &bridge);
  g_assert_cmpint (tap.master, ==, bridge.link.ifindex);

  g_assert_cmpint (run_qlaunch (NULL, NULL, "start", "--detach", path, NULL), ==, 0);
  g_assert_true (get_link ("ql-test-tap-0", &tap));
  g_assert_cmpuint (tap.tun_queues + tap.tun_disabled_queues, ==, 2);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "test-tap", NULL), ==, 0);
  assert_nothing_left ("test-tap");
  g_assert_true (get_link ("ql-test-tap-0", &tap));
  g_assert_cmpuint (tap.tun_queues + tap.tun_disabled_queues, ==, 0);
  g_assert_cmpint (tap.master, ==, bridge.link.ifindex);

  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", "--undo", path, "--user", "nobody", NULL), ==, 0);
  undone = g_strdup_printf ("host-setup --undo for VM 'test-tap', set up for nobody from %s:\ntap ql-test-tap-0 "
                            "deleted\n", path);
  g_assert_cmpstr (out, ==, undone);
  g_assert_false (link_exists ("ql-test-tap-0"));
  peer_net_down ();
}

/* test-tap.ini with one more line in its [net lan] */
static char *
tap_profile_with (const char *line)
{
  g_autofree char *text = NULL, *base = profile_path ("test-tap.ini"), *with = NULL;
  g_auto(GStrv) parts = NULL;
  char *path = g_build_filename (tmp_root, "tap-variant.ini", NULL);

  g_assert_true (g_file_get_contents (base, &text, NULL, NULL));
  parts = g_strsplit (text, "[net lan]\n", 2);
  g_assert_nonnull (parts[1]);
  with = g_strdup_printf ("%s[net lan]\n%s\n%s", parts[0], line, parts[1]);
  g_assert_true (g_file_set_contents (path, with, -1, NULL));
  return path;
}

/* host-setup and a user's taps: a bridge root did not name, an MTU below
 * the bridge's, a missing bridge, a tap of that name that is someone
 * else's are refused with nothing made; a tap that is the user's already
 * is left, and not recorded, so --undo leaves it too. */
static void
test_tap_host_setup_refusals (void)
{
  g_autofree char *path = profile_path ("test-tap.ini"), *low_mtu = NULL, *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  QlLinkInfo tap;

  if (skip_if_no_net ())
    return;
  peer_net_up ();
  g_assert_cmpint (run_qlaunch (&out, &err, "host-setup", path, "--user", "nobody", "--dry-run", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "[net lan] bridge: the tap would be a port of 'qlbr0', which root has not allowed; "
                                 "if the VM may be on that network, run again with --bridge qlbr0"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", path, "--user", "nobody", "--bridge", "qlbr0", "--dry-run",
                                NULL), ==, 0);
  g_assert_nonnull (strstr (out, "make tap ql-test-tap-0 persistent, owned by nobody (unless it is nobody's already; "
                                 "then it is left and not recorded): 2 queues, port of qlbr0, the bridge's MTU\n"));
  g_assert_false (link_exists ("ql-test-tap-0"));

  low_mtu = tap_profile_with ("mtu = 68");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", low_mtu, "--user", "nobody", "--bridge", "qlbr0", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "[net lan] mtu: 68 is below bridge 'qlbr0''s 1500 and would lower it for every port"));
  g_assert_false (link_exists ("ql-test-tap-0"));

  /* bob's (uid 1's) tap of that name */
  g_assert_true (ql_tap_create_persistent ("ql-test-tap-0", 2, 1, &error));
  g_assert_no_error (error);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", path, "--user", "nobody", "--bridge", "qlbr0", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "ifname: 'ql-test-tap-0' is a persistent tap of uid 1, not the user's; left alone"));
  g_assert_true (get_link ("ql-test-tap-0", &tap));
  g_assert_cmpuint (tap.tun_owner, ==, 1);
  IP ("link", "del", "ql-test-tap-0");

  /* the user's own tap, made by someone else: used, not recorded, not removed by --undo */
  g_assert_true (ql_tap_create_persistent ("ql-test-tap-0", 2, 65534, &error));
  g_assert_no_error (error);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", path, "--user", "nobody", "--bridge", "qlbr0", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "tap ql-test-tap-0 is already persistent and uid 65534's; left as it is\n"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", "--undo", path, "--user", "nobody", NULL), ==, 0);
  g_assert_true (link_exists ("ql-test-tap-0"));
  IP ("link", "del", "ql-test-tap-0");

  /* host-setup makes no bridge */
  peer_net_down ();
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", path, "--user", "nobody", "--bridge", "qlbr0", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "[net lan] bridge: cannot use 'qlbr0' (host-setup makes no bridge"));
  g_assert_false (link_exists ("qlbr0"));
  g_assert_false (link_exists ("ql-test-tap-0"));
  g_unlink (low_mtu);
}

/* vhost=true: one vhost-net fd per queue; without /dev/vhost-net (this
 * machine) a clear error, and the tap made before it is gone again. */
static void
test_tap_vhost (void)
{
  g_autofree char *path = profile_path ("data/tap-vhost.ini");
  g_autofree char *err = NULL;
  QlLinkInfo tap;

  if (skip_if_no_net ())
    return;
  if (!g_file_test ("/dev/vhost-net", G_FILE_TEST_EXISTS))
    {
      g_assert_cmpint (run_qlaunch (NULL, &err, "start", path, NULL), ==, 1);
      g_assert_nonnull (strstr (err, "tap-vhost.ini:13: [net lan] vhost: the host has no vhost-net; "
                                     "load it (modprobe vhost_net) or set vhost=false"));
    }
  else
    {
      g_assert_cmpint (run_qlaunch (NULL, &err, "start", "--detach", path, NULL), ==, 0);
      g_assert_true (get_link ("ql-tap-vhost-0", &tap));
      g_assert_cmpuint (tap.tun_queues + tap.tun_disabled_queues, ==, 2);
      g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "tap-vhost", NULL), ==, 0);
    }
  g_assert_false (link_exists ("ql-tap-vhost-0"));
  assert_nothing_left ("tap-vhost");
}

/* As a user: no CAP_NET_ADMIN, so no tap; the error says what to do. */
static void
test_tap_no_permission (void)
{
  g_autofree char *path = profile_path ("test-tap.ini");
  g_autofree char *err = NULL;
  int status;

  if (skip_if_no_net ())
    return;
  peer_net_up ();
  run_as_uid = 65534;
  status = run_qlaunch (NULL, &err, "start", path, NULL);
  run_as_uid = 0;
  g_assert_cmpint (status, ==, 1);
  g_assert_nonnull (strstr (err, "test-tap.ini:19: [net lan]: cannot create tap 'ql-test-tap-0' "
                                 "(cannot open /dev/net/tun: Permission denied): creating a tap needs "
                                 "CAP_NET_ADMIN. Run qlaunch as root, or have root make the VM's taps "
                                 "persistent and yours once: sudo qlaunch host-setup test-tap --user nobody\n"));
  g_assert_false (link_exists ("ql-test-tap-0"));
  peer_net_down ();
}

/* No journal, nor a temp file of one, anywhere under dir. */
static void
assert_no_journal (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_assert_false (g_str_has_prefix (name, "journal.json"));
      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        assert_no_journal (path);
    }
}

/* A foreground start of test-tap, its stderr to read line by line. */
static GSubprocess *
start_tap_foreground (GDataInputStream **ret_err)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                                      G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = profile_path ("test-tap.ini");
  g_auto(GStrv) env = child_env ();
  GSubprocess *proc;

  g_subprocess_launcher_set_environ (launcher, env);
  proc = g_subprocess_launcher_spawn (launcher, &error, qlaunch, "start", path, NULL);
  g_assert_no_error (error);
  *ret_err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (proc));
  return proc;
}

/* Appends lines of in to text up to one that holds needle, or to the end
 * when needle is NULL; FALSE when the end came first. */
static gboolean
read_lines (GDataInputStream *in, GString *text, const char *needle)
{
  char *line;

  while ((line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, NULL)))
    {
      gboolean found = needle != NULL && strstr (line, needle) != NULL;

      g_string_append_printf (text, "%s\n", line);
      g_free (line);
      if (found)
        return TRUE;
    }
  return needle == NULL;
}

/* Ctrl-C, and again a moment later when twice.  Before the VM runs, that
 * aborts the start: status 1.  Once it runs, Ctrl-C is a stop that presses
 * the power button, which the booting guest does not hear yet; one more
 * Ctrl-C quits it: status 3. */
static void
interrupt_start (GSubprocess *proc, GDataInputStream *err, GString *text, gboolean twice)
{
  gboolean ran;

  g_subprocess_send_signal (proc, SIGINT);
  if (twice)
    {
      g_usleep (1000);
      g_subprocess_send_signal (proc, SIGINT);
    }
  if (read_lines (err, text, "pressing the ACPI power button"))
    g_subprocess_send_signal (proc, SIGINT);
  g_assert_true (read_lines (err, text, NULL));
  g_assert_true (g_subprocess_wait (proc, NULL, NULL));
  g_test_message ("%s", text->str);
  if (g_subprocess_get_if_signaled (proc))
    {
      /* before qlaunch took SIGINT over: it had done nothing yet */
      g_assert_cmpint (g_subprocess_get_term_sig (proc), ==, SIGINT);
      return;
    }
  ran = strstr (text->str, "test-tap: running (QEMU pid") != NULL;
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, ran ? 3 : 1);
  if (!ran)
    g_assert_nonnull (strstr (text->str, "Start of VM 'test-tap' interrupted"));
}

/* Ctrl-C delay_ms after the start, or once its stderr shows after_line. */
static void
interrupt_tap_start (guint delay_ms, const char *after_line, gboolean twice)
{
  g_autoptr(GDataInputStream) err = NULL;
  g_autoptr(GSubprocess) proc = start_tap_foreground (&err);
  g_autoptr(GString) text = g_string_new (NULL);

  if (after_line != NULL)
    {
      g_string_printf (text, "SIGINT%s after '%s':\n", twice ? " twice" : "", after_line);
      g_assert_true (read_lines (err, text, after_line));
    }
  else
    {
      g_string_printf (text, "SIGINT%s after %u ms:\n", twice ? " twice" : "", delay_ms);
      g_usleep (delay_ms * 1000);
    }
  interrupt_start (proc, err, text, twice);
}

/* The host is as it was before the start. */
static void
assert_tap_start_undone (const BridgeState *before)
{
  g_assert_false (link_exists ("ql-test-tap-0"));
  assert_bridge_unchanged (before);
  assert_nothing_left ("test-tap");
  assert_no_journal (runtime_base);
}

/* Ctrl-C at any moment of a start with a tap, once or twice: the start ends
 * and the host is left as it was; then a start works. */
static void
test_tap_interrupted_start (void)
{
  static const guint delays_ms[] = { 0, 5, 15, 30, 60, 120, 250 };
  g_autoptr(JsonObject) exit_info = NULL;
  BridgeState before;

  if (skip_if_no_net ())
    return;
  peer_net_up ();
  bridge_state ("qlbr0", &before);
  for (guint twice = 0; twice < 2; twice++)
    {
      for (guint i = 0; i < G_N_ELEMENTS (delays_ms); i++)
        {
          interrupt_tap_start (delays_ms[i], NULL, twice);
          assert_tap_start_undone (&before);
        }
      /* right after the tap was made, whatever the machine's speed */
      interrupt_tap_start (0, "tap ql-test-tap-0: 2 queues", twice);
      assert_tap_start_undone (&before);
    }

  /* once it runs */
  interrupt_tap_start (0, "test-tap: running (QEMU pid", FALSE);
  exit_info = last_exit ("test-tap");
  g_assert_cmpstr (json_object_get_string_member (exit_info, "reason"), ==, "forced");
  assert_tap_start_undone (&before);

  start_detached ("test-tap.ini");
  g_assert_true (link_exists ("ql-test-tap-0"));
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "test-tap", NULL), ==, 0);
  assert_tap_start_undone (&before);
  peer_net_down ();
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  vm_harness_init ();

  /* every VM of this test lives in a network namespace of its own: the taps
   * and bridges it makes never touch the host's network */
  vm_harness_enter_netns ("tap tests", "ip", "busybox", NULL);

  g_test_add_func ("/vm/start-query-stop", test_start_query_stop);
  g_test_add_func ("/vm/stop-escalates", test_stop_escalates);
  g_test_add_func ("/vm/qemu-killed", test_qemu_killed);
  g_test_add_func ("/vm/escaping", test_escaping);
  g_test_add_func ("/vm/uefi-vars", test_uefi_vars);
  g_test_add_func ("/vm/machine-type-kept", test_machine_type_kept);
  g_test_add_func ("/vm/failed-start", test_failed_start);
  g_test_add_func ("/vm/demo", test_demo);
  g_test_add_data_func ("/vm/fake-battery/bios", "bios", test_fake_battery);
  g_test_add_data_func ("/vm/fake-battery/uefi", "uefi", test_fake_battery);
  g_test_add_func ("/vm/dead-run/start-after", test_start_after_supervisor_killed);
  g_test_add_func ("/vm/dead-run/planted-state", test_start_replaces_planted_state);
  g_test_add_func ("/vm/dead-run/recover", test_recover_without_host_changes);
  g_test_add_func ("/vm/tap/ping-stop", test_tap_ping_stop);
  g_test_add_func ("/vm/tap/qemu-killed", test_tap_qemu_killed);
  g_test_add_func ("/vm/tap/supervisor-killed", test_tap_supervisor_killed);
  g_test_add_func ("/vm/tap/errors", test_tap_errors);
  g_test_add_func ("/vm/tap/create-bridge", test_tap_create_bridge);
  g_test_add_func ("/vm/tap/host-setup", test_tap_host_setup);
  g_test_add_func ("/vm/tap/host-setup-refusals", test_tap_host_setup_refusals);
  g_test_add_func ("/vm/tap/vhost", test_tap_vhost);
  g_test_add_func ("/vm/tap/no-permission", test_tap_no_permission);
  g_test_add_func ("/vm/tap/interrupted-start", test_tap_interrupted_start);
  ret = g_test_run ();
  remove_tree (tmp_root);
  return ret;
}
