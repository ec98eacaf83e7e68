/* qlaunch import libvirt|proxmox and export libvirt, run as the user runs
 * them: the built binary imports the seeds' configurations (001's libvirt
 * XML, 003's Proxmox conf) and fixtures written from libvirt's domain format
 * reference and qm.conf(5); the profile it writes must pass 'qlaunch argv'
 * and 'qlaunch plan', and the argv must carry every device and property of
 * the original.  The host is the fake sysfs of the seeds' machines. */
#include "fake-sysfs.h"
#include "rom-fixtures.h"
#include "ql-import-libvirt.h"
#include "ql-import-proxmox.h"
#include "ql-error.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

static char *tmp_root;
static char *sysfs;
static const char *qlaunch;

static char *
fixture (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "data", "import", name, NULL);
}

static char *
read_text (const char *path)
{
  char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

/* Runs argv with stdin (NULL: none); returns the exit status. */
static int
run_argv (const char *const *argv, const char *stdin_text, char **ret_out, char **ret_err)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *out = NULL, *err = NULL;
  GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE |
                           (stdin_text ? G_SUBPROCESS_FLAGS_STDIN_PIPE : 0);

  proc = g_subprocess_newv (argv, flags, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, stdin_text, NULL, &out, &err, &error));
  g_assert_no_error (error);
  if (err != NULL && err[0] != '\0')
    g_test_message ("%s: %s", argv[1], err);
  if (ret_out)
    *ret_out = g_steal_pointer (&out);
  if (ret_err)
    *ret_err = g_steal_pointer (&err);
  return g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
}

static int
run_qlaunch (const char *stdin_text, char **ret_out, char **ret_err, ...) G_GNUC_NULL_TERMINATED;

static int
run_qlaunch (const char *stdin_text, char **ret_out, char **ret_err, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  va_list ap;
  const char *arg;

  g_ptr_array_add (argv, (char *) qlaunch);
  va_start (ap, ret_err);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return run_argv ((const char *const *) argv->pdata, stdin_text, ret_out, ret_err);
}

/* The files a profile names must exist for argv; the seeds' paths
 * (/var/lib/libvirt/images, /dev/pve, …) do not here.  Every absolute path
 * in the written profile is moved under root and made an empty file: the
 * profile stays as the importer wrote it otherwise. */
static char *
rebase_paths (const char *text, const char *root)
{
  g_autoptr(GRegex) path = g_regex_new ("(?<=[=; ])/(?=[A-Za-z])", G_REGEX_MULTILINE, 0, NULL);
  g_autoptr(GRegex) made = NULL;
  g_autofree char *replacement = g_strconcat (root, "/", NULL);
  g_autofree char *escaped = g_regex_escape_string (root, -1);
  g_autofree char *pattern = g_strconcat ("^(?!#).*$", NULL);
  char *rebased = g_regex_replace_literal (path, text, -1, 0, replacement, 0, NULL);
  g_autofree char *files_pattern = g_strconcat (escaped, "/[^\\s;,'\"]+", NULL);
  g_autoptr(GMatchInfo) match = NULL;

  made = g_regex_new (files_pattern, 0, 0, NULL);
  g_regex_match (made, rebased, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *file = g_match_info_fetch (match, 0);
      g_autofree char *dir = g_path_get_dirname (file);
      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      if (!g_file_test (file, G_FILE_TEST_EXISTS))
        g_assert_true (g_file_set_contents (file, "", 0, NULL));
      g_match_info_next (match, NULL);
    }
  return rebased;
}

/* The argv 'qlaunch argv' prints, one unquoted argument per element. */
static GStrv
argv_of (const char *profile)
{
  g_autofree char *out = NULL, *err = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_assert_cmpint (run_qlaunch (NULL, &out, &err, "argv", profile, NULL), ==, 0);
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      g_autofree char *arg = g_shell_unquote (lines[i], NULL);
      g_assert_nonnull (arg);
      g_strv_builder_add (builder, arg);
    }
  return g_strv_builder_end (builder);
}

/* Some "option value" pair of argv whose value contains each of the ';'-separated parts. */
static void
assert_option (const char *const *argv, const char *option, const char *parts)
{
  g_auto(GStrv) wanted = g_strsplit (parts, ";", -1);

  for (guint i = 0; argv[i] != NULL && argv[i + 1] != NULL; i++)
    {
      gboolean all = strcmp (argv[i], option) == 0;
      for (guint j = 0; all && wanted[j] != NULL; j++)
        all = strstr (argv[i + 1], wanted[j]) != NULL;
      if (all)
        return;
    }
  g_error ("no '%s' with %s in the argv", option, parts);
}

/* start and plan check every rom= against the device the guest sees: the
 * profiles' ROMs are the synthetic one (10de:1c20, as the fixtures' device
 * ids say). */
static void
write_roms (const char *profile)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_auto(GStrv) groups = NULL;
  g_autoptr(GBytes) rom = rom_fixture_rom ();

  g_assert_true (g_key_file_load_from_data (keyfile, profile, -1, 0, NULL));
  groups = g_key_file_get_groups (keyfile, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_autofree char *file = g_key_file_get_string (keyfile, groups[i], "rom", NULL);
      if (file != NULL && g_str_has_prefix (groups[i], "pci "))
        g_assert_true (g_file_set_contents (file, g_bytes_get_data (rom, NULL), g_bytes_get_size (rom), NULL));
    }
}

