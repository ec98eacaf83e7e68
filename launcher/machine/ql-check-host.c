/* The host's findings of qlaunch check. */
#include "ql-check-host.h"

#include <string.h>

void
ql_check_host_facts_free (QlCheckHostFacts *f)
{
  if (f == NULL)
    return;
  g_free (f->boot.grub_cmdline);
  g_free (f->boot.kernel_cmdline);
  g_free (f->kvm_reason);
  g_free (f->cmdline);
  g_free (f->kernel_release);
  g_free (f->qemu_binary);
  g_free (f);
}

gboolean
ql_check_cmdline_has (const char *cmdline, const char *param)
{
  g_auto(GStrv) words = g_strsplit_set (cmdline ? cmdline : "", " \t\n", -1);
  return g_strv_contains ((const char *const *) words, param);
}

/* What this vendor's IOMMU wants on the command line. */
static const char *
iommu_params (QlCpuVendor vendor)
{
  /* AMD-Vi is on by default; VT-d only with intel_iommu=on (unless the
   * kernel was built with CONFIG_INTEL_IOMMU_DEFAULT_ON) */
  return vendor == QL_CPU_VENDOR_AMD ? "iommu=pt" : "intel_iommu=on iommu=pt";
}

static char *
kvm_fix (const QlCheckHostFacts *f)
{
  return g_strdup_printf ("enable %s in the firmware setup (in a VM: nested virtualization on its host); as root: "
                          "modprobe %s; and add the user who starts VMs to the group kvm (usermod -aG kvm USER)",
                          f->cpu_vendor == QL_CPU_VENDOR_AMD ? "SVM (AMD-V)" : "VT-x",
                          f->cpu_vendor == QL_CPU_VENDOR_AMD ? "kvm_amd" : "kvm_intel");
}

/* As start decides (ql-machine.c resolve_accel): accel=kvm refuses to start
 * without KVM, accel=auto (the default) falls back to TCG, accel=tcg never
 * asks.  Without a profile the default is what a VM gets. */
static void
check_kvm (const QlCheckHostFacts *f, GPtrArray *out)
{
  const char *reason = f->kvm_reason ? f->kvm_reason : "KVM is not usable";
  QlAccel accel = f->has_profile ? f->accel : QL_ACCEL_AUTO;

  if (f->kvm_usable)
    ql_findings_add (out, "kvm", QL_CHECK_OK, g_strdup ("/dev/kvm is usable and the CPU has vmx/svm"), NULL);
  else if (accel == QL_ACCEL_TCG)
    ql_findings_add (out, "kvm", QL_CHECK_OK, g_strdup_printf ("not needed: accel=tcg (%s)", reason), NULL);
  else if (accel == QL_ACCEL_KVM)
    ql_findings_add (out, "kvm", QL_CHECK_FAIL,
                     g_strdup_printf ("%s, and the profile says accel=kvm: start refuses", reason), kvm_fix (f));
  else
    ql_findings_add (out, "kvm", QL_CHECK_WARN,
                     g_strdup_printf ("%s: %s runs the guest on TCG, software emulation many times slower "
                                      "(accel=kvm would not start)", reason,
                                      f->has_profile ? "accel=auto" : "a VM with accel=auto (the default)"),
                     kvm_fix (f));
}

static void
check_iommu (const QlCheckHostFacts *f, GPtrArray *out)
{
  gboolean table = f->cpu_vendor == QL_CPU_VENDOR_AMD ? f->acpi_ivrs : f->acpi_dmar;
  const char *name = f->cpu_vendor == QL_CPU_VENDOR_AMD ? "IVRS" : "DMAR";
  const char *feature = f->cpu_vendor == QL_CPU_VENDOR_AMD ? "AMD-Vi (IOMMU)" : "VT-d";
  /* AMD-Vi off although on by default: amd_iommu=on undoes an amd_iommu=off elsewhere */
  g_autofree char *grub = ql_check_fix_cmdline (&f->boot, f->cpu_vendor == QL_CPU_VENDOR_AMD
                                                            ? "amd_iommu=on iommu=pt" : "intel_iommu=on iommu=pt");

  if (f->iommu_groups > 0)
    {
      ql_findings_add (out, "iommu", QL_CHECK_OK,
                       g_strdup_printf ("IOMMU on: %u IOMMU unit(s), %u IOMMU groups", f->iommu_units,
                                        f->iommu_groups), NULL);
      return;
    }
  if (!table && !f->acpi_dmar && !f->acpi_ivrs)
    ql_findings_add (out, "iommu", QL_CHECK_FAIL,
                     g_strdup_printf ("IOMMU off: the firmware publishes no %s ACPI table and there are no IOMMU "
                                      "groups", name),
                     g_strdup_printf ("enable %s in the firmware setup, then %s", feature, grub));
  else
    ql_findings_add (out, "iommu", QL_CHECK_FAIL,
                     g_strdup_printf ("IOMMU off: the firmware has an IOMMU (%s table) but the kernel made no IOMMU "
                                      "groups", f->acpi_dmar ? "DMAR" : "IVRS"),
                     g_strdup (grub));
}

