#include "ql-machine.h"
#include "ql-value.h"
#include "ql-error.h"
#include "ql-firmware.h"
#include "ql-runtime-files.h"

#include <string.h>
#include <sys/un.h>

/* Slots 1c (root ports for passed-through devices, like the seeds' machines)
 * and 1f (ICH9 LPC, AHCI, SMBus) are taken on q35. */
#define FIRST_FREE_SLOT 0x03
#define LAST_FREE_SLOT 0x1b

void
ql_machine_free (QlMachine *m)
{
  if (m == NULL)
    return;
  g_free (m->qemu_binary);
  g_free (m->machine_type);
  g_free (m->cpu_model);
  g_clear_pointer (&m->cpu_flags, g_ptr_array_unref);
  g_clear_pointer (&m->notes, g_ptr_array_unref);
  g_free (m->firmware_code);
  g_free (m->firmware_vars_template);
  g_free (m->firmware_vars);
  g_free (m->hugetlbfs);
  ql_pin_plan_free (m->pin);
  g_free (m->runtime_dir);
  g_free (m->state_dir);
  g_free (m->qmp_socket);
  g_free (m->serial_log);
  g_free (m->ssdt);
  g_clear_pointer (&m->disk_slots, g_array_unref);
  g_clear_pointer (&m->net_slots, g_array_unref);
  g_clear_pointer (&m->mdev_slots, g_array_unref);
  g_clear_pointer (&m->taps, g_array_unref);
  g_clear_pointer (&m->hostdevs, g_ptr_array_unref);
  g_free (m->spice_socket);
  g_free (m->looking_glass_path);
  g_free (m);
}

/* Hyper-V enlightenments for Windows guests, as Proxmox and the seeds' machines
 * use them; they exist only under KVM. */
static const char *const hyperv_flags[] = {
  "hv_relaxed", "hv_vapic", "hv_spinlocks=0x1fff", "hv_time", "hv_vpindex", "hv_synic",
  "hv_stimer", "hv_reset", "hv_frequencies", "hv_runtime", "hv_tlbflush", "hv_ipi", NULL
};

/* The -cpu model and its flags, unescaped: qemu/ writes the option. */
static void
build_cpu (QlMachine *m, const QlProfile *p)
{
  m->cpu_model = g_strdup (p->cpu.model ? p->cpu.model : (m->accel == QL_ACCEL_KVM ? "host" : "max"));
  m->cpu_flags = g_ptr_array_new_with_free_func (g_free);
  if (p->vm.hide_hypervisor)
    {
      /* kvm=off hides the KVM signature; a vendor id other than "Microsoft Hv"
       * keeps old NVIDIA drivers from spotting the hypervisor (error 43) */
      g_ptr_array_add (m->cpu_flags, g_strdup ("kvm=off"));
      g_ptr_array_add (m->cpu_flags, g_strdup ("hv_vendor_id=qlaunch0000"));
    }
  if (p->vm.hyperv && m->accel == QL_ACCEL_KVM)
    for (guint i = 0; hyperv_flags[i]; i++)
      g_ptr_array_add (m->cpu_flags, g_strdup (hyperv_flags[i]));
  else if (p->vm.hyperv)
    g_ptr_array_add (m->notes, g_strdup ("Hyper-V enlightenments are KVM-only; not used under TCG"));
}

gboolean
ql_machine_has_x_vga (const QlMachine *m)
{
  for (guint i = 0; m->hostdevs && i < m->hostdevs->len; i++)
    if (((QlMachineHostdev *) m->hostdevs->pdata[i])->pci->x_vga)
      return TRUE;
  return FALSE;
}

gboolean
ql_machine_take_slot (guint *next, guint *ret_slot, GError **error)
{
  if (*next > LAST_FREE_SLOT)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_PROFILE,
                   "The profile has more PCI devices than q35's root bus has free slots (%d)",
                   LAST_FREE_SLOT - FIRST_FREE_SLOT + 1);
      return FALSE;
    }
  *ret_slot = (*next)++;
  return TRUE;
}