/* Imports with the binary into DIR/NAME.ini, paths rebased; returns the path. */
static char *
import_to_profile (const char *kind, const char *input, const char *name, char **ret_err)
{
  g_autofree char *dir = g_build_filename (tmp_root, name, NULL);
  g_autofree char *written = g_strconcat (dir, "/imported.ini", NULL);
  g_autofree char *root = g_build_filename (dir, "root", NULL);
  char *path = g_strconcat (dir, "/", name, ".ini", NULL);
  g_autofree char *text = NULL, *rebased = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (run_qlaunch (NULL, NULL, ret_err, "import", kind, input, "-o", written, NULL), ==, 0);
  text = read_text (written);
  rebased = rebase_paths (text, root);
  g_assert_true (g_file_set_contents (path, rebased, -1, NULL));
  write_roms (rebased);
  return path;
}

/* 'qlaunch plan' in a network namespace of its own that has the bridges
 * the profiles' taps join; SKIPs (by returning FALSE) without one. */
static gboolean
plan_passes (const char *profile, const char *bridges)
{
  g_autofree char *script = g_strdup_printf ("for b in %s; do ip link add \"$b\" type bridge || exit 77; done; "
                                             "exec \"$0\" plan \"$1\"", bridges);
  const char *argv[] = { "unshare", "--net", "--", "sh", "-c", script, qlaunch, profile, NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *unshare = g_find_program_in_path ("unshare"), *ip = g_find_program_in_path ("ip");
  int status;

  if (unshare == NULL || ip == NULL || getuid () != 0)
    {
      g_test_skip ("plan needs root, unshare and ip for a network namespace with the profile's bridges");
      return FALSE;
    }
  status = run_argv (argv, NULL, &out, &err);
  if (status == 77)
    {
      g_test_skip ("cannot make bridges in a new network namespace here");
      return FALSE;
    }
  g_test_message ("plan: %s", out);
  g_assert_cmpint (status, ==, 0);
  return TRUE;
}

static gboolean
has_warning (const char *err, const char *needle)
{
  g_auto(GStrv) lines = g_strsplit (err, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "warning: ") && strstr (lines[i], needle) != NULL)
      return TRUE;
  return FALSE;
}

/* A 1 GiB hugepage pool of 16 free pages on node 0 and host-wide. */
static void
add_1g_pool (void)
{
  const char *dirs[] = { "kernel/mm/hugepages/hugepages-1048576kB",
                         "devices/system/node/node0/hugepages/hugepages-1048576kB" };

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *dir = g_build_filename (sysfs, dirs[i], NULL);
      const char *files[] = { "nr_hugepages", "free_hugepages", "surplus_hugepages", "resv_hugepages" };
      g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
      for (guint j = 0; j < G_N_ELEMENTS (files); j++)
        {
          g_autofree char *path = g_build_filename (dir, files[j], NULL);
          g_assert_true (g_file_set_contents (path, j < 2 ? "16\n" : "0\n", -1, NULL));
        }
    }
}

/* A procfs with the host's cpuinfo and meminfo (KVM or not, as the host)
 * and hugetlbfs mounted for both page sizes; no processes, so nothing
 * holds the fake devices. */
static char *
fake_procfs (void)
{
  char *procfs = g_build_filename (tmp_root, "proc", NULL);
  g_autofree char *cpuinfo = NULL, *meminfo = NULL;
  g_autofree char *hugetlbfs = g_build_filename (tmp_root, "hugepages", NULL);
  g_autofree char *mounts_text = g_strdup_printf ("hugetlbfs %s/2M hugetlbfs rw,pagesize=2M 0 0\n"
                                                  "hugetlbfs %s/1G hugetlbfs rw,pagesize=1024M 0 0\n",
                                                  hugetlbfs, hugetlbfs);

  g_assert_cmpint (g_mkdir_with_parents (procfs, 0755), ==, 0);
  g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL);
  g_file_get_contents ("/proc/meminfo", &meminfo, NULL, NULL);
  {
    const char *files[][2] = { { "cpuinfo", cpuinfo ? cpuinfo : "" }, { "meminfo", meminfo ? meminfo : "" },
                               { "mounts", mounts_text } };
    for (guint i = 0; i < G_N_ELEMENTS (files); i++)
      {
        g_autofree char *path = g_build_filename (procfs, files[i][0], NULL);
        g_assert_true (g_file_set_contents (path, files[i][1], -1, NULL));
      }
  }
  return procfs;
}

/* Points a fake device's driver link at vfio-pci (NULL: puts the last one back). */
static void
give_to_vfio (const char *address)
{
  static char *moved, *original;
  g_autofree char *link = NULL;

  if (address == NULL && moved == NULL)
    return;
  link = g_build_filename (sysfs, "bus/pci/devices", address ? address : moved, "driver", NULL);
  if (address != NULL)
    {
      g_autofree char *vfio = g_build_filename (sysfs, "bus/pci/drivers/vfio-pci", NULL);
      moved = g_strdup (address);
      original = g_file_read_link (link, NULL);
      g_assert_nonnull (original);
      g_assert_cmpint (g_unlink (link), ==, 0);
      g_assert_cmpint (symlink (vfio, link), ==, 0);
      return;
    }
  g_assert_cmpint (g_unlink (link), ==, 0);
  g_assert_cmpint (symlink (original, link), ==, 0);
  g_clear_pointer (&moved, g_free);
  g_clear_pointer (&original, g_free);
}

/* Seed 001: the Lenovo R720's domain XML, GVT-g mdev and the NVIDIA dGPU
 * with its subsystem ids set by <qemu:commandline> -set. */
