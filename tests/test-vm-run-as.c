/* [vm] run-as for real: a root start whose QEMU (TCG) runs as nobody, with
 * no supplementary group, no capability and its seccomp filter, and
 * answers QMP; what it was given is root's again, with its modes, after a
 * stop and after kill -9 of the supervisor and 'qlaunch recover'; the UEFI
 * varstore likewise.  The refusals: a user the host does not have, and
 * run-as in a user's start. */
#include "vm-harness.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uid_t nobody_uid;
static gid_t nobody_gid;

static gboolean
skip_if_cannot (void)
{
  if (skip_if_unavailable ())
    return TRUE;
  if (geteuid () != 0)
    {
      g_test_skip ("run-as is root's: the test must run as root");
      return TRUE;
    }
  if (nobody_uid == 0)
    {
      g_test_skip ("this host has no user 'nobody'");
      return TRUE;
    }
  return FALSE;
}

/* A TCG guest run as nobody, with qlaunch's SSDT and a disk image of root's. */
static char *
run_as_profile (const char *name, const char *run_as)
{
  g_autofree char *disk = g_strdup_printf ("%s/%s.img", tmp_root, name);
  g_autofree char *vm_lines = g_strdup_printf ("run-as = %s\n", run_as);
  g_autofree char *sections = g_strdup_printf ("[memory]\nsize = 256M\n[acpi]\nfake-battery = true\n"
                                               "[disk data]\nfile = %s\nformat = raw\n", disk);
  int fd = g_open (disk, O_WRONLY | O_CREAT | O_TRUNC, 0640);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, 1 << 20), ==, 0);
  close (fd);
  g_assert_cmpint (chmod (disk, 0640), ==, 0);
  return write_guest_profile (name, "acpi", vm_lines, sections);
}

static void
assert_owner (const char *path, uid_t uid, gid_t gid, mode_t mode)
{
  struct stat st;

  g_assert_cmpint (lstat (path, &st), ==, 0);
  if (st.st_uid != uid || st.st_gid != gid || (st.st_mode & 07777) != mode)
    g_error ("%s: owner %u, group %u, mode %04o; expected %u, %u, %04o", path, st.st_uid, st.st_gid,
             st.st_mode & 07777, uid, gid, mode);
}

/* The field of /proc/PID/status, without its name: "65534\t65534\t..." */
static char *
proc_status_field (gint64 pid, const char *field)
{
  g_autofree char *path = g_strdup_printf ("/proc/%" G_GINT64_FORMAT "/status", pid);
  g_autofree char *text = NULL;
  g_autofree char *prefix = g_strdup_printf ("%s:", field);
  g_auto(GStrv) lines = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      return g_strstrip (g_strdup (lines[i] + strlen (prefix)));
  g_error ("no %s in %s", field, path);
}

/* QEMU as nobody: every uid and gid, nothing else, and QEMU's own sandbox */
static void
assert_qemu_confined (const char *name)
{
  gint64 pid = status_pid (name, "qemu-pid");
  g_autofree char *uid = proc_status_field (pid, "Uid");
  g_autofree char *gid = proc_status_field (pid, "Gid");
  g_autofree char *groups = proc_status_field (pid, "Groups");
  g_autofree char *cap_eff = proc_status_field (pid, "CapEff");
  g_autofree char *cap_prm = proc_status_field (pid, "CapPrm");
  g_autofree char *seccomp = proc_status_field (pid, "Seccomp");
  g_autofree char *ids = g_strdup_printf ("%u\t%u\t%u\t%u", nobody_uid, nobody_uid, nobody_uid, nobody_uid);
  g_autofree char *gids = g_strdup_printf ("%u\t%u\t%u\t%u", nobody_gid, nobody_gid, nobody_gid, nobody_gid);

  g_assert_cmpstr (uid, ==, ids);
  g_assert_cmpstr (gid, ==, gids);
  g_assert_cmpstr (groups, ==, "");
  g_assert_cmpstr (cap_eff, ==, "0000000000000000");
  g_assert_cmpstr (cap_prm, ==, "0000000000000000");
  g_assert_cmpstr (seccomp, ==, "2");
}