static void
function_free (QlMachineFunction *f)
{
  g_free (f->id);
  g_free (f);
}

static void
hostdev_free (QlMachineHostdev *h)
{
  g_free (h->port_id);
  g_free (h->acpi_path);
  g_free (h->rom_fw_cfg_name);
  g_clear_pointer (&h->functions, g_ptr_array_unref);
  g_free (h);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlMachineHostdev, hostdev_free)

/* The host function a [pci] host= names. */
static const QlPciDevice *
find_host_device (const QlPci *pci, const QlPciHost *host, GError **error)
{
  guint seen = 0;

  if (pci->by_address)
    {
      const QlPciDevice *d = ql_pci_host_lookup (host, &pci->address);
      if (d == NULL)
        {
          char addr[QL_PCI_ADDRESS_LEN];
          ql_pci_address_format (&pci->address, addr);
          g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: no PCI device %s on this host (see 'qlaunch devices')",
                       pci->where, addr);
        }
      return d;
    }
  for (guint i = 0; i < host->devices->len; i++)
    {
      const QlPciDevice *d = host->devices->pdata[i];
      if (d->vendor == pci->match_vendor && d->device == pci->match_device && ++seen == pci->match_index)
        return d;
    }
  if (seen == 0)
    g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: no PCI device %04x:%04x on this host (see 'qlaunch devices')",
                 pci->where, pci->match_vendor, pci->match_device);
  else
    g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: this host has %u device%s %04x:%04x; #%u does not exist",
                 pci->where, seen, seen == 1 ? "" : "s", pci->match_vendor, pci->match_device, pci->match_index);
  return NULL;
}

static QlMachineHostdev *
resolve_hostdev (const QlPci *pci, const QlPciHost *host, GError **error)
{
  g_autoptr(QlMachineHostdev) h = g_new0 (QlMachineHostdev, 1);
  const QlPciDevice *named = find_host_device (pci, host, error);
  guint8 wanted = pci->functions;
  guint8 present = 0;

  if (named == NULL)
    return NULL;
  if (named->is_bridge)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: %s is a PCI bridge; pass through the device behind it",
                   pci->where, named->address);
      return NULL;
    }
  for (guint i = 0; i < host->devices->len; i++)
    {
      const QlPciDevice *d = host->devices->pdata[i];
      if (ql_pci_address_same_slot (&d->addr, &named->addr))
        present |= 1u << d->addr.function;
    }
  if (wanted == 0)
    wanted = present;
  if ((wanted & ~present) != 0)
    {
      g_autoptr(GString) missing = g_string_new (NULL);
      for (guint fn = 0; fn < 8; fn++)
        if (wanted & ~present & (1u << fn))
          g_string_append_printf (missing, "%s%u", missing->len ? ", " : "", fn);
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: %.10s has no function %s (see 'qlaunch devices')",
                   pci->where, named->address, missing->str);
      return NULL;
    }

  h->pci = pci;
  h->host_vendor = named->vendor;
  h->host_device = named->device;
  h->port_id = g_strconcat ("rp-", pci->id, NULL);
  h->functions = g_ptr_array_new_with_free_func ((GDestroyNotify) function_free);
  for (guint fn = 0; fn < 8; fn++)
    if (wanted & (1u << fn))
      {
        QlMachineFunction *f = g_new0 (QlMachineFunction, 1);
        QlPciAddress addr = named->addr;

        addr.function = fn;
        ql_pci_address_format (&addr, f->host);
        f->guest_function = h->functions->len;
        f->id = f->guest_function == 0 ? g_strconcat ("hostdev-", pci->id, NULL)
                                        : g_strdup_printf ("hostdev-%s-f%u", pci->id, f->guest_function);
        g_ptr_array_add (h->functions, f);
      }
  return g_steal_pointer (&h);
}

/* QEMU names a device S%02X of slot << 3 | function under its bus's
 * device; QEMU 7.2 describes the devices behind a root port only with ACPI
 * PCI hotplug (reference/spec.md §2.4), 8.0 and later always (the caps say
 * which; without caps, 7.2 is assumed: the SSDT then defines S00 itself). */
