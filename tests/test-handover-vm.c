/* [host] release-units with the real test guest under real QEMU, against
 * python-dbusmock's systemd on a private bus (DBUS_SYSTEM_BUS_ADDRESS,
 * which the qlaunch it starts inherits): a.service is active and b.service
 * inactive, so only a is stopped, before QEMU starts (the mock's StopUnit
 * looks for the VM's QEMU in /proc), and started again when the VM ends,
 * or by 'qlaunch recover' after kill -9 of the supervisor; a StopUnit
 * that fails makes the start fail, and every unit stopped before it is
 * started again.  No test under a real systemd: PID 1 is not systemd
 * here.  The consoles, framebuffers and modules are the lab's
 * (tests/lab/scenario.sh): this host's kernel is not the test's to change. */
#include "dbus-mock.h"
#include "vm-harness.h"

#include <string.h>

#define VM "test-handover"
#define VM_FAIL "test-handover-fail"

static MockBus *mock;

static char *
write_profile (const char *name, const char *units)
{
  g_autofree char *sections = g_strdup_printf ("[memory]\nsize = 256M\n[shutdown]\ntimeout = 5\n"
                                               "[host]\nrelease-units = %s\n", units);

  return write_guest_profile (name, "acpi", "", sections);
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
  return FALSE;
}

static void
assert_calls (const char *method, const char *expect)
{
  g_autofree char *units = mock_systemd_call_units (mock, method);
  g_assert_cmpstr (units, ==, expect);
}

static void
assert_state (const char *unit, const char *expect)
{
  g_autofree char *state = mock_systemd_active_state (mock, unit);
  g_assert_cmpstr (state, ==, expect);
}

/* a and b as the test starts; the calls of the test before are forgotten */
static void
reset_units (void)
{
  static gboolean added;

  if (!added)
    {
      mock_systemd_add_unit (mock, "a.service", "active");
      mock_systemd_add_unit (mock, "b.service", "inactive");
      mock_systemd_add_unit (mock, "c.service", "active");
      added = TRUE;
    }
  mock_systemd_clear_calls (mock);
}

/* plan: one unit-stop step, for a; b is a note */
static void
assert_plan (const char *profile, JsonNode *steps)
{
  JsonArray *array = json_node_get_array (steps);
  g_autofree char *out = NULL;
  JsonObject *o;

  g_assert_cmpuint (json_array_get_length (array), ==, 1);
  o = json_array_get_object_element (array, 0);
  g_assert_cmpstr (json_object_get_string_member (o, "kind"), ==, "unit-stop");
  g_assert_cmpstr (json_object_get_string_member (o, "unit"), ==, "a.service");
  g_assert_cmpint (run_qlaunch (&out, NULL, "plan", profile, NULL), ==, 0);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "stop a.service  (active now; started again after the VM; [host] release-units)"));
  g_assert_nonnull (strstr (out, "note: b.service is inactive: not stopped, not started after the VM"));
}

static void
test_stop_and_start (void)
{
  g_autofree char *profile = NULL, *out = NULL;
  g_autoptr(JsonNode) steps = NULL;
  g_autoptr(GSubprocess) proc = NULL;

  if (skip_vm ())
    return;
  reset_units ();
  profile = write_profile (VM, "a.service b.service");
  steps = plan_steps (profile);
  assert_plan (profile, steps);
  assert_calls ("StopUnit", "");

  proc = start_foreground (profile);
  wait_running (VM);
  assert_calls ("StopUnit", "a.service");
  g_assert_false (mock_systemd_qemu_ran_at_stop (mock, "a.service"));
  assert_calls ("StartUnit", "");
  assert_state ("a.service", "inactive");
  assert_state ("b.service", "inactive");
  assert_journal_is_plan (VM, steps);

  g_assert_cmpint (run_qlaunch (&out, NULL, "kill", VM, NULL), ==, 0);
  g_assert_cmpint (wait_exit (proc, NULL), ==, 3);
  assert_calls ("StartUnit", "a.service");
  assert_calls ("StopUnit", "a.service");
  assert_state ("a.service", "active");
  assert_state ("b.service", "inactive");
  assert_nothing_left (VM);
}

/* kill -9: the unit stays stopped until 'qlaunch recover' starts it. */
static void
test_recover_after_kill (void)
{
  g_autofree char *profile = NULL, *out = NULL;
  g_autoptr(GSubprocess) proc = NULL;

  if (skip_vm ())
    return;
  reset_units ();
  profile = write_profile (VM, "a.service b.service");
  proc = start_foreground (profile);
  wait_running (VM);
  assert_state ("a.service", "inactive");
  /* the mock's check sees a QEMU that runs (so its "no" above means something) */
  g_variant_unref (mock_call (mock, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                              "org.freedesktop.systemd1.Manager", "StopUnit",
                              g_variant_new ("(ss)", "b.service", "replace")));
  g_assert_true (mock_systemd_qemu_ran_at_stop (mock, "b.service"));
  mock_systemd_clear_calls (mock);
  kill_supervisor (VM);
  g_assert_true (g_subprocess_wait (proc, NULL, NULL));
  assert_state ("a.service", "inactive");
  assert_calls ("StartUnit", "");
  g_assert_cmpint (run_qlaunch (&out, NULL, "recover", VM, NULL), ==, 0);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "a.service started again"));
  assert_calls ("StartUnit", "a.service");
  assert_state ("a.service", "active");
  assert_nothing_left (VM);
}

/* c's stop fails: the start fails and says why, no QEMU ran, and a (stopped
 * before it) and c are started again, newest first. */
static void
test_stop_fails (void)
{
  g_autofree char *profile = NULL, *err = NULL;

  if (skip_vm ())
    return;
  reset_units ();
  mock_systemd_replace_jobs (mock, VM_FAIL, "c.service");
  profile = write_profile (VM_FAIL, "a.service c.service");
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", profile, "--no-console", NULL), ==, 1);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "[host] release-units: systemd: StopUnit (c.service): the job ended with 'failed'"));
  assert_calls ("StopUnit", "a.service,c.service");
  assert_calls ("StartUnit", "c.service,a.service");
  assert_state ("a.service", "active");
  assert_state ("c.service", "active");
  assert_nothing_left (VM_FAIL);
  mock_systemd_replace_jobs (mock, VM, NULL);
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
      mock_systemd_replace_jobs (mock, VM, NULL);
    }
  else
    g_printerr ("# %s\n", skip);
  g_test_add_func ("/handover-vm/stop-and-start", test_stop_and_start);
  g_test_add_func ("/handover-vm/recover-after-kill", test_recover_after_kill);
  g_test_add_func ("/handover-vm/stop-fails", test_stop_fails);
  status = g_test_run ();
  mock_bus_stop (mock);
  remove_tree (tmp_root);
  return status;
}
