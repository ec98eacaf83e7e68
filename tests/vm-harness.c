/* What every VM test needs: qlaunch run with hermetic runtime and state
 * dirs, QMP to the VM, the guest's serial log, and the checks that nothing
 * of a run is left behind. */
#include "vm-harness.h"
#include "ql-runtime.h"
#include "ql-runtime-files.h"
#include "ql-json.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <stdarg.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *tmp_root;
char *runtime_base;
char *state_base;
char *source_root;
const char *qlaunch;
char *skip_reason;

char *
profile_path (const char *name)
{
  if (g_path_is_absolute (name))
    return g_strdup (name);
  if (g_str_has_prefix (name, "data/"))
    return g_build_filename (source_root, "tests", "data", "profiles", name + 5, NULL);
  return g_build_filename (source_root, "profiles", name, NULL);
}

gchar **
child_env (void)
{
  gchar **env = g_get_environ ();

  env = g_environ_setenv (env, "QLAUNCH_RUNTIME_DIR", runtime_base, TRUE);
  env = g_environ_setenv (env, "QLAUNCH_STATE_DIR", state_base, TRUE);
  return env;
}

/* when set, run_qlaunch runs qlaunch as this user, with runtime and state
 * dirs of its own */
uid_t run_as_uid;

static void
drop_to_run_as_uid (gpointer user_data)
{
  if (run_as_uid != 0 && (setgroups (0, NULL) != 0 || setgid (run_as_uid) != 0 || setuid (run_as_uid) != 0))
    _exit (125);
}

/* Runs qlaunch to completion; returns its exit status. */
int
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
  if (run_as_uid != 0)
    {
      g_autofree char *base = g_strdup_printf ("%s/uid%u", tmp_root, (guint) run_as_uid);
      g_autofree char *run = g_build_filename (base, "run", NULL);
      g_autofree char *state = g_build_filename (base, "state", NULL);
      g_assert_cmpint (g_mkdir_with_parents (base, 0700), ==, 0);
      g_assert_cmpint (chown (base, run_as_uid, run_as_uid), ==, 0);
      /* tmp_root is root's 0700: the user may pass through, not list */
      g_assert_cmpint (chmod (tmp_root, 0711), ==, 0);
      env = g_environ_setenv (env, "QLAUNCH_RUNTIME_DIR", run, TRUE);
      env = g_environ_setenv (env, "QLAUNCH_STATE_DIR", state, TRUE);
    }
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_DEFAULT, drop_to_run_as_uid, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("qlaunch %s: %s%s", (char *) argv->pdata[1], out, err);
  if (ret_out != NULL)
    *ret_out = g_steal_pointer (&out);
  if (ret_err != NULL)
    *ret_err = g_steal_pointer (&err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

GSubprocess *
start_process (const char *profile, gboolean detach)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                      G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = profile_path (profile);
  g_auto(GStrv) env = child_env ();
  GSubprocess *proc;

  g_subprocess_launcher_set_environ (launcher, env);
  if (detach)
    proc = g_subprocess_launcher_spawn (launcher, &error, qlaunch, "start", "--detach", path, NULL);
  else
    proc = g_subprocess_launcher_spawn (launcher, &error, qlaunch, "start", path, NULL);
  g_assert_no_error (error);
  return proc;
}

/* A foreground 'qlaunch start', as systemd would run it. */
GSubprocess *
start_foreground (const char *profile)
{
  return start_process (profile, FALSE);
}

JsonObject *
status_json (const char *name)
{
  g_autofree char *out = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_cmpint (run_qlaunch (&out, NULL, "status", name, "--json", NULL), ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

gint64
status_pid (const char *name, const char *member)
{
  g_autoptr(JsonObject) status = status_json (name);
  return json_object_get_int_member (status, member);
}

void
kill_supervisor (const char *name)
{
  kill_supervisor_pid (name, status_pid (name, "supervisor-pid"));
}

void
kill_supervisor_pid (const char *name, gint64 pid)
{
  g_autofree char *dir = g_build_filename (runtime_base, name, NULL);
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_assert_cmpint (kill ((pid_t) pid, SIGKILL), ==, 0);
  /* the lock goes with the dead supervisor's last fd, a moment later */
  while (ql_lock_is_held (dir))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10 * 1000);
    }
}