static void
resolve_acpi_names (QlMachine *m, const QlProfile *p, const QlHostFacts *host)
{
  gboolean qemu_describes_children = p->vm.pci_hotplug == QL_PCI_HOTPLUG_ACPI ||
                                     (host->qemu_caps != NULL && ql_qemu_caps_describes_bridge_slots (host->qemu_caps));

  for (guint i = 0; i < m->hostdevs->len; i++)
    {
      QlMachineHostdev *h = m->hostdevs->pdata[i];

      h->acpi_path = g_strdup_printf ("\\_SB.PCI0.S%02X.S00", h->port_devfn);
      if (!h->pci->rom_acpi)
        continue;
      h->rom_fw_cfg_name = ql_profile_rom_fw_cfg_name (h->pci->id);
      h->acpi_define_device = !qemu_describes_children;
      g_ptr_array_add (m->notes, g_strdup_printf ("[pci %s] rom-acpi: _ROM at %s%s, the ROM in fw_cfg '%s'",
                                                  h->pci->id, h->acpi_path,
                                                  h->acpi_define_device ? " (defined by qlaunch's SSDT: QEMU "
                                                                          "does not describe it with pci-hotplug=native)"
                                                                        : "",
                                                  h->rom_fw_cfg_name));
    }
}

/* qlaunch's SSDT, for rom-acpi and fake-battery, goes to the runtime dir. */
static gboolean
resolve_ssdt (QlMachine *m, const QlProfile *p, GError **error)
{
  gboolean wanted = p->fake_battery;

  for (guint i = 0; i < m->hostdevs->len; i++)
    wanted |= ((QlMachineHostdev *) m->hostdevs->pdata[i])->rom_fw_cfg_name != NULL;
  if (!wanted)
    return TRUE;
  /* -acpitable file= splits its value at ':' */
  if (strchr (m->runtime_dir, ':') != NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "The runtime directory '%s' contains ':', which QEMU's -acpitable reads as a file separator; "
                   "set QLAUNCH_RUNTIME_DIR elsewhere", m->runtime_dir);
      return FALSE;
    }
  m->ssdt = g_build_filename (m->runtime_dir, QL_RUNTIME_SSDT, NULL);
  return TRUE;
}

/* No host function may go to two [pci] sections: h against those before it. */
static gboolean
check_functions_unshared (const QlMachine *m, const QlMachineHostdev *h, GError **error)
{
  for (guint j = 0; j < m->hostdevs->len && m->hostdevs->pdata[j] != h; j++)
    {
      const QlMachineHostdev *other = m->hostdevs->pdata[j];
      for (guint a = 0; a < h->functions->len; a++)
        for (guint b = 0; b < other->functions->len; b++)
          if (strcmp (((QlMachineFunction *) h->functions->pdata[a])->host,
                      ((QlMachineFunction *) other->functions->pdata[b])->host) == 0)
            {
              g_set_error (error, QL_ERROR, QL_ERROR_PROFILE, "%s: %s is also passed through by [pci %s]",
                           h->pci->where, ((QlMachineFunction *) h->functions->pdata[a])->host, other->pci->id);
              return FALSE;
            }
    }
  return TRUE;
}

/* explicit root ports first, then 1c.0, 1c.1, ... for the rest */
static gboolean
assign_root_ports (QlMachine *m, const QlProfile *p, GError **error)
{
  guint next_port = 0x1c << 3;

  for (guint i = 0; i < m->hostdevs->len; i++)
    {
      QlMachineHostdev *h = m->hostdevs->pdata[i];
      gboolean taken;

      if (h->pci->root_port >= 0)
        {
          h->port_devfn = h->pci->root_port;
          continue;
        }
      do
        {
          taken = FALSE;
          for (guint j = 0; j < p->pcis->len; j++)
            taken |= ((QlPci *) p->pcis->pdata[j])->root_port == (int) next_port;
          if (taken)
            next_port++;
        }
      while (taken);
      if (next_port > (0x1e << 3 | 7))
        {
          g_set_error (error, QL_ERROR, QL_ERROR_PROFILE, "%s: no free root port left (1c.0-1e.7)", h->pci->where);
          return FALSE;
        }
      h->port_devfn = next_port++;
    }
  return TRUE;
}

