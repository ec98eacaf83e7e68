/* The supervisor's confinement, piece by piece: which profiles root runs,
 * which capabilities teardown keeps, and the seccomp filter itself, loaded
 * for real in a child process (test-vm-confine.c has it in a real run). */
#include "ql-confine-caps.h"
#include "ql-confine-seccomp.h"
#include "ql-error.h"
#include "ql-handover.h"
#include "ql-host-step.h"
#include "ql-profile-trust.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- which profile root runs ---- */

typedef struct {
  char *dir;
  char *profile;
} Tree;

static void
tree_setup (Tree *t, gconstpointer data)
{
  t->dir = g_dir_make_tmp ("ql-trust-XXXXXX", NULL);
  g_assert_nonnull (t->dir);
  t->profile = g_build_filename (t->dir, "vm.ini", NULL);
  g_assert_true (g_file_set_contents (t->profile, "[vm]\nname = vm\n", -1, NULL));
  g_assert_cmpint (chmod (t->profile, 0644), ==, 0);
}

static void
tree_teardown (Tree *t, gconstpointer data)
{
  g_autofree char *link = g_build_filename (t->dir, "link.ini", NULL);

  g_unlink (link);
  g_unlink (t->profile);
  g_rmdir (t->dir);
  g_free (t->profile);
  g_free (t->dir);
}

static gboolean
skip_unless_root (void)
{
  if (geteuid () != 0)
    g_test_skip ("the files must be root's, and one another user's: needs root");
  return geteuid () != 0;
}

static void
assert_refused (const char *path, const char *fragment)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (ql_profile_trust_check (path, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_PROFILE);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "Profile '"));
  g_assert_nonnull (strstr (error->message, fragment));
}

/* root's file in root's directories: run */
static void
test_trust_root_owned (Tree *t, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  if (skip_unless_root ())
    return;
  g_assert_true (ql_profile_trust_check (t->profile, &error));
  g_assert_no_error (error);
}

/* writable by others: whoever can write it decides what root runs */
static void
test_trust_writable (Tree *t, gconstpointer data)
{
  g_autofree char *expected = NULL;

  if (skip_unless_root ())
    return;
  g_assert_cmpint (chmod (t->profile, 0666), ==, 0);
  expected = g_strdup_printf ("it '%s' is owned by root (uid 0) with mode 0666: others can write it; fix: chmod go-w '%s'",
                              t->profile, t->profile);
  assert_refused (t->profile, expected);
  g_assert_cmpint (chmod (t->profile, 0620), ==, 0);
  assert_refused (t->profile, "with mode 0620");
}

/* another user's file, even read-only: its owner can chmod it */
static void
test_trust_other_owner (Tree *t, gconstpointer data)
{
  g_autofree char *expected = NULL;

  if (skip_unless_root ())
    return;
  g_assert_cmpint (chown (t->profile, 65534, 65534), ==, 0);
  g_assert_cmpint (chmod (t->profile, 0444), ==, 0);
  expected = g_strdup_printf ("it '%s' is owned by ", t->profile);
  assert_refused (t->profile, expected);
  assert_refused (t->profile, "uid 65534), not root (mode 0444); fix: chown root: '");
}

/* a directory others can write: they could put another file in its place */
static void
test_trust_directory (Tree *t, gconstpointer data)
{
  g_autofree char *expected = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_unless_root ())
    return;
  g_assert_cmpint (chmod (t->dir, 0777), ==, 0);
  expected = g_strdup_printf ("its directory '%s' is owned by root (uid 0) with mode 0777", t->dir);
  assert_refused (t->profile, expected);
  /* with the sticky bit (/tmp) others cannot rename or remove root's file */
  g_assert_cmpint (chmod (t->dir, 01777), ==, 0);
  g_assert_true (ql_profile_trust_check (t->profile, &error));
  g_assert_no_error (error);
  g_assert_cmpint (chown (t->dir, 65534, 65534), ==, 0);
  assert_refused (t->profile, "its directory '");
  g_assert_cmpint (chown (t->dir, 0, 0), ==, 0);
  g_assert_cmpint (chmod (t->dir, 0700), ==, 0);
}

