/* qlaunch host-setup against a temp root (an /etc, a /dev with the vfio
 * group nodes, a fake sysfs with the seeds' GPUs): --dry-run changes
 * nothing and prints every line, apply writes exactly these files and
 * records them, a rerun is idempotent, --undo leaves the tree as it was; a
 * file host-setup did not write is never overwritten, a hostile record is
 * refused; and a user's start binds nothing and says what to run. */
#include "vm-harness.h"
#include "fake-sysfs.h"
#include "ql-error.h"
#include "ql-host-plan.h"
#include "ql-host-probe.h"
#include "ql-json.h"
#include "ql-pci-scan.h"

#include <glib/gstdio.h>
#include <pwd.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char *root;           /* the temp root: etc/, dev/, proc/, profiles/ */
static char *etc, *dev, *sysfs, *manifest;
static gboolean as_root;
static char *user;           /* the user host-setup is for: nobody under root, else this user */
static uid_t user_uid;

static void
write_text (const char *path, const char *text)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static char *
read_text (const char *path)
{
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static int
compare_lines (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Every entry under dir: path, mode, owner, and a file's text, sorted: two
 * snapshots are equal when nothing changed. */
static void
snapshot_into (const char *dir, const char *rel, GPtrArray *lines)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *sub = g_build_filename (rel, name, NULL);
      g_autofree char *text = NULL;
      struct stat st;

      g_assert_cmpint (lstat (path, &st), ==, 0);
      if (S_ISREG (st.st_mode))
        text = read_text (path);
      g_ptr_array_add (lines, g_strdup_printf ("%s %o %u:%u %s", sub, st.st_mode, st.st_uid, st.st_gid,
                                               text ? text : ""));
      if (S_ISDIR (st.st_mode))
        snapshot_into (path, sub, lines);
    }
}

static char *
snapshot (void)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  snapshot_into (etc, "etc", lines);
  snapshot_into (dev, "dev", lines);
  g_ptr_array_sort (lines, compare_lines);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

static char *
etc_file (const char *rel)
{
  return g_build_filename (etc, rel, NULL);
}

/* The files host-setup writes for VM "setup" (2 GiB on 2 MiB pages, the
 * Quadro P5000 and its audio function of fake-sysfs.h) and USER. */
typedef struct {
  const char *path;
  const char *text;          /* "%s": the header, then the user where it appears */
} Expected;

static char *
expected_text (const char *format)
{
  g_autofree char *header = g_strdup_printf ("# Written by 'qlaunch host-setup setup' for user %s; "
                                             "'qlaunch host-setup setup --undo --user %s' removes it.\n", user, user);
  g_autoptr(GString) out = g_string_new (header);
  const char *p;

  for (p = format; *p; p++)
    if (*p == '@')
      g_string_append (out, user);
    else
      g_string_append_c (out, *p);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static const Expected expected[] = {
  { "modprobe.d/qlaunch-setup.conf",
    "options vfio-pci ids=10de:1bb6,10de:10f0\nsoftdep nvidia pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n" },
  { "modules-load.d/qlaunch-setup.conf", "vfio-pci\n" },
  { "udev/rules.d/70-qlaunch-setup.rules",
    "# IOMMU group numbers can change with the hardware or the firmware: run host-setup again then.\n"
    "SUBSYSTEM==\"vfio\", KERNEL==\"1\", TEST==\"/sys/kernel/iommu_groups/1/devices/0000:01:00.0\", "
    "TEST==\"/sys/kernel/iommu_groups/1/devices/0000:01:00.1\", OWNER=\"@\", MODE=\"0600\"\n" },
  { "security/limits.d/qlaunch-setup.conf",
    "# VFIO pins all of the guest's RAM (2048 MiB), and 1 GiB more for QEMU's own mappings\n"
    "@ soft memlock 3145728\n@ hard memlock 3145728\n" },
  { "sysctl.d/qlaunch-setup.conf", "vm.nr_hugepages = 1024\n" },
};

static int
host_setup (char **ret_out, char **ret_err, const char *option)
{
  return run_qlaunch (ret_out, ret_err, "host-setup", "setup", "--user", user, option, NULL);
}

static gboolean
node_owned_by (int group, uid_t uid)
{
  g_autofree char *name = g_strdup_printf ("vfio/%d", group);
  g_autofree char *path = g_build_filename (dev, name, NULL);
  struct stat st;

  g_assert_cmpint (lstat (path, &st), ==, 0);
  return st.st_uid == uid && (st.st_mode & 07777) == 0600;
}

/* The dry run prints each file with its exact lines and changes nothing. */
static void
test_dry_run (void)
{
  g_autofree char *before = snapshot (), *after = NULL, *out = NULL, *err = NULL, *devices = NULL;

  g_assert_cmpint (host_setup (&out, &err, "--dry-run"), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autofree char *path = etc_file (expected[i].path);
      g_autofree char *text = expected_text (expected[i].text);
      g_autofree char *indented = NULL;
      g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
      g_autoptr(GString) block = g_string_new (NULL);

      g_string_append_printf (block, "write %s:\n", path);
      for (guint j = 0; lines[j + 1] != NULL; j++)
        g_string_append_printf (block, "    %s\n", lines[j]);
      g_assert_nonnull (strstr (out, block->str));
    }
  g_assert_nonnull (strstr (out, "/vfio/1 to "));
  devices = g_strdup_printf ("devices %s gets (through their IOMMU groups):\n    [pci gpu]: 0000:01:00.0 ", user);
  g_assert_nonnull (strstr (out, devices));
  g_assert_nonnull (strstr (out, "\n    in the same IOMMU group, not passed through: 0000:00:01.0 "));
  g_assert_nonnull (strstr (out, "    update-initramfs -u -k all   # the initramfs gets the vfio-pci options\n"));
  g_assert_nonnull (strstr (out, "    reboot; or, for this boot: qlaunch bind 0000:01:00.0 0000:01:00.1\n"));
  g_assert_nonnull (strstr (out, "    sysctl vm.nr_hugepages=1024"));
  after = snapshot ();
  g_assert_cmpstr (after, ==, before);
  g_assert_false (g_file_test (manifest, G_FILE_TEST_EXISTS));
}

static void
check_manifest (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) o = ql_json_read_object (manifest, &error);
  JsonArray *files, *nodes, *modules;
  struct stat st;

  g_assert_no_error (error);
  g_assert_cmpint (lstat (manifest, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_cmpint (json_object_get_int_member (o, "version"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (o, "vm"), ==, "setup");
  g_assert_cmpstr (json_object_get_string_member (o, "user"), ==, user);
  g_assert_true (g_str_has_suffix (json_object_get_string_member (o, "profile"), "/profiles/setup.ini"));
  files = json_object_get_array_member (o, "files");
  g_assert_cmpuint (json_array_get_length (files), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      JsonObject *f = json_array_get_object_element (files, i);
      g_autofree char *text = expected_text (expected[i].text);
      g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);

      g_assert_cmpstr (json_object_get_string_member (f, "path"), ==, expected[i].path);
      g_assert_cmpstr (json_object_get_string_member (f, "sha256"), ==, sha);
    }
  modules = json_object_get_array_member (o, "softdep-modules");
  g_assert_cmpuint (json_array_get_length (modules), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (modules, 0), ==, "nvidia");
  g_assert_cmpstr (json_array_get_string_element (modules, 1), ==, "snd_hda_intel");
  nodes = json_object_get_array_member (o, "vfio-nodes");
  if (as_root)
    {
      JsonObject *n = json_array_get_object_element (nodes, 0);
      g_assert_cmpuint (json_array_get_length (nodes), ==, 1);
      g_assert_cmpint (json_object_get_int_member (n, "group"), ==, 1);
      g_assert_cmpint (json_object_get_int_member (n, "uid"), ==, 0);
      g_assert_cmpint (json_object_get_int_member (n, "mode"), ==, 0600);
    }
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "taps")), ==, 0);
}