/* While the VM runs: its serial log, SSDT and disk are nobody's, the base
 * of the runtime dirs passable (not readable) by all; after: root's again. */
static void
assert_given (const char *name, gboolean given)
{
  g_autofree char *disk = g_strdup_printf ("%s/%s.img", tmp_root, name);
  g_autofree char *serial = runtime_file (name, "serial.log");
  g_autofree char *ssdt = runtime_file (name, "qlaunch-ssdt.aml");
  g_autofree char *journal = runtime_file (name, "journal.json");

  if (given)
    {
      assert_owner (disk, nobody_uid, nobody_gid, 0640);
      assert_owner (serial, nobody_uid, nobody_gid, 0600);
      assert_owner (ssdt, nobody_uid, nobody_gid, 0600);
      assert_owner (runtime_base, 0, 0, 0701);
      assert_owner (journal, 0, 0, 0600);
      return;
    }
  assert_owner (disk, 0, 0, 0640);
  assert_owner (runtime_base, 0, 0, 0700);
}

static void
test_run_as_nobody (void)
{
  g_autofree char *path = NULL, *err = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(QlQmpClient) client = NULL;
  g_autoptr(JsonNode) status = NULL;

  if (skip_if_cannot ())
    return;
  path = run_as_profile ("runas", "nobody");
  proc = start_foreground (path);
  wait_running ("runas");
  assert_qemu_confined ("runas");
  assert_given ("runas", TRUE);
  client = qmp_connect ("runas");
  status = qmp (client, "query-status");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (status), "status"), ==, "running");
  g_clear_object (&client);
  g_assert_cmpint (run_qlaunch (NULL, &err, "stop", "runas", NULL), ==, 0);
  g_assert_cmpint (wait_exit (proc, NULL), ==, 0);
  assert_given ("runas", FALSE);
  assert_nothing_left ("runas");
}

/* kill -9 of the supervisor: QEMU follows it (the parent-death signal,
 * set again after the uid change), and recover gives everything back. */
static void
test_run_as_recover (void)
{
  g_autofree char *path = NULL, *out = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  gint64 qemu_pid;

  if (skip_if_cannot ())
    return;
  path = run_as_profile ("runas-kill", "nobody");
  proc = start_foreground (path);
  wait_running ("runas-kill");
  assert_given ("runas-kill", TRUE);
  qemu_pid = status_pid ("runas-kill", "qemu-pid");
  kill_supervisor ("runas-kill");
  for (int i = 0; i < 500 && kill ((pid_t) qemu_pid, 0) == 0; i++)
    g_usleep (10 * 1000);
  g_assert_cmpint (kill ((pid_t) qemu_pid, 0), !=, 0);
  assert_given ("runas-kill", TRUE);
  g_assert_cmpint (run_qlaunch (&out, NULL, "recover", "runas-kill", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "runas-kill.img is back to owner 0, group 0, mode 0640"));
  assert_given ("runas-kill", FALSE);
  assert_nothing_left ("runas-kill");
}

/* UEFI: the varstore in the state dir is nobody's for the run only, and
 * kept (the same file) for the next. */