void
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

int
wait_exit (GSubprocess *proc, char **ret_stdout)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;

  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, ret_stdout, &err, &error));
  g_assert_no_error (error);
  g_test_message ("supervisor stderr:\n%s", err);
  return g_subprocess_get_exit_status (proc);
}

char *
runtime_file (const char *name, const char *file)
{
  return g_build_filename (runtime_base, name, file, NULL);
}

JsonObject *
last_exit (const char *name)
{
  g_autofree char *path = g_build_filename (state_base, name, QL_STATE_LAST_EXIT, NULL);
  g_autoptr(GError) error = NULL;
  JsonObject *o = ql_json_read_object (path, &error);

  g_assert_no_error (error);
  return o;
}

/* Nothing of a VM's run is left on the host: no lock, socket, or runtime dir. */
void
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

char *
write_guest_profile (const char *name, const char *mode, const char *vm_lines, const char *sections)
{
  g_autofree char *guest = g_build_filename (source_root, "build", "guest", NULL);
  g_autofree char *path = g_strdup_printf ("%s/%s.ini", tmp_root, name);
  g_autofree char *text = g_strdup_printf ("[vm]\nname = %s\naccel = tcg\nfirmware = bios\nkernel = %s/vmlinuz\n"
                                           "initrd = %s/initrd.img\nappend = console=ttyS0 quiet panic=-1 ql.mode=%s\n"
                                           "%s%s", name, guest, guest, mode, vm_lines, sections);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return g_steal_pointer (&path);
}

QlQmpClient *
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

/* A command with string arguments: NAME, VALUE, ..., NULL. */
JsonNode *
qmp_with (QlQmpClient *client, const char *command, ...)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) args = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  JsonNode *ret;
  va_list ap;

  json_builder_begin_object (b);
  va_start (ap, command);
  while ((name = va_arg (ap, const char *)))
    {
      json_builder_set_member_name (b, name);
      json_builder_add_string_value (b, va_arg (ap, const char *));
    }
  va_end (ap);
  json_builder_end_object (b);
  args = json_builder_get_root (b);
  ret = ql_qmp_client_execute_sync (client, command, args, 10000, &error);
  g_assert_no_error (error);
  return ret;
}

JsonNode *
qmp (QlQmpClient *client, const char *command)
{
  return qmp_with (client, command, NULL);
}

/* The guest's serial log once it holds needle. */
char *
wait_serial (const char *name, const char *needle)
{
  g_autofree char *log = runtime_file (name, "serial.log");
  gint64 deadline = g_get_monotonic_time () + 90 * G_USEC_PER_SEC;
  char *text = NULL;

  while (!(g_file_get_contents (log, &text, NULL, NULL) && strstr (text, needle)))
    {
      g_clear_pointer (&text, g_free);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (100 * 1000);
    }
  return text;
}

gboolean
skip_if_unavailable (void)
{
  if (skip_reason != NULL)
    {
      g_test_skip (skip_reason);
      return TRUE;
    }
  return FALSE;
}

void
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