static void
test_libvirt_seed_001 (void)
{
  g_autofree char *xml = fixture ("seed-001-win10.xml"), *err = NULL;
  g_autofree char *profile = import_to_profile ("libvirt", xml, "seed-001", &err);
  g_auto(GStrv) argv = argv_of (profile);
  const char *const *a = (const char *const *) argv;

  assert_option (a, "-name", "guest=Win10,");
  assert_option (a, "-uuid", "6f0e09e1-a7d4-4d33-b4f8-0dc69eaaed9b");
  assert_option (a, "-m", "4096M");
  assert_option (a, "-smp", "8,sockets=1,cores=4,threads=2");
  assert_option (a, "-cpu", "host");
  assert_option (a, "-machine", "pc-q35-4.2,");   /* the guest's machine type, kept */
  assert_option (a, "-machine", "pflash0=fw-code");
  assert_option (a, "-blockdev", "/var/lib/libvirt/images/Win10.img");
  assert_option (a, "-device", "virtio-blk-pci;bootindex=1");
  assert_option (a, "-blockdev", "/mnt/files/LegacyOS/Common/virtio-win-0.1.141.iso");
  assert_option (a, "-device", "ide-cd;bootindex=2");
  assert_option (a, "-netdev", "tap,");
  assert_option (a, "-device", "virtio-net-pci;mac=52:54:00:b0:65:5a");
  assert_option (a, "-spice", "gl=on");
  assert_option (a, "-device", "vfio-pci,host=0000:01:00.0;x-pci-vendor-id=0x10de;x-pci-device-id=0x1c8d;"
                 "x-pci-sub-vendor-id=0x17aa;x-pci-sub-device-id=0x39d1;rombar=0");
  assert_option (a, "-acpitable", "/ssdt1.dat");
  /* the GVT-g mdev, with every -set device.hostdev0.* of the XML */
  assert_option (a, "-device", "vfio-pci-nohotplug,id=hostdev0;sysfsdev=;af5972fb-5530-41a7-0000-fd836204445b;"
                 "display=on;ramfb=on;x-igd-opregion=on;xres=1920;yres=1080;romfile=;vbios_gvt_uefi.rom");
  assert_option (a, "-rtc", "base=localtime,driftfix=slew");
  assert_option (a, "-machine", "hpet=off");
  assert_option (a, "-device", "ich9-intel-hda");
  assert_option (a, "-device", "usb-redir");
  /* what qlaunch cannot do, named with its line */
  g_assert_true (has_warning (err, "seed-001-win10.xml:211: <qemu:env name='MESA_LOADER_DRIVER_OVERRIDE'"));
  g_assert_true (has_warning (err, "seed-001-win10.xml:156: <image> not imported"));
  g_assert_true (has_warning (err, "seed-001-win10.xml:165: mediated device hostdev0"));
  g_assert_true (has_warning (err, "seed-001-win10.xml:15: <nvram>"));
  /* The R720's MUXless GTX 1050 has no audio function; the fake host's
   * dGPU has one in its IOMMU group, given to vfio-pci as plan's fix says. */
  give_to_vfio ("0000:01:00.1");
  plan_passes (profile, "br0");
  give_to_vfio (NULL);
}

/* libvirt's domain format reference: pinning, hugepages, iothreads,
 * Secure Boot, a multi-function hostdev behind a root port at 1c.0 with
 * qemu:override, sysinfo fwcfg, evdev, shmem; tpm and watchdog warned. */
static void
test_libvirt_reference (void)
{
  g_autofree char *xml = fixture ("libvirt-doc.xml"), *err = NULL;
  g_autofree char *profile = import_to_profile ("libvirt", xml, "doc-vm", &err);
  g_auto(GStrv) argv = argv_of (profile);
  const char *const *a = (const char *const *) argv;

  assert_option (a, "-machine", "smm=on");
  assert_option (a, "-m", "8192M");
  assert_option (a, "-smp", "4,sockets=1,cores=2,threads=2");
  assert_option (a, "-object", "memory-backend-file;/2M;prealloc=on");
  assert_option (a, "-object", "iothread,id=io0");
  assert_option (a, "-blockdev", "driver=qcow2;file=disk-system-file");
  assert_option (a, "-blockdev", "/srv/vm/system.qcow2;cache.direct=on;aio=native;discard=unmap");
  assert_option (a, "-device", "virtio-blk-pci,drive=disk-system-fmt;iothread=io0;bootindex=1");
  assert_option (a, "-blockdev", "/dev/disk/by-id/ata-games");
  assert_option (a, "-device", "ide-hd,drive=disk-sdb-fmt;write-cache=off");
  assert_option (a, "-device", "ide-cd,drive=cdrom-sdc-fmt");
  assert_option (a, "-netdev", "tap,id=net-net0,fds=;vhost=on");
  assert_option (a, "-device", "virtio-net-pci,netdev=net-net0;mac=52:54:00:12:34:56;mq=on;host_mtu=1500");
  assert_option (a, "-netdev", "user,id=net-net1");
  assert_option (a, "-device", "e1000e,netdev=net-net1;mac=52:54:00:12:34:57");
  assert_option (a, "-device", "pcie-root-port,id=rp-gpu,bus=pcie.0,addr=1c.0");
  assert_option (a, "-device", "vfio-pci,host=0000:01:00.0,id=hostdev-gpu;multifunction=on;x-pci-device-id=0x1c20;"
                 "x-pci-sub-vendor-id=0x1028;x-pci-sub-device-id=0x07b1;romfile=;/srv/vm/gpu.rom;rombar=1;x-vga=on");
  assert_option (a, "-device", "vfio-pci,host=0000:01:00.1");
  assert_option (a, "-vnc", "127.0.0.1:1");
  /* x-vga makes the GPU the VGA: the <video> qxl is left out, with a warning */
  g_assert_true (has_warning (err, "[pci gpu] x-vga=true: the passed-through GPU is the guest's VGA"));
  assert_option (a, "-fw_cfg", "name=opt/com.example/name;/srv/vm/fwcfg-name.bin");
  assert_option (a, "-fw_cfg", "name=opt/com.example/blob;/srv/vm/blob.bin");
  assert_option (a, "-object", "input-linux;evdev=;usb-kbd-event-kbd;grab_all=on");
  assert_option (a, "-device", "ivshmem-plain,memdev=shmem-looking-glass");
  assert_option (a, "-global", "ICH9-LPC.noreboot=off");
  g_assert_true (has_warning (err, "libvirt-doc.xml:116: <tpm> not imported"));
  g_assert_true (has_warning (err, "libvirt-doc.xml:119: <watchdog> not imported"));
  plan_passes (profile, "br0");
}

