#include "dbus-mock.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define LOGIND_PATH "/org/freedesktop/login1"
#define MOCK_IFACE "org.freedesktop.DBus.Mock"
#define WAIT_OWNER_S 20

/* The mock's SetUnitProperties: AllowedCPUs lands on the unit's Slice or
 * Scope interface, where the real systemd shows it. */
static const char set_unit_properties_code[] =
  "u = objects[self.units[args[0]]]\n"
  "iface = 'org.freedesktop.systemd1.Scope' if args[0].endswith('.scope') else 'org.freedesktop.systemd1.Slice'\n"
  "for p in args[2]:\n"
  "    if p[0] == 'AllowedCPUs':\n"
  "        u.UpdateProperties(iface, {'AllowedCPUs': dbus.Array([dbus.Byte(b) for b in p[1]], signature='y')})\n";

static void
die_with_test (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static const char *
mock_python (void)
{
  const char *python = g_getenv ("QL_DBUSMOCK_PYTHON");

  if (python != NULL)
    return python;
  /* python-dbusmock is a Debian package: the system's python has it, a pyenv's may not */
  return g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE) ? "/usr/bin/python3" : "python3";
}

static gboolean
have_dbusmock (void)
{
  const char *argv[] = { mock_python (), "-c", "import dbusmock", NULL };
  int status = -1;

  return g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                       G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL) &&
         g_spawn_check_wait_status (status, NULL);
}

static GSubprocess *
spawn (GSubprocessFlags flags, const char *const *argv)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);
  g_autoptr(GError) error = NULL;
  GSubprocess *proc;

  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  return proc;
}

MockBus *
mock_bus_start (char **ret_skip)
{
  const char *argv[] = { "dbus-daemon", "--session", "--nofork", "--print-address=1", NULL };
  g_autofree char *daemon = g_find_program_in_path ("dbus-daemon");
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GError) error = NULL;
  MockBus *mock;

  if (daemon == NULL)
    {
      *ret_skip = g_strdup ("dbus-daemon is not installed (apt-get install dbus)");
      return NULL;
    }
  if (!have_dbusmock ())
    {
      *ret_skip = g_strdup_printf ("python3-dbusmock is not installed for %s (apt-get install python3-dbusmock)",
                                   mock_python ());
      return NULL;
    }
  mock = g_new0 (MockBus, 1);
  mock->mocks = g_ptr_array_new_with_free_func (g_object_unref);
  mock->daemon = spawn (G_SUBPROCESS_FLAGS_STDOUT_PIPE, argv);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (mock->daemon));
  mock->address = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (mock->address);
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", mock->address, TRUE);
  mock->bus = g_dbus_connection_new_for_address_sync (mock->address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                      G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL,
                                                      &error);
  g_assert_no_error (error);
  return mock;
}

static gboolean
name_has_owner (MockBus *mock, const char *name)
{
  g_autoptr(GVariant) reply = mock_call (mock, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                         "NameHasOwner", g_variant_new ("(s)", name));
  gboolean owned;

  g_variant_get (reply, "(b)", &owned);
  return owned;
}

void
mock_bus_add_template (MockBus *mock, const char *template, const char *bus_name)
{
  const char *argv[] = { mock_python (), "-m", "dbusmock", "--template", template, NULL };
  gint64 deadline = g_get_monotonic_time () + WAIT_OWNER_S * G_USEC_PER_SEC;

  g_ptr_array_add (mock->mocks, spawn (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, argv));
  while (!name_has_owner (mock, bus_name))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);
    }
}

void
mock_bus_stop (MockBus *mock)
{
  if (mock == NULL)
    return;
  for (guint i = 0; i < mock->mocks->len; i++)
    {
      g_subprocess_force_exit (mock->mocks->pdata[i]);
      g_subprocess_wait (mock->mocks->pdata[i], NULL, NULL);
    }
  g_ptr_array_unref (mock->mocks);
  g_dbus_connection_close_sync (mock->bus, NULL, NULL);
  g_object_unref (mock->bus);
  g_subprocess_force_exit (mock->daemon);
  g_subprocess_wait (mock->daemon, NULL, NULL);
  g_object_unref (mock->daemon);
  g_free (mock->address);
  g_unsetenv ("DBUS_SYSTEM_BUS_ADDRESS");
  g_free (mock);
}

GVariant *
mock_call (MockBus *mock, const char *name, const char *path, const char *interface, const char *method,
           GVariant *args)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply = g_dbus_connection_call_sync (mock->bus, name, path, interface, method, args, NULL,
                                                 G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);

  g_assert_no_error (error);
  return reply;
}

