/* [cpu] isolate and [vm] inhibit-sleep with the real test guest under real
 * QEMU, against python-dbusmock's systemd and logind on a private bus
 * (DBUS_SYSTEM_BUS_ADDRESS, which the qlaunch it starts inherits): the
 * slices get AllowedCPUs= the CPUs the vCPU leaves (the vCPU on CPU 1,
 * the host on CPU 0) and their earlier values back when the VM ends, or
 * from 'qlaunch recover' after kill -9 of the supervisor; logind's delay
 * lock is held while the VM runs, PrepareForSleep pauses the guest and
 * gives the lock up, the wake-up continues it and takes the lock again.
 * No test under a real systemd: PID 1 is not systemd here. */
#include "dbus-mock.h"
#include "vm-harness.h"

#include <glib/gstdio.h>
#include <string.h>

#define VM "test-isolate"
#define WAIT_S 30

static MockBus *mock;
static const guint8 system_slice_before[] = { 0x03 };

static char *
write_profile (const char *name, const char *extra)
{
  return write_guest_profile (name, "acpi", extra, "[memory]\nsize = 256M\n[shutdown]\ntimeout = 5\n");
}

/* once: each test leaves them as they were */
static void
add_units (void)
{
  static gboolean added;

  if (added)
    return;
  added = TRUE;
  mock_systemd_add_cpu_unit (mock, "system.slice", system_slice_before, sizeof system_slice_before);
  mock_systemd_add_cpu_unit (mock, "user.slice", NULL, 0);
  mock_systemd_add_cpu_unit (mock, "init.scope", NULL, 0);
}

static void
assert_units (const char *system_slice, const char *others)
{
  g_autofree char *sys = mock_systemd_allowed_cpus (mock, "system.slice");
  g_autofree char *user = mock_systemd_allowed_cpus (mock, "user.slice");
  g_autofree char *init = mock_systemd_allowed_cpus (mock, "init.scope");

  g_assert_cmpstr (sys, ==, system_slice);
  g_assert_cmpstr (user, ==, others);
  g_assert_cmpstr (init, ==, others);
}

/* logind's inhibitors once they are as expected, within WAIT_S. */
static void
wait_inhibitors (const char *expect)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  for (;;)
    {
      g_autofree char *now = mock_logind_inhibitors (mock);
      if (strcmp (now, expect) == 0 || g_get_monotonic_time () > deadline)
        {
          g_assert_cmpstr (now, ==, expect);
          return;
        }
      g_usleep (50000);
    }
}

static void
wait_guest_status (QlQmpClient *client, const char *expect)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(JsonNode) status = qmp (client, "query-status");
      const char *now = json_object_get_string_member (json_node_get_object (status), "status");
      if (strcmp (now, expect) == 0 || g_get_monotonic_time () > deadline)
        {
          g_assert_cmpstr (now, ==, expect);
          return;
        }
      g_usleep (50000);
    }
}

/* plan lists one cpu-isolate step per unit, with what it allows now. */
static void
assert_plan (JsonNode *steps)
{
  JsonArray *array = json_node_get_array (steps);
  static const char *const units[] = { "system.slice", "user.slice", "init.scope" };
  guint found = 0;

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);
      if (strcmp (json_object_get_string_member (o, "kind"), "cpu-isolate") != 0)
        continue;
      g_assert_cmpstr (json_object_get_string_member (o, "unit"), ==, units[found]);
      g_assert_cmpstr (json_object_get_string_member (o, "cpus"), ==, "0");
      g_assert_cmpstr (json_object_get_string_member (o, "vcpus"), ==, "1");
      g_assert_cmpstr (json_object_get_string_member (o, "cpus-before"), ==, found == 0 ? "0-1" : "");
      found++;
    }
  g_assert_cmpuint (found, ==, 3);
}

static gboolean
skip_vm (void)
{
  if (skip_if_unavailable ())
    return TRUE;
  if (mock == NULL)
    {
      g_test_skip ("no mock bus: dbus-daemon or python3-dbusmock is missing");
      return TRUE;
    }
  if (g_get_num_processors () < 2)
    {
      g_test_skip ("the vCPU is pinned to CPU 1, and this host has one CPU");
      return TRUE;
    }
  return FALSE;
}

