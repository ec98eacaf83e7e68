/* [vm] run-as: which paths the plan hands to QEMU's user (against a temp
 * tree whose owners and modes are real), the chown step's journal form,
 * and its apply and undo on real files, symbolic links and swapped inodes
 * included. */
#include "ql-error.h"
#include "ql-host-chown.h"
#include "ql-host-apply.h"
#include "ql-host-shm.h"
#include "ql-host-undo.h"
#include "ql-host-plan.h"
#include "ql-host-step.h"
#include "ql-machine.h"
#include "ql-runtime.h"
#include "ql-profile.h"
#include "ql-run-as.h"
#include "step-checks.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USER_UID 4711      /* made up: no user of the host owns anything here */
#define USER_GID 4712
#define OTHER_UID 4800

static char *tree;

static char *
tree_path (const char *name)
{
  return g_build_filename (tree, name, NULL);
}

static void
make_file (const char *name, uid_t uid, mode_t mode)
{
  g_autofree char *path = tree_path (name);

  g_assert_true (g_file_set_contents (path, "x", 1, NULL));
  g_assert_cmpint (chown (path, uid, 0), ==, 0);
  g_assert_cmpint (chmod (path, mode), ==, 0);
}

static void
make_dir (const char *name, mode_t mode)
{
  g_autofree char *path = tree_path (name);

  g_assert_cmpint (g_mkdir (path, mode), ==, 0);
  g_assert_cmpint (chmod (path, mode), ==, 0);
}

static gboolean
skip_unless_root (void)
{
  if (geteuid () == 0)
    return FALSE;
  g_test_skip ("needs root: the tree's files belong to made-up users");
  return TRUE;
}

/* What host/ql-run-as-read.c reads: every path of every need's chain. */
static GHashTable *
read_tree (const QlMachine *m, const char *devfs)
{
  GHashTable *paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) needs = ql_run_as_needs (m, devfs, NULL);

  for (guint i = 0; i < needs->len; i++)
    {
      g_autoptr(GPtrArray) chain = ql_run_as_path_chain (((QlRunAsNeed *) needs->pdata[i])->path);
      for (guint j = 0; j < chain->len; j++)
        {
          QlPathInfo *info = g_new0 (QlPathInfo, 1);
          struct stat st;

          if (stat (chain->pdata[j], &st) == 0)
            *info = (QlPathInfo) { TRUE, st.st_uid, st.st_gid, st.st_mode };
          g_hash_table_replace (paths, g_strdup (chain->pdata[j]), info);
        }
    }
  return paths;
}

static QlRunAs *
test_user (void)
{
  QlRunAs *r = g_new0 (QlRunAs, 1);

  r->user = g_strdup ("vmuser");
  r->uid = USER_UID;
  r->gid = USER_GID;
  r->groups = g_array_new (FALSE, FALSE, sizeof (guint32));
  r->where = g_strdup ("vm.ini:3: [vm] run-as");
  return r;
}

static QlMachine *
machine_for (const char *sections, QlProfile **ret_profile, QlHostFacts **ret_host)
{
  g_autofree char *hugetlbfs = tree_path ("hugepages");
  g_autofree char *ini = g_strdup_printf ("[vm]\nname = t\naccel = tcg\nfirmware = bios\nkernel = %s/vmlinuz\n%s",
                                          tree, sections);
  g_autofree char *profile_path = tree_path ("vm.ini");
  g_autofree char *runtime = tree_path ("run/t");
  g_autofree char *state = tree_path ("state/t");
  g_autoptr(GError) error = NULL;
  QlMachine *m;

  *ret_profile = ql_profile_load_from_data (ini, profile_path, &error);
  g_assert_no_error (error);
  *ret_host = g_new0 (QlHostFacts, 1);
  (*ret_host)->qemu_binary = g_strdup ("/usr/bin/qemu-system-x86_64");
  (*ret_host)->hugetlbfs_2m = g_strdup (hugetlbfs);
  m = ql_machine_resolve (*ret_profile, *ret_host, runtime, state, &error);
  g_assert_no_error (error);
  return m;
}

