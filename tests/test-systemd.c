/* qlaunch under systemd, without a VM: the unit text, the template and the
 * generated units as systemd-analyze verify reads them, qlaunch-generator
 * run into a temp dir, 'qlaunch unit' and its --install, the notify
 * datagrams and the journal's fields. */
#include "ql-error.h"
#include "ql-log.h"
#include "ql-notify.h"
#include "ql-profile.h"
#include "ql-unit.h"
#include "ql-generator.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char *tmp_root;

static char *
write_file (const char *dir, const char *name, const char *text)
{
  char *path = g_build_filename (dir, name, NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static char *
read_file (const char *path)
{
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static char *
make_dir (const char *name)
{
  char *path = g_build_filename (tmp_root, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return path;
}

/* Runs argv with env; returns the exit status, stdout and stderr. */
static int
run (const char *const *argv, char **env, char **ret_out, char **ret_err)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  int status = -1;

  /* always captured: the child's words must not land in this test's TAP stream */
  g_assert_true (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s: %s%s", argv[0], out, err);
  if (ret_out != NULL)
    *ret_out = g_steal_pointer (&out);
  if (ret_err != NULL)
    *ret_err = g_steal_pointer (&err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

/* ---- the unit text ---- */

static QlProfile *
profile_from (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = make_dir ("profiles-text");
  g_autofree char *path = g_build_filename (dir, "vm.ini", NULL);
  QlProfile *profile = ql_profile_load_from_data (text, path, &error);

  g_assert_no_error (error);
  return profile;
}

static void
test_unit_name (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *plain = ql_unit_name ("win-11_a:b.c", &error);
  g_autofree char *escaped = ql_unit_name ("win 11\\ä", &error);
  g_autofree char *long_name = g_strnfill (64, ' ');
  g_autofree char *too_long = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (plain, ==, "qlaunch-win-11_a:b.c.service");
  g_assert_cmpstr (escaped, ==, "qlaunch-win\\x2011\\x5c\\xc3\\xa4.service");
  too_long = ql_unit_name (long_name, &error);
  g_assert_null (too_long);
  g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
}

static void
test_unit_text (void)
{
  g_autoptr(QlProfile) profile = profile_from ("[vm]\nname = a b%c$d\n[shutdown]\ntimeout = 50\n"
                                               "[systemd]\nafter = network-online.target nfs.mount\n"
                                               "wants = network-online.target\nrequires = nfs.mount\n");
  QlUnitOptions options = { profile, "/opt/q l/qlaunch", QL_UNIT_SCOPE_SYSTEM, "# head\n" };
  g_autoptr(GError) error = NULL;
  g_autofree char *text = ql_unit_text (&options, &error);
  g_autofree char *start = NULL;

  g_assert_no_error (error);
  g_test_message ("%s", text);
  g_assert_true (g_str_has_prefix (text, "# head\n[Unit]\nDescription=qlaunch VM a b%%c$d\n"));
  start = g_strdup_printf ("\nExecStart=\"/opt/q l/qlaunch\" start %s --no-console\n", profile->path);
  g_assert_nonnull (strstr (text, start));
  g_assert_nonnull (strstr (text, "\nExecStop=\"/opt/q l/qlaunch\" stop \"a b%%c$$d\"\n"));
  g_assert_nonnull (strstr (text, "\nExecStopPost=\"/opt/q l/qlaunch\" recover \"a b%%c$$d\"\n"));
  g_assert_nonnull (strstr (text, "\nAfter=network-online.target nfs.mount\nWants=network-online.target\n"
                                  "Requires=nfs.mount\n"));
  g_assert_nonnull (strstr (text, "\nType=notify\nNotifyAccess=main\n"));
  g_assert_nonnull (strstr (text, "\nKillMode=mixed\nTimeoutStopSec=90\nLimitMEMLOCK=infinity\nRestart=no\n"));
  g_assert_true (g_str_has_suffix (text, "\n[Install]\nWantedBy=multi-user.target\n"));
  g_assert_cmpuint (ql_unit_stop_timeout_s (profile), ==, 50 + QL_UNIT_QUIT_GRACE_S + QL_UNIT_TERM_GRACE_S +
                    QL_UNIT_TEARDOWN_S);
  g_assert_cmpstr (ql_unit_wanted_by (QL_UNIT_SCOPE_USER), ==, "default.target");
}

/* A user's unit with passthrough asks for the memlock host-setup gives the
 * user (limits.d), which its manager can grant; root's asks for all. */
static void
test_unit_memlock (void)
{
  g_autoptr(QlProfile) profile = profile_from ("[vm]\nname = g\n[memory]\nsize = 8G\n[pci gpu]\nhost = 01:00.0\n");
  QlUnitOptions options = { profile, "/usr/bin/qlaunch", QL_UNIT_SCOPE_USER, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *user = ql_unit_text (&options, &error);
  g_autofree char *system = NULL;

  g_assert_no_error (error);
  /* 8 GiB of guest RAM and 1 GiB more: 9 GiB, as limits.d says 9437184 KiB */
  g_assert_nonnull (strstr (user, "\nLimitMEMLOCK=9663676416\n"));
  options.scope = QL_UNIT_SCOPE_SYSTEM;
  system = ql_unit_text (&options, &error);
  g_assert_nonnull (strstr (system, "\nLimitMEMLOCK=infinity\n"));
}

static void
test_unit_text_refused (void)
{
  g_autoptr(QlProfile) profile = profile_from ("[vm]\nname = a\n");
  QlUnitOptions options = { profile, "qlaunch", QL_UNIT_SCOPE_USER, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *text = ql_unit_text (&options, &error);

  g_assert_null (text);
  g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "not absolute"));
}

/* ---- systemd-analyze verify ---- */

/* NULL when the unit verifies cleanly, else what systemd-analyze said; skips when it cannot run here. */
static gboolean
verify_unit (const char *unit_path, gboolean user, char **ret_complaint)
{
  g_autofree char *analyze = g_find_program_in_path ("systemd-analyze");
  g_autofree char *runtime = make_dir ("verify-runtime");
  g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "XDG_RUNTIME_DIR", runtime, TRUE);
  const char *argv[] = { analyze, user ? "--user" : "--system", "verify", "--man=no", unit_path, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status;

  if (analyze == NULL)
    {
      g_test_skip ("systemd-analyze is not installed (apt install systemd)");
      return FALSE;
    }
  status = run (argv, env, &out, &err);
  if (strstr (err, "Failed to initialize manager") != NULL)
    {
      g_autofree char *why = g_strdup_printf ("systemd-analyze verify cannot run here: %s", err);
      g_test_skip (why);
      return FALSE;
    }
  *ret_complaint = status == 0 && out[0] == '\0' && err[0] == '\0' ? NULL : g_strdup_printf ("%s%s", out, err);
  return TRUE;
}

static void
assert_verifies (const char *unit_path, gboolean user)
{
  g_autofree char *complaint = NULL;

  if (!verify_unit (unit_path, user, &complaint))
    return;
  if (complaint != NULL)
    g_error ("systemd-analyze verify %s: %s", unit_path, complaint);
}

static void
test_verify_template (void)
{
  g_autofree char *built = g_build_filename (g_getenv ("QL_BUILD_ROOT"), "systemd", "qlaunch@.service.test", NULL);
  g_autofree char *dir = make_dir ("template");
  g_autofree char *text = read_file (built);
  g_autofree char *path = write_file (dir, "qlaunch@.service", text);
  g_autofree char *bad = NULL, *complaint = NULL;
  g_autofree char *bad_text = NULL;

  g_assert_nonnull (strstr (text, "\nType=notify\n"));
  g_assert_nonnull (strstr (text, "\nKillMode=mixed\n"));
  /* the template's stop timeout is what 'qlaunch unit' gives a profile with the default timeout */
  {
    g_autoptr(QlProfile) defaults = profile_from ("[vm]\nname = a\n");
    g_autofree char *line = g_strdup_printf ("\nTimeoutStopSec=%u\n", ql_unit_stop_timeout_s (defaults));
    g_assert_nonnull (strstr (text, line));
  }
  assert_verifies (path, TRUE);
  assert_verifies (path, FALSE);
  /* and the check is real: a unit systemd would complain about fails it */
  bad_text = g_strconcat (text, "[Service]\nTimeoutStopSec=soon\n", NULL);
  bad = write_file (dir, "qlaunch-bad.service", bad_text);
  if (verify_unit (bad, FALSE, &complaint))
    {
      g_assert_nonnull (complaint);
      g_assert_nonnull (strstr (complaint, "soon"));
    }
}

/* ---- the generator ---- */

static const char *const generator_profiles[][2] = {
  { "auto.ini", "[vm]\nautostart = true\n[shutdown]\ntimeout = 10\n"
                "[systemd]\nafter = network-online.target\nwants = network-online.target\nrequires = basic.target\n" },
  { "off.ini", "[vm]\nautostart = false\n" },
  { "default.ini", "[vm]\nname = other\n" },
  { "bad.ini", "[vm]\nautostart = true\naccel = kmv\n" },
  { "badunit.ini", "[vm]\nautostart = true\n\n[systemd]\nafter = network-online\n" },
  { "spaced.ini", "[vm]\nname = my vm\nautostart = yes\n[disk system]\nfile = /not/mounted/yet.img\n" },
  { "same.ini", "[vm]\nname = auto\nautostart = true\n" },
};

static char **
generator_env (const char *profiles, const char *scope)
{
  char **env = g_get_environ ();

  env = g_environ_setenv (env, "QLAUNCH_PROFILE_PATH", profiles, TRUE);
  env = g_environ_setenv (env, "QLAUNCH_EXECUTABLE", g_getenv ("QL_QLAUNCH"), TRUE);
  return g_environ_setenv (env, "SYSTEMD_SCOPE", scope, TRUE);
}

static char *
run_generator (const char *profiles, const char *scope, const char *out_dir)
{
  const char *argv[] = { g_getenv ("QL_GENERATOR"), out_dir, out_dir, out_dir, NULL };
  g_auto(GStrv) env = generator_env (profiles, scope);
  g_autofree char *out = NULL;
  char *err = NULL;

  g_assert_cmpint (run (argv, env, &out, &err), ==, 0);
  g_test_message ("qlaunch-generator said:\n%s", err);
  return err;
}

static void
assert_wanted (const char *out_dir, const char *target, const char *unit, gboolean wanted)
{
  g_autofree char *link = g_strdup_printf ("%s/%s.wants/%s", out_dir, target, unit);
  g_autofree char *dest = g_file_read_link (link, NULL);
  g_autofree char *expected = g_strconcat ("../", unit, NULL);

  if (!wanted)
    {
      g_assert_null (dest);
      return;
    }
  g_assert_cmpstr (dest, ==, expected);
}

static void
test_generator (void)
{
  g_autofree char *profiles = make_dir ("gen-profiles");
  g_autofree char *out_dir = make_dir ("gen-user");
  g_autofree char *system_dir = make_dir ("gen-system");
  g_autofree char *err = NULL, *system_err = NULL;
  g_autofree char *auto_unit = NULL, *auto_path = NULL, *spaced = NULL;
  g_autofree char *bad_line = NULL, *badunit_line = NULL, *same_line = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (generator_profiles); i++)
    g_free (write_file (profiles, generator_profiles[i][0], generator_profiles[i][1]));
  err = run_generator (profiles, "user", out_dir);

  auto_path = g_build_filename (out_dir, "qlaunch-auto.service", NULL);
  auto_unit = read_file (auto_path);
  g_assert_nonnull (strstr (auto_unit, "\nAfter=network-online.target\nWants=network-online.target\nRequires=basic.target\n"));
  g_assert_nonnull (strstr (auto_unit, "\nTimeoutStopSec=50\n"));
  g_assert_nonnull (strstr (auto_unit, "\nWantedBy=default.target\n"));
  assert_wanted (out_dir, "default.target", "qlaunch-auto.service", TRUE);
  /* a name that needs escaping, and a disk that is not there yet at boot */
  spaced = g_build_filename (out_dir, "qlaunch-my\\x20vm.service", NULL);
  g_assert_true (g_file_test (spaced, G_FILE_TEST_IS_REGULAR));
  assert_wanted (out_dir, "default.target", "qlaunch-my\\x20vm.service", TRUE);
  /* autostart off, or not set: no unit */
  g_assert_false (g_file_test ("qlaunch-off.service", G_FILE_TEST_EXISTS));
  assert_wanted (out_dir, "default.target", "qlaunch-off.service", FALSE);
  assert_wanted (out_dir, "default.target", "qlaunch-other.service", FALSE);
  /* the bad ones are reported with file, line and key, and skipped */
  bad_line = g_strdup_printf ("%s/bad.ini:3: [vm] accel: 'kmv' is not one of auto, kvm or tcg", profiles);
  g_assert_nonnull (strstr (err, bad_line));
  badunit_line = g_strdup_printf ("%s/badunit.ini:5: [systemd] after: 'network-online' is not a unit name", profiles);
  g_assert_nonnull (strstr (err, badunit_line));
  same_line = g_strdup_printf ("VM 'auto' already has a unit, from '%s/auto.ini'", profiles);
  g_assert_nonnull (strstr (err, same_line));
  assert_wanted (out_dir, "default.target", "qlaunch-bad.service", FALSE);
  assert_wanted (out_dir, "default.target", "qlaunch-badunit.service", FALSE);
  assert_verifies (auto_path, TRUE);

  system_err = run_generator (profiles, "system", system_dir);
  assert_wanted (system_dir, "multi-user.target", "qlaunch-auto.service", TRUE);
  assert_wanted (system_dir, "default.target", "qlaunch-auto.service", FALSE);
  {
    g_autofree char *path = g_build_filename (system_dir, "qlaunch-auto.service", NULL);
    assert_verifies (path, FALSE);
  }
}

static void
test_generator_scope (void)
{
  g_unsetenv ("SYSTEMD_SCOPE");
  g_assert_cmpint (ql_generator_scope ("/usr/lib/systemd/user-generators/qlaunch-generator"), ==, QL_UNIT_SCOPE_USER);
  g_assert_cmpint (ql_generator_scope ("/usr/lib/systemd/system-generators/qlaunch-generator"), ==,
                   QL_UNIT_SCOPE_SYSTEM);
  g_setenv ("SYSTEMD_SCOPE", "user", TRUE);
  g_assert_cmpint (ql_generator_scope ("/usr/lib/systemd/system-generators/qlaunch-generator"), ==, QL_UNIT_SCOPE_USER);
  g_setenv ("SYSTEMD_SCOPE", "system", TRUE);
  g_assert_cmpint (ql_generator_scope ("qlaunch-generator"), ==, QL_UNIT_SCOPE_SYSTEM);
  g_unsetenv ("SYSTEMD_SCOPE");
}

/* ---- qlaunch unit ---- */

static int
run_unit_command (const char *config, const char *path_dir, char **ret_out, char **ret_err, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  char **env = g_environ_setenv (g_get_environ (), "XDG_CONFIG_HOME", config, TRUE);
  g_auto(GStrv) owned_env = NULL;
  const char *arg;
  va_list ap;

  if (path_dir != NULL)
    {
      g_autofree char *path = g_strconcat (path_dir, ":", g_getenv ("PATH"), NULL);
      env = g_environ_setenv (env, "PATH", path, TRUE);
    }
  owned_env = env;
  g_ptr_array_add (argv, (char *) g_getenv ("QL_QLAUNCH"));
  g_ptr_array_add (argv, (char *) "unit");
  va_start (ap, ret_err);
  while ((arg = va_arg (ap, const char *)))
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return run ((const char *const *) argv->pdata, env, ret_out, ret_err);
}

/* A systemctl that only writes down how it was called. */
static char *
fake_systemctl (const char *log)
{
  g_autofree char *dir = make_dir ("fake-bin");
  g_autofree char *script = g_strdup_printf ("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> '%s'\n", log);
  g_autofree char *path = write_file (dir, "systemctl", script);

  g_assert_cmpint (chmod (path, 0755), ==, 0);
  return g_steal_pointer (&dir);
}

static void
test_unit_command (void)
{
  g_autofree char *profiles = make_dir ("unit-profiles");
  g_autofree char *config = make_dir ("unit-config");
  g_autofree char *profile = write_file (profiles, "vm1.ini", "[vm]\nname = vm1\n[shutdown]\ntimeout = 20\n");
  g_autofree char *unit_path = g_build_filename (config, "systemd", "user", "qlaunch-vm1.service", NULL);
  g_autofree char *log = g_build_filename (tmp_root, "systemctl.log", NULL);
  g_autofree char *bin = fake_systemctl (log);
  g_autofree char *out = NULL, *err = NULL, *installed = NULL, *calls = NULL, *start = NULL;
  struct stat st;

  g_assert_cmpint (run_unit_command (config, NULL, &out, &err, profile, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, QL_UNIT_MARKER));
  start = g_strdup_printf ("\nExecStart=%s start %s --no-console\n", g_getenv ("QL_QLAUNCH"), profile);
  g_assert_nonnull (strstr (out, start));
  g_assert_nonnull (strstr (out, "\nTimeoutStopSec=60\n"));
  g_assert_false (g_file_test (unit_path, G_FILE_TEST_EXISTS));
  g_clear_pointer (&err, g_free);

  /* --install, twice: its own file is replaced */
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *said = NULL;
      g_assert_cmpint (run_unit_command (config, NULL, &said, NULL, profile, "--install", NULL), ==, 0);
      g_assert_nonnull (strstr (said, unit_path));
    }
  installed = read_file (unit_path);
  g_assert_cmpstr (installed, ==, out);
  g_assert_cmpint (stat (unit_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0644);
  assert_verifies (unit_path, TRUE);

  /* --now: enable --now by argv, after a daemon-reload */
  g_assert_cmpint (run_unit_command (config, bin, NULL, NULL, profile, "--now", NULL), ==, 0);
  calls = read_file (log);
  g_assert_cmpstr (calls, ==, "--user daemon-reload\n--user enable --now qlaunch-vm1.service\n");

  /* a file it did not write stays */
  g_assert_true (g_file_set_contents (unit_path, "[Service]\nExecStart=/bin/mine\n", -1, NULL));
  g_assert_cmpint (run_unit_command (config, NULL, NULL, &err, profile, "--install", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "was not written by 'qlaunch unit'"));
  g_assert_nonnull (strstr (err, unit_path));
  g_clear_pointer (&installed, g_free);
  installed = read_file (unit_path);
  g_assert_cmpstr (installed, ==, "[Service]\nExecStart=/bin/mine\n");
}

static void
test_unit_command_bad_profile (void)
{
  g_autofree char *profiles = make_dir ("unit-bad");
  g_autofree char *profile = write_file (profiles, "vm.ini", "[vm]\n\n[systemd]\nwants = x.service y\n");
  g_autofree char *err = NULL, *line = NULL;

  g_assert_cmpint (run_unit_command (tmp_root, NULL, NULL, &err, profile, NULL), ==, 1);
  line = g_strdup_printf ("%s:4: [systemd] wants: 'y' is not a unit name", profile);
  g_assert_nonnull (strstr (err, line));
}

/* ---- notify datagrams, in this process ---- */

static GSocket *
bind_datagram (const char *address, gboolean abstract)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, 0, &error);
  g_autoptr(GSocketAddress) addr = g_unix_socket_address_new_with_type (
    address, -1, abstract ? G_UNIX_SOCKET_ADDRESS_ABSTRACT : G_UNIX_SOCKET_ADDRESS_PATH);

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, addr, FALSE, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&socket);
}

static char *
receive (GSocket *socket)
{
  g_autoptr(GError) error = NULL;
  char buf[4096];
  gssize n;

  g_socket_set_timeout (socket, 5);
  n = g_socket_receive (socket, buf, sizeof buf - 1, NULL, &error);
  g_assert_no_error (error);
  buf[n] = '\0';
  return g_strdup (buf);
}

static void
test_notify_datagrams (void)
{
  g_autofree char *path = g_build_filename (tmp_root, "notify.sock", NULL);
  g_autofree char *abstract = g_strdup_printf ("ql-test-notify-%d", (int) getpid ());
  g_autofree char *at = g_strconcat ("@", abstract, NULL);
  g_autoptr(GSocket) by_path = bind_datagram (path, FALSE);
  g_autoptr(GSocket) by_name = bind_datagram (abstract, TRUE);
  g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

  g_setenv ("NOTIFY_SOCKET", path, TRUE);
  g_setenv ("WATCHDOG_USEC", "2000000", TRUE);
  ql_notify_init ();
  g_assert_null (g_getenv ("NOTIFY_SOCKET"));
  g_assert_null (g_getenv ("WATCHDOG_USEC"));
  g_assert_cmpuint (ql_notify_watchdog_usec (), ==, 2000000);
  ql_notify_status ("applying host changes");
  a = receive (by_path);
  g_assert_cmpstr (a, ==, "STATUS=applying host changes");
  ql_notify_ladder ("powerdown", 1, 3);
  b = receive (by_path);
  g_assert_cmpstr (b, ==, "STOPPING=1\nSTATUS=stopping: powerdown 1/3");

  g_setenv ("NOTIFY_SOCKET", at, TRUE);
  /* a watchdog meant for another process is not ours */
  g_setenv ("WATCHDOG_USEC", "2000000", TRUE);
  g_setenv ("WATCHDOG_PID", "1", TRUE);
  ql_notify_init ();
  g_assert_cmpuint (ql_notify_watchdog_usec (), ==, 0);
  ql_notify_ready ();
  c = receive (by_name);
  g_assert_cmpstr (c, ==, "READY=1\nSTATUS=running");
  ql_notify_main_pid (1234);
  d = receive (by_name);
  g_assert_cmpstr (d, ==, "MAINPID=1234");

  /* no socket: nothing, and no error */
  g_unsetenv ("NOTIFY_SOCKET");
  ql_notify_init ();
  g_assert_false (ql_notify_enabled ());
  g_assert_true (ql_notify_send ("READY=1", NULL));
  g_unlink (path);
}

/* ---- the journal's fields ---- */

static const char *
field (GArray *fields, const char *key)
{
  for (guint i = 0; i < fields->len; i++)
    if (strcmp (g_array_index (fields, GLogField, i).key, key) == 0)
      return g_array_index (fields, GLogField, i).value;
  return NULL;
}

static void
test_log_fields (void)
{
  const GLogField given[] = {
    { "GLIB_OLD_LOG_API", "1", -1 },
    { "MESSAGE", "0000:01:00.0: nouveau -> vfio-pci (gpu)", -1 },
    { "PRIORITY", "6", -1 },
  };
  g_autofree char *device = NULL, *none = NULL;
  g_autofree char *found = ql_log_find_device ("vm: 0000:0A:1f.3 is back on snd_hda_intel");
  g_autoptr(GArray) fields = NULL;

  g_assert_cmpstr (found, ==, "0000:0a:1f.3");
  none = ql_log_find_device ("vm: 10000:01:00.0, 01:00.0, 0000:01:00.8, 0000:01:00");
  g_assert_null (none);
  ql_log_set_vm ("win11");
  fields = ql_log_journal_fields (given, G_N_ELEMENTS (given), &device);
  g_assert_cmpstr (field (fields, "QLAUNCH_VM"), ==, "win11");
  g_assert_cmpstr (field (fields, "QLAUNCH_DEVICE"), ==, "0000:01:00.0");
  g_assert_cmpstr (field (fields, "MESSAGE"), ==, given[1].value);
  g_assert_cmpstr (field (fields, "PRIORITY"), ==, "6");
  g_assert_nonnull (field (fields, "SYSLOG_IDENTIFIER"));
  g_assert_null (field (fields, "GLIB_OLD_LOG_API"));
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_root = g_dir_make_tmp ("ql-systemd-XXXXXX", NULL);
  g_test_add_func ("/systemd/unit/name", test_unit_name);
  g_test_add_func ("/systemd/unit/text", test_unit_text);
  g_test_add_func ("/systemd/unit/memlock", test_unit_memlock);
  g_test_add_func ("/systemd/unit/refused", test_unit_text_refused);
  g_test_add_func ("/systemd/verify/template", test_verify_template);
  g_test_add_func ("/systemd/generator/units", test_generator);
  g_test_add_func ("/systemd/generator/scope", test_generator_scope);
  g_test_add_func ("/systemd/unit-command/install", test_unit_command);
  g_test_add_func ("/systemd/unit-command/bad-profile", test_unit_command_bad_profile);
  g_test_add_func ("/systemd/notify/datagrams", test_notify_datagrams);
  g_test_add_func ("/systemd/log/fields", test_log_fields);
  status = g_test_run ();
  if (g_getenv ("QL_KEEP_TMP") == NULL)
    {
      const char *argv_rm[] = { "rm", "-rf", tmp_root, NULL };
      g_spawn_sync (NULL, (char **) argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    }
  g_free (tmp_root);
  return status;
}
