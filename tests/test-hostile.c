/* qlaunch runs as root: its arguments and its own runtime files are input
 * that someone else may have written.  Each test plants what an attacker
 * (or an unlucky crash) leaves and checks that qlaunch neither acts on it
 * nor touches anything outside its own files. */
#include "vm-harness.h"
#include "fake-sysfs.h"
#include "ql-device-lock.h"
#include "ql-error.h"
#include "ql-runtime.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *
runtime_dir_of (const char *name)
{
  g_autofree char *dir = g_build_filename (runtime_base, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  return g_steal_pointer (&dir);
}

static void
plant (const char *dir, const char *file, const char *text)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
}


/* 1: a name with '/' or a leading '.' never reaches a path. */
static void
test_names (void)
{
  static const char *const verbs[] = { "stop", "kill", "recover", "status", "pin" };
  static const char *const names[] = { "../evil", "..", "a/b", ".hidden", "" };
  g_autofree char *outside = g_build_filename (tmp_root, "evil", NULL);
  GPid victim = stand_in_qemu ();

  /* what an attacker prepared one level above the runtime base */
  g_assert_cmpint (g_mkdir_with_parents (outside, 0700), ==, 0);
  {
    g_autofree char *state = g_strdup_printf ("{\"supervisor-pid\": %d, \"supervisor-start-time\": 0, "
                                              "\"qemu-pid\": 0, \"qemu-start-time\": 0, \"started-usec\": 0, "
                                              "\"stop-timeout\": 5}", (int) victim);
    plant (outside, "state.json", state);
    plant (outside, "journal.json", "{\"changes\": [{\"kind\": \"tap\", \"name\": \"eth0\"}]}");
  }
  for (guint v = 0; v < G_N_ELEMENTS (verbs); v++)
    for (guint n = 0; n < G_N_ELEMENTS (names); n++)
      {
        g_autofree char *err = NULL;

        g_assert_cmpint (run_qlaunch (NULL, &err, verbs[v], names[n], NULL), ==, 1);
        g_assert_nonnull (strstr (err, "the VM name"));
      }
  g_assert_true (stand_in_alive (victim));
  g_assert_true (g_file_test (outside, G_FILE_TEST_IS_DIR));
  stop_stand_in (victim);
  remove_tree (outside);
}

typedef struct {
  const char *what;
  const char *change;           /* a JSON object as a journal holds it */
  const char *expect;           /* in the refusal */
} PlantedChange;

