/* qlaunch check: the findings of a matrix of hosts (Intel, AMD, IOMMU off,
 * no interrupt remapping, a group shared with the host's disk controller,
 * nvidia bound, hugepages short, memlock low, an AMD GPU that needs
 * vendor-reset) with their exact fixes and exit codes, from facts and from
 * fake trees read by the real reader; then the binary, on a fake tree and
 * on this very host. */
#include "fake-sysfs.h"
#include "qemu-caps-fixtures.h"
#include "ql-check-host.h"
#include "ql-check-profile.h"
#include "ql-check-read.h"
#include "ql-cpu-topology-read.h"
#include "ql-firmware-load.h"
#include "ql-pci-scan.h"
#include "ql-profile.h"
#include "ql-setup-plan.h"
#include "ql-vfio-plan.h"

#include <glib/gstdio.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include <string.h>

/* ---- helpers ---- */

static const QlFinding *
find (GPtrArray *findings, const char *check, guint nth)
{
  for (guint i = 0; i < findings->len; i++)
    {
      const QlFinding *f = findings->pdata[i];
      if (strcmp (f->check, check) == 0 && nth-- == 0)
        return f;
    }
  return NULL;
}

static void
assert_finding (GPtrArray *findings, const char *check, QlCheckStatus status, const char *message, const char *fix)
{
  const QlFinding *f = find (findings, check, 0);

  if (f == NULL)
    g_error ("no finding '%s'", check);
  g_assert_cmpstr (ql_check_status_to_string (f->status), ==, ql_check_status_to_string (status));
  if (message != NULL)
    g_assert_cmpstr (f->message, ==, message);
  g_assert_cmpstr (f->fix, ==, fix);
}

/* A healthy Intel host on Debian with GRUB. */
static QlCheckHostFacts *
intel_host (void)
{
  QlCheckHostFacts *f = g_new0 (QlCheckHostFacts, 1);

  f->boot.family = QL_DISTRO_DEBIAN;
  f->boot.grub_cmdline = g_strdup ("quiet splash");
  f->cpu_vendor = QL_CPU_VENDOR_INTEL;
  f->kvm_usable = TRUE;
  f->cmdline = g_strdup ("BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet splash intel_iommu=on iommu=pt");
  f->acpi_dmar = TRUE;
  f->iommu_units = 1;
  f->iommu_groups = 14;
  f->intremap_hw = QL_TRISTATE_YES;
  f->intremap_in_use = TRUE;
  f->unsafe_interrupts = QL_TRISTATE_NO;
  f->vfio_pci_loaded = QL_TRISTATE_YES;
  f->vfio_pci_present = QL_TRISTATE_YES;
  f->kernel_release = g_strdup ("6.1.0-18-amd64");
  f->qemu_binary = g_strdup ("/usr/bin/qemu-system-x86_64");
  f->qemu_version = 702;
  f->firmware_descriptors = 3;
  return f;
}

static GPtrArray *
host_findings (const QlCheckHostFacts *f)
{
  GPtrArray *findings = ql_findings_new ();
  ql_check_host (f, findings);
  return findings;
}

/* ---- the host matrix, from facts ---- */

static void
test_intel_ok (void)
{
  g_autoptr(QlCheckHostFacts) f = intel_host ();
  g_autoptr(GPtrArray) findings = host_findings (f);

  g_assert_cmpuint (findings->len, ==, 7);
  assert_finding (findings, "kvm", QL_CHECK_OK, "/dev/kvm is usable and the CPU has vmx/svm", NULL);
  assert_finding (findings, "iommu", QL_CHECK_OK, "IOMMU on: 1 IOMMU unit(s), 14 IOMMU groups", NULL);
  assert_finding (findings, "kernel-cmdline", QL_CHECK_OK, "the kernel command line has intel_iommu=on iommu=pt", NULL);
  assert_finding (findings, "interrupt-remapping", QL_CHECK_OK,
                  "in force: /proc/interrupts shows IR- (remapped) interrupt chips", NULL);
  assert_finding (findings, "vfio", QL_CHECK_OK, "vfio-pci is loaded", NULL);
  assert_finding (findings, "qemu", QL_CHECK_OK, "/usr/bin/qemu-system-x86_64, QEMU 7.2", NULL);
  assert_finding (findings, "firmware", QL_CHECK_OK, "3 QEMU firmware descriptor(s)", NULL);
  g_assert_cmpint (ql_findings_exit_code (findings), ==, 0);
}

static void
test_amd_ok (void)
{
  g_autoptr(QlCheckHostFacts) f = intel_host ();
  g_autoptr(GPtrArray) findings = NULL;

  f->cpu_vendor = QL_CPU_VENDOR_AMD;
  f->acpi_dmar = FALSE;
  f->acpi_ivrs = TRUE;
  f->intremap_hw = QL_TRISTATE_UNKNOWN;   /* AMD-Vi shows no ecap */
  g_free (f->cmdline);
  f->cmdline = g_strdup ("root=/dev/nvme0n1p2 iommu=pt");   /* AMD-Vi needs no amd_iommu=on */
  findings = host_findings (f);
  assert_finding (findings, "kernel-cmdline", QL_CHECK_OK, "the kernel command line has iommu=pt", NULL);
  assert_finding (findings, "interrupt-remapping", QL_CHECK_OK, NULL, NULL);
  g_assert_cmpint (ql_findings_exit_code (findings), ==, 0);

  /* without iommu=pt: advice, with the GRUB line that keeps what is there */
  g_free (f->cmdline);
  f->cmdline = g_strdup ("root=/dev/nvme0n1p2");
  g_ptr_array_unref (findings);
  findings = host_findings (f);
  assert_finding (findings, "kernel-cmdline", QL_CHECK_WARN,
                  "the kernel command line lacks iommu=pt (recommended: host devices keep an identity mapping, which "
                  "is faster)",
                  "in /etc/default/grub: GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash iommu=pt\" ; then, as root: "
                  "update-grub; reboot");
  g_assert_cmpint (ql_findings_exit_code (findings), ==, 1);

  /* AMD with no IR- chip seen: said as undetermined, with how to find out */
  f->intremap_in_use = FALSE;
  g_ptr_array_unref (findings);
  findings = host_findings (f);
  assert_finding (findings, "interrupt-remapping", QL_CHECK_WARN,
                  "could not determine: sysfs does not show this IOMMU's capabilities; /proc/interrupts shows no IR- "
                  "chip (nothing may use MSI yet); allow_unsafe_interrupts is N",
                  "as root: dmesg | grep -i remapping  (should say enabled); if it is off: only for guests you trust "
                  "(without remapping a device can forge interrupts): echo 'options vfio_iommu_type1 "
                  "allow_unsafe_interrupts=1' > /etc/modprobe.d/vfio-unsafe-interrupts.conf ; then, as root: "
                  "update-initramfs -u -k all; reboot");
}

/* IOMMU off: the exact boot-loader fix of each family and boot loader */
/* /dev/kvm unusable: as start decides by [vm] accel (none: the default, auto) */
static void
test_kvm_accel (void)
{
  g_autoptr(QlCheckHostFacts) f = intel_host ();
  const char *fix = "enable VT-x in the firmware setup (in a VM: nested virtualization on its host); as root: modprobe "
                    "kvm_intel; and add the user who starts VMs to the group kvm (usermod -aG kvm USER)";

  f->kvm_usable = FALSE;
  f->kvm_reason = g_strdup ("/dev/kvm does not exist");
  {
    g_autoptr(GPtrArray) findings = host_findings (f);
    assert_finding (findings, "kvm", QL_CHECK_WARN,
                    "/dev/kvm does not exist: a VM with accel=auto (the default) runs the guest on TCG, software "
                    "emulation many times slower (accel=kvm would not start)", fix);
    g_assert_cmpint (ql_findings_exit_code (findings), ==, 1);
  }
  f->has_profile = TRUE;
  f->accel = QL_ACCEL_TCG;
  {
    g_autoptr(GPtrArray) findings = host_findings (f);
    assert_finding (findings, "kvm", QL_CHECK_OK, "not needed: accel=tcg (/dev/kvm does not exist)", NULL);
    g_assert_cmpint (ql_findings_exit_code (findings), ==, 0);
  }
  f->accel = QL_ACCEL_KVM;
  {
    g_autoptr(GPtrArray) findings = host_findings (f);
    assert_finding (findings, "kvm", QL_CHECK_FAIL,
                    "/dev/kvm does not exist, and the profile says accel=kvm: start refuses", fix);
    g_assert_cmpint (ql_findings_exit_code (findings), ==, 2);
  }
  f->accel = QL_ACCEL_AUTO;
  f->cpu_vendor = QL_CPU_VENDOR_AMD;
  {
    g_autoptr(GPtrArray) findings = host_findings (f);
    assert_finding (findings, "kvm", QL_CHECK_WARN,
                    "/dev/kvm does not exist: accel=auto runs the guest on TCG, software emulation many times slower "
                    "(accel=kvm would not start)",
                    "enable SVM (AMD-V) in the firmware setup (in a VM: nested virtualization on its host); as root: "
                    "modprobe kvm_amd; and add the user who starts VMs to the group kvm (usermod -aG kvm USER)");
  }
}

