/* host/ql-systemd-dbus.c against python-dbusmock's systemd and logind
 * templates on a private bus (DBUS_SYSTEM_BUS_ADDRESS): AllowedCPUs read
 * and set, StopUnit/StartUnit waiting for their job's JobRemoved (done,
 * failed, never), logind's inhibitor fd and PrepareForSleep, and the
 * errors when there is no bus or no systemd on it.  No test under a real
 * systemd: PID 1 is not systemd where these run. */
#include "dbus-mock.h"
#include "step-checks.h"
#include "ql-error.h"
#include "ql-host-step.h"
#include "ql-journal.h"
#include "ql-systemd-dbus.h"

#include <string.h>
#include <unistd.h>

static MockBus *mock;

static GArray *
cpus_of (const char *list)
{
  GArray *cpus = g_array_new (FALSE, FALSE, sizeof (guint));
  g_auto(GStrv) parts = g_strsplit (list, ",", -1);

  for (guint i = 0; list[0] && parts[i]; i++)
    {
      guint cpu = (guint) g_ascii_strtoull (parts[i], NULL, 10);
      g_array_append_val (cpus, cpu);
    }
  return cpus;
}

static char *
format_cpus (const GArray *cpus)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < cpus->len; i++)
    g_string_append_printf (out, "%s%u", i ? "," : "", g_array_index (cpus, guint, i));
  return g_string_free (out, FALSE);
}

