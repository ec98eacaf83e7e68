/* Host facts and runtime pieces: KVM usability, hugetlbfs mounts, QEMU's
 * firmware descriptors (the real ones of this machine too), profile lookup,
 * and the supervisor lock with real flock() and a real SIGKILL. */
#include "ql-error.h"
#include "ql-firmware.h"
#include "ql-host-probe.h"
#include "ql-paths.h"
#include "ql-runtime.h"
#include "ql-log-move.h"
#include "ql-host-probe.h"
#include "ql-firmware-load.h"

#include <glib/gstdio.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void
test_kvm_usable (void)
{
  char *reason = NULL;

  g_assert_true (ql_host_kvm_usable (TRUE, NULL, "processor\t: 0\nflags\t\t: fpu vme vmx sse\n", &reason));
  g_assert_true (ql_host_kvm_usable (TRUE, NULL, "flags\t\t: fpu svm lm\n", &reason));
  g_assert_null (reason);

  /* PVM: /dev/kvm answers, but the CPU has no hardware virtualisation */
  g_assert_false (ql_host_kvm_usable (TRUE, NULL, "flags\t\t: fpu vme sse hypervisor\n", &reason));
  g_assert_cmpstr (reason, ==, "/dev/kvm exists but the CPU has no vmx/svm flag (a paravirtual KVM such as PVM), "
                               "which cannot run an unmodified guest");
  g_clear_pointer (&reason, g_free);

  g_assert_false (ql_host_kvm_usable (FALSE, "Permission denied", "flags : vmx\n", &reason));
  g_assert_cmpstr (reason, ==, "/dev/kvm is not usable: Permission denied");
  g_free (reason);
}

static void
test_hugetlbfs (void)
{
  const char *mounts =
    "proc /proc proc rw 0 0\n"
    "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
    "none /mnt/huge\\0401g hugetlbfs rw,pagesize=1024M 0 0\n";
  const char *default_only = "hugetlbfs /dev/hugepages hugetlbfs rw,relatime 0 0\n";
  g_autofree char *two = ql_host_find_hugetlbfs (mounts, 2048, 2048);
  g_autofree char *one = ql_host_find_hugetlbfs (mounts, 1048576, 2048);
  g_autofree char *dflt = ql_host_find_hugetlbfs (default_only, 2048, 2048);
  g_autofree char *none = ql_host_find_hugetlbfs (default_only, 1048576, 2048);

  g_assert_cmpstr (two, ==, "/dev/hugepages");
  g_assert_cmpstr (one, ==, "/mnt/huge 1g");
  g_assert_cmpstr (dflt, ==, "/dev/hugepages");
  g_assert_null (none);
}

/* The descriptors this machine's ovmf package installed parse, and the
 * right ones are chosen for plain and Secure Boot UEFI. */
