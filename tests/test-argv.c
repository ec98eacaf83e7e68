/* profile → machine → argv: golden command lines for every example and
 * test profile (one argument per line), and the decisions one by one. */
#include "qemu-caps-fixtures.h"
#include "fake-sysfs.h"
#include "ql-error.h"
#include "ql-machine.h"
#include "ql-firmware.h"
#include "ql-qemu-argv.h"
#include "ql-qemu-argv-desktop.h"
#include "ql-libvirt-export.h"
#include "ql-rom-check.h"
#include "ql-ssdt.h"
#include "rom-fixtures.h"
#include "ql-pci-scan.h"
#include "ql-cpu-topology-read.h"
#include "ql-firmware-load.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *firmware_dir;
static char *pci_sysfs;   /* the seeds' machines' PCI devices (tests/fake-sysfs.c) */

/* A firmware descriptor set like Debian's ovmf package installs, pointing at
 * files in a temp dir. */
static void
make_firmware_fixture (void)
{
  static const struct { const char *file, *code, *vars, *features; } descriptors[] = {
    { "40-secure.json", "CODE.secboot.fd", "VARS.ms.fd", "\"requires-smm\", \"secure-boot\", \"enrolled-keys\"" },
    { "60-plain.json", "CODE.fd", "VARS.fd", "\"acpi-s3\"" },
  };

  firmware_dir = g_dir_make_tmp ("ql-fw-XXXXXX", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (descriptors); i++)
    {
      g_autofree char *code = g_build_filename (firmware_dir, descriptors[i].code, NULL);
      g_autofree char *vars = g_build_filename (firmware_dir, descriptors[i].vars, NULL);
      g_autofree char *json = g_strdup_printf (
        "{\"interface-types\": [\"uefi\"], \"mapping\": {\"device\": \"flash\","
        " \"executable\": {\"filename\": \"%s\", \"format\": \"raw\"},"
        " \"nvram-template\": {\"filename\": \"%s\", \"format\": \"raw\"}},"
        " \"targets\": [{\"architecture\": \"x86_64\", \"machines\": [\"pc-q35-*\"]}],"
        " \"features\": [%s]}", code, vars, descriptors[i].features);
      g_autofree char *path = g_build_filename (firmware_dir, descriptors[i].file, NULL);

      g_assert_true (g_file_set_contents (code, "", 0, NULL));
      g_assert_true (g_file_set_contents (vars, "", 0, NULL));
      g_assert_true (g_file_set_contents (path, json, -1, NULL));
    }
}

/* The QEMU the goldens are built for: Debian 12's 7.2; the qemu10 run of
 * the goldens sets 1000 (bookworm-backports' 10.0). */
static guint golden_qemu = 702;

static QlHostFacts *
fake_host (gboolean kvm)
{
  QlHostFacts *host = g_new0 (QlHostFacts, 1);
  const char *dirs[] = { firmware_dir, NULL };

  host->kvm_usable = kvm;
  host->kvm_reason = kvm ? NULL : g_strdup ("/dev/kvm is not usable: No such file or directory");
  host->qemu_binary = g_strdup ("/usr/bin/qemu-system-x86_64");
  host->qemu_caps = qemu_caps_fixture (golden_qemu);
  host->firmware = ql_firmware_load_all (dirs);
  host->hugetlbfs_2m = g_strdup ("/dev/hugepages");
  host->hugetlbfs_1g = g_strdup ("/dev/hugepages1G");
  host->pci = ql_pci_host_scan (pci_sysfs, NULL);
  g_assert_nonnull (host->pci);
  host->cpus = ql_cpu_topology_read (pci_sysfs, NULL);
  g_assert_nonnull (host->cpus);
  return host;
}

typedef struct {
  QlProfile *profile;
  QlHostFacts *host;
  QlMachine *machine;
  GStrv argv;
} Built;

static void
built_clear (Built *b)
{
  ql_machine_free (b->machine);
  ql_profile_free (b->profile);
  ql_host_facts_free (b->host);
  g_strfreev (b->argv);
}

static gboolean
build (const char *profile_path, gboolean kvm, Built *ret, GError **error)
{
  g_autofree char *runtime = NULL, *state = NULL;

  memset (ret, 0, sizeof *ret);
  ret->profile = ql_profile_load (profile_path, error);
  if (ret->profile == NULL)
    return FALSE;
  ret->host = fake_host (kvm);
  runtime = g_build_filename ("/run/qlaunch", ret->profile->vm.name, NULL);
  state = g_build_filename ("/var/lib/qlaunch", ret->profile->vm.name, NULL);
  ret->machine = ql_machine_resolve (ret->profile, ret->host, runtime, state, error);
  if (ret->machine == NULL)
    return FALSE;
  ret->argv = ql_qemu_argv_build (ret->machine);
  return TRUE;
}

/* "-opt value" pairs: the value after the n-th occurrence of option, or NULL. */
static const char *
option_value (GStrv argv, const char *option, guint n)
{
  for (guint i = 0; argv[i] && argv[i + 1]; i++)
    if (strcmp (argv[i], option) == 0 && n-- == 0)
      return argv[i + 1];
  return NULL;
}

static gboolean
has_arg (GStrv argv, const char *arg)
{
  return g_strv_contains ((const char *const *) argv, arg);
}

/* ---- golden files ---- */

/* The argv only embeds the paths of the files a profile names, so a golden
 * is built from a copy of the profile in a stand-in source tree: the copy at
 * the profile's place in the checkout, and each file it names (by a relative
 * path) a link to the checkout's file or, where the checkout lacks it, an
 * empty file.  The goldens then run whether or not the test guest
 * (tests/guest/mkguest.sh) is built, and the example profiles of real
 * machines need none of the user's disks and ROMs.  Returns the tree; *ret_copy
 * is the profile in it. */