void
vm_harness_init (void)
{
  g_autofree char *kernel = NULL;
  /* QLAUNCH_TEST_QEMU: the run on a second QEMU (tools/fetch-qemu.sh) */
  const char *test_qemu = g_getenv ("QLAUNCH_TEST_QEMU");
  g_autofree char *qemu = test_qemu ? g_strdup (test_qemu) : g_find_program_in_path ("qemu-system-x86_64");
  g_autofree char *test_qemu_dir = test_qemu ? g_path_get_dirname (test_qemu) : NULL;

  qlaunch = g_getenv ("QL_QLAUNCH");
  source_root = g_canonicalize_filename (g_getenv ("QL_SOURCE_ROOT"), NULL);
  kernel = g_build_filename (source_root, "build", "guest", "vmlinuz", NULL);
  if (test_qemu != NULL && !g_file_test (test_qemu, G_FILE_TEST_IS_EXECUTABLE))
    skip_reason = g_strdup_printf ("QLAUNCH_TEST_QEMU=%s is not there: 'tools/fetch-qemu.sh %s' failed or was not "
                                   "run (tools/run-tests.sh runs it and says why it failed)", test_qemu,
                                   test_qemu_dir);
  else if (qemu == NULL)
    skip_reason = g_strdup ("qemu-system-x86_64 is not installed (apt install qemu-system-x86)");
  else if (!g_file_test (kernel, G_FILE_TEST_EXISTS))
    skip_reason = g_strdup_printf ("the test guest is not built: run tests/guest/mkguest.sh %s/build/guest", source_root);
  if (test_qemu != NULL)
    g_setenv ("QLAUNCH_QEMU", test_qemu, TRUE);
  /* short paths: unix socket paths are limited to 107 bytes */
  tmp_root = g_dir_make_tmp ("qlvm-XXXXXX", NULL);
  runtime_base = g_build_filename (tmp_root, "run", NULL);
  state_base = g_build_filename (tmp_root, "state", NULL);
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

JsonNode *
plan_steps (const char *profile)
{
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) root = NULL;
  JsonNode *steps;

  g_assert_cmpint (run_qlaunch (&out, NULL, "plan", "--json", profile, NULL), ==, 0);
  root = parse_json (out);
  steps = json_object_get_member (json_node_get_object (root), "steps");
  g_assert_nonnull (steps);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (steps));
  return json_node_copy (steps);
}

void
assert_journal_is_plan (const char *name, JsonNode *steps)
{
  g_autofree char *path = runtime_file (name, "journal.json");
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) journal = NULL;
  g_autofree char *plan = json_to_string (steps, FALSE);
  JsonNode *changes;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  journal = parse_json (text);
  changes = json_object_get_member (json_node_get_object (journal), "changes");
  g_assert_nonnull (changes);
  g_test_message ("plan: %s", plan);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (steps)), >, 0);
  if (!json_node_equal (steps, changes))
    {
      g_autofree char *a = json_to_string (steps, TRUE), *b = json_to_string (changes, TRUE);
      g_error ("the journal of %s is not its plan:\nplan %s\njournal %s", name, a, b);
    }
}

GPid
stand_in_qemu (void)
{
  const char *argv[] = { "/bin/bash", "-c", "exec -a qemu-system-x86_64 sleep 60", NULL };
  g_autoptr(GError) error = NULL;
  GPid pid;

  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  g_usleep (100 * 1000);
  return pid;
}

gboolean
stand_in_alive (GPid pid)
{
  return waitpid (pid, NULL, WNOHANG) == 0 && kill (pid, 0) == 0;
}

void
stop_stand_in (GPid pid)
{
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
}

char *vm_net_skip_reason;

void
vm_harness_enter_netns (const char *what, ...)
{
  g_autoptr(GString) missing = g_string_new (NULL);
  const char *tool;
  va_list args;

  va_start (args, what);
  while ((tool = va_arg (args, const char *)) != NULL)
    {
      g_autofree char *path = g_find_program_in_path (tool);
      if (path == NULL)
        g_string_append_printf (missing, "%s%s", missing->len ? " and " : "", tool);
    }
  va_end (args);
  if (geteuid () != 0)
    vm_net_skip_reason = g_strdup_printf ("%s need root (network namespaces, taps)", what);
  else if (!g_file_test ("/dev/net/tun", G_FILE_TEST_EXISTS))
    vm_net_skip_reason = g_strdup ("/dev/net/tun does not exist (modprobe tun)");
  else if (missing->len > 0)
    vm_net_skip_reason = g_strdup_printf ("%s need %s (apt install iproute2 busybox-static)", what, missing->str);
  else if (unshare (CLONE_NEWNET) != 0)
    vm_net_skip_reason = g_strdup_printf ("cannot make a network namespace: %s", g_strerror (errno));
}

gboolean
skip_if_no_net (void)
{
  if (skip_if_unavailable ())
    return TRUE;
  if (vm_net_skip_reason != NULL)
    g_test_skip (vm_net_skip_reason);
  return vm_net_skip_reason != NULL;
}