static gboolean
resolve_hostdevs (QlMachine *m, const QlProfile *p, const QlHostFacts *host, GError **error)
{
  m->hostdevs = g_ptr_array_new_with_free_func ((GDestroyNotify) hostdev_free);
  if (p->pcis->len == 0)
    return TRUE;
  if (host->pci == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "The profile passes PCI devices through, but %s",
                   host->pci_error ? host->pci_error : "the host's PCI devices were not looked at");
      return FALSE;
    }
  for (guint i = 0; i < p->pcis->len; i++)
    {
      QlMachineHostdev *h = resolve_hostdev (p->pcis->pdata[i], host->pci, error);

      if (h == NULL)
        return FALSE;
      g_ptr_array_add (m->hostdevs, h);
      if (!check_functions_unshared (m, h, error))
        return FALSE;
    }
  if (!assign_root_ports (m, p, error))
    return FALSE;
  for (guint i = 0; i < m->hostdevs->len; i++)
    ((QlMachineHostdev *) m->hostdevs->pdata[i])->chassis = i + 1;
  resolve_acpi_names (m, p, host);
  return TRUE;
}

static gboolean
resolve_pinning (QlMachine *m, const QlProfile *p, const QlHostFacts *host, GError **error)
{
  m->prealloc_threads = p->memory.prealloc_threads;
  if (!ql_profile_pins_threads (p))
    return TRUE;
  if (host->cpus == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "The profile pins threads to host CPUs, but %s",
                   host->cpus_error ? host->cpus_error : "the host's CPUs were not read");
      return FALSE;
    }
  m->pin = ql_pin_plan_resolve (p, host->cpus, m->notes, error);
  if (m->pin == NULL)
    return FALSE;
  /* each pinned vCPU's thread touches its share of the memory, in parallel */
  if (m->prealloc_threads == 0 && m->pin->vcpus != NULL && (m->hugetlbfs != NULL || p->memory.prealloc))
    {
      m->prealloc_threads = m->pin->vcpus->len;
      g_ptr_array_add (m->notes, g_strdup_printf ("prealloc-threads=%u, one per pinned vCPU", m->prealloc_threads));
    }
  return TRUE;
}

char *
ql_machine_iothread_for_disk (const QlMachine *m, int disk_index)
{
  const QlProfile *p = m->profile;
  guint n = 0;

  if (p->cpu.iothreads == 0)
    return NULL;
  if (disk_index < 0)
    return g_strdup ("io0");
  /* round robin over the virtio-blk disks, in profile order */
  for (int i = 0; i < disk_index; i++)
    if (((QlDisk *) p->disks->pdata[i])->bus == QL_DISK_BUS_VIRTIO)
      n++;
  return g_strdup_printf ("io%u", n % p->cpu.iothreads);
}

static QlMachine *
machine_new (const QlProfile *p, const char *runtime_dir, const char *state_dir)
{
  QlMachine *m = g_new0 (QlMachine, 1);

  m->profile = p;
  m->notes = g_ptr_array_new_with_free_func (g_free);
  m->runtime_dir = g_strdup (runtime_dir);
  m->state_dir = g_strdup (state_dir);
  m->qmp_socket = g_build_filename (runtime_dir, QL_RUNTIME_QMP_SOCKET, NULL);
  m->serial_log = g_build_filename (runtime_dir, QL_RUNTIME_SERIAL_LOG, NULL);
  m->disk_slots = g_array_new (FALSE, TRUE, sizeof (guint));
  m->net_slots = g_array_new (FALSE, TRUE, sizeof (guint));
  m->mdev_slots = g_array_new (FALSE, TRUE, sizeof (guint));
  m->taps = g_array_new (FALSE, TRUE, sizeof (QlMachineTap));
  return m;
}