static void
test_run_as_uefi (void)
{
  g_autofree char *path = g_strdup_printf ("%s/runas-uefi.ini", tmp_root);
  g_autofree char *vars = g_build_filename (state_base, "runas-uefi", "OVMF_VARS.fd", NULL);
  g_autofree char *state_dir = g_build_filename (state_base, "runas-uefi", NULL);
  GStatBuf first, second;

  if (skip_if_cannot ())
    return;
  if (!g_file_test ("/usr/share/OVMF", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("OVMF is not installed (apt install ovmf)");
      return;
    }
  g_assert_true (g_file_set_contents (path, "[vm]\nname = runas-uefi\naccel = tcg\nfirmware = uefi\n"
                                            "run-as = nobody\n[memory]\nsize = 256M\n", -1, NULL));
  g_assert_cmpint (run_qlaunch (NULL, NULL, "start", "--detach", path, NULL), ==, 0);
  assert_qemu_confined ("runas-uefi");
  assert_owner (vars, nobody_uid, nobody_gid, 0600);
  assert_owner (state_dir, 0, nobody_gid, 0710);
  assert_owner (state_base, 0, 0, 0701);
  g_assert_cmpint (g_stat (vars, &first), ==, 0);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "runas-uefi", NULL), ==, 0);
  assert_owner (vars, 0, 0, 0600);
  assert_owner (state_dir, 0, 0, 0700);
  assert_owner (state_base, 0, 0, 0700);
  assert_nothing_left ("runas-uefi");

  g_assert_cmpint (run_qlaunch (NULL, NULL, "start", "--detach", path, NULL), ==, 0);
  assert_owner (vars, nobody_uid, nobody_gid, 0600);
  g_assert_cmpint (g_stat (vars, &second), ==, 0);
  g_assert_cmpint (first.st_ino, ==, second.st_ino);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", "runas-uefi", NULL), ==, 0);
  assert_owner (vars, 0, 0, 0600);
  assert_nothing_left ("runas-uefi");
}

/* A user the host does not have: refused before anything changes, naming
 * the profile's file, line and key. */
static void
test_run_as_no_such_user (void)
{
  g_autofree char *path = NULL, *err = NULL, *expect = NULL;

  if (skip_if_cannot ())
    return;
  path = run_as_profile ("runas-nouser", "ql-no-such-user");
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", path, NULL), ==, 1);
  expect = g_strdup_printf ("%s:8: [vm] run-as: there is no user 'ql-no-such-user' on this host; create it "
                            "(useradd --system --no-create-home --shell /usr/sbin/nologin ql-no-such-user) or name "
                            "another", path);
  g_assert_nonnull (strstr (err, expect));
  {
    g_autofree char *disk = g_strdup_printf ("%s/runas-nouser.img", tmp_root);
    assert_owner (disk, 0, 0, 0640);
  }
  assert_nothing_left ("runas-nouser");
}

/* A user's own start runs QEMU as that user: naming anyone else is refused. */
static void
test_run_as_in_user_start (void)
{
  g_autofree char *path = NULL, *err = NULL, *expect = NULL;

  if (skip_if_cannot ())
    return;
  path = write_guest_profile ("runas-user", "acpi", "run-as = root\n", "");
  run_as_uid = nobody_uid;
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", path, NULL), ==, 1);
  run_as_uid = 0;
  expect = g_strdup_printf ("%s:8: [vm] run-as: QEMU runs as whoever starts the VM unless root starts it; this "
                            "start is by nobody, not root. Fix: start it as root (sudo qlaunch start runas-user), "
                            "or remove run-as", path);
  g_assert_nonnull (strstr (err, expect));
}

/* Not set: the user who ran sudo, when sudo's variables agree with the
 * user database; else root, with a note saying how to set it. */
static void
test_run_as_default (void)
{
  g_autofree char *path = NULL, *out = NULL, *expect = NULL, *uid = NULL;

  if (skip_if_cannot ())
    return;
  path = write_guest_profile ("runas-default", "acpi", "", "");
  g_assert_cmpint (run_qlaunch (&out, NULL, "plan", path, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "note: QEMU runs as root, with only its -sandbox between the guest and the host: "
                                 "make qlaunch's own system user once (qlaunch host-setup --system-user), "
                                 "or set run-as = USER in [vm] of "));
  g_clear_pointer (&out, g_free);

  uid = g_strdup_printf ("%u", nobody_uid);
  g_setenv ("SUDO_USER", "nobody", TRUE);
  g_setenv ("SUDO_UID", uid, TRUE);
  g_assert_cmpint (run_qlaunch (&out, NULL, "plan", path, NULL), ==, 0);
  expect = g_strdup_printf ("note: QEMU runs as nobody (uid %u, gid %u, supplementary groups: none; "
                            "no capabilities)", nobody_uid, nobody_gid);
  g_assert_nonnull (strstr (out, expect));
  g_clear_pointer (&out, g_free);

  /* SUDO_UID that is not SUDO_USER's: not trusted */
  g_setenv ("SUDO_UID", "4242", TRUE);
  g_assert_cmpint (run_qlaunch (&out, NULL, "plan", path, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "note: QEMU runs as root"));
  g_unsetenv ("SUDO_USER");
  g_unsetenv ("SUDO_UID");
}