static void
test_firmware_real (void)
{
  const char *dirs[] = { "/usr/share/qemu/firmware", NULL };
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GError) error = NULL;
  const QlFirmwareDescriptor *plain, *secure;

  if (!g_file_test ("/usr/share/qemu/firmware", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("no /usr/share/qemu/firmware (the ovmf package is not installed)");
      return;
    }
  all = ql_firmware_load_all (dirs);
  g_assert_cmpuint (all->len, >, 0);
  plain = ql_firmware_select_uefi (all, FALSE, &error);
  g_assert_no_error (error);
  g_assert_false (ql_firmware_has_feature (plain, "secure-boot"));
  g_assert_true (g_file_test (plain->executable, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (plain->nvram_template, G_FILE_TEST_EXISTS));
  secure = ql_firmware_select_uefi (all, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (ql_firmware_has_feature (secure, "enrolled-keys"));
  g_assert_true (ql_firmware_has_feature (secure, "requires-smm"));
}

static void
test_firmware_none (void)
{
  g_autoptr(GPtrArray) none = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QlFirmwareDescriptor) bad = NULL;

  g_assert_null (ql_firmware_select_uefi (none, FALSE, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_true (g_str_has_suffix (error->message, "(Hint: install the 'ovmf' package, or set firmware=bios)"));
  g_clear_error (&error);

  bad = ql_firmware_descriptor_parse ("x.json", "{\"mapping\": {}}", &error);
  g_assert_null (bad);
  g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_null (ql_firmware_descriptor_parse ("y.json", "[1,", &error));
  g_assert_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_PARSE);
}

static void
test_profile_lookup (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-profiles-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "win.ini", NULL);
  g_autofree char *found = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (file, "[vm]\n", -1, NULL));
  g_setenv ("QLAUNCH_PROFILE_PATH", dir, TRUE);
  found = ql_paths_find_profile ("win", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, file);
  g_assert_null (ql_paths_find_profile ("linux", &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_NOT_FOUND);
  g_clear_error (&error);
  /* a path is a path, never a name */
  g_assert_null (ql_paths_find_profile ("./win", &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_NOT_FOUND);
  g_unlink (file);
  g_rmdir (dir);
}

static void
test_lock (void)
{
  g_autofree char *base = g_dir_make_tmp ("ql-run-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (base, "vm", NULL);
  g_autoptr(GError) error = NULL;
  QlLock *lock, *second;
  GStatBuf st;
  pid_t child;
  int ready[2];
  char c;

  lock = ql_lock_acquire (dir, "vm", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_true (ql_lock_is_held (dir));

  /* a second holder in another process is refused with the VM named */
  child = fork ();
  if (child == 0)
    {
      GError *e = NULL;
      second = ql_lock_acquire (dir, "vm", &e);
      _exit (second == NULL && g_error_matches (e, QL_ERROR, QL_ERROR_BUSY) ? 0 : 1);
    }
  {
    int status;
    g_assert_cmpint (waitpid (child, &status, 0), ==, child);
    g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  }
  ql_lock_release (lock);
  g_assert_false (ql_lock_is_held (dir));

  /* a holder killed with SIGKILL leaves its file, but never a held lock */
  g_assert_cmpint (pipe (ready), ==, 0);
  child = fork ();
  if (child == 0)
    {
      QlLock *held = ql_lock_acquire (dir, "vm", NULL);
      if (held == NULL || write (ready[1], "x", 1) != 1)
        _exit (1);
      pause ();
      _exit (0);
    }
  g_assert_cmpint (read (ready[0], &c, 1), ==, 1);
  g_assert_true (ql_lock_is_held (dir));
  kill (child, SIGKILL);
  waitpid (child, NULL, 0);
  g_assert_false (ql_lock_is_held (dir));
  lock = ql_lock_acquire (dir, "vm", &error);
  g_assert_no_error (error);
  ql_lock_release (lock);
  close (ready[0]);
  close (ready[1]);
  g_rmdir (dir);
  g_rmdir (base);
}

/* A log moves from the runtime dir (tmpfs) to the state dir (disk): the
 * copy keeps its bytes, mode and mtime, the original goes, an older log at
 * the destination is replaced, and a symlink is never followed. */
static void
test_log_move_across (void)
{
  g_autofree char *run = g_dir_make_tmp ("ql-logmove-XXXXXX", NULL);
  g_autofree char *shm = g_strdup ("/dev/shm/ql-logmove-XXXXXX");
  g_autofree char *from = NULL, *to = NULL, *got = NULL, *link = NULL, *link_to = NULL, *kept = NULL;
  g_autoptr(GError) error = NULL;
  struct stat before, after;
  const struct timespec old_times[2] = { { 1000000, 0 }, { 1000000, 0 } };

  if (g_mkdtemp (shm) == NULL)
    {
      g_test_skip ("no /dev/shm to move a log across file systems from");
      return;
    }
  from = g_build_filename (shm, "serial.log", NULL);
  to = g_build_filename (run, "serial.log", NULL);
  g_assert_true (g_file_set_contents (from, "guest said hello\n", -1, NULL));
  g_assert_cmpint (chmod (from, 0640), ==, 0);
  g_assert_cmpint (utimensat (AT_FDCWD, from, old_times, 0), ==, 0);
  g_assert_cmpint (stat (from, &before), ==, 0);
  g_assert_true (g_file_set_contents (to, "the last run's log", -1, NULL));

  g_assert_true (ql_log_move (from, to, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (from, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_get_contents (to, &got, NULL, NULL));
  g_assert_cmpstr (got, ==, "guest said hello\n");
  g_assert_cmpint (stat (to, &after), ==, 0);
  g_assert_cmpint (after.st_mode & 07777, ==, 0640);
  g_assert_cmpint (after.st_mtim.tv_sec, ==, before.st_mtim.tv_sec);

  /* a symlink planted where the log was is refused, its target untouched */
  link = g_build_filename (shm, "qemu.log", NULL);
  g_assert_cmpint (symlink (to, link), ==, 0);
  link_to = g_build_filename (run, "qemu.log", NULL);
  g_assert_false (ql_log_move (link, link_to, &error));
  g_assert_nonnull (error);
  g_assert_true (g_file_get_contents (to, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, "guest said hello\n");
  g_unlink (link);
  g_unlink (to);
  g_rmdir (shm);
  g_rmdir (run);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/host/kvm-usable", test_kvm_usable);
  g_test_add_func ("/host/hugetlbfs", test_hugetlbfs);
  g_test_add_func ("/host/firmware/real", test_firmware_real);
  g_test_add_func ("/host/firmware/none", test_firmware_none);
  g_test_add_func ("/paths/profile-lookup", test_profile_lookup);
  g_test_add_func ("/runtime/lock", test_lock);
  g_test_add_func ("/runtime/log-move-across", test_log_move_across);
  return g_test_run ();
}