static char *
stand_in_tree (const char *root, const char *profile_path, char **ret_copy)
{
  static const char *const file_keys[] = { "file", "rom", "table", "kernel", "initrd", "password-file", NULL };
  g_autofree char *tree = g_dir_make_tmp ("ql-golden-XXXXXX", NULL);
  g_autofree char *real = g_canonicalize_filename (profile_path, NULL);
  g_autofree char *real_dir = g_path_get_dirname (real);
  g_autofree char *under = g_str_has_prefix (real, root) && real[strlen (root)] == '/'
                           ? g_strdup (real + strlen (root) + 1) : g_path_get_basename (real);
  g_autofree char *copy = g_build_filename (tree, under, NULL);
  g_autofree char *copy_dir = g_path_get_dirname (copy);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *text = NULL;
  g_auto(GStrv) groups = NULL;

  g_assert_nonnull (tree);
  g_assert_true (g_file_get_contents (real, &text, NULL, NULL));
  g_assert_cmpint (g_mkdir_with_parents (copy_dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (copy, text, -1, NULL));
  g_assert_true (g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, NULL));
  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i]; i++)
    {
      g_auto(GStrv) keys = g_key_file_get_keys (kf, groups[i], NULL, NULL);
      for (guint j = 0; keys[j]; j++)
        {
          g_auto(GStrv) values = NULL;

          if (!g_strv_contains (file_keys, keys[j]) && strcmp (groups[i], "fw_cfg") != 0)
            continue;
          if (strcmp (keys[j], "table") == 0)   /* the one list of files */
            values = g_key_file_get_string_list (kf, groups[i], keys[j], NULL, NULL);
          else
            {
              values = g_new0 (char *, 2);
              values[0] = g_key_file_get_string (kf, groups[i], keys[j], NULL);
            }
          for (guint k = 0; values != NULL && values[k]; k++)
            {
              const char *value = g_strstrip (values[k]);
              g_autofree char *path = NULL, *parent = NULL, *target = NULL;

              if (value[0] == '\0' || g_path_is_absolute (value) || g_str_has_prefix (value, "~/"))
                continue;   /* an absolute path is the same in both trees */
              path = g_canonicalize_filename (value, copy_dir);
              if (!g_str_has_prefix (path, tree) || path[strlen (tree)] != '/'
                  || g_file_test (path, G_FILE_TEST_EXISTS))
                continue;
              parent = g_path_get_dirname (path);
              g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
              target = g_canonicalize_filename (value, real_dir);
              if (g_file_test (target, G_FILE_TEST_IS_REGULAR))
                g_assert_cmpint (symlink (target, path), ==, 0);
              else
                g_assert_true (g_file_set_contents (path, "", 0, NULL));
            }
        }
    }
  *ret_copy = g_steal_pointer (&copy);
  return g_steal_pointer (&tree);
}

typedef struct {
  const char *dir;
  const char *placeholder;
} Placeholder;

static int
longer_dir_first (gconstpointer a, gconstpointer b)
{
  const Placeholder *pa = a, *pb = b;
  gsize la = strlen (pa->dir), lb = strlen (pb->dir);

  return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Each "DIR/" becomes "PLACEHOLDER/", the longest DIR first, so that no
 * placeholder takes the start of a longer path: with the checkout at
 * /tmp/ql, the firmware in /tmp/ql-fw-XXXXXX is @FW@, not @SRC@-fw-…. */
static void
replace_dirs (GString *text, Placeholder *dirs, guint n)
{
  qsort (dirs, n, sizeof *dirs, longer_dir_first);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *from = g_strconcat (dirs[i].dir, "/", NULL);
      g_autofree char *to = g_strconcat (dirs[i].placeholder, "/", NULL);
      g_string_replace (text, from, to, 0);
    }
}

/* Reports where the text first differs from the golden, and goes on: one
 * changed golden does not hide the others. */
static void
report_golden_mismatch (const char *golden, const char *text, const char *expected)
{
  g_auto(GStrv) got = g_strsplit (text, "\n", -1);
  g_auto(GStrv) want = g_strsplit (expected, "\n", -1);
  guint line = 0;

  while (got[line] != NULL && want[line] != NULL && strcmp (got[line], want[line]) == 0)
    line++;
  g_test_message ("%s differs at line %u (QL_TEST_REGENERATE=1 rewrites it; review the diff):", golden, line + 1);
  g_test_message ("  expected: %s", want[line] != NULL ? want[line] : "(end of file)");
  g_test_message ("  got:      %s", got[line] != NULL ? got[line] : "(end of file)");
  g_test_fail ();
}

static void
test_golden (gconstpointer data)
{
  const char *profile_path = data;
  g_autofree char *base = g_path_get_basename (profile_path);
  g_autofree char *golden_name = g_strconcat (base, ".args", NULL);
  g_autofree char *golden = g_test_build_filename (G_TEST_DIST, "golden", golden_name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) text = NULL;
  g_autofree char *formatted = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *root = g_canonicalize_filename (g_getenv ("QL_SOURCE_ROOT"), NULL);
  g_autofree char *copy = NULL;
  g_autofree char *copy_dir = NULL;
  g_autofree char *tree = stand_in_tree (root, profile_path, &copy);
  Built b;

  copy_dir = g_path_get_dirname (copy);
  if (!build (copy, TRUE, &b, &error))
    {
      /* the stand-in tree mirrors the checkout: name the checkout's files */
      g_autoptr(GString) why = g_string_new (error->message);
      g_auto(GStrv) lines = NULL;

      g_string_replace (why, tree, root, 0);
      lines = g_strsplit (why->str, "\n", -1);
      for (guint i = 0; lines[i]; i++)
        g_test_message ("%s", lines[i]);
      g_test_fail ();
    }
  else
    {
      Placeholder dirs[] = {
        { copy_dir, "@PROFILE_DIR@" },
        { tree, "@SRC@" },
        { root, "@SRC@" },
        { firmware_dir, "@FW@" },
      };

      formatted = ql_qemu_argv_format ((const char *const *) b.argv);
      text = g_string_new (formatted);
      replace_dirs (text, dirs, G_N_ELEMENTS (dirs));
      if (g_getenv ("QL_TEST_REGENERATE") != NULL && golden_qemu == 702)
        g_assert_true (g_file_set_contents (golden, text->str, -1, NULL));
      if (!g_file_get_contents (golden, &expected, NULL, &error))
        {
          g_test_message ("%s", error->message);
          g_test_fail ();
        }
      else
        {
          /* on 10.0 the same argv, but for the machine type q35 stands for there */
          g_autoptr(GString) want = g_string_new (expected);
          if (golden_qemu == 1000)
            g_assert_cmpuint (g_string_replace (want, "\n-machine\npc-q35-7.2,", "\n-machine\npc-q35-10.0,", 0), ==, 1);
          if (strcmp (text->str, want->str) != 0)
            report_golden_mismatch (golden, text->str, want->str);
        }
    }
  built_clear (&b);
  fake_sysfs_remove (tree);   /* any tree */
}