static void
test_iommu_off (void)
{
  static const struct {
    QlDistroFamily family;
    const char *grub;
    const char *kernel_cmdline;
    const char *fix;
  } cases[] = {
    { QL_DISTRO_DEBIAN, "quiet splash", NULL,
      "in /etc/default/grub: GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash intel_iommu=on iommu=pt\" ; then, as root: "
      "update-grub; reboot" },
    { QL_DISTRO_FEDORA, "rhgb quiet", NULL,
      "in /etc/default/grub: GRUB_CMDLINE_LINUX_DEFAULT=\"rhgb quiet intel_iommu=on iommu=pt\" ; then, as root: "
      "grub2-mkconfig -o /boot/grub2/grub.cfg; reboot" },
    { QL_DISTRO_ARCH, "loglevel=3 quiet", NULL,
      "in /etc/default/grub: GRUB_CMDLINE_LINUX_DEFAULT=\"loglevel=3 quiet intel_iommu=on iommu=pt\" ; then, as "
      "root: grub-mkconfig -o /boot/grub/grub.cfg; reboot" },
    { QL_DISTRO_ARCH, NULL, "root=UUID=abc rw iommu=pt",
      "write /etc/kernel/cmdline as: root=UUID=abc rw iommu=pt intel_iommu=on ; then, as root: kernel-install add "
      "$(uname -r) /lib/modules/$(uname -r)/vmlinuz (systemd-boot; bootctl list shows the entry); reboot" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlCheckHostFacts) f = intel_host ();
      g_autoptr(GPtrArray) findings = NULL;
      g_autofree char *with_vtd = NULL;

      f->boot.family = cases[i].family;
      g_free (f->boot.grub_cmdline);
      f->boot.grub_cmdline = g_strdup (cases[i].grub);
      f->boot.kernel_cmdline = g_strdup (cases[i].kernel_cmdline);
      g_free (f->cmdline);
      f->cmdline = g_strdup ("root=/dev/sda1 ro quiet");
      f->iommu_units = f->iommu_groups = 0;
      f->intremap_in_use = FALSE;
      findings = host_findings (f);
      assert_finding (findings, "iommu", QL_CHECK_FAIL,
                      "IOMMU off: the firmware has an IOMMU (DMAR table) but the kernel made no IOMMU groups",
                      cases[i].fix);
      assert_finding (findings, "kernel-cmdline", QL_CHECK_WARN, NULL, cases[i].fix);
      assert_finding (findings, "interrupt-remapping", QL_CHECK_WARN, "not determined: the IOMMU is off",
                      "turn the IOMMU on first (see the iommu finding)");
      g_assert_cmpint (ql_findings_exit_code (findings), ==, 2);

      /* no DMAR table at all: VT-d is off in the firmware */
      f->acpi_dmar = FALSE;
      g_ptr_array_unref (g_steal_pointer (&findings));
      findings = host_findings (f);
      with_vtd = g_strdup_printf ("enable VT-d in the firmware setup, then %s", cases[i].fix);
      assert_finding (findings, "iommu", QL_CHECK_FAIL,
                      "IOMMU off: the firmware publishes no DMAR ACPI table and there are no IOMMU groups", with_vtd);
    }
}

static void
test_iommu_turned_off (void)
{
  g_autoptr(QlCheckHostFacts) f = intel_host ();
  g_autoptr(GPtrArray) findings = NULL;

  g_free (f->cmdline);
  f->cmdline = g_strdup ("ro quiet amd_iommu=off");
  f->cpu_vendor = QL_CPU_VENDOR_AMD;
  findings = host_findings (f);
  assert_finding (findings, "kernel-cmdline", QL_CHECK_FAIL,
                  "the kernel command line turns the IOMMU off (amd_iommu=off)",
                  "remove amd_iommu=off from the kernel command line: in /etc/default/grub: "
                  "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash iommu=pt\" ; then, as root: update-grub; reboot");
}

/* no interrupt remapping: a fail unless allow_unsafe_interrupts is in force */
static void
test_no_intremap (void)
{
  g_autoptr(QlCheckHostFacts) f = intel_host ();
  g_autoptr(GPtrArray) findings = NULL;
  const char *fedora_fix = "only for guests you trust (without remapping a device can forge interrupts): echo "
                           "'options vfio_iommu_type1 allow_unsafe_interrupts=1' > "
                           "/etc/modprobe.d/vfio-unsafe-interrupts.conf ; then, as root: dracut -f --regenerate-all; "
                           "reboot";

  f->boot.family = QL_DISTRO_FEDORA;
  f->intremap_hw = QL_TRISTATE_NO;
  f->intremap_in_use = FALSE;
  findings = host_findings (f);
  assert_finding (findings, "interrupt-remapping", QL_CHECK_FAIL,
                  "the IOMMU cannot remap interrupts (its ecap IR bit is clear) and allow_unsafe_interrupts is not "
                  "set: VFIO refuses the devices", fedora_fix);
  g_assert_cmpint (ql_findings_exit_code (findings), ==, 2);

  f->unsafe_interrupts = QL_TRISTATE_YES;
  g_ptr_array_unref (findings);
  findings = host_findings (f);
  assert_finding (findings, "interrupt-remapping", QL_CHECK_WARN,
                  "no remapping seen; vfio_iommu_type1 allow_unsafe_interrupts=Y is in force, so VFIO works, but a "
                  "device can forge interrupts",
                  "a host whose IOMMU remaps interrupts (VT-d with IR, AMD-Vi); none on this one");
  g_assert_cmpint (ql_findings_exit_code (findings), ==, 1);

  f->unsafe_interrupts = QL_TRISTATE_NO;
  f->intremap_hw = QL_TRISTATE_YES;
  g_free (f->cmdline);
  f->cmdline = g_strdup ("intel_iommu=on iommu=pt intremap=off");
  g_ptr_array_unref (findings);
  findings = host_findings (f);
  assert_finding (findings, "interrupt-remapping", QL_CHECK_FAIL, NULL,
                  "remove intremap=off from the kernel command line (/etc/default/grub or /etc/kernel/cmdline, then "
                  "rebuild the boot configuration as for iommu); reboot");
}

static void
test_vfio_qemu_firmware (void)
{
  g_autoptr(QlCheckHostFacts) f = intel_host ();
  g_autoptr(GPtrArray) findings = NULL;

  f->boot.family = QL_DISTRO_ARCH;
  f->vfio_pci_loaded = QL_TRISTATE_NO;
  f->vfio_pci_present = QL_TRISTATE_NO;
  g_clear_pointer (&f->qemu_binary, g_free);
  f->firmware_descriptors = 0;
  findings = host_findings (f);
  assert_finding (findings, "vfio", QL_CHECK_FAIL,
                  "kernel 6.1.0-18-amd64 has no vfio-pci (neither in modules.dep nor built in)",
                  "boot a kernel built with CONFIG_VFIO_PCI (every major distribution's standard kernel is)");
  assert_finding (findings, "qemu", QL_CHECK_FAIL, "no qemu-system-x86_64 in PATH", "pacman -S qemu-system-x86");
  assert_finding (findings, "firmware", QL_CHECK_WARN, NULL, "pacman -S edk2-ovmf");
  f->vfio_pci_present = QL_TRISTATE_YES;
  g_ptr_array_unref (findings);
  findings = host_findings (f);
  assert_finding (findings, "vfio", QL_CHECK_OK, NULL, NULL);
}