/* Seed 003: the GTX 750 guide's "GPU OVMF PCI Express Passthrough". */
static void
test_proxmox_seed_003 (void)
{
  g_autofree char *conf = fixture ("seed-003-100.conf"), *err = NULL;
  g_autofree char *profile = import_to_profile ("proxmox", conf, "seed-003", &err);
  g_auto(GStrv) argv = argv_of (profile);
  const char *const *a = (const char *const *) argv;

  assert_option (a, "-name", "guest=gtx750,");
  assert_option (a, "-m", "8192M");
  assert_option (a, "-smp", "4,sockets=1,cores=4,threads=1");
  assert_option (a, "-machine", "pflash0=fw-code");
  /* hostpci0: 01:00 is every function of the slot */
  assert_option (a, "-device", "vfio-pci,host=0000:01:00.0;multifunction=on;x-vga=on");
  assert_option (a, "-device", "vfio-pci,host=0000:01:00.1");
  assert_option (a, "-netdev", "tap,;vhost=on");
  assert_option (a, "-device", "virtio-net-pci;mac=bc:24:11:5e:7a:01");
  assert_option (a, "-device", "virtio-scsi-pci");
  assert_option (a, "-device", "scsi-hd;bootindex=1");
  assert_option (a, "-blockdev", "/dev/pve/vm-100-disk-0;cache.direct=off");
  g_assert_true (has_warning (err, "seed-003-100.conf:14: scsi0: volume local-lvm:vm-100-disk-0"));
  g_assert_true (has_warning (err, "pvesm path local-lvm:vm-100-disk-0"));
  plan_passes (profile, "vmbr0");
}