/* a link is judged by what it points to */
static void
test_trust_symlink (Tree *t, gconstpointer data)
{
  g_autofree char *link = g_build_filename (t->dir, "link.ini", NULL);
  g_autoptr(GError) error = NULL;

  if (skip_unless_root ())
    return;
  g_assert_cmpint (symlink (t->profile, link), ==, 0);
  g_assert_true (ql_profile_trust_check (link, &error));
  g_assert_no_error (error);
  g_assert_cmpint (chmod (t->profile, 0646), ==, 0);
  assert_refused (link, "with mode 0646");
}

/* ---- what teardown keeps ---- */

static QlHostStep *
step (QlHostStepKind kind, const char *name)
{
  QlHostStep *s = g_new0 (QlHostStep, 1);

  s->kind = kind;
  s->name = g_strdup (name);
  return s;
}

static char *
caps_for (GPtrArray *steps, gboolean other_user)
{
  g_autoptr(GArray) keep = ql_confine_caps_for_run (steps, other_user);
  return ql_confine_caps_describe (keep);
}

#ifdef QL_SANITIZER_BUILD
#define PTRACE_CAP "cap_sys_ptrace"
#define WITH_PTRACE ",cap_sys_ptrace"
#else
#define PTRACE_CAP "none"
#define WITH_PTRACE ""
#endif

/* each step's undo asks for its capability once; sysfs, files and D-Bus none */
static void
test_caps_for_run (void)
{
  g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
  g_autofree char *none = NULL, *net = NULL, *all = NULL;

  g_ptr_array_add (steps, step (QL_HOST_STEP_VFIO_BIND, NULL));
  g_ptr_array_add (steps, step (QL_HOST_STEP_HUGEPAGES, NULL));
  g_ptr_array_add (steps, step (QL_HOST_STEP_UNIT_STOP, "display-manager.service"));
  g_ptr_array_add (steps, step (QL_HOST_STEP_VTCONSOLE_UNBIND, "vtcon1"));
  none = caps_for (steps, FALSE);
  g_assert_cmpstr (none, ==, PTRACE_CAP);
  g_ptr_array_add (steps, step (QL_HOST_STEP_TAP, "ql-t0"));
  g_ptr_array_add (steps, step (QL_HOST_STEP_TAP, "ql-t1"));
  g_ptr_array_add (steps, step (QL_HOST_STEP_BRIDGE, "qlbr0"));
  net = caps_for (steps, FALSE);
  g_assert_cmpstr (net, ==, "cap_net_admin" WITH_PTRACE);
  g_ptr_array_add (steps, step (QL_HOST_STEP_MODULE_UNLOAD, "nvidia"));
  all = caps_for (steps, TRUE);
  g_assert_cmpstr (all, ==, "cap_kill,cap_net_admin,cap_sys_module" WITH_PTRACE);
}

/* ---- the filter, loaded for real in a child ---- */

static void
install_filter (gboolean run_modprobe)
{
  QlConfineSeccompOptions options = { .qemu_pid = getppid (), .run_modprobe = run_modprobe };
  g_autoptr(GError) error = NULL;

  if (!ql_confine_seccomp_install (&options, &error))
    {
      g_printerr ("install: %s\n", error->message);
      _exit (3);
    }
}

/* Runs body in a child with the filter; returns its wait status. */
static int
in_confined_child (void (*body) (void), gboolean run_modprobe)
{
  int status = 0;
  pid_t pid = fork ();

  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      install_filter (run_modprobe);
      body ();
      _exit (0);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  return status;
}

static void
assert_killed_by_filter (int status)
{
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGSYS);
}