GVariant *
mock_control (MockBus *mock, const char *name, const char *path, const char *method, GVariant *args)
{
  return mock_call (mock, name, path, MOCK_IFACE, method, args);
}

static char *
unit_path (const char *unit)
{
  g_autofree char *escaped = g_strdup (unit);

  g_strdelimit (escaped, ".-", '_');
  return g_strconcat (SYSTEMD_PATH "/unit/", escaped, NULL);
}

static const char *
unit_interface (const char *unit)
{
  return g_str_has_suffix (unit, ".scope") ? "org.freedesktop.systemd1.Scope" : "org.freedesktop.systemd1.Slice";
}

void
mock_systemd_add_cpu_unit (MockBus *mock, const char *unit, const guint8 *mask, gsize len)
{
  g_autofree char *path = unit_path (unit);
  GVariant *value = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, mask, len, 1);

  g_variant_unref (mock_control (mock, "org.freedesktop.systemd1", SYSTEMD_PATH, "AddMockUnit",
                                 g_variant_new ("(s)", unit)));
  g_variant_unref (mock_control (mock, "org.freedesktop.systemd1", path, "AddProperty",
                                 g_variant_new ("(ssv)", unit_interface (unit), "AllowedCPUs", value)));
  g_variant_unref (mock_control (mock, "org.freedesktop.systemd1", SYSTEMD_PATH, "AddMethod",
                                 g_variant_new ("(sssss)", "org.freedesktop.systemd1.Manager", "SetUnitProperties",
                                                "sba(sv)", "", set_unit_properties_code)));
}

char *
mock_systemd_allowed_cpus (MockBus *mock, const char *unit)
{
  g_autofree char *path = unit_path (unit);
  g_autoptr(GVariant) reply = mock_call (mock, "org.freedesktop.systemd1", path, "org.freedesktop.DBus.Properties",
                                         "Get", g_variant_new ("(ss)", unit_interface (unit), "AllowedCPUs"));
  g_autoptr(GVariant) value = NULL;
  GString *hex = g_string_new (NULL);
  const guint8 *bytes;
  gsize len;

  g_variant_get (reply, "(v)", &value);
  bytes = g_variant_get_fixed_array (value, &len, 1);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (hex, "%02x", bytes[i]);
  return g_string_free (hex, FALSE);
}

guint
mock_systemd_calls (MockBus *mock, const char *method)
{
  g_autoptr(GVariant) reply = mock_control (mock, "org.freedesktop.systemd1", SYSTEMD_PATH, "GetMethodCalls",
                                            g_variant_new ("(s)", method));
  g_autoptr(GVariant) calls = g_variant_get_child_value (reply, 0);

  return (guint) g_variant_n_children (calls);
}

char *
mock_logind_inhibitors (MockBus *mock)
{
  g_autoptr(GVariant) reply = mock_call (mock, "org.freedesktop.login1", LOGIND_PATH, "org.freedesktop.login1.Manager",
                                         "ListInhibitors", NULL);
  g_autoptr(GVariantIter) iter = NULL;
  GString *out = g_string_new (NULL);
  const char *what, *who, *why, *mode;

  g_variant_get (reply, "(a(ssssuu))", &iter);
  while (g_variant_iter_next (iter, "(&s&s&s&suu)", &what, &who, &why, &mode, NULL, NULL))
    g_string_append_printf (out, "%s%s %s %s: %s", out->len ? "; " : "", what, who, mode, why);
  return g_string_free (out, FALSE);
}

void
mock_logind_prepare_for_sleep (MockBus *mock, gboolean before)
{
  GVariant *args[] = { g_variant_new_variant (g_variant_new_boolean (before)) };

  g_variant_unref (mock_control (mock, "org.freedesktop.login1", LOGIND_PATH, "EmitSignal",
                                 g_variant_new ("(sss@av)", "org.freedesktop.login1.Manager", "PrepareForSleep", "b",
                                                g_variant_new_array (G_VARIANT_TYPE_VARIANT, args, 1))));
}

#define UNIT_IFACE "org.freedesktop.systemd1.Unit"