/* A device vfio-pci has by the rerun (after the reboot): its driver's softdep stays. */
static void
move_to_vfio (const char *address)
{
  g_autofree char *link = g_build_filename (sysfs, "bus/pci/devices", address, "driver", NULL);
  g_autofree char *vfio = g_build_filename (sysfs, "bus/pci/drivers/vfio-pci", NULL);

  g_assert_cmpint (g_unlink (link), ==, 0);
  g_assert_cmpint (symlink (vfio, link), ==, 0);
}

static void
test_apply_undo (void)
{
  g_autofree char *before = snapshot (), *after = NULL, *out = NULL, *err = NULL, *again = NULL;
  g_autofree char *manifest_text = NULL, *manifest_again = NULL;

  g_assert_cmpint (host_setup (&out, &err, NULL), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autofree char *path = etc_file (expected[i].path);
      g_autofree char *want = expected_text (expected[i].text);
      g_autofree char *text = read_text (path);
      g_autofree char *line = g_strdup_printf ("wrote %s\n", path);
      struct stat st;

      g_assert_cmpstr (text, ==, want);
      g_assert_nonnull (strstr (out, line));
      g_assert_cmpint (lstat (path, &st), ==, 0);
      g_assert_cmpint (st.st_mode & 07777, ==, 0644);
    }
  if (as_root)
    g_assert_true (node_owned_by (1, user_uid));
  check_manifest ();
  manifest_text = read_text (manifest);

  /* the rerun, after vfio-pci took the GPU: nothing changes, the softdeps stay */
  move_to_vfio ("0000:01:00.0");
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (host_setup (&out, NULL, NULL), ==, 0);
  g_assert_null (strstr (out, "wrote "));
  g_assert_nonnull (strstr (out, "unchanged "));
  again = read_text (manifest);
  g_assert_cmpstr (again, ==, manifest_text);

  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "host-setup", "setup", "--undo", "--user", user, "--dry-run", NULL), ==, 1);
  g_assert_true (g_file_test (manifest, G_FILE_TEST_EXISTS));
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", "setup", "--undo", "--user", user, NULL), ==, 0);
  after = snapshot ();
  g_assert_cmpstr (after, ==, before);
  g_assert_false (g_file_test (manifest, G_FILE_TEST_EXISTS));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", "setup", "--undo", "--user", user, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "no record for VM 'setup': nothing to undo"));
}

/* Someone's own file of that name stays as it is; nothing else is written. */
static void
test_foreign_file (void)
{
  g_autofree char *path = etc_file ("modprobe.d/qlaunch-setup.conf");
  g_autofree char *before = NULL, *after = NULL, *err = NULL, *text = NULL;

  write_text (path, "options vfio-pci ids=1234:5678\n");
  before = snapshot ();
  g_assert_cmpint (host_setup (NULL, &err, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "host-setup for VM 'setup' changed nothing:"));
  g_assert_nonnull (strstr (err, "is there and host-setup did not write it (or it was changed since). Fix: "));
  g_assert_nonnull (strstr (err, path));
  after = snapshot ();
  g_assert_cmpstr (after, ==, before);
  g_assert_false (g_file_test (manifest, G_FILE_TEST_EXISTS));
  /* a link in its place is not followed either */
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (symlink ("/etc/passwd", path), ==, 0);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (host_setup (NULL, &err, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "Too many levels of symbolic links"));
  g_assert_cmpint (g_unlink (path), ==, 0);
}