/* systemd's bitmask: CPU 8i+j is bit j of byte i, no trailing bytes. */
static void
test_mask (void)
{
  const char *lists[] = { "", "0", "1", "0,7,8", "3,64,8191" };
  const char *hex[] = { "", "01", "02", "8101", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
    {
      g_autoptr(GArray) cpus = cpus_of (lists[i]);
      g_autoptr(GVariant) mask = g_variant_ref_sink (ql_systemd_cpus_to_mask (cpus));
      g_autoptr(GArray) back = ql_systemd_mask_to_cpus (mask);
      g_autofree char *text = format_cpus (back);

      g_assert_cmpstr (g_variant_get_type_string (mask), ==, "ay");
      g_assert_cmpstr (text, ==, lists[i]);
      if (hex[i] != NULL)
        {
          gsize len;
          const guint8 *bytes = g_variant_get_fixed_array (mask, &len, 1);
          GString *h = g_string_new (NULL);
          for (gsize b = 0; b < len; b++)
            g_string_append_printf (h, "%02x", bytes[b]);
          g_assert_cmpstr (h->str, ==, hex[i]);
          g_string_free (h, TRUE);
        }
    }
}

static gboolean
have_mock (void)
{
  if (mock == NULL)
    g_test_skip ("no mock bus (see the first test's skip reason)");
  return mock != NULL;
}

static void
test_allowed_cpus (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) before = NULL, after = NULL, zero = cpus_of ("0,2"), all = cpus_of ("");
  g_autofree char *hex = NULL, *hex_all = NULL;

  if (!have_mock ())
    return;
  mock_systemd_add_cpu_unit (mock, "system.slice", NULL, 0);
  g_assert_true (ql_systemd_get_allowed_cpus ("system.slice", &before, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (before->len, ==, 0);

  g_assert_true (ql_systemd_set_allowed_cpus ("system.slice", zero, &error));
  g_assert_no_error (error);
  hex = mock_systemd_allowed_cpus (mock, "system.slice");
  g_assert_cmpstr (hex, ==, "05");
  g_assert_true (ql_systemd_get_allowed_cpus ("system.slice", &after, &error));
  g_assert_cmpuint (after->len, ==, 2);
  g_assert_cmpuint (mock_systemd_calls (mock, "SetUnitProperties"), ==, 1);

  /* "all" again is the empty mask, as systemctl set-property AllowedCPUs= sends it */
  g_assert_true (ql_systemd_set_allowed_cpus ("system.slice", all, &error));
  hex_all = mock_systemd_allowed_cpus (mock, "system.slice");
  g_assert_cmpstr (hex_all, ==, "");
}

static void
test_allowed_cpus_scope (void)
{
  static const guint8 mask[] = { 0x03 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) cpus = NULL;

  if (!have_mock ())
    return;
  mock_systemd_add_cpu_unit (mock, "init.scope", mask, sizeof mask);
  g_assert_true (ql_systemd_get_allowed_cpus ("init.scope", &cpus, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (cpus->len, ==, 2);
  g_assert_cmpuint (g_array_index (cpus, guint, 1), ==, 1);
}

static void
test_unknown_unit (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) cpus = NULL;

  if (!have_mock ())
    return;
  g_assert_false (ql_systemd_get_allowed_cpus ("nothere.slice", &cpus, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "GetUnit (nothere.slice)"));
}

static void
test_stop_start (void)
{
  g_autoptr(GError) error = NULL;

  if (!have_mock ())
    return;
  g_variant_unref (mock_control (mock, "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "AddMockUnit",
                                 g_variant_new ("(s)", "display-manager.service")));
  g_assert_true (ql_systemd_start_unit ("display-manager.service", 5000, &error));
  g_assert_no_error (error);
  g_assert_true (ql_systemd_stop_unit ("display-manager.service", 5000, &error));
  g_assert_no_error (error);
}

/* [host] release-units reads ActiveState; the mock's StartUnit sets it. */
static void
test_active_state (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL;
  char *unknown = NULL;

  if (!have_mock ())
    return;
  g_variant_unref (mock_control (mock, "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "AddMockUnit",
                                 g_variant_new ("(s)", "gdm.service")));
  g_assert_true (ql_systemd_get_active_state ("gdm.service", &before, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (before, ==, "inactive");
  g_assert_true (ql_systemd_start_unit ("gdm.service", 5000, &error));
  g_assert_true (ql_systemd_get_active_state ("gdm.service", &after, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (after, ==, "active");
  /* the mock answers an unknown unit with its own error, not systemd's NoSuchUnit */
  g_assert_false (ql_systemd_get_active_state ("nothere.service", &unknown, &error));
  g_assert_null (unknown);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "systemd: GetUnit (nothere.service): "));
}

/* systemd answers GetUnit of a unit it has not loaded with NoSuchUnit:
 * that unit is not running ("inactive", as systemctl shows it).  On a bus
 * of its own: this GetUnit replaces the template's. */
static void
test_active_state_not_loaded (void)
{
  g_autofree char *saved = g_strdup (g_getenv ("DBUS_SYSTEM_BUS_ADDRESS"));
  g_autofree char *skip = NULL, *state = NULL;
  g_autoptr(GError) error = NULL;
  MockBus *own;

  if ((own = mock_bus_start (&skip)) == NULL)
    {
      g_test_skip (skip);
      return;
    }
  mock_bus_add_template (own, "systemd", "org.freedesktop.systemd1");
  g_variant_unref (mock_control (own, "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "AddMethod",
                                 g_variant_new ("(sssss)", "org.freedesktop.systemd1.Manager", "GetUnit", "s", "o",
                                                "raise dbus.exceptions.DBusException('Unit ' + args[0] + ' not "
                                                "loaded.', name='org.freedesktop.systemd1.NoSuchUnit')")));
  g_assert_true (ql_systemd_get_active_state ("sddm.service", &state, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (state, ==, "inactive");
  mock_bus_stop (own);
  if (saved != NULL)
    g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", saved, TRUE);
}

/* A job that fails says so, even when its JobRemoved comes before the reply. */
static void
test_job_failed (void)
{
  g_autoptr(GError) error = NULL;

  if (!have_mock ())
    return;
  g_variant_unref (mock_control (mock, "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "AddMethod",
                                 g_variant_new ("(sssss)", "org.freedesktop.systemd1.Manager", "StartUnit", "ss", "o",
                                                "self.EmitSignal('org.freedesktop.systemd1.Manager', 'JobRemoved', "
                                                "'uoss', [7, '/org/freedesktop/systemd1/job/7', args[0], 'failed'])\n"
                                                "ret = '/org/freedesktop/systemd1/job/7'")));
  g_assert_false (ql_systemd_start_unit ("display-manager.service", 5000, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "StartUnit (display-manager.service): the job ended with 'failed'"));
}

/* A job whose JobRemoved never comes is a timeout, in about the time given. */
static void
test_job_timeout (void)
{
  g_autoptr(GError) error = NULL;
  gint64 start;

  if (!have_mock ())
    return;
  g_variant_unref (mock_control (mock, "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "AddMethod",
                                 g_variant_new ("(sssss)", "org.freedesktop.systemd1.Manager", "StopUnit", "ss", "o",
                                                "ret = '/org/freedesktop/systemd1/job/99'")));
  start = g_get_monotonic_time ();
  g_assert_false (ql_systemd_stop_unit ("display-manager.service", 300, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_TIMEOUT);
  g_test_message ("%s", error->message);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 300 * 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
  g_assert_nonnull (strstr (error->message, "did not finish within 300 ms"));
}

/* The lock is held while the fd is open, and goes when it is closed. */
static void
test_inhibit (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree char *held = NULL;
  char *now = NULL;
  int fd;

  if (!have_mock ())
    return;
  bus = ql_system_bus_open (QL_DBUS_TIMEOUT_MS, &error);
  g_assert_no_error (error);
  fd = ql_logind_inhibit (bus, "sleep", "qlaunch", "VM x runs", "delay", &error);
  g_assert_no_error (error);
  g_assert_cmpint (fd, >=, 0);
  held = mock_logind_inhibitors (mock);
  g_assert_cmpstr (held, ==, "sleep qlaunch delay: VM x runs");
  close (fd);
  for (int i = 0; i < 100; i++, g_usleep (20000))
    {
      g_free (now);
      now = mock_logind_inhibitors (mock);
      if (now[0] == '\0')
        break;
    }
  g_assert_cmpstr (now, ==, "");
  g_free (now);
}

static void
on_sleep (gboolean before, gpointer data)
{
  g_ptr_array_add (data, GINT_TO_POINTER (before ? 2 : 1));
}

static void
test_prepare_for_sleep (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GPtrArray) seen = g_ptr_array_new ();
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  guint id;

  if (!have_mock ())
    return;
  bus = ql_system_bus_open (QL_DBUS_TIMEOUT_MS, &error);
  g_assert_no_error (error);
  id = ql_logind_watch_sleep (bus, on_sleep, seen, NULL);
  mock_logind_prepare_for_sleep (mock, TRUE);
  mock_logind_prepare_for_sleep (mock, FALSE);
  while (seen->len < 2 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (seen->len, ==, 2);
  g_assert_cmpint (GPOINTER_TO_INT (seen->pdata[0]), ==, 2);
  g_assert_cmpint (GPOINTER_TO_INT (seen->pdata[1]), ==, 1);
  g_dbus_connection_signal_unsubscribe (bus, id);
}

/* No bus at all, and a bus without systemd: errors that say which. */
static void
test_no_systemd (void)
{
  g_autoptr(GError) error = NULL, no_bus = NULL;
  g_autoptr(GArray) cpus = NULL;
  g_autofree char *saved = g_strdup (g_getenv ("DBUS_SYSTEM_BUS_ADDRESS"));
  g_autofree char *skip = NULL;
  MockBus *empty;

  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/qlaunch-test-bus", TRUE);
  g_assert_false (ql_systemd_get_allowed_cpus ("system.slice", &cpus, &no_bus));
  g_test_message ("%s", no_bus->message);
  g_assert_nonnull (strstr (no_bus->message, "Cannot connect to the system bus"));
  if (saved != NULL)
    g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", saved, TRUE);

  if ((empty = mock_bus_start (&skip)) == NULL)
    {
      g_test_skip (skip);
      return;
    }
  g_assert_false (ql_systemd_stop_unit ("x.service", 1000, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "is PID 1 systemd?"));
  mock_bus_stop (empty);
  if (saved != NULL)
    g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", saved, TRUE);
}

/* The journal's form of the step is what plan --json shows, and reads back. */
static void
test_step_roundtrip (void)
{
  g_autoptr(QlHostStep) step = ql_host_step_new (QL_HOST_STEP_CPU_ISOLATE, "[cpu] isolate");
  g_autoptr(QlHostStep) back = NULL;
  g_autoptr(JsonObject) o = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  step->unit = g_strdup ("system.slice");
  step->cpus = g_strdup ("0-1,4-5");
  step->cpus_before = g_strdup ("");
  step->vcpus = g_strdup ("2-3,6-7");
  line = ql_host_step_describe (step);
  g_assert_cmpstr (line, ==, "isolate system.slice to CPUs 0-1,4-5  (vCPUs on 2-3,6-7; was all; [cpu] isolate)");
  o = ql_host_step_to_json (step);
  g_assert_cmpstr (json_object_get_string_member (o, "kind"), ==, "cpu-isolate");
  back = ql_host_step_from_json (o, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->kind, ==, QL_HOST_STEP_CPU_ISOLATE);
  g_assert_cmpstr (back->unit, ==, "system.slice");
  g_assert_cmpstr (back->cpus, ==, "0-1,4-5");
  g_assert_cmpstr (back->cpus_before, ==, "");
  g_assert_cmpstr (back->vcpus, ==, "2-3,6-7");
}

typedef struct {
  const char *step;
  const char *expect;        /* NULL: accepted */
} StepCase;

/* A journal is input: unit names by systemd's rules (and only slices and
 * scopes), CPU lists by the kernel's grammar and in range. */
static const StepCase step_cases[] = {
  { "\"unit\": \"-.slice\", \"cpus\": \"0\", \"cpus-before\": \"0-3\", \"vcpus\": \"1\"", NULL },
  { "\"unit\": \"user-1000.slice\", \"cpus\": \"0\", \"cpus-before\": \"\", \"vcpus\": \"1\"", NULL },
  { "\"unit\": \"run-u7@x.scope\", \"cpus\": \"0\", \"cpus-before\": \"\", \"vcpus\": \"1\"", NULL },
  { "\"unit\": \"sshd.service\", \"cpus\": \"0\", \"cpus-before\": \"\", \"vcpus\": \"1\"",
    "a cpu-isolate step: 'unit' is not valid: \"sshd.service\"" },
  { "\"unit\": \"../../x.slice\", \"cpus\": \"0\", \"cpus-before\": \"\", \"vcpus\": \"1\"",
    "'unit' is not valid" },
  { "\"unit\": \".slice\", \"cpus\": \"0\", \"cpus-before\": \"\", \"vcpus\": \"1\"", "'unit' is not valid" },
  { "\"unit\": \"a b.slice\", \"cpus\": \"0\", \"cpus-before\": \"\", \"vcpus\": \"1\"", "'unit' is not valid" },
  { "\"unit\": \"a@b@c.scope\", \"cpus\": \"0\", \"cpus-before\": \"\", \"vcpus\": \"1\"",
    "'unit' is not valid" },
  { "\"unit\": \"system.slice\", \"cpus\": \"\", \"cpus-before\": \"\", \"vcpus\": \"1\"",
    "'cpus' is not valid: \"\"" },
  { "\"unit\": \"system.slice\", \"cpus\": \"0-99999\", \"cpus-before\": \"\", \"vcpus\": \"1\"",
    "'cpus' is not valid" },
  { "\"unit\": \"system.slice\", \"cpus\": \"0\", \"cpus-before\": \"3-1\", \"vcpus\": \"1\"",
    "'cpus-before' is not valid" },
  { "\"unit\": \"system.slice\", \"cpus\": \"0\", \"cpus-before\": \"0;rm\", \"vcpus\": \"1\"",
    "'cpus-before' is not valid" },
  { "\"unit\": \"system.slice\", \"cpus\": \"0\", \"vcpus\": \"1\"", "'cpus-before' is missing" },
  { "\"unit\": \"system.slice\", \"cpus\": 0, \"cpus-before\": \"\", \"vcpus\": \"1\"", "'cpus' is not a string" },
};

static void
test_step_validation (gconstpointer data)
{
  const StepCase *c = data;
  g_autofree char *text = g_strdup_printf ("{\"kind\": \"cpu-isolate\", %s}", c->step);

  assert_step_json (text, c->expect);
}

/* One bad cpu-isolate step refuses the whole journal, before anything is undone. */
static void
test_journal_refused (void)
{
  static const char journal[] =
    "{\"version\": 1, \"changes\": [{\"kind\": \"cpu-isolate\", \"unit\": \"system.slice\", \"cpus\": \"0\", "
    "\"cpus-before\": \"\", \"vcpus\": \"1\"}, {\"kind\": \"cpu-isolate\", \"unit\": \"x.slice\n\", "
    "\"cpus\": \"0\", \"cpus-before\": \"\", \"vcpus\": \"1\"}]}";

  assert_journal_refused (journal, "'unit' is not valid");
}

int
main (int argc, char **argv)
{
  g_autofree char *skip = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  mock = mock_bus_start (&skip);
  if (mock != NULL)
    {
      mock_bus_add_template (mock, "systemd", "org.freedesktop.systemd1");
      mock_bus_add_template (mock, "logind", "org.freedesktop.login1");
    }
  else
    g_printerr ("# %s\n", skip);
  g_test_add_func ("/isolate/step-roundtrip", test_step_roundtrip);
  for (guint i = 0; i < G_N_ELEMENTS (step_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/isolate/step-validation/%u", i);
      g_test_add_data_func (path, &step_cases[i], test_step_validation);
    }
  g_test_add_func ("/isolate/journal-refused", test_journal_refused);
  g_test_add_func ("/systemd-dbus/mask", test_mask);
  g_test_add_func ("/systemd-dbus/allowed-cpus", test_allowed_cpus);
  g_test_add_func ("/systemd-dbus/allowed-cpus-scope", test_allowed_cpus_scope);
  g_test_add_func ("/systemd-dbus/unknown-unit", test_unknown_unit);
  g_test_add_func ("/systemd-dbus/stop-start", test_stop_start);
  g_test_add_func ("/systemd-dbus/active-state", test_active_state);
  g_test_add_func ("/systemd-dbus/active-state-not-loaded", test_active_state_not_loaded);
  /* these two replace the template's StartUnit and StopUnit */
  g_test_add_func ("/systemd-dbus/job-failed", test_job_failed);
  g_test_add_func ("/systemd-dbus/job-timeout", test_job_timeout);
  g_test_add_func ("/systemd-dbus/inhibit", test_inhibit);
  g_test_add_func ("/systemd-dbus/prepare-for-sleep", test_prepare_for_sleep);
  g_test_add_func ("/systemd-dbus/no-systemd", test_no_systemd);
  status = g_test_run ();
  mock_bus_stop (mock);
  return status;
}