/* qm.conf(5): every option class the importer maps, and some it cannot. */
static void
test_proxmox_reference (void)
{
  g_autofree char *conf = fixture ("proxmox-full-101.conf"), *err = NULL;
  g_autofree char *profile = import_to_profile ("proxmox", conf, "gaming", &err);
  g_autofree char *text = NULL, *out = NULL, *refused = NULL;
  g_autoptr(GString) unpinned = NULL;
  g_auto(GStrv) argv = NULL;
  const char *const *a;

  /* the guest's machine type is kept; a QEMU without it (Debian 12's 7.2
   * has no pc-q35-8.1) refuses it with the types it has, and without the
   * line the profile takes that QEMU's q35 */
  g_assert_true (g_file_get_contents (profile, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\nmachine=pc-q35-8.1\n"));
  if (run_qlaunch (NULL, &out, &refused, "argv", profile, NULL) != 0)
    {
      g_assert_nonnull (strstr (refused, "[vm] machine = pc-q35-8.1: QEMU "));
      g_assert_nonnull (strstr (refused, "has no such machine type; it has pc-q35-"));
      unpinned = g_string_new (text);
      g_string_replace (unpinned, "\nmachine=pc-q35-8.1\n", "\n", 1);
      g_assert_true (g_file_set_contents (profile, unpinned->str, -1, NULL));
    }
  argv = argv_of (profile);
  a = (const char *const *) argv;

  assert_option (a, "-uuid", "4d7a9c1e-2b3f-4e5a-8c6d-7e8f9a0b1c2d");
  assert_option (a, "-m", "16384M");
  assert_option (a, "-smp", "6,sockets=2,cores=3,threads=1");
  assert_option (a, "-machine", "smm=on");
  assert_option (a, "-object", "memory-backend-file;/1G");
  assert_option (a, "-device", "vfio-pci,host=0000:01:00.0;x-pci-vendor-id=0x10de;x-pci-device-id=0x1c20;"
                 "x-pci-sub-vendor-id=0x1028;x-pci-sub-device-id=0x07b1;romfile=;/var/lib/vz/quadro.rom;rombar=0;"
                 "x-vga=on");
  assert_option (a, "-device", "vfio-pci,host=0000:01:00.1");
  assert_option (a, "-device", "vfio-pci,host=0000:02:00.0,id=hostdev-hostpci1");
  assert_option (a, "-device", "vfio-pci,id=hostpci2;00000002-0000-0000-0000-000000000101");
  assert_option (a, "-acpitable", "/var/lib/vz/ssdt-battery.aml");
  assert_option (a, "-fw_cfg", "name=opt/com.example/blob");
  assert_option (a, "-blockdev", "nvme-Samsung_SSD_970_EVO_1TB_S1234;aio=native;discard=unmap");
  assert_option (a, "-device", "virtio-blk-pci,drive=disk-virtio0-fmt;iothread=io0;bootindex=1");
  assert_option (a, "-device", "ide-cd;bootindex=2");
  assert_option (a, "-netdev", "tap,id=net-net0,fds=");
  assert_option (a, "-device", "e1000e,netdev=net-net1;mac=bc:24:11:aa:bb:02");
  assert_option (a, "-rtc", "base=localtime");
  assert_option (a, "-device", "ivshmem-plain");
  assert_option (a, "-device", "usb-host,id=usb-host0,bus=usb.0,vendorid=0x046d,productid=0xc52b");
  assert_option (a, "-device", "ich9-intel-hda");
  assert_option (a, "-global", "kvm-pit.lost_tick_policy=discard");
  g_assert_true (has_warning (err, "proxmox-full-101.conf:25: net1: tag=20 not imported"));
  g_assert_true (has_warning (err, "proxmox-full-101.conf:38: sata1: volume nas:101/vm-101-disk-4.qcow2 not imported: "
                                   "run 'pvesm path nas:101/vm-101-disk-4.qcow2'"));
  g_assert_true (has_warning (err, "proxmox-full-101.conf:33: tpmstate0"));
  g_assert_true (has_warning (err, "proxmox-full-101.conf:11: cpu: flags=+pcid not imported"));
  g_assert_nonnull (strstr (err, "note: ") );
  g_assert_nonnull (strstr (err, "proxmox-full-101.conf:41: [before-update] and what follows"));
  add_1g_pool ();
  plan_passes (profile, "vmbr0 vmbr1");
}

/* virsh dumpxml NAME | qlaunch import libvirt - */
static void
test_libvirt_stdin (void)
{
  g_autofree char *xml = fixture ("seed-001-win10.xml");
  g_autofree char *text = read_text (xml), *out = NULL, *err = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *host = NULL;

  g_assert_cmpint (run_qlaunch (text, &out, &err, "import", "libvirt", "-", NULL), ==, 0);
  g_assert_true (g_key_file_load_from_data (keyfile, out, -1, G_KEY_FILE_KEEP_COMMENTS, NULL));
  host = g_key_file_get_string (keyfile, "pci hostdev1", "host", NULL);
  g_assert_cmpstr (host, ==, "01:00.0");
  g_assert_true (has_warning (err, "<stdin>:211: <qemu:env"));
}

/* Bad input is refused with the file and line; an existing file is kept. */
static void
test_refusals (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlImport) import = NULL;
  g_autofree char *existing = g_build_filename (tmp_root, "existing.ini", NULL);
  g_autofree char *xml = fixture ("seed-001-win10.xml"), *err = NULL, *kept = NULL;

  {
    const char *bad = "<domain>\n<name>x</nam>\n</domain>";
    import = ql_import_libvirt (bad, strlen (bad), "bad.xml", &error);
  }
  g_assert_null (import);
  g_assert_error (error, QL_ERROR, QL_ERROR_PROFILE);
  g_assert_true (g_str_has_prefix (error->message, "bad.xml:2: not well-formed XML: "));
  g_clear_error (&error);

  import = ql_import_libvirt ("<network/>", strlen ("<network/>"), "net.xml", &error);
  g_assert_error (error, QL_ERROR, QL_ERROR_PROFILE);
  g_assert_cmpstr (error->message, ==, "net.xml:1: not a libvirt domain (the root element is <network>, not <domain>)");
  g_clear_error (&error);

  import = ql_import_proxmox ("cores: 2\nthis is not a key\n", "100.conf", 100, &error);
  g_assert_error (error, QL_ERROR, QL_ERROR_PROFILE);
  g_assert_cmpstr (error->message, ==, "100.conf:2: 'this is not a key' is not 'key: value'; not a Proxmox VM "
                   "configuration");
  g_clear_error (&error);

  /* external entities are never read */
  {
    const char *xxe = "<!DOCTYPE d [<!ENTITY x SYSTEM \"/etc/passwd\">]><domain><name>&x;</name></domain>";
    import = ql_import_libvirt (xxe, strlen (xxe), "xxe.xml", &error);
  }
  if (import != NULL)
    {
      g_autofree char *profile = ql_import_to_data (import, "libvirt");
      g_assert_null (strstr (profile, "root:"));
    }
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (existing, "[vm]\nname = mine\n", -1, NULL));
  g_assert_cmpint (run_qlaunch (NULL, NULL, &err, "import", "libvirt", xml, "-o", existing, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "exists; not overwritten (--force does)"));
  kept = read_text (existing);
  g_assert_cmpstr (kept, ==, "[vm]\nname = mine\n");
}

/* Proxmox's romfile= is a name in /usr/share/kvm; ids are hex without 0x;
 * a cluster mapping is named, not guessed. */
static void
test_proxmox_values (void)
{
  const char *conf = "hostpci0: 02:00.0,romfile=gtx750.rom,vendor-id=0x10de,sub-device-id=362d\n"
                     "hostpci1: mapping=gpu0,pcie=1\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(QlImport) import = ql_import_proxmox (conf, "102.conf", 102, &error);
  g_autofree char *text = NULL, *rom = NULL, *vendor = NULL, *subdevice = NULL, *functions = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  const GPtrArray *warnings;

  g_assert_no_error (error);
  text = ql_import_to_data (import, "Proxmox");
  g_assert_true (g_key_file_load_from_data (keyfile, text, -1, 0, NULL));
  rom = g_key_file_get_string (keyfile, "pci hostpci0", "rom", NULL);
  vendor = g_key_file_get_string (keyfile, "pci hostpci0", "vendor", NULL);
  subdevice = g_key_file_get_string (keyfile, "pci hostpci0", "sub-device", NULL);
  functions = g_key_file_get_string (keyfile, "pci hostpci0", "functions", NULL);
  g_assert_cmpstr (rom, ==, "/usr/share/kvm/gtx750.rom");
  g_assert_cmpstr (vendor, ==, "10de");
  g_assert_cmpstr (subdevice, ==, "362d");
  g_assert_cmpstr (functions, ==, "0");
  g_assert_false (g_key_file_has_group (keyfile, "pci hostpci1"));
  warnings = ql_import_warnings (import);
  g_assert_cmpuint (warnings->len, ==, 1);
  g_assert_cmpstr (warnings->pdata[0], ==, "102.conf:2: hostpci1: mapping=gpu0 not imported: a cluster resource "
                   "mapping; put the device's address in host= ('pvesh get /cluster/mapping/pci/gpu0')");
}

