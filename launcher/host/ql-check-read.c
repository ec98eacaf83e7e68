#include "ql-check-read.h"
#include "ql-host-probe.h"
#include "ql-run-as-read.h"
#include "ql-setup-host.h"

#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
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

/* The paths of each need's chain that carry a POSIX access ACL (and, for
 * a user's start, the owner and mode of each: root's come from run-as). */
static void
read_chains (QlCheckFileFacts *f, GPtrArray *needs, gboolean read_info)
{
  for (guint i = 0; i < needs->len; i++)
    {
      g_autoptr(GPtrArray) chain = ql_run_as_path_chain (((QlRunAsNeed *) needs->pdata[i])->path);
      for (guint j = 0; j < chain->len; j++)
        {
          const char *path = chain->pdata[j];
          if (read_info)
            ql_run_as_read_path (f->paths, path);
          if (getxattr (path, "system.posix_acl_access", NULL, 0) >= 0)
            g_hash_table_add (f->acls, g_strdup (path));
        }
    }
}

/* A user's start: QEMU is this very process's user, with all its groups. */
static QlRunAs *
caller_run_as (void)
{
  QlRunAs *r = g_new0 (QlRunAs, 1);
  int n = getgroups (0, NULL);
  g_autofree gid_t *groups = g_new0 (gid_t, MAX (n, 1));

  r->user = g_strdup (g_get_user_name ());
  r->uid = geteuid ();
  r->gid = getegid ();
  r->groups = g_array_new (FALSE, FALSE, sizeof (guint32));
  n = getgroups (MAX (n, 1), groups);
  for (int i = 0; i < n; i++)
    {
      guint32 gid = groups[i];
      g_array_append_val (r->groups, gid);
    }
  r->where = g_strdup ("the user who starts the VM");
  return r;
}

/* Root's start: whom start picks ([vm] run-as, the sudo user, qlaunch's
 * system user, else root) and the groups it keeps for QEMU. */
static void
read_root_start (QlCheckFileFacts *f, const QlMachine *m, const char *devfs)
{
  g_autoptr(QlHostState) state = g_new0 (QlHostState, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) kept = NULL;

  if (!ql_run_as_read (m, devfs, state, &error))
    {
      f->error = g_strdup (error->message);
      return;
    }
  if (state->run_as == NULL)
    return;
  f->run_as = g_steal_pointer (&state->run_as);
  g_hash_table_unref (f->paths);
  f->paths = g_steal_pointer (&state->run_as_paths);
  kept = ql_run_as_kept_groups (m, f->run_as, f->paths, devfs);
  g_array_append_vals (f->run_as->groups, kept->data, kept->len);
}

QlCheckFileFacts *
ql_check_read_files (const QlMachine *m, const char *devfs)
{
  QlCheckFileFacts *f = g_new0 (QlCheckFileFacts, 1);
  g_autoptr(GPtrArray) needs = NULL;
  struct group *group;

  f->root_start = geteuid () == 0;
  f->paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  f->acls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (f->root_start)
    read_root_start (f, m, devfs);
  else
    f->run_as = caller_run_as ();
  needs = ql_check_file_needs (m, f->root_start);
  read_chains (f, needs, !f->root_start || f->run_as == NULL);
  group = f->run_as != NULL ? getgrgid (f->run_as->gid) : NULL;
  if (f->run_as != NULL)
    f->group_name = group != NULL ? g_strdup (group->gr_name) : g_strdup_printf ("%u", f->run_as->gid);
  return f;
}