/* 2: every field of every journal entry is checked before any is undone. */
static void
test_journal_fields (void)
{
  static const PlantedChange changes[] = {
    { "driver outside sysfs", "{\"kind\": \"vfio-bind\", \"device\": \"0000:01:00.0\", \"driver\": \"../../../../tmp/x\"}",
      "'driver' is not valid" },
    { "device outside sysfs", "{\"kind\": \"vfio-bind\", \"device\": \"../../../tmp/x\", \"driver\": \"nvidia\"}",
      "'device' is not valid" },
    { "override with a newline", "{\"kind\": \"vfio-bind\", \"device\": \"0000:01:00.0\", \"driver\": null, "
      "\"driver-override\": \"vfio-pci\\nnvidia\"}", "'driver-override' is not valid" },
    { "short PCI address", "{\"kind\": \"vfio-bind\", \"device\": \"01:00.0\"}", "'device' is not valid" },
    { "pool outside sysfs", "{\"kind\": \"hugepages\", \"pool\": \"kernel/mm/hugepages/../../../tmp\", "
      "\"before\": 0, \"added\": 1}", "'pool' is not valid" },
    { "pool with leading zeros", "{\"kind\": \"hugepages\", \"pool\": \"kernel/mm/hugepages/hugepages-02048kB\", "
      "\"before\": 0, \"added\": 1}", "'pool' is not valid" },
    { "negative pages", "{\"kind\": \"hugepages\", \"pool\": \"kernel/mm/hugepages/hugepages-2048kB\", "
      "\"before\": -5, \"added\": 1}", "'before' is not a number in range" },
    { "pages as a string", "{\"kind\": \"hugepages\", \"pool\": \"kernel/mm/hugepages/hugepages-2048kB\", "
      "\"before\": \"0\", \"added\": 1}", "'before' is not a number in range" },
    { "interface with '/'", "{\"kind\": \"tap\", \"name\": \"../eth0\"}", "'name' is not valid" },
    { "interface too long", "{\"kind\": \"bridge\", \"name\": \"abcdefghijklmnop\"}", "'name' is not valid" },
    { "interface template", "{\"kind\": \"bridge\", \"name\": \"virbr%d\"}", "'name' is not valid" },
    { "nested too deep", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
      "nests deeper than 32 levels" },
    { "someone else's file", "{\"kind\": \"ssdt\", \"path\": \"/etc/passwd\"}", "not this VM's" },
    { "varstore elsewhere", "{\"kind\": \"nvram\", \"path\": \"/etc/shadow\", \"template\": \"/dev/null\"}",
      "not this VM's" },
    /* recover would unlink it: only this VM's Looking Glass file passes */
    { "shm file elsewhere", "{\"kind\": \"shm-file\", \"path\": \"/etc/passwd\", \"size\": 33554432, "
      "\"uid\": -1, \"gid\": -1}", "not this VM's" },
    { "another VM's shm file", "{\"kind\": \"shm-file\", \"path\": \"/dev/shm/looking-glass-other\", "
      "\"size\": 33554432, \"uid\": -1, \"gid\": -1}", "not this VM's" },
    { "shm file of no size", "{\"kind\": \"shm-file\", \"path\": \"/dev/shm/looking-glass-planted\", "
      "\"size\": 0, \"uid\": -1, \"gid\": -1}", "'size' is not a number in range" },
    { "an unknown kind", "{\"kind\": \"format-disk\", \"device\": \"/dev/sda\"}", "unknown kind" },
    { "not an object", "\"rm -rf /\"", "is not an object" },
  };
  g_autofree char *sysfs = fake_sysfs_new ();
  g_autofree char *override = g_build_filename (sysfs, "bus/pci/devices/0000:01:00.0/driver_override", NULL);
  g_autofree char *marker = g_build_filename (tmp_root, "x", NULL);

  g_setenv ("QLAUNCH_SYSFS", sysfs, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (changes); i++)
    {
      g_autofree char *dir = runtime_dir_of ("planted");
      /* a valid change first: the bad one must stop even that from being undone */
      g_autofree char *journal = g_strdup_printf (
        "{\"version\": 1, \"qemu-pid\": 0, \"changes\": [{\"kind\": \"vfio-bind\", \"device\": \"0000:01:00.0\", "
        "\"driver\": \"nvidia\", \"driver-override\": \"planted\"}, %s]}", changes[i].change);
      g_autofree char *err = NULL, *text = NULL;

      g_test_message ("planted: %s", changes[i].what);
      g_assert_true (g_file_set_contents (override, "untouched\n", -1, NULL));
      plant (dir, "journal.json", journal);
      g_assert_cmpint (run_qlaunch (NULL, &err, "recover", "planted", NULL), ==, 1);
      g_assert_nonnull (strstr (err, "is damaged, nothing was undone: "));
      g_assert_nonnull (strstr (err, changes[i].expect));
      g_assert_true (g_file_get_contents (override, &text, NULL, NULL));
      g_assert_cmpstr (text, ==, "untouched\n");
      g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
      remove_tree (dir);
    }
  g_unsetenv ("QLAUNCH_SYSFS");
  fake_sysfs_remove (sysfs);
}

/* The lock a live supervisor would hold, so that stop goes on to state.json. */
static int
hold_lock (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "lock", NULL);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (flock (fd, LOCK_EX | LOCK_NB), ==, 0);
  return fd;
}

/* 3: a PID out of range, and a PID that is not the process it was. */
static void
test_state_pids (void)
{
  static const char *const bad_pids[] = { "4294967297", "4294967295", "-1", "1", "0", "\"123\"" };
  g_autofree char *dir = runtime_dir_of ("pids");
  GPid victim = stand_in_qemu ();
  int lock = hold_lock (dir);

  for (guint i = 0; i < G_N_ELEMENTS (bad_pids); i++)
    {
      g_autofree char *state = g_strdup_printf ("{\"supervisor-pid\": %s, \"supervisor-start-time\": 1, "
                                                "\"qemu-pid\": 0, \"qemu-start-time\": 0, \"started-usec\": 1, "
                                                "\"stop-timeout\": 5}", bad_pids[i]);
      g_autofree char *err = NULL;

      plant (dir, "state.json", state);
      g_assert_cmpint (run_qlaunch (NULL, &err, "stop", "pids", NULL), ==, 1);
      g_assert_nonnull (strstr (err, "is not a state file qlaunch wrote: 'supervisor-pid'"));
    }
  /* the stand-in's PID, but not its start time: another process now */
  {
    g_autofree char *state = g_strdup_printf ("{\"supervisor-pid\": %d, \"supervisor-start-time\": 1, "
                                              "\"qemu-pid\": %d, \"qemu-start-time\": 1, \"started-usec\": 1, "
                                              "\"stop-timeout\": 5}", (int) victim, (int) victim);
    g_autofree char *err = NULL;

    plant (dir, "state.json", state);
    g_assert_cmpint (run_qlaunch (NULL, &err, "stop", "pids", NULL), ==, 1);
    g_assert_nonnull (strstr (err, "belongs to another process now"));
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run_qlaunch (NULL, &err, "kill", "pids", NULL), ==, 1);
    g_assert_nonnull (strstr (err, "belongs to another process now"));
  }
  /* an uptime from a planted start time in the far future or past */
  {
    g_autofree char *out = NULL;

    plant (dir, "state.json", "{\"supervisor-pid\": 2, \"supervisor-start-time\": 1, \"qemu-pid\": 0, "
                              "\"qemu-start-time\": 0, \"started-usec\": -9223372036854775807, \"stop-timeout\": 5}");
    g_assert_cmpint (run_qlaunch (&out, NULL, "status", "pids", NULL), ==, 0);
  }
  g_assert_true (stand_in_alive (victim));
  close (lock);
  stop_stand_in (victim);
  remove_tree (dir);
}