gboolean
ql_machine_check_socket_path (const char *what, const char *path, const char *other_fix, GError **error)
{
  if (strlen (path) >= sizeof (((struct sockaddr_un *) NULL)->sun_path))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "The %s socket path '%s' is longer than a unix socket allows (107 bytes); "
                   "use a shorter VM name or runtime directory%s", what, path, other_fix ? other_fix : "");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_qmp_socket (const QlMachine *m, GError **error)
{
  return ql_machine_check_socket_path ("QMP", m->qmp_socket, NULL, error);
}

static gboolean
resolve_qemu_binary (QlMachine *m, const QlProfile *p, const QlHostFacts *host, GError **error)
{
  if (host->qemu_binary == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "QEMU binary '%s' not found (Hint: apt install qemu-system-x86)",
                   p->qemu.binary ? p->qemu.binary : "qemu-system-x86_64");
      return FALSE;
    }
  m->qemu_binary = g_strdup (host->qemu_binary);
  return TRUE;
}

static gboolean
machine_type_missing (const QlMachine *m, const QlProfile *p, const QlHostFacts *host, const char *wanted,
                      GError **error)
{
  const QlQemuCaps *caps = host->qemu_caps;
  g_autofree char *types = ql_qemu_caps_q35_types (caps);

  if (p->vm.machine != NULL)
    g_set_error (error, QL_ERROR, QL_ERROR_PROFILE, "%s: [vm] machine = %s: QEMU %u.%u (%s) has no such machine type; "
                 "it has %s", p->path, wanted, caps->version / 100, caps->version % 100, host->qemu_binary,
                 types ? types : "no pc-q35 type");
  else
    g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: the machine type %s, pinned at the VM's first start "
                 "(%s/%s), is not in QEMU %u.%u (%s), which has %s. Fix: set [vm] machine = one of these in %s "
                 "(the guest sees its hardware change, as after a QEMU upgrade), or use a QEMU that has %s",
                 p->vm.name, wanted, m->state_dir, QL_STATE_MACHINE_TYPE, caps->version / 100, caps->version % 100,
                 host->qemu_binary, types ? types : "no pc-q35 type", p->path, wanted);
  return FALSE;
}

/* The versioned machine type, so that a QEMU upgrade does not change the
 * guest's hardware (libvirt pins it at define time): [vm] machine, else the
 * type the VM's first start pinned, else what q35 stands for in this QEMU,
 * which this start pins. */
static gboolean
resolve_machine_type (QlMachine *m, const QlProfile *p, const QlHostFacts *host, GError **error)
{
  const QlQemuCaps *caps = host->qemu_caps;
  const char *wanted = p->vm.machine ? p->vm.machine : host->pinned_machine;
  const char *current;

  if (wanted != NULL)
    {
      if (caps != NULL && ql_qemu_caps_find_machine_type (caps, wanted) == NULL)
        return machine_type_missing (m, p, host, wanted, error);
      m->machine_type = g_strdup (wanted);
      return TRUE;
    }
  if (caps == NULL)
    {
      m->machine_type = g_strdup ("q35");
      return TRUE;
    }
  current = ql_qemu_caps_resolve_alias (caps, "q35");
  if (current == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "QEMU %u.%u (%s) has no q35 machine type", caps->version / 100,
                   caps->version % 100, host->qemu_binary);
      return FALSE;
    }
  m->machine_type = g_strdup (current);
  m->pin_machine_type = TRUE;
  return TRUE;
}

static gboolean
resolve_accel (QlMachine *m, const QlProfile *p, const QlHostFacts *host, GError **error)
{
  switch (p->vm.accel)
    {
    case QL_ACCEL_KVM:
      if (!host->kvm_usable)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_HOST, "accel=kvm, but %s (Hint: set accel=auto or accel=tcg)",
                       host->kvm_reason);
          return FALSE;
        }
      m->accel = QL_ACCEL_KVM;
      break;
    case QL_ACCEL_TCG:
      m->accel = QL_ACCEL_TCG;
      break;
    case QL_ACCEL_AUTO:
    default:
      m->accel = host->kvm_usable ? QL_ACCEL_KVM : QL_ACCEL_TCG;
      g_ptr_array_add (m->notes, host->kvm_usable
                         ? g_strdup ("accel=auto: using KVM")
                         : g_strdup_printf ("accel=auto: using TCG (software emulation) because %s", host->kvm_reason));
      break;
    }
  return TRUE;
}