void
mock_systemd_add_unit (MockBus *mock, const char *unit, const char *active_state)
{
  g_autofree char *path = unit_path (unit);
  GVariantBuilder props;

  g_variant_unref (mock_control (mock, "org.freedesktop.systemd1", SYSTEMD_PATH, "AddMockUnit",
                                 g_variant_new ("(s)", unit)));
  g_variant_unref (mock_control (mock, "org.freedesktop.systemd1", path, "AddProperty",
                                 g_variant_new ("(ssv)", UNIT_IFACE, "QemuRanAtStop", g_variant_new_boolean (FALSE))));
  g_variant_builder_init (&props, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (&props, "{sv}", "ActiveState", g_variant_new_string (active_state));
  g_variant_unref (mock_control (mock, "org.freedesktop.systemd1", path, "UpdateProperties",
                                 g_variant_new ("(sa{sv})", UNIT_IFACE, &props)));
}

/* Python run by the mock; loops, not comprehensions: exec () gives the
 * snippet separate locals, which a comprehension's scope cannot see. */
static const char job_code[] =
  "name = str(args[0])\n"
  "unit = objects[self.units[name]]\n"
  "self.next_job_id += 1\n"
  "job = '/org/freedesktop/systemd1/job/%d' % self.next_job_id\n"
  "result = 'done'\n"
  "if METHOD == 'StopUnit' and name == FAIL:\n"
  "    result = 'failed'\n"
  "elif METHOD == 'StopUnit':\n"
  "    seen = False\n"
  "    for pid in os.listdir('/proc'):\n"
  "        if not pid.isdigit():\n"
  "            continue\n"
  "        try:\n"
  "            with open('/proc/' + pid + '/cmdline', 'rb') as f:\n"
  "                if (b'guest=' + VM.encode() + b',') in f.read():\n"
  "                    seen = True\n"
  "        except OSError:\n"
  "            pass\n"
  "    unit.UpdateProperties('org.freedesktop.systemd1.Unit', {'ActiveState': 'inactive', "
  "'QemuRanAtStop': dbus.Boolean(seen)})\n"
  "else:\n"
  "    unit.UpdateProperties('org.freedesktop.systemd1.Unit', {'ActiveState': 'active'})\n"
  "self.EmitSignal('org.freedesktop.systemd1.Manager', 'JobRemoved', 'uoss', [self.next_job_id, job, name, result])\n"
  "ret = job\n";

static void
replace_job_method (MockBus *mock, const char *method, const char *vm, const char *fail_stop)
{
  g_autofree char *code = g_strdup_printf ("METHOD = '%s'\nVM = '%s'\nFAIL = '%s'\n%s", method, vm,
                                           fail_stop ? fail_stop : "", job_code);

  g_variant_unref (mock_control (mock, "org.freedesktop.systemd1", SYSTEMD_PATH, "AddMethod",
                                 g_variant_new ("(sssss)", "org.freedesktop.systemd1.Manager", method, "ss", "o",
                                                code)));
}

void
mock_systemd_replace_jobs (MockBus *mock, const char *vm, const char *fail_stop)
{
  replace_job_method (mock, "StopUnit", vm, fail_stop);
  replace_job_method (mock, "StartUnit", vm, fail_stop);
}

static GVariant *
unit_property (MockBus *mock, const char *unit, const char *name)
{
  g_autofree char *path = unit_path (unit);
  g_autoptr(GVariant) reply = mock_call (mock, "org.freedesktop.systemd1", path, "org.freedesktop.DBus.Properties",
                                         "Get", g_variant_new ("(ss)", UNIT_IFACE, name));
  GVariant *value;

  g_variant_get (reply, "(v)", &value);
  return value;
}

char *
mock_systemd_active_state (MockBus *mock, const char *unit)
{
  g_autoptr(GVariant) value = unit_property (mock, unit, "ActiveState");
  return g_variant_dup_string (value, NULL);
}

gboolean
mock_systemd_qemu_ran_at_stop (MockBus *mock, const char *unit)
{
  g_autoptr(GVariant) value = unit_property (mock, unit, "QemuRanAtStop");
  return g_variant_get_boolean (value);
}

char *
mock_systemd_call_units (MockBus *mock, const char *method)
{
  g_autoptr(GVariant) reply = mock_control (mock, "org.freedesktop.systemd1", SYSTEMD_PATH, "GetMethodCalls",
                                            g_variant_new ("(s)", method));
  g_autoptr(GVariant) calls = g_variant_get_child_value (reply, 0);
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i < g_variant_n_children (calls); i++)
    {
      g_autoptr(GVariant) call = g_variant_get_child_value (calls, i);
      g_autoptr(GVariant) args = g_variant_get_child_value (call, 1);
      g_autoptr(GVariant) first = g_variant_get_child_value (args, 0);
      g_autoptr(GVariant) unit = g_variant_get_variant (first);

      g_string_append_printf (out, "%s%s", out->len ? "," : "", g_variant_get_string (unit, NULL));
    }
  return g_string_free (out, FALSE);
}

void
mock_systemd_clear_calls (MockBus *mock)
{
  g_autoptr(GVariant) reply = mock_control (mock, "org.freedesktop.systemd1", SYSTEMD_PATH, "ClearCalls", NULL);
}