static void
test_os_release (void)
{
  g_assert_cmpint (ql_distro_family_from_os_release ("NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\n"), ==,
                   QL_DISTRO_DEBIAN);
  g_assert_cmpint (ql_distro_family_from_os_release ("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n"), ==,
                   QL_DISTRO_DEBIAN);
  g_assert_cmpint (ql_distro_family_from_os_release ("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"), ==,
                   QL_DISTRO_FEDORA);
  g_assert_cmpint (ql_distro_family_from_os_release ("ID=endeavouros\nID_LIKE=arch\n"), ==, QL_DISTRO_ARCH);
  g_assert_cmpint (ql_distro_family_from_os_release ("ID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"\n"), ==,
                   QL_DISTRO_SUSE);
  g_assert_cmpint (ql_distro_family_from_os_release ("ID=nixos\n"), ==, QL_DISTRO_UNKNOWN);
}

/* ---- the reader, on fake trees ---- */

static void
put (const char *root, const char *relative, const char *text)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
remove_tree (const char *path)
{
  const char *argv[] = { "rm", "-rf", path, NULL };
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL));
}

/* A host tree: sys/ proc/ dev/ etc/ modules/ under root. */
static char *
fake_host_tree (gboolean amd, gboolean iommu, gboolean remapped)
{
  char *root = g_dir_make_tmp ("ql-check-XXXXXX", NULL);

  put (root, "proc/cpuinfo", amd ? "vendor_id\t: AuthenticAMD\nflags\t\t: fpu svm\n"
                                 : "vendor_id\t: GenuineIntel\nflags\t\t: fpu vmx\n");
  put (root, "proc/cmdline", amd ? "BOOT_IMAGE=/vmlinuz-linux root=/dev/sda2 rw\n"
                                 : "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet intel_iommu=on\n");
  put (root, "proc/interrupts", remapped ? " 24:  0  IR-PCI-MSI 327680-edge  xhci_hcd\n"
                                         : " 24:  0  PCI-MSI 327680-edge  xhci_hcd\n");
  put (root, "proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
  put (root, "proc/mounts", "");
  put (root, "modules/6.1.0-18-amd64/modules.dep",
       "kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/vfio.ko\n");
  put (root, amd ? "sys/firmware/acpi/tables/IVRS" : "sys/firmware/acpi/tables/DMAR", "x");
  if (iommu)
    {
      put (root, amd ? "sys/class/iommu/ivhd0/amd-iommu/features" : "sys/class/iommu/dmar0/intel-iommu/ecap",
           remapped || amd ? "f050da\n" : "f050d0\n");   /* bit 3: IR */
      put (root, "sys/kernel/iommu_groups/0/type", "DMA\n");
      put (root, "sys/kernel/iommu_groups/1/type", "DMA\n");
    }
  put (root, "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "N\n");
  put (root, "etc/os-release", amd ? "ID=arch\n" : "ID=ubuntu\nID_LIKE=debian\n");
  if (amd)
    put (root, "etc/kernel/cmdline", "root=/dev/sda2 rw\n");
  else
    put (root, "etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"\nGRUB_CMDLINE_LINUX=\"\"\n");
  put (root, "dev/.keep", "");
  return root;
}

static QlCheckHostFacts *
read_tree (const char *root)
{
  g_autofree char *sys = g_build_filename (root, "sys", NULL), *proc = g_build_filename (root, "proc", NULL);
  g_autofree char *dev = g_build_filename (root, "dev", NULL), *etc = g_build_filename (root, "etc", NULL);
  g_autofree char *modules = g_build_filename (root, "modules", NULL);
  QlCheckRoots roots = { sys, proc, dev, etc, modules };

  return ql_check_host_read (&roots, "/nonexistent/qemu");
}

static void
test_read_intel (void)
{
  g_autofree char *root = fake_host_tree (FALSE, TRUE, FALSE);
  g_autoptr(QlCheckHostFacts) f = read_tree (root);
  g_autoptr(GPtrArray) findings = host_findings (f);

  g_assert_cmpint (f->cpu_vendor, ==, QL_CPU_VENDOR_INTEL);
  g_assert_cmpint (f->boot.family, ==, QL_DISTRO_DEBIAN);
  g_assert_cmpstr (f->boot.grub_cmdline, ==, "quiet splash");
  g_assert_null (f->boot.kernel_cmdline);
  g_assert_true (f->acpi_dmar);
  g_assert_cmpuint (f->iommu_units, ==, 1);
  g_assert_cmpuint (f->iommu_groups, ==, 2);
  g_assert_cmpint (f->intremap_hw, ==, QL_TRISTATE_NO);
  g_assert_false (f->intremap_in_use);
  g_assert_cmpint (f->unsafe_interrupts, ==, QL_TRISTATE_NO);
  g_assert_cmpint (f->vfio_pci_loaded, ==, QL_TRISTATE_NO);
  g_assert_cmpint (f->vfio_pci_present, ==, QL_TRISTATE_YES);
  g_assert_false (f->kvm_usable);   /* no DEVFS/kvm */
  g_assert_null (f->qemu_binary);
  /* the fix of this tree: Ubuntu's GRUB, without losing "quiet splash"; the initramfs command by family */
  assert_finding (findings, "kernel-cmdline", QL_CHECK_WARN, "the kernel command line lacks iommu=pt (recommended: "
                  "host devices keep an identity mapping, which is faster)",
                  "in /etc/default/grub: GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash intel_iommu=on iommu=pt\" ; then, "
                  "as root: update-grub; reboot");
  assert_finding (findings, "interrupt-remapping", QL_CHECK_FAIL, NULL,
                  "only for guests you trust (without remapping a device can forge interrupts): echo 'options "
                  "vfio_iommu_type1 allow_unsafe_interrupts=1' > /etc/modprobe.d/vfio-unsafe-interrupts.conf ; then, "
                  "as root: update-initramfs -u -k all; reboot");
  remove_tree (root);
}

static void
test_read_amd (void)
{
  g_autofree char *root = fake_host_tree (TRUE, FALSE, FALSE);
  g_autoptr(QlCheckHostFacts) f = read_tree (root);
  g_autoptr(GPtrArray) findings = host_findings (f);

  g_assert_cmpint (f->cpu_vendor, ==, QL_CPU_VENDOR_AMD);
  g_assert_cmpint (f->boot.family, ==, QL_DISTRO_ARCH);
  g_assert_cmpstr (f->boot.kernel_cmdline, ==, "root=/dev/sda2 rw");
  g_assert_true (f->acpi_ivrs);
  g_assert_cmpuint (f->iommu_groups, ==, 0);
  g_assert_cmpint (f->intremap_hw, ==, QL_TRISTATE_UNKNOWN);
  assert_finding (findings, "iommu", QL_CHECK_FAIL,
                  "IOMMU off: the firmware has an IOMMU (IVRS table) but the kernel made no IOMMU groups",
                  "write /etc/kernel/cmdline as: root=/dev/sda2 rw amd_iommu=on iommu=pt ; then, as root: kernel-install add "
                  "$(uname -r) /lib/modules/$(uname -r)/vmlinuz (systemd-boot; bootctl list shows the entry); reboot");
  remove_tree (root);
}

/* ---- the profile matrix: real profiles, machines and plans on a fake PCI tree ---- */

static char *pci_sysfs;

typedef struct {
  QlProfile *profile;
  QlHostFacts *host;
  QlMachine *machine;
  GHashTable *modules;
  GPtrArray *findings;
  char *plan_error;
} Case;

static void
case_clear (Case *c)
{
  ql_machine_free (c->machine);
  ql_profile_free (c->profile);
  ql_host_facts_free (c->host);
  g_clear_pointer (&c->modules, g_hash_table_unref);
  g_clear_pointer (&c->findings, g_ptr_array_unref);
  g_free (c->plan_error);
}

/* The QEMU (0: not asked) and the pinned machine type case_run's host has. */
static guint case_qemu;
static const char *case_pinned;

/* The profile's findings as check makes them, with the vfio plan as start's host plan builds it. */
static void
case_run (Case *c, const char *sections, QlCheckProfileFacts *f)
{
  g_autofree char *text = g_strdup_printf ("[vm]\nname=t\naccel=tcg\nfirmware=bios\n%s", sections);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(QlVfioPlan) vfio = NULL;
  const QlBootConfig *boot = f->boot;

  memset (c, 0, sizeof *c);
  c->profile = ql_profile_load_from_data (text, "/etc/qlaunch/t.ini", &error);
  g_assert_no_error (error);
  c->host = g_new0 (QlHostFacts, 1);
  c->host->qemu_binary = g_strdup ("/usr/bin/qemu-system-x86_64");
  c->host->firmware = g_ptr_array_new ();
  c->host->hugetlbfs_2m = g_strdup ("/dev/hugepages");
  c->host->pci = ql_pci_host_scan (pci_sysfs, &error);
  g_assert_no_error (error);
  c->host->cpus = ql_cpu_topology_read (pci_sysfs, &error);
  g_assert_no_error (error);
  c->host->qemu_caps = case_qemu ? qemu_caps_fixture (case_qemu) : NULL;
  c->host->pinned_machine = g_strdup (case_pinned);
  c->machine = ql_machine_resolve (c->profile, c->host, "/run/qlaunch/t", "/var/lib/qlaunch/t", &error);
  g_assert_no_error (error);
  requests = ql_vfio_requests_from_machine (c->machine);
  vfio = ql_vfio_plan_build (c->host->pci, requests, &error);
  c->plan_error = error ? g_strdup (error->message) : NULL;
  c->modules = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (c->modules, "nvidia", "nvidia");
  g_hash_table_insert (c->modules, "snd_hda_intel", "snd_hda_intel");
  f->boot = boot;
  f->profile_path = "/etc/qlaunch/t.ini";
  f->machine = c->machine;
  f->qemu_caps = c->host->qemu_caps;
  f->pinned_machine = c->host->pinned_machine;
  f->pci = c->host->pci;
  f->driver_modules = c->modules;
  f->plan_error = c->plan_error;
  c->findings = ql_findings_new ();
  ql_check_profile (f, c->findings);
}

static const QlBootConfig debian_boot = { QL_DISTRO_DEBIAN, NULL, NULL, NULL };

/* The machine type the VM starts with; a pinned one the installed QEMU
 * deprecates is a warning with the line that moves on. */
static void
test_machine_type (void)
{
  QlCheckProfileFacts f = { .boot = &debian_boot, .as_root = TRUE };
  Case c;

  case_qemu = 702;
  case_run (&c, "", &f);
  assert_finding (c.findings, "machine-type", QL_CHECK_OK,
                  "pc-q35-7.2 (what q35 is in this QEMU; the first start pins it)", NULL);
  case_clear (&c);

  case_qemu = 1000;
  case_pinned = "pc-q35-7.2";
  case_run (&c, "", &f);
  assert_finding (c.findings, "machine-type", QL_CHECK_OK, "pc-q35-7.2 (pinned at the VM's first start)", NULL);
  case_clear (&c);

  case_pinned = "pc-q35-4.2";
  case_run (&c, "", &f);
  assert_finding (c.findings, "machine-type", QL_CHECK_WARN,
                  "pc-q35-4.2 (pinned at the VM's first start) is deprecated by QEMU 10.0: a later QEMU will not "
                  "start this VM",
                  "set [vm] machine = pc-q35-10.0 in /etc/qlaunch/t.ini (the guest sees newer hardware once: "
                  "Windows may ask to re-activate, drivers reinstall)");
  g_assert_cmpint (ql_findings_exit_code (c.findings), ==, 1);
  case_clear (&c);

  case_pinned = NULL;
  case_run (&c, "machine = pc-q35-4.2\n", &f);  /* still in case_run's [vm] */
  assert_finding (c.findings, "machine-type", QL_CHECK_WARN, NULL,
                  "set [vm] machine = pc-q35-10.0 in /etc/qlaunch/t.ini (the guest sees newer hardware once: "
                  "Windows may ask to re-activate, drivers reinstall)");
  g_assert_true (g_str_has_prefix (find (c.findings, "machine-type", 0)->message, "pc-q35-4.2 (set by [vm] machine)"));
  case_clear (&c);
  case_qemu = 0;
}

/* nvidia bound to the GPU: root's start can move it, a user's cannot */
static void
test_nvidia_bound (void)
{
  QlCheckProfileFacts f = { .boot = &debian_boot, .as_root = TRUE };
  Case c;
  const char *fix = "printf 'options vfio-pci ids=10de:1bb6,10de:10f0\\nsoftdep nvidia pre: vfio-pci\\nsoftdep "
                    "snd_hda_intel pre: vfio-pci\\n' > /etc/modprobe.d/vfio.conf ; then, as root: update-initramfs -u "
                    "-k all; reboot (or: sudo qlaunch host-setup /etc/qlaunch/t.ini --user USER, which writes these "
                    "for a user's start)";

  case_run (&c, "[memory]\nsize=1G\n[pci gpu]\nhost=0000:01:00.0\n", &f);
  assert_finding (c.findings, "profile", QL_CHECK_OK, "/etc/qlaunch/t.ini: valid, the machine resolves", NULL);
  g_assert_cmpstr (find (c.findings, "pci gpu", 0)->message, ==,
                   "0000:01:00.0 (NVIDIA Corporation GP104GLM [Quadro P5000 Mobile]), driver nvidia; 0000:01:00.1 "
                   "(NVIDIA Corporation GP104 High Definition Audio Controller), driver snd_hda_intel; IOMMU group 1 "
                   "viable");
  g_assert_cmpint (find (c.findings, "pci gpu", 1)->status, ==, QL_CHECK_WARN);
  g_assert_cmpstr (find (c.findings, "pci gpu", 1)->fix, ==, fix);
  assert_finding (c.findings, "memlock", QL_CHECK_OK, NULL, NULL);
  assert_finding (c.findings, "host-plan", QL_CHECK_OK, NULL, NULL);
  g_assert_cmpint (ql_findings_exit_code (c.findings), ==, 1);
  case_clear (&c);

  f = (QlCheckProfileFacts) { .boot = &debian_boot, .as_root = FALSE, .memlock = G_MAXUINT64, .user = "alice" };
  case_run (&c, "[memory]\nsize=1G\n[pci gpu]\nhost=0000:01:00.0\n", &f);
  g_assert_cmpint (find (c.findings, "pci gpu", 1)->status, ==, QL_CHECK_FAIL);
  g_assert_cmpstr (find (c.findings, "pci gpu", 1)->message, ==, "not on vfio-pci, and a user's start binds nothing");
  g_assert_cmpstr (find (c.findings, "pci gpu", 1)->fix, ==, fix);
  g_assert_cmpint (ql_findings_exit_code (c.findings), ==, 2);
  case_clear (&c);
}

/* the GTX 750's group also holds the host's SATA controller */
static void
test_group_shared_with_sata (void)
{
  QlCheckProfileFacts f = { .boot = &debian_boot, .as_root = TRUE };
  Case c;

  case_run (&c, "[memory]\nsize=1G\n[pci gpu]\nhost=0000:02:00.0\n", &f);
  assert_finding (c.findings, "pci gpu", QL_CHECK_FAIL,
                  "[pci gpu]: IOMMU group 2 is not viable: it also holds 0000:05:00.0 (Intel Corporation 8 Series/C220 "
                  "Series Chipset Family 6-port SATA Controller 1 [AHCI mode], driver ahci), which is not passed "
                  "through.",
                  "pass it through as well (another [pci] section), or give it to vfio-pci with 'qlaunch bind "
                  "0000:05:00.0'");
  g_assert_null (find (c.findings, "host-plan", 0));   /* the device's line, not repeated */
  g_assert_cmpint (ql_findings_exit_code (c.findings), ==, 2);
  case_clear (&c);
}

/* an AMD Vega 10: vendor-reset, and its reset_method */
static void
test_amd_reset_bug (void)
{
  g_autoptr(GHashTable) methods = g_hash_table_new (g_str_hash, g_str_equal);
  QlCheckProfileFacts f = { .boot = &debian_boot, .as_root = TRUE, .reset_methods = methods };
  const char *sections = "[memory]\nsize=1G\n[pci gpu]\nhost=0000:06:00.0\n";
  const char *not_loaded_fix =
    "install vendor-reset (github.com/gnif/vendor-reset: dkms install . in its source) and load it early: echo "
    "vendor-reset > /etc/modules-load.d/vendor-reset.conf ; update-initramfs -u -k all; reboot; then, as root: echo "
    "device_specific > /sys/bus/pci/devices/0000:06:00.0/reset_method (its udev/99-vendor-reset.rules in "
    "/etc/udev/rules.d does both at each boot)";
  Case c;

  g_assert_cmpstr (ql_check_reset_bug_name (0x1002, 0x687f), ==, "Vega 10");
  g_assert_cmpstr (ql_check_reset_bug_name (0x1002, 0x731f), ==, "Navi 10");
  g_assert_cmpstr (ql_check_reset_bug_name (0x1002, 0x67df), ==, "Polaris 10");
  g_assert_null (ql_check_reset_bug_name (0x1002, 0x73bf));   /* Navi 21 resets itself */
  g_assert_null (ql_check_reset_bug_name (0x10de, 0x687f));

  case_run (&c, sections, &f);
  assert_finding (c.findings, "reset 0000:06:00.0", QL_CHECK_WARN,
                  "0000:06:00.0 is an AMD Vega 10 (1002:687f): it does not reset, so it fails after the first guest "
                  "ends, until the host reboots; vendor_reset is not loaded; the kernel shows no reset_method "
                  "(before 5.15: vendor-reset's hook needs none)",
                  not_loaded_fix);
  case_clear (&c);

  g_hash_table_insert (methods, "0000:06:00.0", "flr bus");
  case_run (&c, sections, &f);
  assert_finding (c.findings, "reset 0000:06:00.0", QL_CHECK_WARN,
                  "0000:06:00.0 is an AMD Vega 10 (1002:687f): it does not reset, so it fails after the first guest "
                  "ends, until the host reboots; vendor_reset is not loaded; reset_method is 'flr bus'", not_loaded_fix);
  case_clear (&c);

  f = (QlCheckProfileFacts) { .boot = &debian_boot, .as_root = TRUE, .reset_methods = methods,
                              .vendor_reset_loaded = TRUE };
  case_run (&c, sections, &f);
  assert_finding (c.findings, "reset 0000:06:00.0", QL_CHECK_WARN,
                  "0000:06:00.0 is an AMD Vega 10: vendor_reset is loaded but reset_method is 'flr bus', so the "
                  "kernel does not use it",
                  "as root, after each boot (vendor-reset's udev/99-vendor-reset.rules does it): echo "
                  "device_specific > /sys/bus/pci/devices/0000:06:00.0/reset_method");
  case_clear (&c);

  g_hash_table_insert (methods, "0000:06:00.0", "device_specific");
  case_run (&c, sections, &f);
  assert_finding (c.findings, "reset 0000:06:00.0", QL_CHECK_OK,
                  "0000:06:00.0 is an AMD Vega 10; vendor_reset is loaded and reset_method is 'device_specific'", NULL);
  case_clear (&c);

  /* a kernel before 5.15: no reset_method, vendor-reset's hook does it */
  g_hash_table_remove (methods, "0000:06:00.0");
  case_run (&c, sections, &f);
  assert_finding (c.findings, "reset 0000:06:00.0", QL_CHECK_OK,
                  "0000:06:00.0 is an AMD Vega 10; vendor_reset is loaded and the kernel shows no reset_method "
                  "(before 5.15: vendor-reset's hook needs none)", NULL);
  case_clear (&c);
}

/* the ids vendor-reset's device-db.h lists, and ids it does not */
static void
test_reset_bug_ids (void)
{
  static const struct {
    guint16 device;
    const char *name;
  } cases[] = {
    { 0x67c0, "Polaris 10" }, { 0x6fdf, "Polaris 10" }, { 0x67c3, NULL }, { 0x67e9, "Polaris 11" },
    { 0x67e2, NULL }, { 0x699f, "Polaris 12" }, { 0x6990, NULL }, { 0x6860, "Vega 10" }, { 0x6865, NULL },
    { 0x66af, "Vega 20" }, { 0x66a5, NULL }, { 0x164c, "Vega 20" }, { 0x7312, "Navi 10" }, { 0x7311, NULL },
    { 0x15dd, "Navi 10" }, { 0x1638, "Navi 10" }, { 0x734f, "Navi 14" }, { 0x7342, NULL },
    { 0x7362, "Navi 12" }, { 0x7361, NULL }, { 0x73ff, "Navi 23" }, { 0x738c, "Arcturus (Instinct MI100)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("1002:%04x", cases[i].device);
      g_assert_cmpstr (ql_check_reset_bug_name (0x1002, cases[i].device), ==, cases[i].name);
    }
}

/* hugepages short, per node, with and without allocate=true */
static void
test_hugepages_short (void)
{
  g_autoptr(QlHugepagePool) pool = g_new0 (QlHugepagePool, 1);
  QlHugepageNode nodes[] = { { 0, 64, 40 }, { 1, 64, 60 } };
  QlCheckProfileFacts f = { .boot = &debian_boot, .as_root = TRUE };
  Case c;

  pool->page_kib = 2048;
  pool->total = 128;
  pool->free = 100;
  pool->nodes = g_array_new (FALSE, FALSE, sizeof (QlHugepageNode));
  g_array_append_vals (pool->nodes, nodes, 2);
  f.hugepages = pool;
  case_run (&c, "[memory]\nsize=1G\nhugepages=2M\n", &f);
  g_assert_cmpint (find (c.findings, "hugepages", 0)->status, ==, QL_CHECK_FAIL);
  g_assert_true (g_str_has_prefix (find (c.findings, "hugepages", 0)->message, "too few hugepages: "));
  g_assert_nonnull (strstr (find (c.findings, "hugepages", 0)->message, "node 0: 40, node 1: 60"));
  g_assert_cmpstr (find (c.findings, "hugepages", 0)->fix, ==,
                   "as root: sysctl vm.nr_hugepages=540 ; at every boot: echo 'vm.nr_hugepages = 540' > "
                   "/etc/sysctl.d/80-hugepages.conf");
  g_assert_cmpint (ql_findings_exit_code (c.findings), ==, 2);
  case_clear (&c);

  case_run (&c, "[memory]\nsize=1G\nhugepages=2M\nallocate=true\n", &f);
  g_assert_cmpint (find (c.findings, "hugepages", 0)->status, ==, QL_CHECK_WARN);
  case_clear (&c);

  pool->free = 600;
  g_array_index (pool->nodes, QlHugepageNode, 0).free = 300;
  g_array_index (pool->nodes, QlHugepageNode, 1).free = 300;
  pool->total = 600;
  case_run (&c, "[memory]\nsize=1G\nhugepages=2M\n", &f);
  assert_finding (c.findings, "hugepages", QL_CHECK_OK, "512 × 2 MiB needed, 600 free", NULL);
  case_clear (&c);
}

/* memlock below the guest's RAM + 1 GiB for a user's start with passthrough */
static void
test_memlock_low (void)
{
  QlCheckProfileFacts f = { .boot = &debian_boot, .as_root = FALSE, .memlock = 64 << 20, .user = "alice" };
  Case c;

  case_run (&c, "[memory]\nsize=2G\n[pci nic]\nhost=0000:03:00.0\n", &f);
  assert_finding (c.findings, "memlock", QL_CHECK_FAIL,
                  "RLIMIT_MEMLOCK is 65536 KiB; VFIO pins the guest's RAM + 1 GiB: 3145728 KiB",
                  "as root: echo 'alice hard memlock 3145728' >> /etc/security/limits.d/qlaunch.conf (and the same "
                  "soft), then log in again (or: sudo qlaunch host-setup /etc/qlaunch/t.ini --user alice)");
  /* on vfio-pci already: the device itself is fine for a user */
  g_assert_cmpint (find (c.findings, "pci nic", 0)->status, ==, QL_CHECK_OK);
  g_assert_null (find (c.findings, "pci nic", 1));
  g_assert_cmpint (ql_findings_exit_code (c.findings), ==, 2);
  case_clear (&c);

  f.memlock = 4ull << 30;
  case_run (&c, "[memory]\nsize=2G\n[pci nic]\nhost=0000:03:00.0\n", &f);
  assert_finding (c.findings, "memlock", QL_CHECK_OK, NULL, NULL);
  g_assert_cmpint (ql_findings_exit_code (c.findings), ==, 0);
  case_clear (&c);
}

static void
test_pins_files_refused (void)
{
  QlCheckProfileFacts f = { .boot = &debian_boot, .as_root = TRUE, .machine_error = NULL };
  g_autoptr(GPtrArray) findings = ql_findings_new ();
  Case c;

  case_run (&c, "[memory]\nsize=1G\n[cpu]\ncores=3\npin=2,3,2\n", &f);
  assert_finding (c.findings, "cpu-pin", QL_CHECK_WARN, "vCPUs share host CPUs: vCPUs 0 and 2 on CPU 2",
                  "give each vCPU its own host CPU in /etc/qlaunch/t.ini:9: [cpu] pin ('qlaunch pin' shows the host's "
                  "cores)");
  case_clear (&c);

  /* CPUs that went offline since (resolve refuses those offline at start) */
  {
    g_autofree char *small = fake_sysfs_new ();
    g_autoptr(QlCpuTopology) two = NULL;

    fake_sysfs_add_cpus (small, 1, 2, 1, 0);
    two = ql_cpu_topology_read (small, NULL);
    f.cpus = two;
    case_run (&c, "[memory]\nsize=1G\n[cpu]\ncores=2\npin=1,3\n", &f);
    assert_finding (c.findings, "cpu-pin", QL_CHECK_FAIL, "host CPUs 3 are not online",
                    "as root: echo 1 > /sys/devices/system/cpu/cpuN/online, or pin to online CPUs in "
                    "/etc/qlaunch/t.ini:9: [cpu] pin");
    g_assert_null (find (c.findings, "cpu-pin", 1));
    case_clear (&c);
    f.cpus = NULL;
    fake_sysfs_remove (small);
  }

  /* what ql_prepare refuses: each line a finding, its fix split off */
  f = (QlCheckProfileFacts) { .boot = &debian_boot, .profile_path = "t",
                              .machine_error = "/etc/qlaunch/t.ini:9: [pci gpu] host: no PCI device 0000:09:00.0 on this "
                                               "host. Fix: 'qlaunch devices' lists them" };
  ql_check_profile (&f, findings);
  g_assert_cmpuint (findings->len, ==, 1);
  assert_finding (findings, "profile", QL_CHECK_FAIL,
                  "/etc/qlaunch/t.ini:9: [pci gpu] host: no PCI device 0000:09:00.0 on this host.",
                  "'qlaunch devices' lists them");
}

/* ---- files, as QEMU's user may use them ---- */

static QlCheckFileFacts *
file_facts (gboolean root_start, const char *user, guint32 uid, guint32 gid, const char *group)
{
  QlCheckFileFacts *f = g_new0 (QlCheckFileFacts, 1);

  f->root_start = root_start;
  f->run_as = g_new0 (QlRunAs, 1);
  f->run_as->user = g_strdup (user);
  f->run_as->uid = uid;
  f->run_as->gid = gid;
  f->run_as->groups = g_array_new (FALSE, FALSE, sizeof (guint32));
  f->group_name = g_strdup (group);
  f->paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  f->acls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return f;
}

static void
add_path (QlCheckFileFacts *f, const char *path, guint32 uid, guint32 gid, guint32 mode)
{
  QlPathInfo *info = g_new0 (QlPathInfo, 1);

  info->exists = TRUE;
  info->uid = uid;
  info->gid = gid;
  info->mode = mode;
  g_hash_table_replace (f->paths, g_strdup (path), info);
}

/* DIR/system.qcow2 (written) and DIR/data.img (readonly): real files, as the
 * profile wants them, with the owners and modes the facts say */
static char *files_dir, *system_disk, *data_disk, *srv_disks;

static QlCheckFileFacts *
srv_facts (gboolean root_start, const char *user, guint32 uid, guint32 gid, const char *group)
{
  QlCheckFileFacts *f = file_facts (root_start, user, uid, gid, group);

  add_path (f, "/", 0, 0, 040755);
  add_path (f, files_dir, 0, 0, 040755);
  add_path (f, system_disk, 0, 0, 0100600);
  add_path (f, data_disk, 0, 0, 0100644);
  return f;
}

static void
srv_setup (void)
{
  files_dir = g_dir_make_tmp ("ql-check-srv-XXXXXX", NULL);
  system_disk = g_build_filename (files_dir, "system.qcow2", NULL);
  data_disk = g_build_filename (files_dir, "data.img", NULL);
  g_assert_true (g_file_set_contents (system_disk, "", 0, NULL));
  g_assert_true (g_file_set_contents (data_disk, "", 0, NULL));
  srv_disks = g_strdup_printf ("[memory]\nsize=1G\n[disk system]\nfile=%s\n[disk data]\nfile=%s\nreadonly=true\n",
                               system_disk, data_disk);
}

static void
srv_teardown (void)
{
  g_unlink (system_disk);
  g_unlink (data_disk);
  g_rmdir (files_dir);
  g_free (system_disk);
  g_free (data_disk);
  g_free (srv_disks);
  g_free (files_dir);
}

static void
assert_files (GPtrArray *findings, guint nth, QlCheckStatus status, const char *message, const char *fix)
{
  const QlFinding *f = find (findings, "files", nth);

  g_assert_nonnull (f);
  g_assert_cmpstr (ql_check_status_to_string (f->status), ==, ql_check_status_to_string (status));
  g_assert_cmpstr (f->message, ==, message);
  g_assert_cmpstr (f->fix, ==, fix);
}

/* root's start, QEMU as nobody: root's files handed over, others' not */
static void
test_files_root_start (void)
{
  g_autoptr(QlCheckFileFacts) files = srv_facts (TRUE, "nobody", 65534, 65534, "nogroup");
  QlCheckProfileFacts f = { .boot = &debian_boot, .as_root = TRUE, .files = files };
  g_autofree char *msg = NULL, *fix = NULL;
  Case c;

  case_run (&c, srv_disks, &f);
  assert_files (c.findings, 0, QL_CHECK_OK,
                "2 file(s) the VM uses, all usable by nobody (QEMU's user); start hands 1 of them, root's, to "
                "nobody for the run", NULL);
  case_clear (&c);

  /* another user's disk: start refuses it, and the files finding says how to fix it, once */
  add_path (files, system_disk, 1000, 1000, 0100600);
  case_run (&c, srv_disks, &f);
  msg = g_strdup_printf ("[disk system] file %s: nobody (QEMU's user) may not read and write it (owner 1000:1000, "
                         "mode 0600)", system_disk);
  fix = g_strdup_printf ("chgrp nogroup '%s' && chmod g+rw '%s', or set [vm] run-as to its owner (uid 1000)",
                         system_disk, system_disk);
  assert_files (c.findings, 0, QL_CHECK_FAIL, msg, fix);
  g_assert_null (find (c.findings, "files", 1));
  {
    g_autoptr(GPtrArray) findings = ql_findings_new ();
    g_autofree char *plan_error = g_strdup_printf ("/etc/qlaunch/t.ini: [vm] run-as: QEMU is to run as nobody, who "
                                                   "cannot use what the VM needs:\n[disk system] file '%s': nobody may "
                                                   "not write it (owner 1000, mode 0600), and qlaunch hands over only "
                                                   "root's files; fix: chown it to the run-as user", system_disk);
    f.plan_error = plan_error;
    ql_check_profile (&f, findings);
    g_assert_null (find (findings, "host-plan", 0));
    g_assert_nonnull (find (findings, "files", 0));
  }
  case_clear (&c);

  /* the file in nobody's group: chmod is enough */
  add_path (files, system_disk, 1000, 65534, 0100600);
  case_run (&c, srv_disks, &f);
  g_free (fix);
  fix = g_strdup_printf ("chmod g+rw '%s'", system_disk);
  g_assert_cmpstr (find (c.findings, "files", 0)->fix, ==, fix);
  case_clear (&c);

  /* a directory nobody cannot pass: each file says so */
  add_path (files, system_disk, 0, 0, 0100600);
  add_path (files, files_dir, 0, 0, 040700);
  case_run (&c, srv_disks, &f);
  g_free (msg);
  g_free (fix);
  msg = g_strdup_printf ("[disk system] file %s: nobody (QEMU's user) cannot pass through %s (owner 0:0, mode 0700)",
                         system_disk, files_dir);
  fix = g_strdup_printf ("chmod o+x '%s'", files_dir);
  assert_files (c.findings, 0, QL_CHECK_FAIL, msg, fix);
  g_assert_cmpint (find (c.findings, "files", 1)->status, ==, QL_CHECK_FAIL);
  g_assert_null (find (c.findings, "files", 2));
  case_clear (&c);

  /* an ACL: not guessed */
  add_path (files, files_dir, 0, 0, 040755);
  g_hash_table_add (files->acls, g_strdup (data_disk));
  case_run (&c, srv_disks, &f);
  g_free (msg);
  g_free (fix);
  msg = g_strdup_printf ("[disk data] file %s: %s has an ACL: not checked (QEMU runs as nobody)", data_disk,
                         data_disk);
  fix = g_strdup_printf ("getfacl '%s' shows whether nobody may read it", data_disk);
  assert_files (c.findings, 0, QL_CHECK_WARN, msg, fix);
  g_assert_null (find (c.findings, "files", 1));
  case_clear (&c);

  /* a file gone since the profile was read */
  g_hash_table_remove_all (files->acls);
  g_hash_table_remove (files->paths, data_disk);
  case_run (&c, srv_disks, &f);
  g_free (msg);
  msg = g_strdup_printf ("[disk data] file %s does not exist", data_disk);
  assert_files (c.findings, 0, QL_CHECK_FAIL, msg, "fix the path in the profile");
  case_clear (&c);
}

/* a user's own start: QEMU is that user with all its groups; nothing is handed over */
static void
test_files_user_start (void)
{
  g_autoptr(QlCheckFileFacts) files = srv_facts (FALSE, "alice", 1000, 1000, "alice");
  QlCheckProfileFacts f = { .boot = &debian_boot, .as_root = FALSE, .user = "alice", .files = files,
                            .memlock = G_MAXUINT64 };
  g_autofree char *msg = NULL, *fix = NULL;
  guint32 disk = 6;
  Case c;

  g_array_append_val (files->run_as->groups, disk);
  add_path (files, system_disk, 0, 6, 0100660);
  case_run (&c, srv_disks, &f);
  assert_files (c.findings, 0, QL_CHECK_OK, "2 file(s) the VM uses, all usable by alice (QEMU's user)", NULL);
  case_clear (&c);

  add_path (files, system_disk, 0, 0, 0100644);
  case_run (&c, srv_disks, &f);
  msg = g_strdup_printf ("[disk system] file %s: alice (QEMU's user) may not read and write it (owner 0:0, mode 0644)",
                         system_disk);
  fix = g_strdup_printf ("as its owner or root: setfacl -m u:alice:rw '%s', or chgrp alice '%s' && chmod g+rw '%s'",
                         system_disk, system_disk, system_disk);
  assert_files (c.findings, 0, QL_CHECK_FAIL, msg, fix);
  case_clear (&c);

  /* who QEMU would run as cannot be decided (start's refusal is the host plan's) */
  files->error = g_strdup ("/etc/qlaunch/t.ini:3: [vm] run-as: there is no user 'bob' on this host");
  case_run (&c, srv_disks, &f);
  assert_files (c.findings, 0, QL_CHECK_WARN,
                "not checked: who QEMU runs as is not decided: /etc/qlaunch/t.ini:3: [vm] run-as: there is no "
                "user 'bob' on this host", "see the host-plan finding");
  case_clear (&c);
}

/* A POSIX access ACL (user::rw- user:UID:r-- group::--- mask::r-- other::---), as setfacl writes it. */
static gboolean
set_acl (const char *path, guint32 uid)
{
  struct {
    guint32 version;
    struct { guint16 tag, perm; guint32 id; } entries[5];
  } acl = { GUINT32_TO_LE (2), {
    { GUINT16_TO_LE (0x01), GUINT16_TO_LE (6), GUINT32_TO_LE (G_MAXUINT32) },
    { GUINT16_TO_LE (0x02), GUINT16_TO_LE (4), GUINT32_TO_LE (uid) },
    { GUINT16_TO_LE (0x04), GUINT16_TO_LE (0), GUINT32_TO_LE (G_MAXUINT32) },
    { GUINT16_TO_LE (0x10), GUINT16_TO_LE (4), GUINT32_TO_LE (G_MAXUINT32) },
    { GUINT16_TO_LE (0x20), GUINT16_TO_LE (0), GUINT32_TO_LE (G_MAXUINT32) },
  } };

  return setxattr (path, "system.posix_acl_access", &acl, sizeof acl, 0) == 0;
}

static void
make_file (const char *path, uid_t uid, gid_t gid, mode_t mode)
{
  g_assert_true (g_file_set_contents (path, "x", 1, NULL));
  g_assert_no_errno (chown (path, uid, gid));
  g_assert_no_errno (chmod (path, mode));
}

/* A check with the files' facts read for real: the machine first, then
 * what start would decide for it.  Returns the facts, for the caller to free. */
static QlCheckFileFacts *
case_run_with_files (Case *c, const char *sections, QlCheckProfileFacts *f)
{
  QlCheckFileFacts *files;
  Case pre;

  case_run (&pre, sections, f);
  files = ql_check_read_files (pre.machine, "/dev");
  f->files = files;
  case_run (c, sections, f);
  f->files = NULL;
  case_clear (&pre);
  return files;
}

/* The reader on real files, as root: run-as=nobody, files of root, of daemon and of nobody */
static void
test_files_read_real (void)
{
  g_autofree char *dir = NULL, *a = NULL, *b = NULL, *sections = NULL, *fix = NULL, *msg = NULL;
  QlCheckProfileFacts f = { .boot = &debian_boot, .as_root = TRUE };
  struct passwd *pw;
  struct group *gr;
  uid_t nobody_uid, daemon_uid;
  gid_t nobody_gid, daemon_gid;
  g_autofree char *nogroup = NULL;
  Case c;

  /* getpwnam () answers in one static buffer: each answer copied before the next */
  if (geteuid () != 0 || (pw = getpwnam ("daemon")) == NULL)
    {
      g_test_skip ("needs root (to chown) and the users nobody and daemon");
      return;
    }
  daemon_uid = pw->pw_uid;
  daemon_gid = pw->pw_gid;
  if ((pw = getpwnam ("nobody")) == NULL || (nobody_uid = pw->pw_uid, nobody_gid = pw->pw_gid,
                                             gr = getgrgid (nobody_gid)) == NULL)
    {
      g_test_skip ("needs the user nobody and its group");
      return;
    }
  nogroup = g_strdup (gr->gr_name);
  dir = g_dir_make_tmp ("ql-check-files-XXXXXX", NULL);
  a = g_build_filename (dir, "a.img", NULL);
  b = g_build_filename (dir, "b.img", NULL);
  make_file (a, daemon_uid, daemon_gid, 0600);
  make_file (b, 0, 0, 0600);
  sections = g_strdup_printf ("run-as=nobody\n[memory]\nsize=1G\n[disk a]\nfile=%s\n[disk b]\nfile=%s\nreadonly=true\n",
                              a, b);

  /* g_dir_make_tmp's 0700: nobody cannot pass */
  {
    g_autoptr(QlCheckFileFacts) files = case_run_with_files (&c, sections, &f);
    g_assert_null (files->error);
    g_assert_cmpstr (files->run_as->user, ==, "nobody");
    msg = g_strdup_printf ("[disk a] file %s: nobody (QEMU's user) cannot pass through %s (owner 0:0, mode 0700)", a,
                           dir);
    fix = g_strdup_printf ("chmod o+x '%s'", dir);
    assert_finding (c.findings, "files", QL_CHECK_FAIL, msg, fix);
    case_clear (&c);
  }
  g_assert_no_errno (chmod (dir, 0755));
  {
    g_autoptr(QlCheckFileFacts) files = case_run_with_files (&c, sections, &f);
    g_free (msg);
    g_free (fix);
    msg = g_strdup_printf ("[disk a] file %s: nobody (QEMU's user) may not read and write it (owner %u:%u, mode 0600)",
                           a, daemon_uid, daemon_gid);
    fix = g_strdup_printf ("chgrp %s '%s' && chmod g+rw '%s', or set [vm] run-as to its owner (uid %u)",
                           nogroup, a, a, daemon_uid);
    assert_finding (c.findings, "files", QL_CHECK_FAIL, msg, fix);
    g_assert_null (find (c.findings, "files", 1));   /* b.img: root's, handed over by start */
    case_clear (&c);
  }
  g_assert_no_errno (chown (a, nobody_uid, nobody_gid));
  if (!set_acl (b, nobody_uid))
    g_test_message ("no POSIX ACLs on %s: %s", dir, g_strerror (errno));
  else
    {
      g_autoptr(QlCheckFileFacts) files = case_run_with_files (&c, sections, &f);
      g_free (msg);
      g_free (fix);
      msg = g_strdup_printf ("[disk b] file %s: %s has an ACL: not checked (QEMU runs as nobody)", b, b);
      fix = g_strdup_printf ("getfacl '%s' shows whether nobody may read it", b);
      assert_finding (c.findings, "files", QL_CHECK_WARN, msg, fix);
      case_clear (&c);
    }
  g_unlink (a);
  g_unlink (b);
  g_rmdir (dir);
}

/* ---- the binary ---- */

static int
run_check (char **envp, char **ret_out, const char *arg1, const char *arg2)
{
  const char *argv[] = { g_getenv ("QL_QLAUNCH"), "check", arg1, arg2, NULL };
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL, ret_out, NULL, &status,
                               NULL));
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static JsonArray *
parse_findings (const char *out, JsonParser *parser)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  return json_node_get_array (json_parser_get_root (parser));
}

static const char *
json_status_of (JsonArray *a, const char *check)
{
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      if (g_strcmp0 (json_object_get_string_member (o, "check"), check) == 0)
        return json_object_get_string_member (o, "status");
    }
  return NULL;
}