static gboolean
resolve_firmware (QlMachine *m, const QlProfile *p, const QlHostFacts *host, GError **error)
{
  const QlFirmwareDescriptor *fw;

  if (p->vm.firmware != QL_FIRMWARE_UEFI)
    return TRUE;
  fw = ql_firmware_select_uefi (host->firmware, p->vm.secure_boot, error);
  if (fw == NULL)
    return FALSE;
  m->uefi = TRUE;
  m->smm = ql_firmware_has_feature (fw, "requires-smm");
  m->firmware_code = g_strdup (fw->executable);
  m->firmware_vars_template = g_strdup (fw->nvram_template);
  m->firmware_vars = g_build_filename (m->state_dir, QL_STATE_NVRAM, NULL);
  return TRUE;
}

static gboolean
resolve_hugepages (QlMachine *m, const QlProfile *p, const QlHostFacts *host, GError **error)
{
  const char *mount;

  if (p->memory.hugepages == QL_HUGEPAGES_NONE)
    return TRUE;
  mount = p->memory.hugepages == QL_HUGEPAGES_2M ? host->hugetlbfs_2m : host->hugetlbfs_1g;
  if (mount == NULL)
    {
      const char *size = ql_hugepages_names[p->memory.hugepages];
      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "%s: %s, but no hugetlbfs with %s pages is mounted "
                   "(Hint: mount -t hugetlbfs -o pagesize=%s none /dev/hugepages%s)",
                   p->memory.where, size, size, size, p->memory.hugepages == QL_HUGEPAGES_1G ? "1G" : "");
      return FALSE;
    }
  m->hugetlbfs = g_strdup (mount);
  return TRUE;
}

/* Each NIC but mode=none takes a slot; each mode=tap NIC its fds, in order. */
static gboolean
assign_net_slots (QlMachine *m, const QlProfile *p, guint *next_slot, GError **error)
{
  int next_fd = QL_MACHINE_FIRST_NET_FD;

  for (guint i = 0; i < p->nets->len; i++)
    {
      QlNet *net = p->nets->pdata[i];
      guint slot = 0;
      if (net->mode != QL_NET_MODE_NONE && !ql_machine_take_slot (next_slot, &slot, error))
        return FALSE;
      g_array_append_val (m->net_slots, slot);
      if (net->mode == QL_NET_MODE_TAP)
        {
          QlMachineTap tap = { net, next_fd, -1 };
          next_fd += net->queues;
          if (net->vhost)
            {
              tap.vhost_fd = next_fd;
              next_fd += net->queues;
            }
          g_array_append_val (m->taps, tap);
        }
    }
  return TRUE;
}

/* virtio and nvme disks take a slot each, scsi disks share one controller's. */
static gboolean
assign_disk_slots (QlMachine *m, const QlProfile *p, guint *next_slot, GError **error)
{
  for (guint i = 0; i < p->disks->len; i++)
    {
      QlDisk *disk = p->disks->pdata[i];
      guint slot = 0;

      if (disk->bus == QL_DISK_BUS_SCSI && m->scsi_slot == 0 && !ql_machine_take_slot (next_slot, &m->scsi_slot, error))
        return FALSE;
      if ((disk->bus == QL_DISK_BUS_VIRTIO || disk->bus == QL_DISK_BUS_NVME) &&
          !ql_machine_take_slot (next_slot, &slot, error))
        return FALSE;
      g_array_append_val (m->disk_slots, slot);
    }
  return TRUE;
}

/* An mdev sits on pcie.0 as an integrated endpoint, after the disks: a
 * profile that gains one moves nothing the guest knew. */