static void
assert_steps (GPtrArray *steps, const char *const *expect)
{
  guint n = 0;

  while (expect[n] != NULL)
    n++;
  for (guint i = 0; i < steps->len; i++)
    {
      g_autofree char *line = ql_host_step_describe (steps->pdata[i]);
      g_test_message ("step: %s", line);
      if (i < n)
        {
          g_auto(GStrv) parts = g_strsplit (expect[i], "@", -1);
          g_autofree char *want = g_strjoinv (tree, parts);
          g_assert_cmpstr (line, ==, want);
        }
    }
  g_assert_cmpuint (steps->len, ==, n);
}

/* expect: one line per step, '@' for the tree */
/* The VM's own directories get the user's group and g+x, its own files the
 * user as owner; a profile's file only when the user cannot use it as it
 * is: root's, read-write, changes owner; root's, read-only, gets g+r for
 * the user's group; the user's own and a world-readable one stay. */
static void
test_plan_tree (void)
{
  g_autoptr(QlProfile) profile = NULL;
  g_autoptr(QlRunAs) user = test_user ();
  g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
  g_autoptr(GHashTable) paths = NULL;
  g_autoptr(QlRunAs) planned = NULL;
  g_autoptr(GError) error = NULL;
  QlHostFacts *host;
  QlMachine *m;
  static const char *const expect[] = {
    "give @/run  mode +0001  (runtime directories; put back after the VM)",
    "give @/run/t  group 4712, mode +0010  (runtime directory; put back after the VM)",
    "give @/run/t/serial.log  owner 4711, group 4712, made empty first if absent  (serial log; put back after "
    "the VM)",
    "give @/disks/root.img  owner 4711, group 4712  ([disk a] file; put back after the VM)",
    "give @/disks/root-ro.img  group 4712, mode +0040  ([disk b] file; put back after the VM)",
    NULL,
  };

  if (skip_unless_root ())
    return;
  make_dir ("run", 0700);
  make_dir ("run/t", 0700);
  make_dir ("disks", 0755);
  make_file ("vmlinuz", 0, 0644);
  make_file ("disks/root.img", 0, 0600);
  make_file ("disks/root-ro.img", 0, 0600);
  make_file ("disks/mine.img", USER_UID, 0600);
  make_file ("disks/shared.img", OTHER_UID, 0666);
  m = machine_for ("[disk a]\nfile = disks/root.img\nformat = raw\n"
                   "[disk b]\nfile = disks/root-ro.img\nformat = raw\nreadonly = true\n"
                   "[disk c]\nfile = disks/mine.img\nformat = raw\n"
                   "[disk d]\nfile = disks/shared.img\nformat = raw\n", &profile, &host);
  paths = read_tree (m, "/dev");
  planned = ql_run_as_plan (m, user, paths, "/dev", NULL, steps, &error);
  g_assert_no_error (error);
  assert_steps (steps, expect);
  g_assert_cmpuint (planned->groups->len, ==, 0);
  ql_machine_free (m);
  ql_host_facts_free (host);
}

/* Another user's file, a directory the user cannot pass, and a file under
 * /usr are never handed over: the start is refused, each named with its fix. */
