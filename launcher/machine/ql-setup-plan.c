#include "ql-setup-plan.h"
#include "ql-error.h"
#include "ql-hugepage-pool.h"
#include "ql-setup-devices.h"

#include <string.h>

#define GIB (G_GUINT64_CONSTANT (1) << 30)

guint64
ql_setup_memlock_bytes (const QlProfile *profile)
{
  return profile->memory.size + GIB;
}

guint64
ql_setup_memory_cap (guint64 mem_total)
{
  guint64 keep = MAX (GIB / 2, mem_total / 8);

  return mem_total > keep ? mem_total - keep : 0;
}

gboolean
ql_setup_name_valid (const char *name)
{
  if (name[0] == '\0' || name[0] == '.' || name[0] == '-' || strlen (name) > 64)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("_.:-", *p) == NULL)
      return FALSE;
  return TRUE;
}

char *
ql_setup_file_path (QlSetupFileKind kind, const char *vm)
{
  static const struct {
    const char *dir, *prefix, *suffix;
  } files[QL_SETUP_FILE_MAX] = {
    [QL_SETUP_FILE_MODPROBE] = { "modprobe.d", "qlaunch-", ".conf" },
    [QL_SETUP_FILE_MODULES_LOAD] = { "modules-load.d", "qlaunch-", ".conf" },
    /* after 50-udev-default.rules, which sets /dev/vfio/vfio's mode */
    [QL_SETUP_FILE_UDEV] = { "udev/rules.d", "70-qlaunch-", ".rules" },
    [QL_SETUP_FILE_LIMITS] = { "security/limits.d", "qlaunch-", ".conf" },
    [QL_SETUP_FILE_SYSCTL] = { "sysctl.d", "qlaunch-", ".conf" },
  };

  g_return_val_if_fail (kind < QL_SETUP_FILE_MAX, NULL);
  if (!ql_setup_name_valid (vm))
    return NULL;
  return g_strconcat (files[kind].dir, "/", files[kind].prefix, vm, files[kind].suffix, NULL);
}

void
ql_setup_file_free (QlSetupFile *file)
{
  g_free (file->path);
  g_free (file->text);
  g_free (file);
}

void
ql_setup_plan_free (QlSetupPlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->vm);
  g_free (plan->user);
  g_free (plan->profile);
  g_clear_pointer (&plan->files, g_ptr_array_unref);
  g_clear_pointer (&plan->vfio_groups, g_array_unref);
  g_clear_pointer (&plan->taps, g_ptr_array_unref);
  g_clear_pointer (&plan->softdep_modules, g_ptr_array_unref);
  g_clear_pointer (&plan->commands, g_ptr_array_unref);
  g_clear_pointer (&plan->notes, g_ptr_array_unref);
  g_clear_pointer (&plan->devices, g_ptr_array_unref);
  g_clear_pointer (&plan->refused, g_ptr_array_unref);
  g_free (plan);
}

static void
add_file (QlSetupPlan *plan, QlSetupFileKind kind, GString *body)
{
  QlSetupFile *file = g_new0 (QlSetupFile, 1);

  file->kind = kind;
  file->path = ql_setup_file_path (kind, plan->vm);
  file->text = g_strdup_printf ("# Written by 'qlaunch host-setup %s' for user %s; 'qlaunch host-setup %s --undo --user "
                                "%s' removes it.\n%s", plan->vm, plan->user, plan->vm, plan->user, body->str);
  g_string_free (body, TRUE);
  g_ptr_array_add (plan->files, file);
}