/* A name that cannot be part of a file under /etc is refused, before anything is written. */
static void
test_names (void)
{
  g_autofree char *profile = g_build_filename (root, "profiles", "spaced.ini", NULL);
  g_autofree char *before = snapshot (), *after = NULL, *err = NULL;

  write_text (profile, "[vm]\nname=my vm\naccel=tcg\nfirmware=bios\n[pci gpu]\nhost=0000:01:00.0\n");
  g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", profile, "--user", user, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "The VM name 'my vm' cannot be part of a file name or line under /etc"));
  after = snapshot ();
  g_assert_cmpstr (after, ==, before);
  g_unlink (profile);
}

/* 1 GiB pages: a pool only boot time reliably has room for, so the kernel
 * command line is printed and no boot loader or sysctl is touched. */
static void
test_1g_pages (void)
{
  g_autofree char *profile = g_build_filename (root, "profiles", "big.ini", NULL);
  g_autofree char *before = snapshot (), *after = NULL, *out = NULL;

  write_text (profile, "[vm]\nname=big\naccel=tcg\nfirmware=bios\n[memory]\nsize=8G\nhugepages=1G\n");
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", profile, "--user", user, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "then, as root:\n    add to the kernel command line (the boot loader's "
                                 "configuration): default_hugepagesz=1G hugepagesz=1G hugepages=8\n"));
  g_assert_null (strstr (out, "wrote "));
  after = snapshot ();
  g_assert_cmpstr (after, ==, before);
  g_unlink (profile);
}

/* A record of what to remove is input: only host-setup's own file, in the
 * VM's own names, is ever acted on. */
static void
test_hostile_manifest (void)
{
  static const struct {
    const char *what;
    const char *files;
    const char *expect;
  } cases[] = {
    { "a path out of /etc", "[{\"kind\": \"modprobe\", \"path\": \"modprobe.d/../../victim\", \"sha256\": \"@\"}]",
      "is not a file host-setup writes for VM 'setup'" },
    { "an absolute path", "[{\"kind\": \"sysctl\", \"path\": \"/etc/passwd\", \"sha256\": \"@\"}]",
      "is not a file host-setup writes for VM 'setup'" },
    { "another kind's path", "[{\"kind\": \"udev\", \"path\": \"sysctl.d/qlaunch-setup.conf\", \"sha256\": \"@\"}]",
      "is not a file host-setup writes for VM 'setup'" },
    { "another VM's file", "[{\"kind\": \"sysctl\", \"path\": \"sysctl.d/qlaunch-other.conf\", \"sha256\": \"@\"}]",
      "is not a file host-setup writes for VM 'setup'" },
    { "an unknown kind", "[{\"kind\": \"passwd\", \"path\": \"passwd\", \"sha256\": \"@\"}]", "'kind' is not valid" },
    { "a bad checksum", "[{\"kind\": \"sysctl\", \"path\": \"sysctl.d/qlaunch-setup.conf\", \"sha256\": \"x\"}]",
      "'sha256' is not valid" },
  };
  g_autofree char *victim = g_build_filename (root, "victim", NULL);
  g_autofree char *victim_sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "precious\n", -1);
  g_autofree char *dir = g_path_get_dirname (manifest);

  write_text (victim, "precious\n");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(GStrv) parts = g_strsplit (cases[i].files, "@", -1);
      g_autofree char *files = g_strjoinv (victim_sha, parts);
      g_autofree char *text = g_strdup_printf ("{\"version\": 1, \"vm\": \"setup\", \"user\": \"%s\", \"files\": %s, "
                                               "\"softdep-modules\": [], \"vfio-nodes\": [], \"taps\": []}", user, files);
      g_autofree char *err = NULL, *left = NULL;

      g_test_message ("planted: %s", cases[i].what);
      write_text (manifest, text);
      g_assert_cmpint (chmod (manifest, 0600), ==, 0);
      g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", "setup", "--undo", "--user", user, NULL), ==, 1);
      g_assert_nonnull (strstr (err, "is damaged, nothing was done: "));
      g_assert_nonnull (strstr (err, cases[i].expect));
      left = read_text (victim);
      g_assert_cmpstr (left, ==, "precious\n");
    }
  /* a record others could have written, or a link to one */
  {
    g_autofree char *err = NULL, *elsewhere = g_build_filename (root, "elsewhere.json", NULL);

    g_assert_cmpint (chmod (manifest, 0666), ==, 0);
    g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", "setup", "--undo", "--user", user, NULL), ==, 1);
    g_assert_nonnull (strstr (err, "is not trusted, nothing was done: others may write it"));
    g_assert_cmpint (rename (manifest, elsewhere), ==, 0);
    g_assert_cmpint (symlink (elsewhere, manifest), ==, 0);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", "setup", "--undo", "--user", user, NULL), ==, 1);
    g_assert_nonnull (strstr (err, "is not trusted, nothing was done: it is not a regular file"));
    g_assert_cmpint (g_unlink (manifest), ==, 0);
    if (as_root)
      {
        g_assert_cmpint (rename (elsewhere, manifest), ==, 0);
        g_assert_cmpint (chmod (manifest, 0600), ==, 0);
        g_assert_cmpint (chown (manifest, user_uid, user_uid), ==, 0);
        g_clear_pointer (&err, g_free);
        g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", "setup", "--undo", "--user", user, NULL), ==, 1);
        g_assert_nonnull (strstr (err, "is not trusted, nothing was done: it is owned by another user"));
        g_assert_cmpint (g_unlink (manifest), ==, 0);
      }
    else
      g_unlink (elsewhere);
  }
}