/* 3: recover does not kill a process that merely has "qemu" in its name. */
static void
test_journal_qemu_pid (void)
{
  g_autofree char *dir = runtime_dir_of ("reused");
  GPid victim = stand_in_qemu ();
  g_autofree char *journal = g_strdup_printf ("{\"version\": 1, \"qemu-pid\": %d, \"qemu-start-time\": 1, "
                                              "\"changes\": [{\"kind\": \"tap\", \"name\": \"ql-gone-0\"}]}",
                                              (int) victim);
  g_autofree char *out = NULL, *err = NULL;

  plant (dir, "journal.json", journal);
  g_assert_cmpint (run_qlaunch (&out, &err, "recover", "reused", NULL), ==, 0);
  g_assert_null (strstr (out, "waiting for QEMU"));
  g_assert_nonnull (strstr (out, "tap ql-gone-0 is gone"));
  g_assert_true (stand_in_alive (victim));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  stop_stand_in (victim);
}

/* 6: a dead run without host changes: recover keeps its logs and cleans up. */
static void
test_recover_without_journal (void)
{
  g_autofree char *dir = runtime_dir_of ("nochanges");
  g_autofree char *kept = g_build_filename (state_base, "nochanges", "serial.log", NULL);
  g_autofree char *out = NULL;

  plant (dir, "lock", "");
  plant (dir, "serial.log", "the dead run's console\n");
  plant (dir, "state.json", "{\"supervisor-pid\": 2, \"supervisor-start-time\": 1, \"qemu-pid\": 0, "
                            "\"qemu-start-time\": 0, \"started-usec\": 0, \"stop-timeout\": 5}");
  g_assert_cmpint (run_qlaunch (&out, NULL, "recover", "nochanges", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "no host changes to undo"));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (kept, G_FILE_TEST_EXISTS));
}

/* The review's findings: what is not a file or directory of qlaunch's own
 * is refused before anything in it is believed. */