static void
check_cmdline (const QlCheckHostFacts *f, GPtrArray *out)
{
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();
  g_autoptr(GString) params = g_string_new (NULL);

  static const char *const offs[] = { "intel_iommu=off", "amd_iommu=off", "iommu=off" };

  for (guint i = 0; i < G_N_ELEMENTS (offs); i++)
    if (ql_check_cmdline_has (f->cmdline, offs[i]))
      {
        g_autofree char *fix = ql_check_fix_cmdline (&f->boot, iommu_params (f->cpu_vendor));
        ql_findings_add (out, "kernel-cmdline", QL_CHECK_FAIL,
                         g_strdup_printf ("the kernel command line turns the IOMMU off (%s)", offs[i]),
                         g_strdup_printf ("remove %s from the kernel command line: %s", offs[i], fix));
        return;
      }
  if (f->cpu_vendor != QL_CPU_VENDOR_AMD && !ql_check_cmdline_has (f->cmdline, "intel_iommu=on"))
    g_ptr_array_add (missing, "intel_iommu=on");
  if (!ql_check_cmdline_has (f->cmdline, "iommu=pt"))
    g_ptr_array_add (missing, "iommu=pt");
  if (missing->len == 0)
    {
      ql_findings_add (out, "kernel-cmdline", QL_CHECK_OK,
                       g_strdup_printf ("the kernel command line has %s", iommu_params (f->cpu_vendor)), NULL);
      return;
    }
  for (guint i = 0; i < missing->len; i++)
    g_string_append_printf (params, "%s%s", i ? " " : "", (char *) missing->pdata[i]);
  ql_findings_add (out, "kernel-cmdline",
                   /* intel_iommu=on missing with no groups is the iommu finding's fail; iommu=pt is advice */
                   QL_CHECK_WARN,
                   g_strdup_printf ("the kernel command line lacks %s (%s)", params->str,
                                    g_ptr_array_find_with_equal_func (missing, "intel_iommu=on", g_str_equal, NULL)
                                      ? "VT-d stays off without it, unless the kernel turns it on by default"
                                      : "recommended: host devices keep an identity mapping, which is faster"),
                   ql_check_fix_cmdline (&f->boot, iommu_params (f->cpu_vendor)));
}

/* modprobe.d line that lets VFIO work without interrupt remapping */
static char *
unsafe_interrupts_fix (const QlCheckHostFacts *f)
{
  return g_strdup_printf ("only for guests you trust (without remapping a device can forge interrupts): "
                          "echo 'options vfio_iommu_type1 allow_unsafe_interrupts=1' > "
                          "/etc/modprobe.d/vfio-unsafe-interrupts.conf ; then, as root: %s; reboot",
                          ql_check_initramfs_command (&f->boot));
}

static void
check_intremap (const QlCheckHostFacts *f, GPtrArray *out)
{
  const char *check = "interrupt-remapping";
  g_autofree char *unsafe = unsafe_interrupts_fix (f);

  if (f->iommu_groups == 0)
    ql_findings_add (out, check, QL_CHECK_WARN, g_strdup ("not determined: the IOMMU is off"),
                     g_strdup ("turn the IOMMU on first (see the iommu finding)"));
  else if (f->intremap_in_use)
    ql_findings_add (out, check, QL_CHECK_OK,
                     g_strdup ("in force: /proc/interrupts shows IR- (remapped) interrupt chips"), NULL);
  else if (f->unsafe_interrupts == QL_TRISTATE_YES)
    ql_findings_add (out, check, QL_CHECK_WARN,
                     g_strdup ("no remapping seen; vfio_iommu_type1 allow_unsafe_interrupts=Y is in force, so "
                               "VFIO works, but a device can forge interrupts"),
                     g_strdup ("a host whose IOMMU remaps interrupts (VT-d with IR, AMD-Vi); none on this one"));
  else if (ql_check_cmdline_has (f->cmdline, "intremap=off"))
    ql_findings_add (out, check, QL_CHECK_FAIL,
                     g_strdup ("the kernel command line has intremap=off and allow_unsafe_interrupts is not set: "
                               "VFIO refuses the devices"),
                     g_strdup ("remove intremap=off from the kernel command line (/etc/default/grub or "
                               "/etc/kernel/cmdline, then rebuild the boot configuration as for iommu); reboot"));
  else if (f->intremap_hw == QL_TRISTATE_NO)
    ql_findings_add (out, check, QL_CHECK_FAIL,
                     g_strdup ("the IOMMU cannot remap interrupts (its ecap IR bit is clear) and "
                               "allow_unsafe_interrupts is not set: VFIO refuses the devices"),
                     g_strdup (unsafe));
  else
    ql_findings_add (out, check, QL_CHECK_WARN,
                     g_strdup_printf ("could not determine: %s; /proc/interrupts shows no IR- chip (nothing may use "
                                      "MSI yet); allow_unsafe_interrupts is %s",
                                      f->intremap_hw == QL_TRISTATE_YES ? "the IOMMU supports it (ecap IR bit)"
                                      : "sysfs does not show this IOMMU's capabilities",
                                      f->unsafe_interrupts == QL_TRISTATE_NO ? "N" : "unknown (vfio_iommu_type1 not "
                                      "loaded)"),
                     g_strdup_printf ("as root: dmesg | grep -i remapping  (should say enabled); if it is off: %s",
                                      unsafe));
}