static int
compare_args (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Equal argvs, up to the order of the options: each argument of one is an
 * argument of the other, as many times. */
static void
assert_same_argv (GStrv a, GStrv b)
{
  guint n = g_strv_length (a), m = g_strv_length (b);

  for (guint i = 0; i < MAX (n, m); i++)
    if (i >= n || i >= m || strcmp (a[i], b[i]) != 0)
      g_test_message ("argv %u: %s | %s", i, i < n ? a[i] : "-", i < m ? b[i] : "-");
  g_assert_cmpuint (n, ==, m);
  qsort (a, n, sizeof (char *), compare_args);
  qsort (b, m, sizeof (char *), compare_args);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (a[i], ==, b[i]);
}

/* virt-xml-validate (libvirt-clients): the schema of the libvirt installed. */
static void
assert_libvirt_accepts (const char *xml)
{
  g_autofree char *validate = g_find_program_in_path ("virt-xml-validate"), *out = NULL, *err = NULL;
  const char *argv[] = { "virt-xml-validate", xml, "domain", NULL };

  if (validate == NULL)
    {
      g_test_message ("SKIP schema check: virt-xml-validate is not installed (libvirt-clients)");
      return;
    }
  g_assert_cmpint (run_argv (argv, NULL, &out, &err), ==, 0);
  g_assert_true (strstr (out, " validates") != NULL || strstr (err, " validates") != NULL);
}

/* export → import: the machine comes back (argv equal up to ordering). */
static void
round_trip (const char *profile, const char *name)
{
  g_autofree char *dir = g_build_filename (tmp_root, "round-trip", name, NULL);
  g_autofree char *xml = g_build_filename (dir, "exported.xml", NULL);
  g_autofree char *back = g_strconcat (dir, "/", name, ".ini", NULL);
  g_autofree char *err = NULL;
  g_auto(GStrv) before = argv_of (profile);
  g_auto(GStrv) after = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (run_qlaunch (NULL, NULL, NULL, "export", "libvirt", profile, "-o", xml, NULL), ==, 0);
  assert_libvirt_accepts (xml);
  g_assert_cmpint (run_qlaunch (NULL, NULL, &err, "import", "libvirt", xml, "-o", back, NULL), ==, 0);
  after = argv_of (back);
  assert_same_argv (before, after);
}

/* Every key the exporter carries, through libvirt's XML and back. */
static void
test_round_trip (void)
{
  g_autofree char *profile = fixture ("roundtrip.ini"), *xml = NULL;
  g_autofree char *text = NULL;

  round_trip (profile, "roundtrip");
  /* what libvirt has no element for is in its qemu: namespace */
  g_assert_cmpint (run_qlaunch (NULL, &text, NULL, "export", "libvirt", profile, NULL), ==, 0);
  g_assert_nonnull (strstr (text, "<qemu:property name=\"x-pci-sub-device-id\" type=\"unsigned\" value=\"1969\"/>"));
  g_assert_nonnull (strstr (text, "<qemu:property name=\"x-vga\" type=\"bool\" value=\"true\"/>"));
  g_assert_nonnull (strstr (text, "<qemu:arg value=\"-global\"/>"));
  g_assert_nonnull (strstr (text, "<alias name=\"ua-pci-gpu\"/>"));
  g_assert_nonnull (strstr (text, "<target chassis=\"2\" port=\"0x2\" hotplug=\"off\"/>"));
}

/* Seed 001 imported, exported for libvirt, and imported again. */
static void
test_round_trip_seed (void)
{
  g_autofree char *xml = fixture ("seed-001-win10.xml"), *err = NULL;
  g_autofree char *profile = import_to_profile ("libvirt", xml, "seed-001-rt", &err);

  round_trip (profile, "Win10");
}

/* The values of every "option VALUE" pair of argv. */
static GPtrArray *
values_of (const char *const *argv, const char *option)
{
  GPtrArray *values = g_ptr_array_new ();

  for (guint i = 0; argv[i] != NULL && argv[i + 1] != NULL; i++)
    if (strcmp (argv[i], option) == 0)
      g_ptr_array_add (values, (char *) argv[i + 1]);
  return values;
}

/* key=value of a QEMU option string ("vfio-pci,host=…,rombar=0"); NULL if absent. */
static char *
opt_value (const char *opts, const char *key)
{
  g_auto(GStrv) parts = g_strsplit (opts, ",", -1);
  g_autofree char *prefix = g_strconcat (key, "=", NULL);

  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_has_prefix (parts[i], prefix))
      return g_strdup (parts[i] + strlen (prefix));
  return NULL;
}

/* libvirt's -device '{"driver":…}' whose member has that value. */
static JsonObject *
json_device (GPtrArray *devices, const char *member, const char *value)
{
  for (guint i = 0; i < devices->len; i++)
    {
      const char *text = devices->pdata[i];
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *object;

      if (text[0] != '{' || !json_parser_load_from_data (parser, text, -1, NULL))
        continue;
      object = json_node_get_object (json_parser_get_root (parser));
      if (json_object_has_member (object, member) &&
          g_strcmp0 (json_object_get_string_member_with_default (object, member, ""), value) == 0)
        return json_object_ref (object);
    }
  return NULL;
}