static void
test_golden_qemu10 (gconstpointer data)
{
  golden_qemu = 1000;
  test_golden (data);
  golden_qemu = 702;
}

static char *
data_profile (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "profiles", name, NULL);
}

/* ---- decisions one by one ---- */

/* The two bytes that can break out of an option value are ',' (a new key)
 * and, for some options, '='; doubling commas keeps both inside. */
static void
test_escaping (void)
{
  g_autofree char *path = data_profile ("escape.ini");
  g_autoptr(GError) error = NULL;
  g_autofree char *disk = NULL;
  Built b;

  g_assert_true (build (path, FALSE, &b, &error));
  g_assert_cmpstr (option_value (b.argv, "-name", 0), ==, "guest=x,,id=y,debug-threads=on");
  disk = g_strdup (option_value (b.argv, "-blockdev", 0));
  g_assert_nonnull (strstr (disk, "files/a,,b.img,node-name=disk-a-file,"));
  g_assert_true (g_str_has_prefix (option_value (b.argv, "-fw_cfg", 0), "name=opt/com.example/a,,b,file="));
  /* the runtime dir carries the name too */
  g_assert_cmpstr (option_value (b.argv, "-chardev", 1), ==,
                   "socket,id=serial0,fd=4,logfile=/run/qlaunch/x,,id=y/serial.log");
  built_clear (&b);
}

/* A display password never stands on QEMU's command line; a display open
 * to the network without one is said before it starts. */
static void
test_display_password (void)
{
  g_autofree char *locked = data_profile ("display-password.ini");
  g_autofree char *open = data_profile ("spice-open.ini");
  g_autoptr(GError) error = NULL;
  Built b;

  g_assert_true (build (locked, FALSE, &b, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (option_value (b.argv, "-object", 0), "secret,id=display-password,file="));
  g_assert_true (g_str_has_suffix (option_value (b.argv, "-object", 0), "/vnc-password,format=raw"));
  g_assert_cmpstr (option_value (b.argv, "-vnc", 0), ==, "0.0.0.0:1,password-secret=display-password");
  for (guint i = 0; i < b.machine->notes->len; i++)
    g_assert_null (strstr (b.machine->notes->pdata[i], "without a password"));
  built_clear (&b);

  g_assert_true (build (open, FALSE, &b, &error));
  g_assert_cmpstr (option_value (b.argv, "-spice", 0), ==, "addr=0.0.0.0,port=5930,disable-ticketing=on");
  g_assert_cmpuint (b.machine->notes->len, >=, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (b.machine->notes, b.machine->notes->len - 1),
                                   "warning: [display] listen=0.0.0.0 lets anyone who can reach 0.0.0.0 see"));
  built_clear (&b);
}