static void
check_vfio (const QlCheckHostFacts *f, GPtrArray *out)
{
  if (f->vfio_pci_loaded == QL_TRISTATE_YES)
    ql_findings_add (out, "vfio", QL_CHECK_OK, g_strdup ("vfio-pci is loaded"), NULL);
  else if (f->vfio_pci_present == QL_TRISTATE_YES)
    ql_findings_add (out, "vfio", QL_CHECK_OK,
                     g_strdup_printf ("vfio-pci is a module of %s, not loaded ('start' as root loads it; "
                                      "host-setup loads it at boot for a user)", f->kernel_release), NULL);
  else if (f->vfio_pci_present == QL_TRISTATE_NO)
    ql_findings_add (out, "vfio", QL_CHECK_FAIL,
                     g_strdup_printf ("kernel %s has no vfio-pci (neither in modules.dep nor built in)",
                                      f->kernel_release),
                     g_strdup ("boot a kernel built with CONFIG_VFIO_PCI (every major distribution's standard "
                               "kernel is)"));
  else
    ql_findings_add (out, "vfio", QL_CHECK_WARN,
                     g_strdup_printf ("vfio-pci is not loaded and /lib/modules/%s/modules.dep cannot be read",
                                      f->kernel_release ? f->kernel_release : "?"),
                     ql_check_fix_install (&f->boot, "linux-image-$(uname -r)", "kernel-modules-$(uname -r)",
                                           "linux", "kernel-default"));
}

static void
check_qemu (const QlCheckHostFacts *f, GPtrArray *out)
{
  if (f->qemu_binary == NULL)
    ql_findings_add (out, "qemu", QL_CHECK_FAIL, g_strdup ("no qemu-system-x86_64 in PATH"),
                     ql_check_fix_install (&f->boot, "qemu-system-x86", "qemu-system-x86", "qemu-system-x86",
                                           "qemu-x86"));
  else if (f->qemu_version == 0)
    ql_findings_add (out, "qemu", QL_CHECK_WARN,
                     g_strdup_printf ("%s -version says no version qlaunch can read", f->qemu_binary),
                     g_strdup_printf ("run '%s -version' to see why it fails", f->qemu_binary));
  else if (f->qemu_version < 702)
    ql_findings_add (out, "qemu", QL_CHECK_WARN,
                     g_strdup_printf ("%s is QEMU %u.%u; qlaunch needs 7.2 or newer", f->qemu_binary,
                                      f->qemu_version / 100, f->qemu_version % 100),
                     ql_check_fix_install (&f->boot, "qemu-system-x86", "qemu-system-x86", "qemu-system-x86",
                                           "qemu-x86"));
  else
    ql_findings_add (out, "qemu", QL_CHECK_OK,
                     g_strdup_printf ("%s, QEMU %u.%u", f->qemu_binary, f->qemu_version / 100,
                                      f->qemu_version % 100), NULL);
}

static void
check_firmware (const QlCheckHostFacts *f, GPtrArray *out)
{
  if (f->firmware_descriptors > 0)
    ql_findings_add (out, "firmware", QL_CHECK_OK,
                     g_strdup_printf ("%u QEMU firmware descriptor(s)", f->firmware_descriptors), NULL);
  else
    ql_findings_add (out, "firmware", QL_CHECK_WARN,
                     g_strdup ("no QEMU firmware descriptors (/usr/share/qemu/firmware): no UEFI (firmware=uefi)"),
                     ql_check_fix_install (&f->boot, "ovmf", "edk2-ovmf", "edk2-ovmf", "qemu-ovmf-x86_64"));
}

void
ql_check_host (const QlCheckHostFacts *f, GPtrArray *findings)
{
  check_kvm (f, findings);
  check_iommu (f, findings);
  check_cmdline (f, findings);
  check_intremap (f, findings);
  check_vfio (f, findings);
  check_qemu (f, findings);
  check_firmware (f, findings);
}