static void
test_symlinked_runtime_dir (void)
{
  g_autofree char *victim = g_build_filename (tmp_root, "victim", NULL);
  g_autofree char *link = g_build_filename (runtime_base, "sym", NULL);
  g_autofree char *kept = g_build_filename (victim, "state.json", NULL);
  g_autofree char *err = NULL;
  GStatBuf st;

  g_assert_cmpint (g_mkdir_with_parents (runtime_base, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (victim, 0755), ==, 0);
  plant (victim, "state.json", "{}");
  g_assert_cmpint (symlink (victim, link), ==, 0);
  g_assert_cmpint (run_qlaunch (NULL, &err, "recover", "sym", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "is a symbolic link"));
  g_assert_true (g_file_test (kept, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_stat (victim, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0755);
  g_unlink (link);
  remove_tree (victim);
}

/* Anyone can read a process's start time: a QEMU is also known by its binary. */
static void
test_stand_in_with_start_time (void)
{
  g_autofree char *dir = runtime_dir_of ("copied");
  GPid victim = stand_in_qemu ();
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", (int) victim);
  g_autofree char *stat = NULL, *journal = NULL, *out = NULL;
  char *paren;

  g_assert_true (g_file_get_contents (stat_path, &stat, NULL, NULL));
  paren = strrchr (stat, ')');
  {
    g_auto(GStrv) fields = g_strsplit (paren + 2, " ", 0);
    journal = g_strdup_printf ("{\"version\": 1, \"qemu-pid\": %d, \"qemu-start-time\": %s, \"changes\": []}",
                               (int) victim, fields[19]);
  }
  plant (dir, "journal.json", journal);
  g_assert_cmpint (run_qlaunch (&out, NULL, "recover", "copied", NULL), ==, 0);
  g_assert_null (strstr (out, "waiting for QEMU"));
  g_assert_true (stand_in_alive (victim));
  /* an empty journal goes too, or every later start would ask for recover */
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  stop_stand_in (victim);
}

static void
test_files_not_regular (void)
{
  g_autofree char *dir = runtime_dir_of ("odd");
  g_autofree char *lock = g_build_filename (dir, "lock", NULL);
  g_autofree char *journal = g_build_filename (dir, "journal.json", NULL);
  g_autofree char *err = NULL, *out = NULL;

  /* a FIFO as the lock: nothing may wait on it forever */
  g_assert_cmpint (mkfifo (lock, 0600), ==, 0);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "status", "odd", NULL), ==, 0);
  g_assert_cmpint (run_qlaunch (&out, NULL, "stop", "odd", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "is not running"));
  g_assert_cmpint (run_qlaunch (NULL, &err, "recover", "odd", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "is not a lock file qlaunch made"));
  g_unlink (lock);
  /* the journal as a link to a device that never ends */
  g_assert_cmpint (symlink ("/dev/zero", journal), ==, 0);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_qlaunch (NULL, &err, "recover", "odd", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "is damaged, nothing was undone: "));
  g_assert_nonnull (strstr (err, "Too many levels of symbolic links"));
  remove_tree (dir);
}

/* A device someone moved to another driver since is not qlaunch's to unbind. */
static void
test_device_moved_since (void)
{
  g_autofree char *sysfs = fake_sysfs_new ();
  g_autofree char *dir = runtime_dir_of ("moved");
  g_autofree char *unbind = g_build_filename (sysfs, "bus/pci/drivers/nouveau/unbind", NULL);
  g_autofree char *out = NULL, *text = NULL;

  g_setenv ("QLAUNCH_SYSFS", sysfs, TRUE);
  plant (dir, "journal.json", "{\"version\": 1, \"changes\": [{\"kind\": \"vfio-bind\", "
                              "\"device\": \"0000:02:00.0\", \"driver\": \"nvidia\"}]}");
  g_assert_cmpint (run_qlaunch (&out, NULL, "recover", "moved", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "0000:02:00.0 is on nouveau now, not on vfio-pci; left alone"));
  g_assert_true (g_file_get_contents (unbind, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "");
  g_unsetenv ("QLAUNCH_SYSFS");
  fake_sysfs_remove (sysfs);
}

/* Looking Glass's /dev/kvmfr0 is one memory for whoever maps it: a second
 * VM naming it would see the first one's frames and write into them.  The
 * supervisor holds it (an flock) for the VM's life; a regular file stands
 * in for the device node here. */
static void
test_kvmfr_shared (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-kvmfr-XXXXXX", NULL);
  g_autofree char *node = g_build_filename (dir, "kvmfr0", NULL);
  g_autoptr(GError) error = NULL;
  int first, second;

  g_assert_true (g_file_set_contents (node, "", 0, NULL));
  first = ql_device_lock_take (node, "[looking-glass]", &error);
  g_assert_no_error (error);
  g_assert_cmpint (first, >=, 0);
  second = ql_device_lock_take (node, "[looking-glass]", &error);
  g_assert_cmpint (second, ==, -1);
  g_assert_error (error, QL_ERROR, QL_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "another VM"));
  g_clear_error (&error);
  close (first);
  second = ql_device_lock_take (node, "[looking-glass]", &error);
  g_assert_no_error (error);
  close (second);
  g_unlink (node);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  vm_harness_init ();
  g_test_add_func ("/hostile/names", test_names);
  g_test_add_func ("/hostile/kvmfr-shared", test_kvmfr_shared);
  g_test_add_func ("/hostile/journal-fields", test_journal_fields);
  g_test_add_func ("/hostile/state-pids", test_state_pids);
  g_test_add_func ("/hostile/journal-qemu-pid", test_journal_qemu_pid);
  g_test_add_func ("/hostile/recover-without-journal", test_recover_without_journal);
  g_test_add_func ("/hostile/symlinked-runtime-dir", test_symlinked_runtime_dir);
  g_test_add_func ("/hostile/stand-in-with-start-time", test_stand_in_with_start_time);
  g_test_add_func ("/hostile/files-not-regular", test_files_not_regular);
  g_test_add_func ("/hostile/device-moved-since", test_device_moved_since);
  return g_test_run ();
}