static void
test_accel (void)
{
  g_autofree char *path = data_profile ("full.ini");
  g_autofree char *escape = data_profile ("escape.ini");
  g_autoptr(GError) error = NULL;
  Built b;

  /* accel=kvm on a host without usable KVM is refused with the reason and a fix */
  g_assert_false (build (path, FALSE, &b, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_cmpstr (error->message, ==,
                   "accel=kvm, but /dev/kvm is not usable: No such file or directory (Hint: set accel=auto or accel=tcg)");
  built_clear (&b);
  g_clear_error (&error);

  /* under KVM: host CPU with enlightenments and hidden hypervisor */
  g_assert_true (build (path, TRUE, &b, &error));
  g_assert_true (g_str_has_prefix (option_value (b.argv, "-machine", 0), "pc-q35-7.2,accel=kvm,"));
  g_assert_true (g_str_has_prefix (option_value (b.argv, "-cpu", 0), "host,kvm=off,hv_vendor_id=qlaunch0000,hv_relaxed,"));
  g_assert_nonnull (strstr (option_value (b.argv, "-cpu", 0), "hv_spinlocks=0x1fff"));
  built_clear (&b);

  /* under TCG: max, no enlightenments, and the user is told */
  g_assert_true (build (escape, FALSE, &b, &error));
  g_assert_cmpstr (option_value (b.argv, "-cpu", 0), ==, "max");
  g_assert_cmpstr (option_value (b.argv, "-machine", 0), ==, "pc-q35-7.2,accel=tcg,vmport=off");
  g_assert_cmpuint (b.machine->notes->len, ==, 1);
  g_assert_cmpstr (b.machine->notes->pdata[0], ==, "Hyper-V enlightenments are KVM-only; not used under TCG");
  built_clear (&b);
}

/* A tcg/bios profile with more [vm] lines, in a temp dir; returns its path. */
static char *
vm_profile (const char *dir, const char *vm_lines)
{
  g_autofree char *text = g_strdup_printf ("[vm]\nname = mt\naccel = tcg\nfirmware = bios\n%s", vm_lines);
  char *path = g_build_filename (dir, "mt.ini", NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static QlMachine *
resolve_with (const char *path, guint qemu, const char *pinned, QlProfile **ret_profile, QlHostFacts **ret_host,
              GError **error)
{
  *ret_profile = ql_profile_load (path, error);
  g_assert_nonnull (*ret_profile);
  *ret_host = fake_host (FALSE);
  g_clear_pointer (&(*ret_host)->qemu_caps, ql_qemu_caps_free);
  if (qemu != 0)
    (*ret_host)->qemu_caps = qemu_caps_fixture (qemu);
  (*ret_host)->pinned_machine = g_strdup (pinned);
  return ql_machine_resolve (*ret_profile, *ret_host, "/run/qlaunch/mt", "/var/lib/qlaunch/mt", error);
}

/* The machine type: what q35 is in this QEMU at the first start (pinned
 * then), the pin after, [vm] machine over both; one this QEMU lacks is
 * refused with the ones it has. */
static void
test_machine_type (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-mt-XXXXXX", NULL);
  static const struct {
    const char *vm_lines;
    guint qemu;
    const char *pinned;
    const char *type;         /* NULL: refused */
    gboolean pin;
    const char *error;
  } cases[] = {
    { "", 702, NULL, "pc-q35-7.2", TRUE, NULL },
    { "", 1000, NULL, "pc-q35-10.0", TRUE, NULL },
    { "", 1000, "pc-q35-7.2", "pc-q35-7.2", FALSE, NULL },            /* upgraded: the pin is kept */
    { "", 0, NULL, "q35", FALSE, NULL },                               /* QEMU not asked */
    { "machine = pc-q35-7.1\n", 1000, "pc-q35-7.2", "pc-q35-7.1", FALSE, NULL },
    { "machine = pc-q35-9.9\n", 702, NULL, NULL, FALSE,
      "/mt.ini: [vm] machine = pc-q35-9.9: QEMU 7.2 (/usr/bin/qemu-system-x86_64) has no such machine type; "
      "it has pc-q35-7.2, pc-q35-7.1, pc-q35-4.2" },
    { "", 702, "pc-q35-10.0", NULL, FALSE,
      "mt: the machine type pc-q35-10.0, pinned at the VM's first start (/var/lib/qlaunch/mt/machine-type.json), is not in QEMU 7.2 "
      "(/usr/bin/qemu-system-x86_64), which has pc-q35-7.2, pc-q35-7.1, pc-q35-4.2. Fix: set [vm] machine = one "
      "of these in " },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = vm_profile (dir, cases[i].vm_lines);
      g_autoptr(QlProfile) profile = NULL;
      g_autoptr(QlHostFacts) host = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(QlMachine) m = resolve_with (path, cases[i].qemu, cases[i].pinned, &profile, &host, &error);

      if (cases[i].type == NULL)
        {
          g_assert_null (m);
          g_assert_nonnull (error);
          g_assert_nonnull (strstr (error->message, cases[i].error));
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpstr (m->machine_type, ==, cases[i].type);
      g_assert_cmpint (m->pin_machine_type, ==, cases[i].pin);
      g_auto(GStrv) argv = ql_qemu_argv_build (m);
      g_autofree char *prefix = g_strconcat (cases[i].type, ",accel=tcg,", NULL);
      g_assert_true (g_str_has_prefix (option_value (argv, "-machine", 0), prefix));
    }
  fake_sysfs_remove (dir);
}

/* [vm] machine takes versioned q35 types only, with the file and line. */
static void
test_machine_type_syntax (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-mt-XXXXXX", NULL);
  static const char *const bad[] = { "q35", "pc-i440fx-7.2", "pc-q35-7", "pc-q35-7.2,accel=kvm", "pc-q35-7.2;x" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *line = g_strdup_printf ("machine = %s\n", bad[i]);
      g_autofree char *path = vm_profile (dir, line);
      g_autoptr(GError) error = NULL;
      g_autoptr(QlProfile) profile = ql_profile_load (path, &error);

      g_assert_null (profile);
      g_assert_nonnull (strstr (error->message, "mt.ini:5: [vm] machine: '"));
      g_assert_nonnull (strstr (error->message, "is not a versioned q35 machine type (like pc-q35-7.2"));
    }
  fake_sysfs_remove (dir);
}

static void
test_firmware (void)
{
  g_autofree char *secure = data_profile ("secure.ini");
  g_autofree char *full = data_profile ("full.ini");
  g_autoptr(GError) error = NULL;
  g_autofree char *code = g_build_filename (firmware_dir, "CODE.secboot.fd", NULL);
  Built b;

  g_assert_true (build (secure, FALSE, &b, &error));
  g_assert_true (b.machine->smm);
  g_assert_cmpstr (b.machine->firmware_code, ==, code);
  g_assert_cmpstr (b.machine->firmware_vars, ==, "/var/lib/qlaunch/secure/OVMF_VARS.fd");
  g_assert_true (g_str_has_suffix (option_value (b.argv, "-machine", 0), ",smm=on,pflash0=fw-code,pflash1=fw-vars,memory-backend=mem"));
  g_assert_true (has_arg (b.argv, "driver=cfi.pflash01,property=secure,value=on"));
  built_clear (&b);

  /* without Secure Boot the plain build is chosen, though the secure one ranks first */
  g_assert_true (build (full, TRUE, &b, &error));
  g_assert_false (b.machine->smm);
  g_assert_true (g_str_has_suffix (b.machine->firmware_code, "/CODE.fd"));
  g_assert_true (g_str_has_suffix (b.machine->firmware_vars_template, "/VARS.fd"));
  built_clear (&b);
}

static void
test_topology (void)
{
  g_autofree char *full = data_profile ("full.ini");
  g_autoptr(GError) error = NULL;
  Built b;

  g_assert_true (build (full, TRUE, &b, &error));
  /* VGA at 01.0, xHCI at 02.0, then NICs, then disks, in profile order */
  g_assert_cmpstr (option_value (b.argv, "-device", 0), ==, "virtio-vga,id=video0,bus=pcie.0,addr=01.0");
  g_assert_cmpstr (option_value (b.argv, "-device", 1), ==, "qemu-xhci,id=usb,bus=pcie.0,addr=02.0");
  g_assert_cmpuint (g_array_index (b.machine->net_slots, guint, 0), ==, 0x03);
  g_assert_cmpuint (g_array_index (b.machine->net_slots, guint, 1), ==, 0);     /* mode=none: no NIC */
  g_assert_cmpuint (g_array_index (b.machine->disk_slots, guint, 0), ==, 0x04); /* virtio */
  g_assert_cmpuint (g_array_index (b.machine->disk_slots, guint, 1), ==, 0x05); /* nvme */
  g_assert_cmpuint (g_array_index (b.machine->disk_slots, guint, 2), ==, 0);    /* sata: on the ICH9 AHCI */
  g_assert_cmpuint (b.machine->scsi_slot, ==, 0x06);
  g_assert_cmpstr (option_value (b.argv, "-smp", 0), ==, "8,sockets=1,cores=4,threads=2");
  g_assert_cmpstr (option_value (b.argv, "-object", 0), ==,
                   "memory-backend-file,id=mem,size=8192M,mem-path=/dev/hugepages,share=on,prealloc=on,prealloc-threads=8");
  /* qemu args come last, verbatim */
  g_assert_cmpstr (b.argv[g_strv_length (b.argv) - 1], ==, "-no-hpet");
  built_clear (&b);
}

static void
test_hugepages_missing (void)
{
  g_autofree char *full = data_profile ("full.ini");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) profile = ql_profile_load (full, &error);
  g_autoptr(QlHostFacts) host = fake_host (TRUE);
  g_autoptr(QlMachine) machine = NULL;

  g_assert_no_error (error);
  g_clear_pointer (&host->hugetlbfs_2m, g_free);
  machine = ql_machine_resolve (profile, host, "/run/qlaunch/full", "/var/lib/qlaunch/full", &error);
  g_assert_null (machine);
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_true (g_str_has_suffix (error->message,
                                   "/full.ini:16: [memory] hugepages: 2M, but no hugetlbfs with 2M pages is mounted "
                                   "(Hint: mount -t hugetlbfs -o pagesize=2M none /dev/hugepages)"));
}

static void
test_format (void)
{
  const char *argv[] = { "/usr/bin/qemu", "-name", "guest=a b,debug-threads=on", "it's", "", NULL };
  g_autofree char *text = ql_qemu_argv_format (argv);

  g_assert_cmpstr (text, ==, "/usr/bin/qemu\n-name\n'guest=a b,debug-threads=on'\n'it'\\''s'\n''\n");
}

/* Root ports and vfio-pci devices: the layout of the seeds' machines. */
static void
test_passthrough (void)
{
  g_autofree char *path = data_profile ("passthrough.ini");
  g_autoptr(GError) error = NULL;
  Built b;
  const char *gpu;

  g_assert_true (build (path, FALSE, &b, &error));
  g_assert_cmpstr (option_value (b.argv, "-device", 0), ==,
                   "pcie-root-port,id=rp-gpu,bus=pcie.0,addr=1c.0,multifunction=on,chassis=1,port=1");
  gpu = option_value (b.argv, "-device", 1);
  g_assert_true (g_str_has_prefix (gpu, "vfio-pci,host=0000:01:00.0,id=hostdev-gpu,bus=rp-gpu,addr=00.0,"
                                        "multifunction=on,x-pci-vendor-id=0x10de,x-pci-device-id=0x1bb6,"
                                        "x-pci-sub-vendor-id=0x1028,x-pci-sub-device-id=0x07b1,romfile="));
  g_assert_true (g_str_has_suffix (gpu, "/files/a,,b.img,rombar=1"));
  /* the audio function comes along by default, behind the same port */
  g_assert_cmpstr (option_value (b.argv, "-device", 2), ==,
                   "vfio-pci,host=0000:01:00.1,id=hostdev-gpu-f1,bus=rp-gpu,addr=00.1");
  g_assert_cmpstr (option_value (b.argv, "-device", 3), ==,
                   "pcie-root-port,id=rp-nic,bus=pcie.0,addr=1c.1,chassis=2,port=2");
  /* 8086:10d3#2 is the second such device */
  g_assert_cmpstr (option_value (b.argv, "-device", 4), ==,
                   "vfio-pci,host=0000:04:00.0,id=hostdev-nic,bus=rp-nic,addr=00.0,rombar=0");
  g_assert_cmpstr (option_value (b.argv, "-device", 5), ==,
                   "pcie-root-port,id=rp-audio,bus=pcie.0,addr=1d.0,chassis=3,port=3");
  g_assert_cmpstr (option_value (b.argv, "-device", 6), ==,
                   "vfio-pci,host=0000:02:00.1,id=hostdev-audio,bus=rp-audio,addr=00.0");
  built_clear (&b);
}

static void
test_passthrough_errors (void)
{
  static const struct { const char *pci, *message; } cases[] = {
    { "host = 07:00.0", "no PCI device 0000:07:00.0 on this host (see 'qlaunch devices')" },
    { "host = 10de:1234", "no PCI device 10de:1234 on this host (see 'qlaunch devices')" },
    { "host = 8086:10d3#3", "this host has 2 devices 8086:10d3; #3 does not exist" },
    { "host = 00:01.0", "0000:00:01.0 is a PCI bridge; pass through the device behind it" },
    { "host = 01:00.0\nfunctions = 0,3", "0000:01:00 has no function 3 (see 'qlaunch devices')" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf ("[vm]\nname = t\naccel = tcg\nfirmware = bios\n[pci gpu]\n%s\n",
                                               cases[i].pci);
      g_autoptr(QlProfile) profile = ql_profile_load_from_data (text, "/p/t.ini", NULL);
      g_autoptr(QlHostFacts) host = fake_host (FALSE);
      g_autoptr(QlMachine) machine = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *expected = g_strdup_printf ("/p/t.ini:6: [pci gpu] host: %s", cases[i].message);

      g_assert_nonnull (profile);
      machine = ql_machine_resolve (profile, host, "/run/qlaunch/t", "/var/lib/qlaunch/t", &error);
      g_assert_null (machine);
      g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
      g_assert_cmpstr (error->message, ==, expected);
    }
}

/* rom-acpi: the ROM in fw_cfg, the SSDT's path from the guest topology, and
 * its variant from the hotplug mode and QEMU's version. */
static void
test_rom_acpi (void)
{
  g_autofree char *path = data_profile ("rom-acpi.ini");
  g_autofree char *native = data_profile ("rom-acpi-native.ini");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) table = NULL;
  const QlMachineHostdev *h;
  Built b;

  g_assert_true (build (path, FALSE, &b, &error));
  h = b.machine->hostdevs->pdata[0];
  g_assert_cmpstr (h->acpi_path, ==, "\\_SB.PCI0.SE0.S00");
  g_assert_cmpstr (h->rom_fw_cfg_name, ==, "opt/org.qlaunch/dgpu-rom");
  g_assert_false (h->acpi_define_device);
  g_assert_cmpstr (b.machine->ssdt, ==, "/run/qlaunch/rom-acpi/qlaunch-ssdt.aml");
  g_assert_cmpstr (option_value (b.argv, "-device", 0), ==,
                   "pcie-root-port,id=rp-dgpu,bus=pcie.0,addr=1c.0,chassis=1,port=1,hotplug=off");
  g_assert_cmpstr (option_value (b.argv, "-acpitable", 0), ==, "file=/run/qlaunch/rom-acpi/qlaunch-ssdt.aml");
  g_assert_true (g_str_has_prefix (option_value (b.argv, "-fw_cfg", 0), "name=opt/org.qlaunch/dgpu-rom,file=/"));
  g_assert_true (g_str_has_suffix (option_value (b.argv, "-fw_cfg", 0), "/files/blob.bin"));
  g_assert_false (has_arg (b.argv, "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"));
  table = ql_ssdt_for_machine (b.machine);
  g_assert_nonnull (table);
  g_assert_nonnull (memmem (g_bytes_get_data (table, NULL), g_bytes_get_size (table), "SE0_S00_", 8));
  g_assert_nonnull (memmem (g_bytes_get_data (table, NULL), g_bytes_get_size (table), "BAT0", 4));
  built_clear (&b);
  g_clear_pointer (&table, g_bytes_unref);

  /* native hotplug: QEMU 7.2 (and a QEMU not asked) leaves S00 out, 8.0 and later describe it */
  static const guint versions[] = { 0, 702, 1000 };
  for (guint i = 0; i < G_N_ELEMENTS (versions); i++)
    {
      gboolean define = versions[i] < 800;
      QlSsdtRom expected[] = {
        { "\\_SB.PCI0.SE0.S00", "opt/org.qlaunch/gpu-rom", define, 0 },
        { "\\_SB.PCI0.SE8.S00", "opt/org.qlaunch/gpu2-rom", define, 0 },
      };
      g_autoptr(GBytes) expected_table = NULL;

      memset (&b, 0, sizeof b);
      b.profile = ql_profile_load (native, &error);
      g_assert_no_error (error);
      b.host = fake_host (FALSE);
      g_clear_pointer (&b.host->qemu_caps, ql_qemu_caps_free);
      if (versions[i] != 0)
        b.host->qemu_caps = qemu_caps_fixture (versions[i]);
      b.machine = ql_machine_resolve (b.profile, b.host, "/run/qlaunch/n", "/var/lib/qlaunch/n", &error);
      g_assert_no_error (error);
      b.argv = ql_qemu_argv_build (b.machine);
      g_assert_true (has_arg (b.argv, "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"));
      h = b.machine->hostdevs->pdata[0];
      g_assert_cmpstr (h->acpi_path, ==, "\\_SB.PCI0.SE0.S00");
      g_assert_cmpint (h->acpi_define_device, ==, define);
      h = b.machine->hostdevs->pdata[1];
      g_assert_cmpstr (h->acpi_path, ==, "\\_SB.PCI0.SE8.S00");
      g_assert_cmpstr (h->rom_fw_cfg_name, ==, "opt/org.qlaunch/gpu2-rom");
      g_assert_true (g_str_has_suffix (option_value (b.argv, "-fw_cfg", 1), "/files/a,,b.img"));
      /* the table reads each ROM in as many chunks as its file has */
      for (guint r = 0; r < G_N_ELEMENTS (expected); r++)
        {
          const QlMachineHostdev *hd = b.machine->hostdevs->pdata[r];
          GStatBuf st;

          g_assert_cmpint (g_stat (hd->pci->rom, &st), ==, 0);
          expected[r].rom_size = (gsize) st.st_size;
        }
      expected_table = ql_ssdt_build (expected, 2, FALSE);
      table = ql_ssdt_for_machine (b.machine);
      g_assert_true (g_bytes_equal (table, expected_table));
      g_clear_pointer (&table, g_bytes_unref);
      built_clear (&b);
    }
}

/* rom= at start: readable, a valid chain, the ids of the device the guest sees. */
static void
test_rom_check (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-romcheck-XXXXXX", NULL);
  g_autofree char *rom = g_build_filename (dir, "rom.bin", NULL);
  g_autofree char *dump = g_build_filename (dir, "flash-dump.bin", NULL);
  g_autofree char *legacy = g_build_filename (dir, "legacy.rom", NULL);
  g_autofree char *gone = g_build_filename (dir, "gone.rom", NULL);
  g_autoptr(GError) error = NULL;
  static const struct { const char *file, *extra, *firmware, *message, *note; } cases[] = {
    { "rom.bin", "", "bios", "/p/t.ini:7: [pci gpu] rom: '@/rom.bin' is not this device's ROM: the ROM is for "
      "10de:1c20, the device is 10de:1bb6; the guest driver would reject it", NULL },
    { "rom.bin", "device = 1c20\n", "bios", NULL, NULL },
    { "rom.bin", "vendor = 8086\n", "bios", "/p/t.ini:7: [pci gpu] rom: '@/rom.bin' is not this device's ROM: the ROM "
      "is for 10de:1c20, the device is 8086:1bb6 (with vendor=/device= applied); the guest driver would reject it", NULL },
    { "flash-dump.bin", "device = 1c20\n", "bios", "/p/t.ini:7: [pci gpu] rom: @/flash-dump.bin: not a valid PCI option "
      "ROM: image at 0x0: no ROM signature (55 AA), found 4E 56; if this is a flash-tool dump, try 'qlaunch rom patch' "
      "(check it with 'qlaunch rom info @/flash-dump.bin')", NULL },
    { "gone.rom", "device = 1c20\n", "bios", "/p/t.ini:7: [pci gpu] rom: QEMU cannot read '@/gone.rom': No such file or "
      "directory", NULL },
    { "legacy.rom", "device = 1c20\n", "uefi", NULL, "/p/t.ini:7: [pci gpu] rom: the ROM has no x86-64 EFI image: OVMF "
      "shows nothing on this GPU until the guest's driver loads" },
  };

  g_assert_true (rom_fixture_write_all (dir, &error));
  {
    /* the x86 image alone, marked last */
    g_autofree char *data = NULL;
    gsize len;
    g_assert_true (g_file_get_contents (rom, &data, &len, NULL));
    data[ROM_FIXTURE_PCIR + 0x15] = (char) 0x80;
    data[4095] = (char) (data[4095] - 0x80);   /* keep the checksum */
    g_assert_true (g_file_set_contents (legacy, data, 4096, NULL));
    g_assert_true (g_file_set_contents (gone, data, 4096, NULL));
  }
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename (dir, cases[i].file, NULL);
      g_autofree char *text = g_strdup_printf ("[vm]\nname = t\naccel = tcg\nfirmware = %s\n[pci gpu]\nhost = 01:00.0\n"
                                               "rom = %s\n%s", cases[i].firmware, path, cases[i].extra);
      g_autoptr(QlProfile) profile = ql_profile_load_from_data (text, "/p/t.ini", &error);
      g_autoptr(QlHostFacts) host = fake_host (FALSE);
      g_autoptr(QlMachine) machine = NULL;
      g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
      gboolean ok;

      g_assert_no_error (error);
      machine = ql_machine_resolve (profile, host, "/run/qlaunch/t", "/var/lib/qlaunch/t", &error);
      g_assert_no_error (error);
      if (strcmp (cases[i].file, "gone.rom") == 0)
        g_unlink (path);
      ok = ql_rom_check_for_machine (machine, notes, &error);
      if (cases[i].message == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
        }
      else
        {
          g_autoptr(GString) expected = g_string_new (cases[i].message);
          g_string_replace (expected, "@", dir, 0);
          g_assert_false (ok);
          g_assert_error (error, QL_ERROR, QL_ERROR_PROFILE);
          g_assert_cmpstr (error->message, ==, expected->str);
          g_clear_error (&error);
        }
      if (cases[i].note != NULL)
        {
          g_assert_cmpuint (notes->len, ==, 1);
          g_assert_cmpstr (notes->pdata[0], ==, cases[i].note);
        }
      else
        g_assert_cmpuint (notes->len, ==, 0);
    }
  fake_sysfs_remove (dir);   /* any tree */
}


/* Looking Glass's own table: 1080p in 32 MiB, 1440p in 64, 4K in 128. */
static void
test_looking_glass_sizes (void)
{
  g_assert_cmpuint (ql_looking_glass_size_for (1920, 1080), ==, 32 << 20);
  g_assert_cmpuint (ql_looking_glass_size_for (2560, 1440), ==, 64 << 20);
  g_assert_cmpuint (ql_looking_glass_size_for (3840, 2160), ==, 128 << 20);
  /* 1024x768: 6 MiB of frames and 10 MiB make exactly 16, not rounded further */
  g_assert_cmpuint (ql_looking_glass_size_for (1024, 768), ==, 16 << 20);
}

/* Resolves a profile text against a fake host with kvmfr and a QEMU version. */
static QlMachine *
resolve_desktop (const char *text, gboolean kvmfr, guint qemu_version, QlProfile **ret_profile,
                 QlHostFacts **ret_host, GError **error)
{
  g_autoptr(QlProfile) profile = ql_profile_load_from_data (text, "/nonexistent/d.ini", error);
  g_autoptr(QlHostFacts) host = NULL;
  QlMachine *m;

  g_assert_nonnull (profile);
  host = fake_host (FALSE);
  host->kvmfr = kvmfr;
  host->devfs = g_strdup ("/devroot");
  host->qemu_version = qemu_version;
  m = ql_machine_resolve (profile, host, "/run/qlaunch/d", "/var/lib/qlaunch/d", error);
  *ret_profile = g_steal_pointer (&profile);
  *ret_host = g_steal_pointer (&host);
  return m;
}

static void
test_desktop (void)
{
  static const char pipewire[] = "[vm]\nname = d\nfirmware = bios\n[audio]\nbackend = pipewire\n";
  static const char looking_glass[] = "[vm]\nname = d\nfirmware = bios\n[looking-glass]\n";
  g_autoptr(GError) error = NULL;
  QlProfile *p = NULL;
  QlHostFacts *h = NULL;
  QlMachine *m;
  g_auto(GStrv) argv = NULL;
  g_autofree char *id = NULL, *message = NULL, *json = NULL, *device = NULL;
  g_autoptr(JsonNode) args = NULL;

  /* pipewire: QEMU 7.2 has no such audiodev, and the fix is named; 8.1 and
   * a version not asked take it */
  m = resolve_desktop (pipewire, FALSE, 702, &p, &h, &error);
  g_assert_null (m);
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "backend=pipewire needs QEMU 8.1 or later"));
  g_assert_nonnull (strstr (error->message, "set backend=pa"));
  g_clear_error (&error);
  ql_profile_free (p);
  ql_host_facts_free (h);
  m = resolve_desktop (pipewire, FALSE, 801, &p, &h, &error);
  g_assert_no_error (error);
  argv = ql_qemu_argv_build (m);
  g_assert_true (g_strv_contains ((const char *const *) argv, "pipewire,id=audio0"));
  g_clear_pointer (&argv, g_strfreev);
  ql_machine_free (m);
  ql_profile_free (p);
  ql_host_facts_free (h);

  /* Looking Glass: kvmfr's device when the module is there, no file made */
  m = resolve_desktop (looking_glass, TRUE, 0, &p, &h, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->looking_glass_path, ==, "/devroot/kvmfr0");
  g_assert_false (m->looking_glass_shm);
  argv = ql_qemu_argv_build (m);
  g_assert_true (g_strv_contains ((const char *const *) argv,
                                  "memory-backend-file,id=looking-glass,mem-path=/devroot/kvmfr0,size=32M,share=on"));
  g_clear_pointer (&argv, g_strfreev);
  ql_machine_free (m);
  ql_profile_free (p);
  ql_host_facts_free (h);
  m = resolve_desktop (looking_glass, FALSE, 0, &p, &h, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->looking_glass_path, ==, "/devroot/shm/looking-glass-d");
  g_assert_true (m->looking_glass_shm);
  ql_machine_free (m);
  ql_profile_free (p);
  ql_host_facts_free (h);

  /* the console's usb-add: QMP wants numbers for the ids, a string for the port */
  args = ql_qemu_usb_host_arguments ("046D:c52b", &id, &message);
  g_assert_nonnull (args);
  json = json_to_string (args, FALSE);
  g_assert_cmpstr (json, ==, "{\"driver\":\"usb-host\",\"id\":\"usb-046d-c52b\",\"bus\":\"usb.0\","
                             "\"vendorid\":1133,\"productid\":50475}");
  g_clear_pointer (&args, json_node_unref);
  g_clear_pointer (&json, g_free);
  g_clear_pointer (&id, g_free);
  args = ql_qemu_usb_host_arguments ("3-1.2", &id, &message);
  json = json_to_string (args, FALSE);
  g_assert_cmpstr (json, ==, "{\"driver\":\"usb-host\",\"id\":\"usb-bus3-1_2\",\"bus\":\"usb.0\","
                             "\"hostbus\":3,\"hostport\":\"1.2\"}");
  g_assert_null (ql_qemu_usb_host_arguments ("3-", &id, &message));
  g_assert_nonnull (strstr (message, "is not VENDOR:PRODUCT"));
  g_clear_pointer (&message, g_free);
  device = ql_qemu_usb_host_device ("1-4", "u", &message);
  g_assert_cmpstr (device, ==, "usb-host,id=u,bus=usb.0,hostbus=1,hostport=4");
}

/* The desktop sections in libvirt's XML: the sound card and USB devices by
 * id as its elements; what it has no form for, or the export does not write
 * yet, named in a warning, never dropped silently; SPICE on its socket is
 * libvirt's local-only listen. */
static void
test_desktop_export (void)
{
  g_autofree char *path = data_profile ("desktop-spice.ini");
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) all = g_string_new (NULL);
  g_autofree char *xml = NULL;
  Built b;

  g_assert_true (build (path, TRUE, &b, &error));
  xml = ql_libvirt_export (b.machine, warnings);
  g_assert_nonnull (strstr (xml, "<listen type=\"none\"/>"));
  g_assert_nonnull (strstr (xml, "<sound model=\"ich9\"/>"));
  g_assert_nonnull (strstr (xml, "<vendor id=\"0x046d\"/>"));
  g_assert_nonnull (strstr (xml, "<product id=\"0xc52b\"/>"));
  g_assert_nonnull (strstr (xml, "section=\"audio\" name=\"backend\" value=\"pa\""));
  for (guint i = 0; i < warnings->len; i++)
    g_string_append_printf (all, "%s\n", (char *) warnings->pdata[i]);
  for (const char *const *w = (const char *const[]) { "[usb] host=1-4", "[usb] host=3-1.2", "[input]", "[looking-glass]", NULL };
       *w; w++)
    g_assert_nonnull (strstr (all->str, *w));
  built_clear (&b);
}