/* Each vfio-pci of qlaunch's argv is in libvirt's, with the same overrides. */
static void
compare_hostdevs (const char *const *ours, GPtrArray *native)
{
  static const char *const ids[] = { "x-pci-vendor-id", "x-pci-device-id", "x-pci-sub-vendor-id",
                                     "x-pci-sub-device-id", "rombar", NULL };
  g_autoptr(GPtrArray) devices = values_of (ours, "-device");
  guint compared = 0;

  for (guint i = 0; i < devices->len; i++)
    {
      const char *opts = devices->pdata[i];
      g_autofree char *host = opt_value (opts, "host"), *rom = opt_value (opts, "romfile");
      g_autofree char *x_vga = opt_value (opts, "x-vga");
      g_autoptr(JsonObject) theirs = NULL;

      if (!g_str_has_prefix (opts, "vfio-pci,"))
        continue;
      theirs = json_device (native, "host", host);
      g_assert_nonnull (theirs);
      g_assert_cmpstr (json_object_get_string_member (theirs, "driver"), ==, "vfio-pci");
      for (guint j = 0; ids[j] != NULL; j++)
        {
          g_autofree char *value = opt_value (opts, ids[j]);
          if (value != NULL)
            g_assert_cmpint (g_ascii_strtoll (value, NULL, 0), ==, json_object_get_int_member (theirs, ids[j]));
          else
            g_assert_false (json_object_has_member (theirs, ids[j]));
        }
      g_assert_cmpstr (rom, ==, json_object_get_string_member_with_default (theirs, "romfile", NULL));
      g_assert_true ((x_vga != NULL) == json_object_get_boolean_member_with_default (theirs, "x-vga", FALSE));
      compared++;
    }
  g_assert_cmpuint (compared, ==, 4);
}

/* The root ports at the same slots, with the same hotplug. */
static void
compare_root_ports (const char *const *ours, GPtrArray *native)
{
  g_autoptr(GPtrArray) devices = values_of (ours, "-device");

  for (guint i = 0; i < devices->len; i++)
    {
      const char *opts = devices->pdata[i];
      g_autofree char *addr = opt_value (opts, "addr"), *hotplug = opt_value (opts, "hotplug");
      g_autofree char *theirs_addr = NULL;
      g_autoptr(JsonObject) theirs = NULL;
      guint slot, function;

      if (!g_str_has_prefix (opts, "pcie-root-port,"))
        continue;
      g_assert_cmpint (sscanf (addr, "%x.%x", &slot, &function), ==, 2);
      theirs_addr = function ? g_strdup_printf ("0x%x.0x%x", slot, function) : g_strdup_printf ("0x%x", slot);
      theirs = json_device (native, "addr", theirs_addr);
      g_assert_nonnull (theirs);
      g_assert_cmpstr (json_object_get_string_member (theirs, "driver"), ==, "pcie-root-port");
      g_assert_true (json_object_get_boolean_member_with_default (theirs, "hotplug", TRUE) == (hotplug == NULL));
    }
}

/* The same image files, tables, fw_cfg files, memory, topology and uuid. */
static void
compare_machine (const char *const *ours, const char *const *native)
{
  g_autoptr(GPtrArray) blockdevs = values_of (ours, "-blockdev");
  g_autoptr(GPtrArray) their_blockdevs = values_of (native, "-blockdev");
  const char *options[] = { "-acpitable", "-fw_cfg", "-uuid", NULL };

  for (guint i = 0; i < blockdevs->len; i++)
    {
      g_autofree char *file = opt_value (blockdevs->pdata[i], "filename");
      g_autofree char *needle = file ? g_strdup_printf ("\"filename\":\"%s\"", file) : NULL;
      gboolean found = needle == NULL;
      for (guint j = 0; !found && j < their_blockdevs->len; j++)
        found = strstr (their_blockdevs->pdata[j], needle) != NULL;
      g_assert_true (found);
    }
  for (guint k = 0; options[k] != NULL; k++)
    {
      g_autoptr(GPtrArray) a = values_of (ours, options[k]), b = values_of (native, options[k]);
      g_assert_cmpuint (a->len, ==, b->len);
      for (guint i = 0; i < a->len; i++)
        g_assert_true (g_ptr_array_find_with_equal_func (b, a->pdata[i], g_str_equal, NULL));
    }
  {
    g_autoptr(GPtrArray) m = values_of (ours, "-m"), their_m = values_of (native, "-m");
    g_autoptr(GPtrArray) smp = values_of (ours, "-smp"), their_smp = values_of (native, "-smp");
    g_autofree char *mib = g_strconcat (their_m->pdata[0], "M", NULL);
    g_autoptr(GString) topology = g_string_new (their_smp->pdata[0]);
    g_string_replace (topology, ",dies=1", "", 0);
    g_assert_cmpstr (m->pdata[0], ==, mib);
    g_assert_cmpstr (smp->pdata[0], ==, topology->str);
  }
}

/* virsh define, then domxml-to-native of the defined domain: libvirt takes
 * the XML and gives its own QEMU command line for it.  As root,
 * qemu:///session would be the system daemon, so virsh runs as nobody with a
 * home in the test's dir: its session libvirtd starts on demand. */