static void
test_plan_refused (void)
{
  g_autoptr(QlProfile) profile = NULL;
  g_autoptr(QlRunAs) user = test_user ();
  g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
  g_autoptr(GHashTable) paths = NULL;
  g_autoptr(QlRunAs) planned = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expect_other = NULL, *expect_closed = NULL;
  QlHostFacts *host;
  QlMachine *m;

  if (skip_unless_root ())
    return;
  make_dir ("run", 0700);
  make_dir ("closed", 0700);
  make_file ("vmlinuz", 0, 0644);
  make_file ("other.img", OTHER_UID, 0600);
  make_file ("closed/disk.img", 0, 0666);
  m = machine_for ("[disk a]\nfile = other.img\nformat = raw\n[disk b]\nfile = closed/disk.img\nformat = raw\n"
                   "[cdrom c]\nfile = /usr/bin/env\n", &profile, &host);
  paths = read_tree (m, "/dev");
  /* as if root had a 0600 file under /usr */
  g_hash_table_replace (paths, g_strdup ("/usr/bin/env"),
                        g_memdup2 (&(QlPathInfo) { TRUE, 0, 0, S_IFREG | 0600 }, sizeof (QlPathInfo)));
  planned = ql_run_as_plan (m, user, paths, "/dev", NULL, steps, &error);
  g_assert_null (planned);
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "vm.ini:3: [vm] run-as: QEMU is to run as vmuser, who cannot "
                                                   "use what the VM needs:\n"));
  expect_other = g_strdup_printf ("[disk a] file '%s/other.img': vmuser may not write it (owner %d, mode 0600), "
                                  "and qlaunch hands over only root's files; fix: chown it to the run-as user",
                                  tree, OTHER_UID);
  expect_closed = g_strdup_printf ("[disk b] file '%s/closed/disk.img': vmuser cannot pass through '%s/closed' "
                                   "(owner 0, mode 0700); fix: chmod o+x '%s/closed', or keep the file elsewhere",
                                   tree, tree, tree);
  g_assert_nonnull (strstr (error->message, expect_other));
  g_assert_nonnull (strstr (error->message, expect_closed));
  g_assert_nonnull (strstr (error->message, "[cdrom c] file '/usr/bin/env': vmuser may not read it "
                                            "(owner 0, mode 0600); fix: chmod o+r it"));
  ql_machine_free (m);
  ql_host_facts_free (host);
}

/* /dev/kvm 0660 root:kvm: QEMU keeps the kvm group rather than the node
 * changing hands; a group's vfio node always goes to the user, and the
 * container only when it is not open to everyone; the hugetlbfs mount
 * QEMU creates its backing file in gets the user's group, g+wx. */
static void
test_plan_devices (void)
{
  g_autoptr(QlProfile) profile = NULL;
  g_autoptr(QlRunAs) user = test_user ();
  g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
  g_autoptr(GHashTable) paths = NULL;
  g_autoptr(QlRunAs) planned = NULL;
  g_autoptr(GArray) groups = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GError) error = NULL;
  g_autofree char *kvm = NULL, *container = NULL;
  QlHostFacts *host;
  QlMachine *m;
  int group = 7;
  static const char *const expect[] = {
    "give @/dev/vfio/vfio  group 4712, mode +0060  ([pci]; put back after the VM)",
    "give @/run  mode +0001  (runtime directories; put back after the VM)",
    "give @/run/t  group 4712, mode +0010  (runtime directory; put back after the VM)",
    "give @/run/t/serial.log  owner 4711, group 4712, made empty first if absent  (serial log; put back after "
    "the VM)",
    "give @/hugepages  group 4712, mode +0030  ([memory] hugepages; put back after the VM)",
    "give @/dev/vfio/7  owner 4711  ([pci]; put back after the VM)",
    NULL,
  };

  if (skip_unless_root ())
    return;
  make_dir ("run", 0700);
  make_dir ("dev", 0755);
  make_dir ("dev/vfio", 0755);
  make_dir ("hugepages", 0755);
  make_file ("vmlinuz", 0, 0644);
  make_file ("dev/kvm", 0, 0660);
  make_file ("dev/vfio/vfio", 0, 0600);
  kvm = tree_path ("dev/kvm");
  g_assert_cmpint (chown (kvm, 0, 4790), ==, 0);
  g_array_append_val (groups, group);
  m = machine_for ("[memory]\nsize = 256M\nhugepages = 2M\n", &profile, &host);
  m->accel = QL_ACCEL_KVM;
  container = tree_path ("dev");
  paths = read_tree (m, container);
  /* the vfio nodes are read the same way as the rest */
  {
    g_autoptr(GPtrArray) needs = ql_run_as_needs (m, container, groups);
    for (guint i = 0; i < needs->len; i++)
      {
        struct stat st;
        const char *path = ((QlRunAsNeed *) needs->pdata[i])->path;
        QlPathInfo *info = g_new0 (QlPathInfo, 1);
        if (stat (path, &st) == 0)
          *info = (QlPathInfo) { TRUE, st.st_uid, st.st_gid, st.st_mode };
        g_hash_table_replace (paths, g_strdup (path), info);
      }
  }
  planned = ql_run_as_plan (m, user, paths, container, groups, steps, &error);
  g_assert_no_error (error);
  assert_steps (steps, expect);
  g_assert_cmpuint (planned->groups->len, ==, 1);
  g_assert_cmpuint (g_array_index (planned->groups, guint32, 0), ==, 4790);
  ql_machine_free (m);
  ql_host_facts_free (host);
}