static void
add_golden_tests (const char *dir_path, const char *prefix)
{
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)))
    if (g_str_has_suffix (name, ".ini"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *test = g_strdup_printf ("/argv/golden/%s/%s", prefix, (char *) names->pdata[i]);
      g_autofree char *test10 = g_strdup_printf ("/argv/golden-qemu10/%s/%s", prefix, (char *) names->pdata[i]);
      g_test_add_data_func_full (test, g_build_filename (dir_path, names->pdata[i], NULL), test_golden, g_free);
      g_test_add_data_func_full (test10, g_build_filename (dir_path, names->pdata[i], NULL), test_golden_qemu10,
                                 g_free);
    }
}

int
main (int argc, char **argv)
{
  g_autofree char *examples = NULL;
  g_autofree char *data = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  make_firmware_fixture ();
  pci_sysfs = fake_sysfs_new ();
  fake_sysfs_add_cpus (pci_sysfs, 2, 4, 2, 0);
  examples = g_build_filename (g_getenv ("QL_SOURCE_ROOT"), "profiles", NULL);
  data = g_test_build_filename (G_TEST_DIST, "data", "profiles", NULL);
  add_golden_tests (examples, "profiles");
  add_golden_tests (data, "data");
  g_test_add_func ("/argv/escaping", test_escaping);
  g_test_add_func ("/argv/display-password", test_display_password);
  g_test_add_func ("/argv/accel", test_accel);
  g_test_add_func ("/argv/firmware", test_firmware);
  g_test_add_func ("/argv/machine-type", test_machine_type);
  g_test_add_func ("/argv/machine-type-syntax", test_machine_type_syntax);
  g_test_add_func ("/argv/topology", test_topology);
  g_test_add_func ("/argv/hugepages-missing", test_hugepages_missing);
  g_test_add_func ("/argv/format", test_format);
  g_test_add_func ("/argv/passthrough", test_passthrough);
  g_test_add_func ("/argv/passthrough-errors", test_passthrough_errors);
  g_test_add_func ("/argv/rom-acpi", test_rom_acpi);
  g_test_add_func ("/argv/rom-check", test_rom_check);
  g_test_add_func ("/argv/looking-glass-sizes", test_looking_glass_sizes);
  g_test_add_func ("/argv/desktop", test_desktop);
  g_test_add_func ("/argv/desktop-export", test_desktop_export);
  ret = g_test_run ();
  fake_sysfs_remove (pci_sysfs);
  g_free (pci_sysfs);
  {
    g_autoptr(GDir) dir = g_dir_open (firmware_dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (dir)))
      {
        g_autofree char *p = g_build_filename (firmware_dir, name, NULL);
        g_unlink (p);
      }
    g_rmdir (firmware_dir);
  }
  return ret;
}