/* qlaunch check on a fake Intel host with a profile whose group holds the SATA controller */
static void
test_binary_fake_host (void)
{
  g_autofree char *root = fake_host_tree (FALSE, TRUE, TRUE);
  g_autofree char *proc = g_build_filename (root, "proc", NULL), *dev = g_build_filename (root, "dev", NULL);
  g_autofree char *etc = g_build_filename (root, "etc", NULL), *modules = g_build_filename (root, "modules", NULL);
  g_autofree char *profile = g_build_filename (root, "t.ini", NULL);
  g_autofree char *out = NULL, *text = NULL;
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *a;

  envp = g_environ_setenv (envp, "QLAUNCH_SYSFS", pci_sysfs, TRUE);
  envp = g_environ_setenv (envp, "QLAUNCH_PROCFS", proc, TRUE);
  envp = g_environ_setenv (envp, "QLAUNCH_DEVFS", dev, TRUE);
  envp = g_environ_setenv (envp, "QLAUNCH_ETC", etc, TRUE);
  envp = g_environ_setenv (envp, "QLAUNCH_MODULES", modules, TRUE);
  /* no /dev/kvm in the tree: without a profile a warn, as accel=auto (the default) runs on TCG */
  g_assert_cmpint (run_check (envp, &out, "--json", NULL), ==, 1);
  a = parse_findings (out, parser);
  g_assert_cmpstr (json_status_of (a, "kvm"), ==, "warn");
  g_assert_cmpstr (json_status_of (a, "vfio"), ==, "ok");
  g_assert_cmpstr (json_status_of (a, "interrupt-remapping"), ==, "ok");
  g_assert_cmpstr (json_status_of (a, "kernel-cmdline"), ==, "warn");
  /* host-wide: the Vega in the tree needs vendor-reset */
  g_assert_cmpstr (json_status_of (a, "reset 0000:06:00.0"), ==, "warn");
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      g_assert_true (json_object_has_member (o, "message") && json_object_has_member (o, "fix"));
      g_assert_true (json_object_get_null_member (o, "fix") == (strcmp (json_object_get_string_member (o, "status"),
                                                                        "ok") == 0));
    }

  text = g_strdup_printf ("[vm]\nname=t\naccel=tcg\nfirmware=bios\n[memory]\nsize=256M\n[pci gpu]\nhost=0000:02:00.0\n");
  g_assert_true (g_file_set_contents (profile, text, -1, NULL));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_check (envp, &out, profile, NULL), ==, 2);
  g_assert_nonnull (strstr (out, "\nfail  pci gpu              [pci gpu]: IOMMU group 2 is not viable: it also holds "
                                 "0000:05:00.0 ("));
  g_assert_nonnull (strstr (out, "fix: pass it through as well (another [pci] section), or give it to vfio-pci with "
                                 "'qlaunch bind 0000:05:00.0'\n"));
  g_assert_nonnull (strstr (out, "\nok    profile              "));
  g_assert_nonnull (strstr (out, "ok    kvm                  not needed: accel=tcg ("));

  /* accel=kvm without KVM: start refuses the profile, and kvm is a fail */
  text = (g_free (text), g_strdup ("[vm]\nname=t\naccel=kvm\nfirmware=bios\n[memory]\nsize=256M\n"));
  g_assert_true (g_file_set_contents (profile, text, -1, NULL));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_check (envp, &out, profile, "--json"), ==, 2);
  g_clear_object (&parser);
  parser = json_parser_new ();
  a = parse_findings (out, parser);
  g_assert_cmpstr (json_status_of (a, "kvm"), ==, "fail");
  g_assert_cmpstr (json_status_of (a, "profile"), ==, "fail");
  remove_tree (root);
}