/* ---- the step in the journal ---- */

static void
test_step_json (void)
{
  g_autoptr(QlHostStep) step = ql_host_step_new (QL_HOST_STEP_CHOWN, "[disk a] file");
  g_autoptr(JsonObject) o = NULL;
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(QlHostStep) back = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  step->path = g_strdup ("/srv/vm/a.img");
  step->run_uid = 1000;
  step->run_gid = 1000;
  step->has_before = TRUE;
  step->before_mode = 0640;
  step->before_gid = 6;
  step->before_dev = 2049;
  step->before_ino = 1234;
  o = ql_host_step_to_json (step);
  json_node_set_object (node, o);
  text = json_to_string (node, FALSE);
  g_assert_cmpstr (text, ==, "{\"kind\":\"chown\",\"path\":\"/srv/vm/a.img\",\"uid\":1000,\"gid\":1000,"
                             "\"add-mode\":0,\"create\":false,\"before\":{\"uid\":0,\"gid\":6,\"mode\":416,"
                             "\"dev\":2049,\"ino\":1234}}");
  back = ql_host_step_from_json (o, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->path, ==, "/srv/vm/a.img");
  g_assert_cmpint (back->run_uid, ==, 1000);
  g_assert_cmpuint (back->before_mode, ==, 0640);
  g_assert_cmpuint (back->before_gid, ==, 6);
  g_assert_cmpuint (back->before_ino, ==, 1234);
}

typedef struct {
  const char *json;
  const char *expect;        /* NULL: accepted */
} StepCase;

#define BEFORE "\"before\": {\"uid\": 0, \"gid\": 0, \"mode\": 384, \"dev\": 1, \"ino\": 2}"
static const StepCase step_cases[] = {
  { "{\"kind\": \"chown\", \"path\": \"/run/x/serial.log\", \"uid\": 5, \"gid\": -1, \"add-mode\": 0, " BEFORE "}",
    NULL },
  { "{\"kind\": \"chown\", \"path\": \"/run/x/serial.log\", \"uid\": 5, \"gid\": 5, \"add-mode\": 0}",
    "'before' is missing" },
  { "{\"kind\": \"chown\", \"path\": \"/run/x/serial.log\", \"uid\": 5, \"gid\": 5, \"add-mode\": 0, "
    "\"before\": \"root\"}", "'before' is missing" },
  { "{\"kind\": \"chown\", \"path\": \"/run/../etc/shadow\", \"uid\": 5, \"gid\": 5, \"add-mode\": 0, " BEFORE "}",
    "'path' is not valid" },
  { "{\"kind\": \"chown\", \"path\": \"relative\", \"uid\": 5, \"gid\": 5, \"add-mode\": 0, " BEFORE "}",
    "'path' is not valid" },
  { "{\"kind\": \"chown\", \"path\": \"/\", \"uid\": 5, \"gid\": 5, \"add-mode\": 0, " BEFORE "}",
    "'path' is not valid" },
  { "{\"kind\": \"chown\", \"path\": \"/x\", \"uid\": 4294967295, \"gid\": 5, \"add-mode\": 0, " BEFORE "}",
    "uid" },
  { "{\"kind\": \"chown\", \"path\": \"/x\", \"uid\": 5, \"gid\": 5, \"add-mode\": 4095, " BEFORE "}",
    "add-mode" },
  { "{\"kind\": \"chown\", \"path\": \"/x\", \"uid\": 5, \"gid\": 5, \"add-mode\": 0, "
    "\"before\": {\"uid\": 0, \"gid\": 0, \"mode\": 65535, \"dev\": 1, \"ino\": 2}}", "mode" },
  { "{\"kind\": \"chown\", \"path\": \"/x\", \"uid\": 5, \"gid\": 5, \"add-mode\": 0, "
    "\"before\": {\"uid\": 0, \"gid\": 0, \"mode\": 384, \"dev\": 1, \"ino\": 0}}", "ino" },
};