static char *
domxml_to_native (const char *dir, const char *xml, const char *name, GPid *ret_daemon)
{
  g_autofree char *commands = g_strdup_printf ("define %s; domxml-to-native qemu-argv --domain %s", xml, name);
  g_autofree char *home = g_build_filename (dir, "home", NULL), *xdg = g_build_filename (dir, "xdg", NULL);
  g_autofree char *env_home = g_strconcat ("HOME=", home, NULL), *env_xdg = g_strconcat ("XDG_RUNTIME_DIR=", xdg, NULL);
  g_autofree char *pidfile = g_build_filename (xdg, "libvirt", "libvirtd.pid", NULL);
  g_autofree char *out = NULL, *err = NULL, *pid = NULL;
  const char *as_nobody[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "-i",
                              "PATH=/usr/bin:/usr/sbin:/bin", env_home, env_xdg, "virsh", "-c", "qemu:///session",
                              commands, NULL };
  const char *const *argv = getuid () == 0 ? as_nobody : as_nobody + 4;

  g_assert_cmpint (g_mkdir_with_parents (home, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (xdg, 0700), ==, 0);
  if (getuid () == 0)
    {
      g_assert_cmpint (chown (home, 65534, 65534), ==, 0);
      g_assert_cmpint (chown (xdg, 65534, 65534), ==, 0);
    }
  if (run_argv (argv, NULL, &out, &err) != 0)
    g_error ("virsh define, domxml-to-native: %s", err);
  *ret_daemon = g_file_get_contents (pidfile, &pid, NULL, NULL) ? (GPid) g_ascii_strtoll (pid, NULL, 10) : 0;
  /* "Domain 'NAME' defined from FILE", then the command line */
  g_assert_nonnull (strstr (out, "defined from"));
  return g_strdup (strstr (out, "LC_ALL="));
}

/* libvirt's argv for the exported XML against 'qlaunch argv', for the
 * devices that matter: passed-through functions with their ids, ROM and
 * x-vga, their root ports, disks, memory, topology, ACPI tables, fw_cfg. */
static void
test_domxml_to_native (void)
{
  g_autofree char *virsh = g_find_program_in_path ("virsh"), *setpriv = g_find_program_in_path ("setpriv");
  g_autofree char *profile = fixture ("native.ini"), *dir = g_build_filename (tmp_root, "native", NULL);
  g_autofree char *xml = g_build_filename (dir, "native.xml", NULL), *native = NULL;
  g_auto(GStrv) ours = NULL, words = NULL;
  g_autoptr(GPtrArray) devices = NULL;
  GPid daemon = 0;
  guint first = 0;

  if (virsh == NULL || !g_file_test ("/usr/sbin/libvirtd", G_FILE_TEST_IS_EXECUTABLE) ||
      (getuid () == 0 && setpriv == NULL))
    {
      g_test_skip ("virsh domxml-to-native needs virsh and a session libvirtd (libvirt-daemon and "
                   "libvirt-daemon-driver-qemu), and setpriv when run as root; not installed");
      return;
    }
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (chmod (tmp_root, 0755), ==, 0);
  g_assert_cmpint (run_qlaunch (NULL, NULL, NULL, "export", "libvirt", profile, "-o", xml, NULL), ==, 0);
  native = domxml_to_native (dir, xml, "native", &daemon);
  if (daemon > 0)
    kill (daemon, SIGTERM);   /* the session libvirtd virsh started, not to linger for its idle timeout */
  g_test_message ("libvirt: %s", native);
  g_assert_true (g_shell_parse_argv (native, NULL, &words, NULL));
  /* LC_ALL=C PATH=… HOME=… before the binary */
  while (words[first] != NULL && strchr (words[first], '=') != NULL && words[first][0] != '-')
    first++;
  ours = argv_of (profile);
  devices = values_of ((const char *const *) words + first, "-device");
  compare_hostdevs ((const char *const *) ours, devices);
  compare_root_ports ((const char *const *) ours, devices);
  compare_machine ((const char *const *) ours, (const char *const *) words + first);
}

int
main (int argc, char **argv)
{
  g_autofree char *procfs = NULL, *runtime = NULL, *state = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  qlaunch = g_getenv ("QL_QLAUNCH");
  if (qlaunch == NULL)
    {
      g_print ("1..0 # SKIP QL_QLAUNCH is not set (run through meson test)\n");
      return 0;
    }
  tmp_root = g_dir_make_tmp ("ql-import-XXXXXX", NULL);
  sysfs = fake_sysfs_new ();
  fake_sysfs_add_cpus (sysfs, 1, 4, 2, 8192);
  procfs = fake_procfs ();
  runtime = g_build_filename (tmp_root, "run", NULL);
  state = g_build_filename (tmp_root, "state", NULL);
  g_setenv ("QLAUNCH_SYSFS", sysfs, TRUE);
  g_setenv ("QLAUNCH_PROCFS", procfs, TRUE);
  g_setenv ("QLAUNCH_RUNTIME_DIR", runtime, TRUE);
  g_setenv ("QLAUNCH_STATE_DIR", state, TRUE);

  g_test_add_func ("/import/libvirt/seed-001", test_libvirt_seed_001);
  g_test_add_func ("/import/libvirt/reference", test_libvirt_reference);
  g_test_add_func ("/import/libvirt/stdin", test_libvirt_stdin);
  g_test_add_func ("/import/proxmox/seed-003", test_proxmox_seed_003);
  g_test_add_func ("/import/proxmox/reference", test_proxmox_reference);
  g_test_add_func ("/import/proxmox/values", test_proxmox_values);
  g_test_add_func ("/import/refusals", test_refusals);
  g_test_add_func ("/export/libvirt/round-trip", test_round_trip);
  g_test_add_func ("/export/libvirt/round-trip-seed-001", test_round_trip_seed);
  g_test_add_func ("/export/libvirt/domxml-to-native", test_domxml_to_native);
  status = g_test_run ();
  fake_sysfs_remove (sysfs);
  {
    const char *rm[] = { "rm", "-rf", "--", tmp_root, NULL };
    run_argv (rm, NULL, NULL, NULL);
  }
  return status;
}