/* A user's start: the GPU on nvidia is refused without a sysfs write, and
 * the error names the command; a device on vfio-pci passes once its group
 * node is the user's. */
static void
test_user_start (void)
{
  g_autofree char *override = NULL, *err = NULL, *out = NULL, *fix = NULL, *profile = NULL;
  g_autofree char *gpu = g_build_filename (root, "profiles", "usergpu.ini", NULL);
  g_autofree char *nic = g_build_filename (root, "profiles", "usernic.ini", NULL);
  g_autofree char *node = g_build_filename (dev, "vfio", "3", NULL);
  struct rlimit limit;
  gboolean memlock_short;

  sysfs = fake_sysfs_new ();
  g_assert_cmpint (chmod (sysfs, 0755), ==, 0);
  g_setenv ("QLAUNCH_SYSFS", sysfs, TRUE);
  override = g_build_filename (sysfs, "bus/pci/devices/0000:01:00.0/driver_override", NULL);
  write_text (gpu, "[vm]\nname=usergpu\naccel=tcg\nfirmware=bios\n[memory]\nsize=64M\n[pci gpu]\nhost=0000:01:00.0\n");
  write_text (nic, "[vm]\nname=usernic\naccel=tcg\nfirmware=bios\n[memory]\nsize=64M\n[pci nic]\nhost=0000:03:00.0\n");
  g_assert_cmpint (getrlimit (RLIMIT_MEMLOCK, &limit), ==, 0);
  memlock_short = limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < (64 << 20);
  if (as_root)
    run_as_uid = user_uid;
  for (guint i = 0; i < 2; i++)
    {
      g_clear_pointer (&err, g_free);
      g_assert_cmpint (run_qlaunch (NULL, &err, i == 0 ? "plan" : "start", gpu, NULL), ==, 1);
      g_assert_nonnull (strstr (err, "VM 'usergpu' is started by "));
      g_assert_nonnull (strstr (err, ", not root, and such a start binds nothing:\n"
                                     "[pci gpu]: 0000:01:00.0 is on nvidia, not on vfio-pci\n"
                                     "[pci gpu]: 0000:01:00.1 is on snd_hda_intel, not on vfio-pci\n"));
      fix = g_strdup_printf ("Fix: once, as root: sudo qlaunch host-setup '%s' --user ", gpu);
      g_assert_nonnull (strstr (err, fix));
      g_clear_pointer (&fix, g_free);
      g_assert_nonnull (strstr (err, ", then reboot (or, for this boot: sudo qlaunch bind 0000:01:00.0 0000:01:00.1)"));
      g_assert_true ((strstr (err, " MiB of memory (RLIMIT_MEMLOCK); VFIO pins all of the guest's 64 MiB") != NULL) ==
                     memlock_short);
      g_assert_cmpstr ((profile = read_text (override)), ==, "(null)\n");
      g_clear_pointer (&profile, g_free);
    }
  /* on vfio-pci already: only the group node (and the memlock) matter */
  if (as_root)
    {
      g_assert_cmpint (mknod (node, S_IFCHR | 0600, makedev (1, 3)), ==, 0);
      g_clear_pointer (&err, g_free);
      g_assert_cmpint (run_qlaunch (NULL, &err, "plan", nic, NULL), ==, 1);
      g_assert_nonnull (strstr (err, "[pci nic]: 0000:03:00.0 is on vfio-pci, but "));
      g_assert_nonnull (strstr (err, " cannot open its group's node (/dev/vfio/3)"));
      g_assert_cmpint (chown (node, user_uid, 0), ==, 0);
      g_clear_pointer (&err, g_free);
      g_assert_cmpint (run_qlaunch (&out, &err, "plan", nic, NULL), ==, memlock_short ? 1 : 0);
      g_assert_null (strstr (err, "cannot open its group's node"));
      if (!memlock_short)
        g_assert_nonnull (strstr (out, "keep 0000:03:00.0  already on vfio-pci"));
      g_unlink (node);
      run_as_uid = 0;
    }
  g_unsetenv ("QLAUNCH_SYSFS");
  fake_sysfs_remove (sysfs);
  g_clear_pointer (&sysfs, g_free);
}

/* The plan of a user's start, as data: a device on vfio-pci is kept, one
 * that is not is refused, and so are a group node the user cannot open and
 * a memlock below the guest's RAM; root's start binds. */