static void
test_step_validation (gconstpointer data)
{
  const StepCase *c = data;
  assert_step_json (c->json, c->expect);
}

/* One chown step that would act on a link's target refuses the whole
 * journal, before anything in it is undone. */
static void
test_journal_refused (void)
{
  static const char journal[] =
    "{\"version\": 1, \"changes\": [{\"kind\": \"chown\", \"path\": \"/run/x/serial.log\", \"uid\": 5, "
    "\"gid\": 5, \"add-mode\": 0, " BEFORE "}, {\"kind\": \"chown\", \"path\": \"/run/x/../../etc/shadow\", "
    "\"uid\": 5, \"gid\": 5, \"add-mode\": 0, " BEFORE "}]}";

  assert_journal_refused (journal, "change 2: a chown step: 'path' is not valid");
}

/* ---- apply and undo, for real ---- */

static QlHostStep *
read_step (const char *path, gint64 uid, gint64 gid, guint add)
{
  QlHostStep *step = ql_host_step_new (QL_HOST_STEP_CHOWN, "[disk a] file");
  g_autoptr(GError) error = NULL;

  step->path = g_strdup (path);
  step->run_uid = uid;
  step->run_gid = gid;
  step->run_mode_add = add;
  g_assert_true (ql_host_chown_read (step, &error));
  g_assert_no_error (error);
  return step;
}