/* qlaunch check on this very host: it must say what sysfs shows */
static void
test_binary_real_host (void)
{
  g_autofree char *out = NULL;
  g_auto(GStrv) envp = g_get_environ ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GDir) groups = g_dir_open ("/sys/kernel/iommu_groups", 0, NULL);
  gboolean iommu = groups != NULL && g_dir_read_name (groups) != NULL;
  int rc;
  JsonArray *a;

  rc = run_check (envp, &out, "--json", NULL);
  a = parse_findings (out, parser);
  g_test_message ("this host: exit %d, iommu %s", rc, json_status_of (a, "iommu"));
  g_assert_cmpstr (json_status_of (a, "iommu"), ==, iommu ? "ok" : "fail");
  if (!iommu)
    {
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonObject *o = json_array_get_object_element (a, i);
          if (strcmp (json_object_get_string_member (o, "check"), "iommu") == 0 &&
              !g_file_test ("/etc/kernel/cmdline", G_FILE_TEST_EXISTS))
            g_assert_nonnull (strstr (json_object_get_string_member (o, "fix"), "GRUB_CMDLINE_LINUX_DEFAULT=\""));
        }
      g_assert_cmpint (rc, ==, 2);
    }
}

int
main (int argc, char **argv)
{
  int rc;

  g_test_init (&argc, &argv, NULL);
  pci_sysfs = fake_sysfs_new ();
  fake_sysfs_add_device (pci_sysfs, "0000:05:00.0", 0x8086, 0x8c02, 0x010601, "ahci", 2);
  fake_sysfs_add_device (pci_sysfs, "0000:06:00.0", 0x1002, 0x687f, 0x030000, "amdgpu", 6);
  fake_sysfs_add_cpus (pci_sysfs, 1, 4, 1, 0);
  srv_setup ();
  g_test_add_func ("/check/host/intel-ok", test_intel_ok);
  g_test_add_func ("/check/host/amd", test_amd_ok);
  g_test_add_func ("/check/host/kvm-accel", test_kvm_accel);
  g_test_add_func ("/check/host/iommu-off", test_iommu_off);
  g_test_add_func ("/check/host/iommu-turned-off", test_iommu_turned_off);
  g_test_add_func ("/check/host/no-interrupt-remapping", test_no_intremap);
  g_test_add_func ("/check/host/vfio-qemu-firmware", test_vfio_qemu_firmware);
  g_test_add_func ("/check/host/os-release", test_os_release);
  g_test_add_func ("/check/read/intel", test_read_intel);
  g_test_add_func ("/check/read/amd", test_read_amd);
  g_test_add_func ("/check/profile/nvidia-bound", test_nvidia_bound);
  g_test_add_func ("/check/profile/group-shared-with-sata", test_group_shared_with_sata);
  g_test_add_func ("/check/profile/amd-reset-bug", test_amd_reset_bug);
  g_test_add_func ("/check/profile/reset-bug-ids", test_reset_bug_ids);
  g_test_add_func ("/check/profile/hugepages-short", test_hugepages_short);
  g_test_add_func ("/check/profile/memlock-low", test_memlock_low);
  g_test_add_func ("/check/profile/pins-files-refused", test_pins_files_refused);
  g_test_add_func ("/check/profile/machine-type", test_machine_type);
  g_test_add_func ("/check/files/root-start", test_files_root_start);
  g_test_add_func ("/check/files/user-start", test_files_user_start);
  g_test_add_func ("/check/files/read-real", test_files_read_real);
  g_test_add_func ("/check/binary/fake-host", test_binary_fake_host);
  g_test_add_func ("/check/binary/real-host", test_binary_real_host);
  rc = g_test_run ();
  srv_teardown ();
  fake_sysfs_remove (pci_sysfs);
  g_free (pci_sysfs);
  return rc;
}