/* what teardown does: files, unix and netlink sockets, its own threads */
static void
teardown_like_work (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-confined-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "last-exit.json", NULL);
  g_autofree char *moved = g_build_filename (dir, "kept.json", NULL);
  int unix_fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int netlink_fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
  GThread *thread = g_thread_new ("worker", (GThreadFunc) (void (*) (void)) g_get_monotonic_time, NULL);

  g_thread_join (thread);
  if (dir == NULL || !g_file_set_contents (file, "{}", -1, NULL) || g_rename (file, moved) != 0 ||
      g_unlink (moved) != 0 || g_rmdir (dir) != 0 || unix_fd < 0 || netlink_fd < 0)
    _exit (4);
  /* the stop ladder's signal reaches QEMU (the parent here: signal 0) */
  if (kill (getppid (), 0) != 0)
    _exit (5);
}

static void
mounts (void)
{
  umount2 ("/nonexistent/qlaunch-test", 0);
}

static void
execs (void)
{
  execl ("/bin/true", "true", NULL);
}

static void
kills_init (void)
{
  kill (1, 0);
}

static void
opens_inet_socket (void)
{
  socket (AF_INET, SOCK_STREAM, 0);
}

static void
new_namespace (void)
{
  unshare (CLONE_NEWUSER);
}

static void
clone3_is_enosys (void)
{
  if (syscall (SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
    _exit (6);
}

static void
test_filter_allows_teardown (void)
{
  int status = in_confined_child (teardown_like_work, FALSE);

  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  status = in_confined_child (clone3_is_enosys, FALSE);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* each is an escape's tool, refused by killing the process */
static void
test_filter_refuses (void)
{
  assert_killed_by_filter (in_confined_child (mounts, FALSE));
  assert_killed_by_filter (in_confined_child (kills_init, FALSE));
  assert_killed_by_filter (in_confined_child (opens_inet_socket, FALSE));
  assert_killed_by_filter (in_confined_child (new_namespace, FALSE));
#ifndef QL_SANITIZER_BUILD
  /* a sanitizer build lets its runtime run a symbolizer */
  assert_killed_by_filter (in_confined_child (execs, FALSE));
#endif
}

/* teardown's modprobe, as ql_handover_module_load runs it: spawned,
 * waited for, its stderr read; a module that does not exist makes it fail
 * harmlessly */
static void
runs_modprobe (void)
{
  g_autoptr(GError) error = NULL;

  if (ql_handover_module_load ("ql_no_such_module", 10000, &error) || error->domain != QL_ERROR)
    _exit (7);
}

/* with [host] unload-modules, modprobe must run: execve is allowed */
static void
test_filter_modprobe (void)
{
  g_autofree char *modprobe = g_find_program_in_path ("modprobe");
  int status = in_confined_child (execs, TRUE);

  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  if (modprobe == NULL)
    {
      g_test_skip ("no modprobe (apt install kmod): teardown's module load not tried");
      return;
    }
  status = in_confined_child (runs_modprobe, TRUE);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/confine/trust/root-owned", Tree, NULL, tree_setup, test_trust_root_owned, tree_teardown);
  g_test_add ("/confine/trust/writable", Tree, NULL, tree_setup, test_trust_writable, tree_teardown);
  g_test_add ("/confine/trust/other-owner", Tree, NULL, tree_setup, test_trust_other_owner, tree_teardown);
  g_test_add ("/confine/trust/directory", Tree, NULL, tree_setup, test_trust_directory, tree_teardown);
  g_test_add ("/confine/trust/symlink", Tree, NULL, tree_setup, test_trust_symlink, tree_teardown);
  g_test_add_func ("/confine/caps/for-run", test_caps_for_run);
  g_test_add_func ("/confine/seccomp/allows-teardown", test_filter_allows_teardown);
  g_test_add_func ("/confine/seccomp/refuses", test_filter_refuses);
  g_test_add_func ("/confine/seccomp/modprobe", test_filter_modprobe);
  return g_test_run ();
}
