#include "ql-check-read.h"
#include "ql-host-probe.h"
#include "ql-setup-host.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static char *
read_text (const char *root, const char *relative)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return g_strstrip (text);
}

static gboolean
exists (const char *root, const char *relative)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static guint
count_entries (const char *root, const char *relative, const char *prefix)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint n = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    n += prefix == NULL || g_str_has_prefix (name, prefix);
  return n;
}

void
ql_check_read_boot (const char *etc, QlBootConfig *boot)
{
  g_autofree char *os_release = read_text (etc, "os-release");
  g_autofree char *grub = read_text (etc, "default/grub");

  boot->family = ql_distro_family_from_os_release (os_release);
  boot->grub_cmdline = grub ? ql_check_shell_value (grub, "GRUB_CMDLINE_LINUX_DEFAULT") : NULL;
  if (grub != NULL && boot->grub_cmdline == NULL)
    boot->grub_cmdline = g_strdup ("");
  boot->kernel_cmdline = read_text (etc, "kernel/cmdline");
  boot->initramfs_command = ql_setup_initramfs_command (etc);
}

static QlCpuVendor
cpu_vendor (const char *cpuinfo)
{
  if (cpuinfo != NULL && strstr (cpuinfo, "AuthenticAMD") != NULL)
    return QL_CPU_VENDOR_AMD;
  if (cpuinfo != NULL && strstr (cpuinfo, "GenuineIntel") != NULL)
    return QL_CPU_VENDOR_INTEL;
  return QL_CPU_VENDOR_OTHER;
}

/* VT-d's extended capability register, bit 3: interrupt remapping. */
static QlTristate
intel_intremap (const char *sysfs)
{
  g_autofree char *path = g_build_filename (sysfs, "class", "iommu", NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  QlTristate all = QL_TRISTATE_UNKNOWN;
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *rel = g_build_filename ("class", "iommu", name, "intel-iommu", "ecap", NULL);
      g_autofree char *ecap = read_text (sysfs, rel);
      if (ecap == NULL)
        continue;
      if ((g_ascii_strtoull (ecap, NULL, 16) & 0x8) == 0)
        return QL_TRISTATE_NO;
      all = QL_TRISTATE_YES;
    }
  return all;
}

static QlTristate
vfio_pci_present (const char *modules, const char *release)
{
  g_autofree char *dep_rel = g_build_filename (release ? release : "", "modules.dep", NULL);
  g_autofree char *builtin_rel = g_build_filename (release ? release : "", "modules.builtin", NULL);
  g_autofree char *dep = release ? read_text (modules, dep_rel) : NULL;
  g_autofree char *builtin = release ? read_text (modules, builtin_rel) : NULL;

  if (dep == NULL && builtin == NULL)
    return QL_TRISTATE_UNKNOWN;
  return (dep && strstr (dep, "/vfio-pci.ko")) || (builtin && strstr (builtin, "/vfio-pci.ko"))
           ? QL_TRISTATE_YES : QL_TRISTATE_NO;
}

QlCheckHostFacts *
ql_check_host_read (const QlCheckRoots *r, const char *qemu_binary)
{
  QlCheckHostFacts *f = g_new0 (QlCheckHostFacts, 1);
  g_autoptr(QlHostFacts) probed = ql_host_facts_probe (r->procfs, r->devfs, qemu_binary);
  g_autofree char *cpuinfo = read_text (r->procfs, "cpuinfo");
  g_autofree char *interrupts = read_text (r->procfs, "interrupts");
  g_autofree char *unsafe = read_text (r->sysfs, "module/vfio_iommu_type1/parameters/allow_unsafe_interrupts");

  ql_check_read_boot (r->etc, &f->boot);
  f->cpu_vendor = cpu_vendor (cpuinfo);
  f->kvm_usable = probed->kvm_usable;
  f->kvm_reason = g_strdup (probed->kvm_reason);
  f->cmdline = read_text (r->procfs, "cmdline");
  f->acpi_dmar = exists (r->sysfs, "firmware/acpi/tables/DMAR");
  f->acpi_ivrs = exists (r->sysfs, "firmware/acpi/tables/IVRS");
  f->iommu_units = count_entries (r->sysfs, "class/iommu", NULL);
  f->iommu_groups = count_entries (r->sysfs, "kernel/iommu_groups", NULL);
  f->intremap_hw = intel_intremap (r->sysfs);
  f->intremap_in_use = interrupts != NULL && strstr (interrupts, "IR-") != NULL;
  f->unsafe_interrupts = unsafe == NULL ? QL_TRISTATE_UNKNOWN
                         : (unsafe[0] == 'Y' || unsafe[0] == '1') ? QL_TRISTATE_YES : QL_TRISTATE_NO;
  f->vfio_pci_loaded = exists (r->sysfs, "module/vfio_pci") || exists (r->sysfs, "bus/pci/drivers/vfio-pci")
                       ? QL_TRISTATE_YES : QL_TRISTATE_NO;
  f->kernel_release = read_text (r->procfs, "sys/kernel/osrelease");
  f->vfio_pci_present = vfio_pci_present (r->modules, f->kernel_release);
  f->qemu_binary = g_strdup (probed->qemu_binary);
  f->qemu_version = ql_host_qemu_version (probed->qemu_binary);
  f->firmware_descriptors = probed->firmware ? probed->firmware->len : 0;
  return f;
}

gboolean
ql_check_vendor_reset_loaded (const char *sysfs)
{
  return exists (sysfs, "module/vendor_reset");
}

GHashTable *
ql_check_read_reset_methods (const char *sysfs, GPtrArray *devices)
{
  GHashTable *methods = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; i < devices->len; i++)
    {
      const QlPciDevice *d = devices->pdata[i];
      g_autofree char *rel = g_build_filename ("bus", "pci", "devices", d->address, "reset_method", NULL);
      char *method = read_text (sysfs, rel);
      if (method != NULL)
        g_hash_table_insert (methods, g_strdup (d->address), method);
    }
  return methods;
}

static void
check_file (GPtrArray *out, guint *checked, const char *file, const char *what)
{
  if (file == NULL)
    return;
  (*checked)++;
  if (access (file, R_OK) != 0)
    g_ptr_array_add (out, g_strdup_printf ("%s (%s): %s", file, what, g_strerror (errno)));
}

GPtrArray *
ql_check_unreadable_files (const QlMachine *m, guint *ret_checked)
{
  const QlProfile *p = m->profile;
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  guint checked = 0;

  for (guint i = 0; i < p->disks->len; i++)
    check_file (out, &checked, ((QlDisk *) p->disks->pdata[i])->file, "[disk] file");
  for (guint i = 0; i < p->cdroms->len; i++)
    check_file (out, &checked, ((QlCdrom *) p->cdroms->pdata[i])->file, "[cdrom] file");
  for (guint i = 0; i < p->pcis->len; i++)
    check_file (out, &checked, ((QlPci *) p->pcis->pdata[i])->rom, "[pci] rom");
  check_file (out, &checked, p->vm.kernel, "[vm] kernel");
  check_file (out, &checked, p->vm.initrd, "[vm] initrd");
  check_file (out, &checked, m->firmware_code, "UEFI code");
  check_file (out, &checked, m->firmware_vars_template, "UEFI varstore template");
  *ret_checked = checked;
  return out;
}