static void
remove_system_user (gpointer unused)
{
  const char *argv[] = { "/usr/sbin/userdel", "qlaunch", NULL };

  if (getpwnam ("qlaunch") != NULL)
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                  NULL, NULL, NULL, NULL);
}

/* No run-as and no sudo: qlaunch's system user once host-setup made it;
 * host-setup --system-user --dry-run only says so, --undo removes it. */
static void
test_run_as_system_user (void)
{
  g_autofree char *path = NULL, *out = NULL, *uid = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  struct passwd *pw;

  if (skip_if_cannot ())
    return;
  if (getpwnam ("qlaunch") != NULL)
    {
      g_test_skip ("this host has a user 'qlaunch' already: the test makes and removes its own");
      return;
    }
  if (!g_file_test ("/usr/sbin/useradd", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("no /usr/sbin/useradd on this host");
      return;
    }
  g_test_queue_destroy (remove_system_user, NULL);
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", "--system-user", "--dry-run", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "would run: /usr/sbin/useradd --system --user-group --no-create-home"));
  g_assert_null (getpwnam ("qlaunch"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", "--system-user", NULL), ==, 0);
  pw = getpwnam ("qlaunch");
  g_assert_nonnull (pw);
  g_assert_cmpuint (pw->pw_uid, >, 0);
  g_assert_cmpuint (pw->pw_uid, <=, 999);
  g_assert_cmpstr (pw->pw_shell, ==, "/usr/sbin/nologin");
  uid = g_strdup_printf ("%u\t%u\t%u\t%u", pw->pw_uid, pw->pw_uid, pw->pw_uid, pw->pw_uid);

  path = write_guest_profile ("runas-system", "acpi", "", "");
  proc = start_foreground (path);
  wait_running ("runas-system");
  {
    g_autofree char *qemu_uid = proc_status_field (status_pid ("runas-system", "qemu-pid"), "Uid");
    g_autofree char *cap_eff = proc_status_field (status_pid ("runas-system", "qemu-pid"), "CapEff");

    g_assert_cmpstr (qemu_uid, ==, uid);
    g_assert_cmpstr (cap_eff, ==, "0000000000000000");
  }
  g_assert_cmpint (run_qlaunch (NULL, NULL, "stop", "runas-system", NULL), ==, 0);
  g_assert_cmpint (wait_exit (proc, NULL), ==, 0);
  assert_nothing_left ("runas-system");

  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", "--system-user", "--undo", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "system user 'qlaunch' removed"));
  g_assert_null (getpwnam ("qlaunch"));
}

int
main (int argc, char **argv)
{
  struct passwd *pw;
  int ret;

  g_test_init (&argc, &argv, NULL);
  vm_harness_init ();
  pw = getpwnam ("nobody");
  if (pw != NULL && pw->pw_uid != 0)
    {
      nobody_uid = pw->pw_uid;
      nobody_gid = pw->pw_gid;
    }
  /* the temp root is root's 0700: the run-as user may pass through it,
   * as through /run and /var/lib */
  g_assert_cmpint (chmod (tmp_root, 0711), ==, 0);
  g_test_add_func ("/vm/run-as/nobody", test_run_as_nobody);
  g_test_add_func ("/vm/run-as/supervisor-killed", test_run_as_recover);
  g_test_add_func ("/vm/run-as/uefi-vars", test_run_as_uefi);
  g_test_add_func ("/vm/run-as/no-such-user", test_run_as_no_such_user);
  g_test_add_func ("/vm/run-as/user-start", test_run_as_in_user_start);
  g_test_add_func ("/vm/run-as/default", test_run_as_default);
  g_test_add_func ("/vm/run-as/system-user", test_run_as_system_user);
  ret = g_test_run ();
  remove_tree (tmp_root);
  return ret;
}