static void
assert_owner (const char *path, uid_t uid, gid_t gid, mode_t mode)
{
  struct stat st;

  g_assert_cmpint (lstat (path, &st), ==, 0);
  g_assert_cmpuint (st.st_uid, ==, uid);
  g_assert_cmpuint (st.st_gid, ==, gid);
  g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

/* The exact owner, group and mode come back, the setgid bit included
 * (which chown (2) clears). */
static void
test_apply_undo (void)
{
  g_autofree char *path = tree_path ("a.img");
  g_autoptr(QlHostStep) step = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *done = NULL;

  if (skip_unless_root ())
    return;
  make_file ("a.img", 0, 02640);
  g_assert_cmpint (chown (path, 0, 6), ==, 0);
  g_assert_cmpint (chmod (path, 02640), ==, 0);
  step = read_step (path, USER_UID, USER_GID, 0004);
  g_assert_true (ql_host_chown_apply (step, &error));
  g_assert_no_error (error);
  assert_owner (path, USER_UID, USER_GID, 02644);
  g_assert_true (ql_host_chown_undo (step, &done, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (done, "is back to owner 0, group 6, mode 2640"));
  assert_owner (path, 0, 6, 02640);
}

/* The path made a symbolic link (to a file of root's) or another inode
 * while the VM ran: the undo touches nothing and says so; a path that is
 * gone has nothing to give back. */
static void
test_undo_refuses_swapped (void)
{
  g_autofree char *path = tree_path ("b.img");
  g_autofree char *target = tree_path ("precious");
  g_autofree char *moved = tree_path ("b.moved");
  g_autoptr(QlHostStep) step = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *done = NULL;

  if (skip_unless_root ())
    return;
  make_file ("b.img", 0, 0600);
  make_file ("precious", USER_UID, 0600);
  step = read_step (path, USER_UID, USER_GID, 0);
  g_assert_true (ql_host_chown_apply (step, &error));
  /* moved away, not removed: its inode number cannot come back */
  g_assert_cmpint (g_rename (path, moved), ==, 0);
  g_assert_cmpint (symlink (target, path), ==, 0);
  g_assert_false (ql_host_chown_undo (step, &done, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "is no longer the file qlaunch handed to QEMU's user"));
  assert_owner (target, USER_UID, 0, 0600);
  g_clear_error (&error);

  g_assert_cmpint (g_unlink (path), ==, 0);
  make_file ("b.img", USER_UID, 0600);
  g_assert_false (ql_host_chown_undo (step, &done, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  assert_owner (path, USER_UID, 0, 0600);
  g_clear_error (&error);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_unlink (moved), ==, 0);
  g_assert_true (ql_host_chown_undo (step, &done, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (done, "is gone: nothing to give back"));
}

/* A symbolic link is refused before anything is journaled or changed. */
static void
test_read_refuses_link (void)
{
  g_autofree char *path = tree_path ("link.img");
  g_autofree char *target = tree_path ("c.img");
  g_autoptr(QlHostStep) step = ql_host_step_new (QL_HOST_STEP_CHOWN, "[disk a] file");
  g_autoptr(GError) error = NULL;

  if (skip_unless_root ())
    return;
  make_file ("c.img", 0, 0600);
  g_assert_cmpint (symlink (target, path), ==, 0);
  step->path = g_strdup (path);
  step->run_uid = USER_UID;
  g_assert_false (ql_host_chown_read (step, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "is a symbolic link"));
  g_assert_false (step->has_before);
  assert_owner (target, 0, 0, 0600);
}

static void
setup_tree (void)
{
  g_autoptr(GError) error = NULL;
  tree = g_dir_make_tmp ("ql-run-as-XXXXXX", &error);
  g_assert_no_error (error);
  /* the user passes through the tree's root, as through /srv or /var/lib */
  g_assert_cmpint (chmod (tree, 0711), ==, 0);
}

static void
remove_all (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)))
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_all (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* [looking-glass]'s file: made new with its size, mode and owner, never
 * through a link nor over a file that is there; the undo removes only the
 * file it made (same type, size and owner), and twice is fine. */
static void
test_shm_file (void)
{
  g_autoptr(QlHostStep) step = ql_host_step_new (QL_HOST_STEP_SHM_FILE, "[looking-glass]");
  g_autoptr(GError) error = NULL;
  g_autofree char *done = NULL, *target = tree_path ("target");
  struct stat st;

  if (skip_unless_root ())
    return;
  step->path = tree_path ("looking-glass-vm");
  step->added = 32 << 20;
  step->run_uid = OTHER_UID;
  step->run_gid = USER_GID;
  umask (077);
  g_assert_true (ql_host_shm_apply (step, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lstat (step->path, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 32 << 20);
  g_assert_cmpint (st.st_mode & 07777, ==, 0660);
  g_assert_cmpint (st.st_uid, ==, OTHER_UID);
  g_assert_cmpint (st.st_gid, ==, USER_GID);
  umask (022);
  /* a second start finds it there: refused, the file stays */
  g_assert_false (ql_host_shm_apply (step, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "exists already"));
  g_clear_error (&error);
  g_assert_true (ql_host_shm_undo (step, &done, &error));
  g_assert_true (g_str_has_suffix (done, "looking-glass-vm removed"));
  g_assert_cmpint (lstat (step->path, &st), ==, -1);
  g_clear_pointer (&done, g_free);
  g_assert_true (ql_host_shm_undo (step, &done, &error));
  g_assert_nonnull (strstr (done, "is gone already"));
  g_clear_pointer (&done, g_free);

  /* a link planted at the path: not followed */
  make_file ("target", 0, 0644);
  g_assert_cmpint (symlink (target, step->path), ==, 0);
  g_assert_false (ql_host_shm_apply (step, &error));
  g_clear_error (&error);
  g_assert_true (ql_host_shm_undo (step, &done, &error));
  g_assert_nonnull (strstr (done, "left alone"));
  g_assert_cmpint (lstat (step->path, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  g_unlink (step->path);
  g_clear_pointer (&done, g_free);
  /* someone else's file of another size: left alone */
  g_assert_true (g_file_set_contents (step->path, "theirs", -1, NULL));
  g_assert_true (ql_host_shm_undo (step, &done, &error));
  g_assert_nonnull (strstr (done, "left alone"));
  g_assert_true (g_file_test (step->path, G_FILE_TEST_EXISTS));
  g_unlink (step->path);
}

/* A start that finds the file there already (its run-as user's, of its
 * size: a VM of the same name run by someone else, a client holding it) is
 * refused, and its undo must not remove the file the start did not make. */
static void
test_shm_file_taken (void)
{
  g_autoptr(QlProfile) profile = NULL;
  g_autoptr(QlHostPlan) plan = g_new0 (QlHostPlan, 1);
  g_autoptr(QlJournal) journal = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *runtime = tree_path ("run/t");
  QlHostStep *step = ql_host_step_new (QL_HOST_STEP_SHM_FILE, "[looking-glass]");
  QlHostFacts *host;
  QlMachine *m;
  struct stat st;
  int fd;

  if (skip_unless_root ())
    return;
  make_dir ("run", 0700);
  make_dir ("run/t", 0700);
  make_file ("vmlinuz", 0, 0644);
  step->path = tree_path ("looking-glass-t");
  step->added = 32 << 20;
  step->run_uid = USER_UID;
  step->run_gid = USER_GID;
  fd = open (step->path, O_RDWR | O_CREAT | O_EXCL, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, 32 << 20), ==, 0);
  g_assert_cmpint (fchown (fd, USER_UID, USER_GID), ==, 0);
  close (fd);
  plan->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
  plan->notes = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (plan->steps, step);
  m = machine_for ("", &profile, &host);
  journal = ql_journal_new (runtime);

  g_assert_false (ql_host_apply (plan, m, journal, NULL, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "exists already"));
  g_clear_error (&error);
  g_assert_true (ql_host_undo (journal, "/sys", TRUE, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (lstat (step->path, &st), ==, 0);
  g_assert_cmpint (st.st_uid, ==, USER_UID);
  g_assert_false (ql_journal_exists (runtime));
  g_unlink (step->path);
  ql_machine_free (m);
  ql_host_facts_free (host);
}

/* SPICE without listen=: QEMU makes its socket in RUNTIME/display, a
 * directory the supervisor makes (0700, root's) and the plan hands to
 * QEMU's user, not in the runtime dir, which stays root's; the chown is
 * undone, and the end of the run removes the directory with the socket.
 * gl's render node: its group kept, like /dev/kvm's.  QEMU run as root
 * gets no step. */
static void
test_plan_spice (void)
{
  g_autoptr(QlProfile) profile = NULL;
  g_autoptr(QlRunAs) user = test_user ();
  g_autoptr(QlRunAs) root = test_user ();
  g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
  g_autoptr(GPtrArray) root_steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
  g_autoptr(GHashTable) paths = NULL;
  g_autoptr(QlRunAs) planned = NULL, planned_root = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *runtime = tree_path ("run/t");
  g_autofree char *display = tree_path ("run/t/display");
  g_autofree char *socket = tree_path ("run/t/display/spice.sock");
  g_autofree char *done = NULL;
  QlHostStep *step;
  QlHostFacts *host;
  QlMachine *m;
  static const char *const expect[] = {
    "give @/run  mode +0001  (runtime directories; put back after the VM)",
    "give @/run/t  group 4712, mode +0010  (runtime directory; put back after the VM)",
    "give @/run/t/serial.log  owner 4711, group 4712, made empty first if absent  (serial log; put back after "
    "the VM)",
    "give @/run/t/display  owner 4711, group 4712  ([display] type=spice: the socket's directory; put back "
    "after the VM)",
    NULL,
  };

  if (skip_unless_root ())
    return;
  make_dir ("run", 0700);
  make_dir ("run/t", 0700);
  make_file ("vmlinuz", 0, 0644);
  m = machine_for ("[display]\ntype = spice\ngl = true\nrendernode = /dev/dri/renderD129\n", &profile, &host);
  g_assert_cmpstr (m->spice_socket, ==, socket);
  g_assert_true (ql_runtime_make_display_dir (runtime, &error));
  g_assert_no_error (error);
  assert_owner (display, 0, 0, 0700);
  paths = read_tree (m, "/dev");
  /* the render node, 0660 root:render as udev makes it: QEMU keeps the render group */
  g_hash_table_replace (paths, g_strdup ("/dev/dri/renderD129"),
                        g_memdup2 (&(QlPathInfo) { TRUE, 0, 4790, S_IFCHR | 0660 }, sizeof (QlPathInfo)));
  planned = ql_run_as_plan (m, user, paths, "/dev", NULL, steps, &error);
  g_assert_no_error (error);
  assert_steps (steps, expect);
  g_assert_cmpuint (planned->groups->len, ==, 1);
  g_assert_cmpuint (g_array_index (planned->groups, guint32, 0), ==, 4790);

  root->uid = root->gid = 0;
  planned_root = ql_run_as_plan (m, root, paths, "/dev", NULL, root_steps, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (root_steps->len, ==, 0);

  step = steps->pdata[3];
  g_assert_true (ql_host_chown_read (step, &error) && ql_host_chown_apply (step, &error));
  g_assert_no_error (error);
  assert_owner (display, USER_UID, USER_GID, 0700);
  /* what QEMU leaves there */
  g_assert_true (g_file_set_contents (socket, "", 0, NULL));
  g_assert_true (ql_host_chown_undo (step, &done, &error));
  g_assert_no_error (error);
  assert_owner (display, 0, 0, 0700);
  ql_runtime_remove_run_files (runtime);
  g_assert_false (g_file_test (display, G_FILE_TEST_EXISTS));
  ql_machine_free (m);
  ql_host_facts_free (host);
}

static void
with_tree (gconstpointer data)
{
  void (*test) (void) = data;

  setup_tree ();
  test ();
  remove_all (tree);
  g_clear_pointer (&tree, g_free);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/run-as/plan/tree", test_plan_tree, with_tree);
  g_test_add_data_func ("/run-as/plan/refused", test_plan_refused, with_tree);
  g_test_add_data_func ("/run-as/plan/spice", test_plan_spice, with_tree);
  g_test_add_data_func ("/run-as/plan/devices", test_plan_devices, with_tree);
  g_test_add_func ("/run-as/step/json", test_step_json);
  for (guint i = 0; i < G_N_ELEMENTS (step_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/run-as/step/validation/%u", i);
      g_test_add_data_func (path, &step_cases[i], test_step_validation);
    }
  g_test_add_func ("/run-as/journal-refused", test_journal_refused);
  g_test_add_data_func ("/run-as/chown/apply-undo", test_apply_undo, with_tree);
  g_test_add_data_func ("/run-as/chown/swapped", test_undo_refuses_swapped, with_tree);
  g_test_add_data_func ("/run-as/chown/link", test_read_refuses_link, with_tree);
  g_test_add_data_func ("/run-as/shm-file", test_shm_file, with_tree);
  g_test_add_data_func ("/run-as/shm-file-taken", test_shm_file_taken, with_tree);
  return g_test_run ();
}