static void
test_user_plan (void)
{
  g_autofree char *host_sysfs = fake_sysfs_new ();
  g_autoptr(QlPciHost) host = ql_pci_host_scan (host_sysfs, NULL);
  g_autoptr(QlProfile) profile = g_new0 (QlProfile, 1);
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_vfio_request_free);
  g_autoptr(QlHostState) state = g_new0 (QlHostState, 1);
  g_autoptr(QlHostPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  QlMachine m = { .profile = profile };
  int group = 3;

  g_assert_nonnull (host);
  profile->vm.name = g_strdup ("u");
  profile->path = g_strdup ("/home/u/.config/qlaunch/u.ini");
  profile->memory.size = 64 << 20;
  m.taps = g_array_new (FALSE, FALSE, sizeof (QlMachineTap));
  g_ptr_array_add (requests, ql_vfio_request_new ("0000:03:00.0", "[pci nic]"));
  state->vfio = ql_vfio_plan_build (host, requests, &error);
  g_assert_no_error (error);
  state->user = g_strdup ("u");
  state->vfio_denied = g_array_new (FALSE, FALSE, sizeof (int));
  state->memlock = G_MAXUINT64;
  plan = ql_host_plan_build (&m, state, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (plan->steps->len, ==, 0);
  g_assert_nonnull (strstr (plan->notes->pdata[0], "keep 0000:03:00.0  already on vfio-pci"));
  g_clear_pointer (&plan, ql_host_plan_free);

  state->memlock = 32 << 20;
  g_array_append_val (state->vfio_denied, group);
  plan = ql_host_plan_build (&m, state, &error);
  g_assert_null (plan);
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_cmpstr (error->message, ==,
                   "VM 'u' is started by u, not root, and such a start binds nothing:\n"
                   "[pci nic]: 0000:03:00.0 is on vfio-pci, but u cannot open its group's node (/dev/vfio/3)\n"
                   "u may lock 32 MiB of memory (RLIMIT_MEMLOCK); VFIO pins all of the guest's 64 MiB\n"
                   "Fix: once, as root: sudo qlaunch host-setup '/home/u/.config/qlaunch/u.ini' --user u, then reboot "
                   "(or, for this boot: sudo qlaunch bind 0000:03:00.0) and log in again");
  g_clear_error (&error);

  /* a device on its own driver: root binds it, a user is told */
  ql_vfio_plan_free (state->vfio);
  g_ptr_array_set_size (requests, 0);
  g_ptr_array_add (requests, ql_vfio_request_new ("0000:02:00.0", "[pci gpu]"));
  g_ptr_array_add (requests, ql_vfio_request_new ("0000:02:00.1", "[pci gpu]"));
  state->vfio = ql_vfio_plan_build (host, requests, &error);
  g_assert_no_error (error);
  state->memlock = G_MAXUINT64;
  g_array_set_size (state->vfio_denied, 0);
  plan = ql_host_plan_build (&m, state, &error);
  g_assert_null (plan);
  g_assert_nonnull (strstr (error->message, "\n[pci gpu]: 0000:02:00.0 is on nouveau, not on vfio-pci\n"
                                            "[pci gpu]: 0000:02:00.1 is on snd_hda_intel, not on vfio-pci\nFix: "));
  g_clear_error (&error);
  g_clear_pointer (&state->user, g_free);
  plan = ql_host_plan_build (&m, state, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (plan->steps->len, ==, 2);
  g_assert_cmpint (((QlHostStep *) plan->steps->pdata[0])->kind, ==, QL_HOST_STEP_VFIO_BIND);
  g_array_unref (m.taps);
  fake_sysfs_remove (host_sysfs);
}

/* The fake sysfs's drivers that are modules, as the kernel links them. */
static void
add_driver_modules (void)
{
  static const char *const modules[] = { "nvidia", "snd_hda_intel", "nouveau" };

  for (guint i = 0; i < G_N_ELEMENTS (modules); i++)
    {
      g_autofree char *dir = g_build_filename (sysfs, "module", modules[i], NULL);
      g_autofree char *link = g_build_filename (sysfs, "bus/pci/drivers", modules[i], "module", NULL);
      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      g_assert_cmpint (symlink (dir, link), ==, 0);
    }
  {
    g_autofree char *vfio = g_build_filename (sysfs, "bus/pci/drivers/vfio-pci", NULL);
    g_assert_cmpint (g_mkdir_with_parents (vfio, 0755), ==, 0);
  }
}

static void
set_up_root (void)
{
  static const char *const dirs[] = { "modprobe.d", "modules-load.d", "udev/rules.d", "security/limits.d",
                                      "sysctl.d", "initramfs-tools" };
  g_autofree char *proc = NULL, *procfs = NULL, *node = NULL, *profile = NULL, *profiles = NULL, *meminfo = NULL;
  struct passwd *pw;

  as_root = geteuid () == 0;
  pw = as_root ? getpwnam ("nobody") : getpwuid (geteuid ());
  g_assert_nonnull (pw);
  user = g_strdup (pw->pw_name);
  user_uid = pw->pw_uid;
  root = g_build_filename (tmp_root, "root", NULL);
  etc = g_build_filename (root, "etc", NULL);
  dev = g_build_filename (root, "dev", NULL);
  procfs = g_build_filename (root, "proc", NULL);
  proc = g_build_filename (procfs, "mounts", NULL);
  profiles = g_build_filename (root, "profiles", NULL);
  profile = g_build_filename (profiles, "setup.ini", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *d = g_build_filename (etc, dirs[i], NULL);
      g_assert_cmpint (g_mkdir_with_parents (d, 0755), ==, 0);
    }
  node = g_build_filename (dev, "vfio", "1", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dev, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (node, 0755), ==, 0);
  g_assert_cmpint (g_rmdir (node), ==, 0);
  if (as_root)
    g_assert_cmpint (mknod (node, S_IFCHR | 0600, makedev (1, 3)), ==, 0);
  /* [memory] hugepages needs a hugetlbfs mounted, as the host's /proc says */
  meminfo = g_build_filename (procfs, "meminfo", NULL);
  write_text (meminfo, "MemTotal:       16777216 kB\nHugepagesize:       2048 kB\n");
  write_text (proc, "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
                    "hugetlbfs /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0\n");
  write_text (profile, "[vm]\nname=setup\naccel=tcg\nfirmware=bios\n[memory]\nsize=2G\nhugepages=2M\n"
                       "[pci gpu]\nhost=0000:01:00.0\n");
  g_assert_cmpint (chmod (root, 0755), ==, 0);
  g_setenv ("QLAUNCH_ETC", etc, TRUE);
  g_setenv ("QLAUNCH_DEVFS", dev, TRUE);
  g_setenv ("QLAUNCH_PROCFS", procfs, TRUE);
  g_setenv ("QLAUNCH_PROFILE_PATH", profiles, TRUE);
  manifest = g_build_filename (state_base, "setup", "host-setup.json", NULL);
}

/* The sysfs of the host-setup tests: each test that changes it makes its own. */
static void
with_sysfs (gconstpointer data)
{
  GTestFunc test = (GTestFunc) data;

  sysfs = fake_sysfs_new ();
  add_driver_modules ();
  g_setenv ("QLAUNCH_SYSFS", sysfs, TRUE);
  test ();
  g_unsetenv ("QLAUNCH_SYSFS");
  if (sysfs != NULL)
    fake_sysfs_remove (sysfs);
  g_clear_pointer (&sysfs, g_free);
}

/* The profile is the user's, read by root: host-setup runs nothing it
 * names (a [qemu] binary asked what it can do, as every plan and start
 * does) and opens no disk it names. */
static void
test_runs_nothing (void)
{
  g_autofree char *profile = g_build_filename (root, "profiles", "evil.ini", NULL);
  g_autofree char *binary = g_build_filename (root, "evil-qemu", NULL);
  g_autofree char *marker = g_build_filename (root, "evil-ran", NULL);
  g_autofree char *disk = g_build_filename (root, "evil-disk", NULL);
  g_autofree char *script = g_strdup_printf ("#!/bin/sh\ntouch '%s'\necho 'QEMU emulator version 9.2.0'\n", marker);
  g_autofree char *text = NULL, *out = NULL, *err = NULL;
  char events[4096];
  int watch = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);

  write_text (binary, script);
  g_assert_cmpint (chmod (binary, 0755), ==, 0);
  write_text (disk, "QFI\xfb");
  text = g_strdup_printf ("[vm]\nname=evil\naccel=tcg\nfirmware=bios\npci-hotplug=native\n[memory]\nsize=64M\n"
                          "[pci gpu]\nhost=0000:01:00.0\nrom-acpi=true\nrom=%s\n[disk d]\nfile=%s\n[qemu]\nbinary=%s\n",
                          disk, disk, binary);
  write_text (profile, text);
  g_assert_cmpint (watch, >=, 0);
  g_assert_cmpint (inotify_add_watch (watch, disk, IN_OPEN), >=, 0);
  run_qlaunch (&out, &err, "host-setup", profile, "--user", user, "--dry-run", NULL);
  g_test_message ("dry run: %s%s", out, err);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_cmpint (read (watch, events, sizeof events), <, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* root's plan of a user's profile does not run a QEMU the user could have put there */
  if (as_root)
    {
      g_assert_cmpint (chown (profile, user_uid, user_uid), ==, 0);
      g_assert_cmpint (run_qlaunch (NULL, &err, "plan", profile, NULL), ==, 1);
      g_assert_nonnull (strstr (err, "the profile is not root's, and root would run its [qemu] binary to ask what "
                                     "it can do: "));
      g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
      g_assert_cmpint (chown (profile, 0, 0), ==, 0);
      g_clear_pointer (&err, g_free);
    }
  /* root's own profile's plan (a start's left half) does ask: the binary is what shows it */
  run_qlaunch (&out, &err, "plan", profile, NULL);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  g_assert_cmpint (read (watch, events, sizeof events), >, 0);
  close (watch);
  g_unlink (marker);
  g_unlink (profile);
}

/* A program only root can change: root's own, under root's directories. */
static void
test_program_root_only (void)
{
  g_autofree char *why = NULL, *mine = g_build_filename (root, "evil-qemu", NULL);

  write_text (mine, "#!/bin/sh\n");
  if (as_root)
    g_assert_true (ql_host_program_root_only ("/bin/sh", &why));
  g_assert_null (why);
  /* the temp dir is under /tmp, which everyone may write to */
  g_assert_false (ql_host_program_root_only (mine, &why));
  g_assert_nonnull (strstr (why, "is not root's alone: another user could change it"));
  g_unlink (mine);
}

/* A disk's format is probed only from a regular file or a block device:
 * a device node that acts when opened (a watchdog) is not opened. */
static void
test_disk_probe_opens_no_device (void)
{
  g_autofree char *node = g_build_filename (root, "watchdog0", NULL);
  g_autofree char *image = g_build_filename (root, "image.qcow2", NULL);
  g_autofree char *text = g_strdup_printf ("[vm]\nname=d\naccel=tcg\nfirmware=bios\n[disk a]\nfile=%s\n"
                                           "[disk b]\nfile=%s\n", node, image);
  g_autoptr(QlProfile) profile = NULL;
  g_autoptr(GError) error = NULL;
  char events[4096];
  int watch = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);

  if (!as_root)
    {
      g_test_skip ("making a device node needs root");
      close (watch);
      return;
    }
  g_assert_cmpint (mknod (node, S_IFCHR | 0600, makedev (1, 3)), ==, 0);
  write_text (image, "QFI\xfb and the rest");
  g_assert_cmpint (inotify_add_watch (watch, node, IN_OPEN), >=, 0);
  profile = ql_profile_load_from_data (text, "/d.ini", &error);
  g_assert_no_error (error);
  g_assert_cmpint (read (watch, events, sizeof events), <, 0);
  g_assert_cmpint (((QlDisk *) profile->disks->pdata[0])->format, ==, QL_DISK_FORMAT_RAW);
  g_assert_cmpint (((QlDisk *) profile->disks->pdata[1])->format, ==, QL_DISK_FORMAT_QCOW2);
  close (watch);
  g_unlink (node);
  g_unlink (image);
}

/* A device whose group node gives the user DMA to what the host needs is
 * refused before anything changes: the boot VGA, a NIC, a device whose ids
 * another host device shares; --force lets root allow them, and the dry
 * run shows each device and its group's other members. */
static void
test_risky_devices (void)
{
  g_autofree char *profile = g_build_filename (root, "profiles", "risky.ini", NULL);
  g_autofree char *before = snapshot (), *after = NULL, *out = NULL, *err = NULL;
  g_autofree char *risky_manifest = g_build_filename (state_base, "risky", "host-setup.json", NULL);

  write_text (profile, "[vm]\nname=risky\naccel=tcg\nfirmware=bios\n[memory]\nsize=64M\n"
                       "[pci gpu]\nhost=0000:02:00.0\n[pci nic]\nhost=0000:03:00.0\n");
  for (guint i = 0; i < 2; i++)
    {
      g_clear_pointer (&out, g_free);
      g_clear_pointer (&err, g_free);
      g_assert_cmpint (run_qlaunch (&out, &err, "host-setup", profile, "--user", user, i ? "--dry-run" : NULL, NULL),
                       ==, 1);
      g_assert_nonnull (strstr (err, "host-setup for VM 'risky' changed nothing:\n"));
      g_assert_nonnull (strstr (err, "\n[pci gpu]: 0000:02:00.0 is the host's boot VGA: its console\n"));
      g_assert_nonnull (strstr (err, "\n[pci nic]: 0000:03:00.0 is a network controller: "));
      g_assert_nonnull (strstr (err, "\n[pci nic]: 0000:04:00.0 has the same ids 8086:10d3 and is not passed "
                                     "through, yet vfio-pci ids= takes it at boot too\n"));
      g_assert_nonnull (strstr (err, "run again with --force"));
      g_assert_nonnull (strstr (out, "\n    [pci gpu]: 0000:02:00.0 "));
      g_assert_nonnull (strstr (out, "class 030000"));
      g_assert_nonnull (strstr (out, "driver nouveau, IOMMU group 2, the boot VGA\n"));
      g_assert_nonnull (strstr (out, "\n    [pci gpu]: 0000:02:00.1 "));
      g_assert_null (strstr (out, "would (a dry run"));
    }
  after = snapshot ();
  g_assert_cmpstr (after, ==, before);
  g_assert_false (g_file_test (risky_manifest, G_FILE_TEST_EXISTS));
  /* the audio function is in the GPU's group: given with it, or the group is not the user's to have */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", profile, "--user", user, "--dry-run", "--force", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "note: --force: [pci gpu]: 0000:02:00.0 is the host's boot VGA"));
  g_assert_nonnull (strstr (out, "would (a dry run: nothing is changed)"));
  g_unlink (profile);
}

/* Another user than the host's: daemon (or root) stands for bob. */
static const char *
other_user (void)
{
  return getpwnam ("daemon") != NULL ? "daemon" : "root";
}

/* A VM set up for one user is not taken over through its name: not by a
 * run for another user, nor undone by one; the record's user is needed. */
static void
test_takeover (void)
{
  g_autofree char *before = snapshot (), *set_up = NULL, *err = NULL, *out = NULL, *after = NULL, *fix = NULL;

  g_assert_cmpint (host_setup (NULL, NULL, NULL), ==, 0);
  set_up = snapshot ();
  g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", "setup", "--user", other_user (), NULL), ==, 1);
  fix = g_strdup_printf ("the VM is set up for %s, not %s. Fix: ", user, other_user ());
  g_assert_nonnull (strstr (err, fix));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", "setup", "--undo", "--user", other_user (), NULL), ==, 1);
  g_assert_nonnull (strstr (err, "changed nothing: the VM is set up for "));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", "setup", "--undo", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "--undo needs --user USER"));
  after = snapshot ();
  g_assert_cmpstr (after, ==, set_up);
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", "setup", "--undo", "--user", user, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "host-setup --undo for VM 'setup', set up for "));
  g_assert_nonnull (strstr (out, "/profiles/setup.ini:\n"));
  g_clear_pointer (&after, g_free);
  after = snapshot ();
  g_assert_cmpstr (after, ==, before);
}

/* An IOMMU group is one user's: not one another VM's rule gives to
 * another user, nor one whose node another user has now. */
static void
test_group_taken (void)
{
  g_autofree char *rule = etc_file ("udev/rules.d/70-qlaunch-bobs.rules");
  g_autofree char *node = g_build_filename (dev, "vfio", "1", NULL);
  g_autofree char *text = g_strdup_printf ("SUBSYSTEM==\"vfio\", KERNEL==\"1\", OWNER=\"%s\", MODE=\"0600\"\n",
                                           other_user ());
  g_autofree char *before = NULL, *after = NULL, *err = NULL, *claim = NULL;
  struct passwd *bob = getpwnam (other_user ());

  write_text (rule, text);
  before = snapshot ();
  g_assert_cmpint (host_setup (NULL, &err, NULL), ==, 1);
  claim = g_strdup_printf ("IOMMU group 1 is %s's by %s (another VM's host-setup)", other_user (), rule);
  g_assert_nonnull (strstr (err, claim));
  g_assert_cmpint (g_unlink (rule), ==, 0);
  if (as_root && bob->pw_uid != 0)
    {
      g_autofree char *owned = g_strdup_printf ("'%s' belongs to uid %u: that user has IOMMU group 1 now", node,
                                                (guint) bob->pw_uid);
      g_assert_cmpint (lchown (node, bob->pw_uid, bob->pw_gid), ==, 0);
      g_clear_pointer (&err, g_free);
      g_assert_cmpint (host_setup (NULL, &err, "--dry-run"), ==, 1);
      g_assert_nonnull (strstr (err, owned));
      g_clear_pointer (&err, g_free);
      g_assert_cmpint (host_setup (NULL, &err, NULL), ==, 1);
      g_assert_nonnull (strstr (err, owned));
      g_assert_true (node_owned_by (1, bob->pw_uid));
      g_assert_cmpint (lchown (node, 0, 0), ==, 0);
    }
  write_text (rule, text);
  after = snapshot ();
  g_assert_cmpstr (after, ==, before);
  g_assert_false (g_file_test (manifest, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_unlink (rule), ==, 0);
}

/* limits.d and sysctl.d are the user's for good: the memory they lock or
 * reserve is capped below the host's (16 GiB here, of which 2 stay). */
static void
test_memory_cap (void)
{
  g_autofree char *profile = g_build_filename (root, "profiles", "huge.ini", NULL);
  g_autofree char *before = snapshot (), *after = NULL, *err = NULL;
  static const char *const cases[] = {
    "size=16T\n[pci gpu]\nhost=0000:01:00.0\n",
    "size=15G\nhugepages=2M\n",
  };
  static const char *const expect[] = {
    ": 16385.0 GiB to lock or reserve for the guest is more than this host can spare: 14.0 GiB of its 16.0 GiB "
    "(it keeps 2.0 GiB). Fix: a smaller [memory] size",
    ": 15.0 GiB to lock or reserve for the guest is more than this host can spare: 14.0 GiB",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf ("[vm]\nname=huge\naccel=tcg\nfirmware=bios\n[memory]\n%s", cases[i]);

      write_text (profile, text);
      g_clear_pointer (&err, g_free);
      g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", profile, "--user", user, NULL), ==, 1);
      g_assert_nonnull (strstr (err, expect[i]));
    }
  after = snapshot ();
  g_assert_cmpstr (after, ==, before);
  g_unlink (profile);
}

/* The plan applied is the plan reviewed: --expect takes the dry run's
 * digest, and refuses once the user's profile changed in between. */
static void
test_expect (void)
{
  g_autofree char *profile = g_build_filename (root, "profiles", "setup.ini", NULL);
  g_autofree char *original = read_text (profile), *before = snapshot (), *after = NULL;
  g_autofree char *out = NULL, *err = NULL, *digest = NULL, *changed = NULL;
  g_auto(GStrv) parts = NULL;
  const char *at;

  g_assert_cmpint (host_setup (&out, NULL, "--dry-run"), ==, 0);
  at = strstr (out, "\nplan ");
  g_assert_nonnull (at);
  digest = g_strndup (at + strlen ("\nplan "), 64);
  g_assert_nonnull (strstr (at, ": to apply exactly this plan, run host-setup again with --expect "));
  /* the user edits the profile after the review: more RAM to lock and reserve */
  parts = g_strsplit (original, "size=2G", -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  changed = g_strjoinv ("size=4G", parts);
  write_text (profile, changed);
  g_assert_cmpint (run_qlaunch (NULL, &err, "host-setup", "setup", "--user", user, "--expect", digest, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "changed nothing: the plan is not the one --expect names"));
  after = snapshot ();
  g_assert_cmpstr (after, ==, before);
  write_text (profile, original);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_qlaunch (&out, NULL, "host-setup", "setup", "--user", user, "--expect", digest, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "wrote "));
  g_assert_cmpint (run_qlaunch (NULL, NULL, "host-setup", "setup", "--undo", "--user", user, NULL), ==, 0);
}

/* Another VM's vfio-pci ids= and this one's do not add up (modprobe keeps
 * the last): the plan says so. */
static void
test_other_ids (void)
{
  g_autofree char *other = etc_file ("modprobe.d/qlaunch-bobs.conf"), *out = NULL;

  write_text (other, "# Written by 'qlaunch host-setup bobs' for user bob; ...\noptions vfio-pci ids=8086:10d3\n");
  g_assert_cmpint (host_setup (&out, NULL, "--dry-run"), ==, 0);
  g_assert_nonnull (strstr (out, "note: other VMs' files set vfio-pci ids= too ("));
  g_assert_nonnull (strstr (out, other));
  g_assert_cmpint (g_unlink (other), ==, 0);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  vm_harness_init ();
  set_up_root ();
  g_test_add_data_func ("/host-setup/dry-run", test_dry_run, with_sysfs);
  g_test_add_data_func ("/host-setup/apply-rerun-undo", test_apply_undo, with_sysfs);
  g_test_add_data_func ("/host-setup/foreign-file", test_foreign_file, with_sysfs);
  g_test_add_data_func ("/host-setup/hostile-manifest", test_hostile_manifest, with_sysfs);
  g_test_add_data_func ("/host-setup/names", test_names, with_sysfs);
  g_test_add_data_func ("/host-setup/1g-pages", test_1g_pages, with_sysfs);
  g_test_add_data_func ("/host-setup/risky-devices", test_risky_devices, with_sysfs);
  g_test_add_data_func ("/host-setup/takeover", test_takeover, with_sysfs);
  g_test_add_data_func ("/host-setup/group-taken", test_group_taken, with_sysfs);
  g_test_add_data_func ("/host-setup/memory-cap", test_memory_cap, with_sysfs);
  g_test_add_data_func ("/host-setup/expect", test_expect, with_sysfs);
  g_test_add_data_func ("/host-setup/other-ids", test_other_ids, with_sysfs);
  g_test_add_data_func ("/host-setup/runs-nothing", test_runs_nothing, with_sysfs);
  g_test_add_func ("/host-setup/program-root-only", test_program_root_only);
  g_test_add_func ("/host-setup/disk-probe-opens-no-device", test_disk_probe_opens_no_device);
  g_test_add_func ("/host-setup/user-plan", test_user_plan);
  g_test_add_func ("/host-setup/user-start", test_user_start);
  status = g_test_run ();
  remove_tree (tmp_root);
  return status;
}