static gboolean
assign_mdev_slots (QlMachine *m, const QlProfile *p, guint *next_slot, GError **error)
{
  for (guint i = 0; i < ql_profile_n_mdevs (p); i++)
    {
      guint slot = 0;

      if (!ql_machine_take_slot (next_slot, &slot, error))
        return FALSE;
      g_array_append_val (m->mdev_slots, slot);
    }
  return TRUE;
}

static gboolean
check_ahci_ports (const QlProfile *p, GError **error)
{
  guint ahci_ports = p->cdroms->len;

  for (guint i = 0; i < p->disks->len; i++)
    ahci_ports += ((QlDisk *) p->disks->pdata[i])->bus == QL_DISK_BUS_SATA;
  if (ahci_ports > 6)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_PROFILE,
                   "The profile has %u SATA disks and CD-ROMs; q35's AHCI controller has 6 ports", ahci_ports);
      return FALSE;
    }
  return TRUE;
}

/* Fixed slots first, then devices in profile order, so adding a disk at
 * the end never moves what the guest already knows.  A passed-through GPU
 * with x-vga is the VGA then. */
static gboolean
assign_slots (QlMachine *m, const QlProfile *p, const QlHostFacts *host, GError **error)
{
  guint next_slot = FIRST_FREE_SLOT;

  if (p->display.vga != QL_VGA_NONE && (p->display.vga != QL_VGA_AUTO || p->display.type != QL_DISPLAY_NONE) &&
      !(p->display.vga == QL_VGA_AUTO && ql_machine_has_x_vga (m)))
    m->vga_slot = 0x01;
  if (ql_machine_has_usb (m))
    m->usb_slot = 0x02;
  return assign_net_slots (m, p, &next_slot, error) && assign_disk_slots (m, p, &next_slot, error) &&
         assign_mdev_slots (m, p, &next_slot, error) &&
         check_ahci_ports (p, error) && ql_machine_resolve_desktop (m, p, host, &next_slot, error);
}

/* A display on an address others can reach, without a password, hands
 * the guest's screen and keyboard to the network. */
static void
note_open_display (QlMachine *m, const QlProfile *p)
{
  g_autofree char *host = NULL, *message = NULL;
  guint port;

  if ((p->display.type != QL_DISPLAY_VNC && p->display.type != QL_DISPLAY_SPICE) || p->display.gl ||
      p->display.listen == NULL || p->display.password_file != NULL ||
      !ql_value_parse_listen (p->display.listen, &host, &port, &message) || ql_value_host_is_loopback (host))
    return;
  g_ptr_array_add (m->notes, g_strdup_printf ("warning: [display] listen=%s lets anyone who can reach %s see "
                                              "the guest's screen and use its keyboard, without a password; set "
                                              "password-file= (or listen on 127.0.0.1 and use an SSH tunnel)",
                                              p->display.listen, host ? host : "this host"));
}

QlMachine *
ql_machine_resolve (const QlProfile *p, const QlHostFacts *host,
                    const char *runtime_dir, const char *state_dir, GError **error)
{
  g_autoptr(QlMachine) m = machine_new (p, runtime_dir, state_dir);

  if (!check_qmp_socket (m, error) || !resolve_qemu_binary (m, p, host, error) ||
      !resolve_machine_type (m, p, host, error) || !resolve_accel (m, p, host, error))
    return NULL;
  build_cpu (m, p);
  note_open_display (m, p);
  if (!resolve_firmware (m, p, host, error) || !resolve_hugepages (m, p, host, error) ||
      !resolve_pinning (m, p, host, error) || !resolve_hostdevs (m, p, host, error) ||
      !resolve_ssdt (m, p, error) || !assign_slots (m, p, host, error))
    return NULL;
  return g_steal_pointer (&m);
}

const QlMachineTap *
ql_machine_tap_for (const QlMachine *m, const QlNet *net)
{
  for (guint i = 0; i < m->taps->len; i++)
    if (g_array_index (m->taps, QlMachineTap, i).net == net)
      return &g_array_index (m->taps, QlMachineTap, i);
  return NULL;
}