static gboolean
contains (GPtrArray *strings, const char *s)
{
  for (guint i = 0; i < strings->len; i++)
    if (strcmp (strings->pdata[i], s) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
group_listed (GArray *groups, int group)
{
  for (guint i = 0; i < groups->len; i++)
    if (g_array_index (groups, int, i) == group)
      return TRUE;
  return FALSE;
}

/* Each function passed through, as the host has it; FALSE (with the
 * problem) for one that is not there or not in an IOMMU group. */
static gboolean
collect_devices (const QlMachine *m, const QlSetupFacts *facts, GPtrArray *devices, GArray *given, GError **error)
{
  for (guint i = 0; i < m->hostdevs->len; i++)
    {
      const QlMachineHostdev *h = m->hostdevs->pdata[i];

      for (guint j = 0; j < h->functions->len; j++)
        {
          const char *address = ((QlMachineFunction *) h->functions->pdata[j])->host;
          const QlPciDevice *d = NULL;
          QlPciAddress addr;

          if (facts->pci != NULL && ql_pci_address_parse (address, FALSE, &addr, NULL))
            d = ql_pci_host_lookup (facts->pci, &addr);
          if (facts->pci == NULL)
            {
              g_set_error (error, QL_ERROR, QL_ERROR_HOST, "[pci %s]: cannot read the host's PCI devices: %s",
                           h->pci->id, facts->pci_error ? facts->pci_error : "not looked at");
              return FALSE;
            }
          if (d == NULL || d->iommu_group < 0)
            {
              g_set_error (error, QL_ERROR, QL_ERROR_HOST, "[pci %s]: %s %s", h->pci->id, address,
                           d == NULL ? "is not on this host" : "is in no IOMMU group: the IOMMU is off (enable VT-d "
                                                               "or AMD-Vi and intel_iommu=on or amd_iommu=on first)");
              return FALSE;
            }
          g_ptr_array_add (devices, (gpointer) d);
          g_array_append_val (given, ((QlSetupDevice) { .device = d, .pci = h->pci->id }));
        }
    }
  return TRUE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The modules the softdep lines name: the devices' drivers now, and those
 * an earlier host-setup saw before vfio-pci took the devices over. */
static void
collect_modules (QlSetupPlan *plan, GPtrArray *devices, const QlSetupFacts *facts)
{
  for (guint i = 0; i < devices->len; i++)
    {
      const QlPciDevice *d = devices->pdata[i];
      const char *module;

      if (d->driver == NULL || strcmp (d->driver, "vfio-pci") == 0)
        continue;
      module = facts->driver_modules ? g_hash_table_lookup (facts->driver_modules, d->driver) : NULL;
      if (module == NULL)
        g_ptr_array_add (plan->notes,
                         g_strdup_printf ("%s: its driver %s is built into the kernel, so no softdep can load "
                                          "vfio-pci before it; the device stays on %s at boot (bind it with "
                                          "'qlaunch bind %s' as root, or boot with %s.blacklist=1 if it is a module "
                                          "in the initramfs)", d->address, d->driver, d->driver, d->address,
                                          d->driver));
      else if (!contains (plan->softdep_modules, module))
        g_ptr_array_add (plan->softdep_modules, g_strdup (module));
    }
  for (guint i = 0; facts->previous_modules != NULL && facts->previous_modules[i] != NULL; i++)
    if (!contains (plan->softdep_modules, facts->previous_modules[i]))
      g_ptr_array_add (plan->softdep_modules, g_strdup (facts->previous_modules[i]));
  /* in name order, so that a rerun writes the same file whichever drivers it sees */
  g_ptr_array_sort (plan->softdep_modules, compare_strings);
}

static void
add_modprobe_files (QlSetupPlan *plan, GPtrArray *devices)
{
  GString *body = g_string_new (NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < devices->len; i++)
    {
      const QlPciDevice *d = devices->pdata[i];
      char *id = g_strdup_printf ("%04x:%04x", d->vendor, d->device);

      if (contains (ids, id))
        g_free (id);
      else
        g_ptr_array_add (ids, id);
    }
  g_ptr_array_add (ids, NULL);
  {
    g_autofree char *list = g_strjoinv (",", (char **) ids->pdata);
    g_string_append_printf (body, "options vfio-pci ids=%s\n", list);
  }
  for (guint i = 0; i < plan->softdep_modules->len; i++)
    g_string_append_printf (body, "softdep %s pre: vfio-pci\n", (const char *) plan->softdep_modules->pdata[i]);
  add_file (plan, QL_SETUP_FILE_MODPROBE, body);
  body = g_string_new (NULL);
  g_string_append (body, "vfio-pci\n");
  add_file (plan, QL_SETUP_FILE_MODULES_LOAD, body);
}

/* The rule matches the group's number and, since numbers can change with
 * the hardware or the firmware, the very devices in it (udev's TEST on
 * the real /sys): a renumbered group gives nothing to anyone. */
static void
add_udev_file (QlSetupPlan *plan, GPtrArray *devices)
{
  GString *body = g_string_new (NULL);

  g_string_append (body, "# IOMMU group numbers can change with the hardware or the firmware: run host-setup "
                         "again then.\n");
  for (guint i = 0; i < devices->len; i++)
    {
      const QlPciDevice *d = devices->pdata[i];

      if (group_listed (plan->vfio_groups, d->iommu_group))
        continue;
      g_array_append_val (plan->vfio_groups, d->iommu_group);
      g_string_append_printf (body, "SUBSYSTEM==\"vfio\", KERNEL==\"%d\"", d->iommu_group);
      for (guint j = i; j < devices->len; j++)
        {
          const QlPciDevice *member = devices->pdata[j];
          if (member->iommu_group == d->iommu_group)
            g_string_append_printf (body, ", TEST==\"/sys/kernel/iommu_groups/%d/devices/%s\"", d->iommu_group,
                                    member->address);
        }
      g_string_append_printf (body, ", OWNER=\"%s\", MODE=\"0600\"\n", plan->user);
    }
  add_file (plan, QL_SETUP_FILE_UDEV, body);
}

static void
add_limits_file (QlSetupPlan *plan, const QlProfile *p)
{
  GString *body = g_string_new (NULL);
  guint64 kib = ql_setup_memlock_bytes (p) >> 10;

  g_string_append_printf (body, "# VFIO pins all of the guest's RAM (%" G_GUINT64_FORMAT " MiB), and 1 GiB more "
                                "for QEMU's own mappings\n", p->memory.size >> 20);
  g_string_append_printf (body, "%s soft memlock %" G_GUINT64_FORMAT "\n", plan->user, kib);
  g_string_append_printf (body, "%s hard memlock %" G_GUINT64_FORMAT "\n", plan->user, kib);
  add_file (plan, QL_SETUP_FILE_LIMITS, body);
}

static void
add_hugepages (QlSetupPlan *plan, const QlProfile *p)
{
  guint64 page_kib = p->memory.hugepages == QL_HUGEPAGES_1G ? 1048576 : 2048;
  guint64 pages = p->memory.size / (page_kib << 10);

  if (p->memory.hugepages == QL_HUGEPAGES_NONE)
    return;
  if (page_kib == 2048)
    {
      GString *body = g_string_new (NULL);
      g_string_append_printf (body, "vm.nr_hugepages = %" G_GUINT64_FORMAT "\n", pages);
      add_file (plan, QL_SETUP_FILE_SYSCTL, body);
      g_ptr_array_add (plan->commands,
                       g_strdup_printf ("sysctl vm.nr_hugepages=%" G_GUINT64_FORMAT "   # the pool for this boot; "
                                        "the file sets it at every boot", pages));
      g_ptr_array_add (plan->notes, g_strdup ("vm.nr_hugepages is the whole host's pool: with several VMs on 2 MiB "
                                              "pages, the last sysctl.d file read wins, so set the sum in one"));
      return;
    }
  /* a 1 GiB pool needs contiguous memory that only boot time reliably has */
  g_ptr_array_add (plan->commands,
                   g_strdup_printf ("add to the kernel command line (the boot loader's configuration): "
                                    "default_hugepagesz=1G hugepagesz=1G hugepages=%" G_GUINT64_FORMAT, pages));
}

static void
add_passthrough (QlSetupPlan *plan, const QlMachine *m, GPtrArray *devices, const QlSetupFacts *facts)
{
  g_autoptr(GString) addresses = g_string_new (NULL);

  collect_modules (plan, devices, facts);
  add_modprobe_files (plan, devices);
  add_udev_file (plan, devices);
  add_limits_file (plan, m->profile);
  for (guint i = 0; i < devices->len; i++)
    g_string_append_printf (addresses, " %s", ((const QlPciDevice *) devices->pdata[i])->address);
  g_ptr_array_add (plan->commands,
                   facts->initramfs_command != NULL
                     ? g_strdup_printf ("%s   # the initramfs gets the vfio-pci options", facts->initramfs_command)
                     : g_strdup ("rebuild the initramfs the way this distribution does (update-initramfs -u, "
                                 "dracut -f, mkinitcpio -P), so that it has the vfio-pci options"));
  g_ptr_array_add (plan->commands,
                   g_strdup_printf ("reboot; or, for this boot: qlaunch bind%s", addresses->str));
  g_ptr_array_add (plan->notes,
                   g_strdup_printf ("%s's memlock limit applies from %s's next login; for the units of %s's service "
                                    "manager: systemctl restart user@$(id -u %s).service", plan->user, plan->user,
                                    plan->user, plan->user));
}

/* The devices as the host has them, for root to read; the risky ones
 * refused, or with --force only noted. */
static void
vet_devices (QlSetupPlan *plan, GArray *given, const QlSetupFacts *facts)
{
  ql_setup_devices_describe (facts->pci, given, plan->devices);
  ql_setup_devices_check (facts->pci, given, plan->refused);
  for (guint i = 0; facts->force && i < plan->refused->len; i++)
    g_ptr_array_add (plan->notes, g_strdup_printf ("--force: %s", (const char *) plan->refused->pdata[i]));
  if (facts->force)
    g_ptr_array_set_size (plan->refused, 0);
  else if (plan->refused->len > 0)
    g_ptr_array_add (plan->refused,
                     g_strdup_printf ("(%s would own each device's IOMMU group, and with it DMA to what the device "
                                      "reaches.) Fix: pass through other devices; or, when this host can spare them "
                                      "(see the list with --dry-run), run again with --force", plan->user));
}

/* A tap on a bridge is on whatever network the bridge is: root names the
 * bridges a user's VM may join; --force does not cover them. */
static void
add_taps (QlSetupPlan *plan, const QlMachine *m, const QlSetupFacts *facts)
{
  for (guint i = 0; i < m->taps->len; i++)
    {
      const QlNet *net = g_array_index (m->taps, QlMachineTap, i).net;

      g_ptr_array_add (plan->taps, (gpointer) net);
      if (net->bridge != NULL && (facts->bridges == NULL || !g_strv_contains (facts->bridges, net->bridge)))
        g_ptr_array_add (plan->refused, g_strdup_printf ("%s bridge: the tap would be a port of '%s', which root "
                                                         "has not allowed; if the VM may be on that network, run "
                                                         "again with --bridge %s", net->where, net->bridge,
                                                         net->bridge));
    }
}

/* limits.d's memlock and sysctl.d's pool are the user's for good: no more
 * than the host can spare, whatever the profile says. */
static void
check_memory (QlSetupPlan *plan, const QlProfile *p, gboolean passthrough, const QlSetupFacts *facts)
{
  guint64 cap = ql_setup_memory_cap (facts->mem_total);
  guint64 wanted = passthrough ? ql_setup_memlock_bytes (p) : p->memory.size;

  if (!passthrough && p->memory.hugepages == QL_HUGEPAGES_NONE)
    return;
  if (facts->mem_total == 0)
    g_ptr_array_add (plan->refused, g_strdup ("cannot read the host's MemTotal (/proc/meminfo), so the memory this "
                                              "VM may lock or reserve cannot be checked"));
  else if (wanted > cap)
    g_ptr_array_add (plan->refused,
                     g_strdup_printf ("%s: %.1f GiB to lock or reserve for the guest is more than this host can spare: "
                                      "%.1f GiB of its %.1f GiB (it keeps %.1f GiB). Fix: a smaller [memory] size",
                                      p->path, (double) wanted / GIB, (double) cap / GIB,
                                      (double) facts->mem_total / GIB, (double) (facts->mem_total - cap) / GIB));
}

static gboolean
check_name (const char *what, const char *name, const char *fix, GError **error)
{
  if (ql_setup_name_valid (name))
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s '%s' cannot be part of a file name or line under /etc (letters, "
               "digits, '_', '.', ':', '-', not first '.' or '-')%s", what, name, fix);
  return FALSE;
}

QlSetupPlan *
ql_setup_plan_build (const QlMachine *m, const QlSetupFacts *facts, GError **error)
{
  g_autoptr(QlSetupPlan) plan = g_new0 (QlSetupPlan, 1);
  g_autoptr(GPtrArray) devices = g_ptr_array_new ();
  g_autoptr(GArray) given = g_array_new (FALSE, FALSE, sizeof (QlSetupDevice));
  const char *vm = m->profile->vm.name;

  if (!check_name ("The VM name", vm, "; give the VM such a [vm] name", error) ||
      !check_name ("The user name", facts->user, "", error))
    return NULL;
  plan->vm = g_strdup (vm);
  plan->user = g_strdup (facts->user);
  plan->profile = g_strdup (m->profile->path);
  plan->files = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_setup_file_free);
  plan->vfio_groups = g_array_new (FALSE, FALSE, sizeof (int));
  plan->taps = g_ptr_array_new ();
  plan->softdep_modules = g_ptr_array_new_with_free_func (g_free);
  plan->commands = g_ptr_array_new_with_free_func (g_free);
  plan->notes = g_ptr_array_new_with_free_func (g_free);
  plan->devices = g_ptr_array_new_with_free_func (g_free);
  plan->refused = g_ptr_array_new_with_free_func (g_free);

  if (!collect_devices (m, facts, devices, given, error))
    return NULL;
  if (devices->len > 0)
    {
      vet_devices (plan, given, facts);
      add_passthrough (plan, m, devices, facts);
    }
  add_hugepages (plan, m->profile);
  check_memory (plan, m->profile, devices->len > 0, facts);
  add_taps (plan, m, facts);
  return g_steal_pointer (&plan);
}