static void
test_isolate_and_delay (void)
{
  g_autofree char *profile = NULL, *out = NULL;
  g_autoptr(JsonNode) steps = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(QlQmpClient) client = NULL;

  if (skip_vm ())
    return;
  profile = write_profile (VM, "inhibit-sleep = delay\n[cpu]\ncores = 1\npin = 1\nisolate = true\n");
  add_units ();
  steps = plan_steps (profile);
  assert_plan (steps);
  g_assert_cmpuint (mock_systemd_calls (mock, "SetUnitProperties"), ==, 0);

  proc = start_foreground (profile);
  wait_running (VM);
  assert_units ("01", "01");
  assert_journal_is_plan (VM, steps);
  wait_inhibitors ("sleep qlaunch delay: VM " VM " runs");

  /* the host goes to sleep: the guest is paused first, then the lock goes */
  client = qmp_connect (VM);
  mock_logind_prepare_for_sleep (mock, TRUE);
  wait_inhibitors ("");
  wait_guest_status (client, "paused");
  /* and wakes: the lock is back, the guest runs */
  mock_logind_prepare_for_sleep (mock, FALSE);
  wait_guest_status (client, "running");
  wait_inhibitors ("sleep qlaunch delay: VM " VM " runs");
  ql_qmp_client_close (client);

  g_assert_cmpint (run_qlaunch (&out, NULL, "kill", VM, NULL), ==, 0);
  g_assert_cmpint (wait_exit (proc, NULL), ==, 3);
  assert_units ("03", "");
  wait_inhibitors ("");
  assert_nothing_left (VM);
}

/* kill -9: the lock dies with the supervisor's fd; the slices stay
 * isolated until 'qlaunch recover' gives them their CPUs back. */
static void
test_recover_after_kill (void)
{
  g_autofree char *profile = NULL, *out = NULL;
  g_autoptr(GSubprocess) proc = NULL;

  if (skip_vm ())
    return;
  profile = write_profile (VM, "inhibit-sleep = block\n[cpu]\ncores = 1\npin = 1\nisolate = true\n");
  add_units ();
  proc = start_foreground (profile);
  wait_running (VM);
  assert_units ("01", "01");
  wait_inhibitors ("sleep qlaunch block: VM " VM " runs");
  kill_supervisor (VM);
  g_assert_true (g_subprocess_wait (proc, NULL, NULL));
  wait_inhibitors ("");
  assert_units ("01", "01");
  g_assert_cmpint (run_qlaunch (&out, NULL, "recover", VM, NULL), ==, 0);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "system.slice may run on 0-1 again"));
  g_assert_nonnull (strstr (out, "init.scope may run on all CPUs again"));
  assert_units ("03", "");
  assert_nothing_left (VM);
}

/* inhibit-sleep asked for explicitly, and no logind: the start fails and says why. */
static void
test_no_logind (void)
{
  g_autofree char *profile = NULL, *err = NULL, *saved = g_strdup (g_getenv ("DBUS_SYSTEM_BUS_ADDRESS"));
  g_autofree char *skip = NULL;
  MockBus *bare;

  if (skip_vm ())
    return;
  bare = mock_bus_start (&skip);
  g_assert_nonnull (bare);
  profile = write_profile ("test-nologind", "inhibit-sleep = block\n");
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", profile, "--no-console", NULL), ==, 1);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "[vm] inhibit-sleep=block: cannot take logind's sleep lock"));
  g_assert_nonnull (strstr (err, "no systemd-logind on this host"));
  assert_nothing_left ("test-nologind");
  mock_bus_stop (bare);
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", saved, TRUE);
}

int
main (int argc, char **argv)
{
  g_autofree char *skip = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  vm_harness_init ();
  mock = mock_bus_start (&skip);
  if (mock != NULL)
    {
      mock_bus_add_template (mock, "systemd", "org.freedesktop.systemd1");
      mock_bus_add_template (mock, "logind", "org.freedesktop.login1");
    }
  g_test_add_func ("/systemd-dbus-vm/isolate-and-delay", test_isolate_and_delay);
  g_test_add_func ("/systemd-dbus-vm/recover-after-kill", test_recover_after_kill);
  g_test_add_func ("/systemd-dbus-vm/no-logind", test_no_logind);
  status = g_test_run ();
  mock_bus_stop (mock);
  remove_tree (tmp_root);
  return status;
}
