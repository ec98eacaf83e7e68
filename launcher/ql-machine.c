#include "ql-machine.h"
#include "ql-error.h"
#include "ql-firmware.h"
#include "ql-qemu-opts.h"

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
  g_free (m->cpu);
  g_clear_pointer (&m->notes, g_ptr_array_unref);
  g_free (m->firmware_code);
  g_free (m->firmware_vars_template);
  g_free (m->firmware_vars);
  g_free (m->hugetlbfs);
  g_free (m->runtime_dir);
  g_free (m->state_dir);
  g_free (m->qmp_socket);
  g_free (m->serial_log);
  g_clear_pointer (&m->disk_slots, g_array_unref);
  g_clear_pointer (&m->net_slots, g_array_unref);
  g_free (m);
}

/* Hyper-V enlightenments for Windows guests, as Proxmox and the seeds' machines
 * use them; they exist only under KVM. */
static const char *const hyperv_flags[] = {
  "hv_relaxed", "hv_vapic", "hv_spinlocks=0x1fff", "hv_time", "hv_vpindex", "hv_synic",
  "hv_stimer", "hv_reset", "hv_frequencies", "hv_runtime", "hv_tlbflush", "hv_ipi", NULL
};

static char *
build_cpu (QlMachine *m, const QlProfile *p)
{
  const char *model = p->cpu.model ? p->cpu.model : (m->accel == QL_ACCEL_KVM ? "host" : "max");
  g_autoptr(GString) cpu = g_string_new (NULL);
  g_autofree char *escaped = ql_qemu_escape (model);

  g_string_append (cpu, escaped);
  if (p->vm.hide_hypervisor)
    /* kvm=off hides the KVM signature; a vendor id other than "Microsoft Hv"
     * keeps old NVIDIA drivers from spotting the hypervisor (error 43) */
    g_string_append (cpu, ",kvm=off,hv_vendor_id=qlaunch0000");
  if (p->vm.hyperv && m->accel == QL_ACCEL_KVM)
    for (guint i = 0; hyperv_flags[i]; i++)
      g_string_append_printf (cpu, ",%s", hyperv_flags[i]);
  else if (p->vm.hyperv)
    g_ptr_array_add (m->notes, g_strdup ("Hyper-V enlightenments are KVM-only; not used under TCG"));
  return g_string_free (g_steal_pointer (&cpu), FALSE);
}

static gboolean
take_slot (guint *next, guint *ret_slot, GError **error)
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

QlMachine *
ql_machine_resolve (const QlProfile *p, const QlHostFacts *host,
                    const char *runtime_dir, const char *state_dir, GError **error)
{
  g_autoptr(QlMachine) m = g_new0 (QlMachine, 1);
  guint next_slot = FIRST_FREE_SLOT;

  m->profile = p;
  m->notes = g_ptr_array_new_with_free_func (g_free);
  m->runtime_dir = g_strdup (runtime_dir);
  m->state_dir = g_strdup (state_dir);
  m->qmp_socket = g_build_filename (runtime_dir, "qmp.sock", NULL);
  m->serial_log = g_build_filename (runtime_dir, "serial.log", NULL);
  m->disk_slots = g_array_new (FALSE, TRUE, sizeof (guint));
  m->net_slots = g_array_new (FALSE, TRUE, sizeof (guint));

  if (strlen (m->qmp_socket) >= sizeof (((struct sockaddr_un *) NULL)->sun_path))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "The QMP socket path '%s' is longer than a unix socket allows (107 bytes); "
                   "use a shorter VM name or runtime directory", m->qmp_socket);
      return NULL;
    }

  if (host->qemu_binary == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "QEMU binary '%s' not found (Hint: apt install qemu-system-x86)",
                   p->qemu.binary ? p->qemu.binary : "qemu-system-x86_64");
      return NULL;
    }
  m->qemu_binary = g_strdup (host->qemu_binary);

  switch (p->vm.accel)
    {
    case QL_ACCEL_KVM:
      if (!host->kvm_usable)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_HOST, "accel=kvm, but %s (Hint: set accel=auto or accel=tcg)",
                       host->kvm_reason);
          return NULL;
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

  m->cpu = build_cpu (m, p);

  if (p->vm.firmware == QL_FIRMWARE_UEFI)
    {
      const QlFirmwareDescriptor *fw = ql_firmware_select_uefi (host->firmware, p->vm.secure_boot, error);
      if (fw == NULL)
        return NULL;
      m->uefi = TRUE;
      m->smm = ql_firmware_has_feature (fw, "requires-smm");
      m->firmware_code = g_strdup (fw->executable);
      m->firmware_vars_template = g_strdup (fw->nvram_template);
      m->firmware_vars = g_build_filename (state_dir, "OVMF_VARS.fd", NULL);
    }

  if (p->memory.hugepages != QL_HUGEPAGES_NONE)
    {
      const char *mount = p->memory.hugepages == QL_HUGEPAGES_2M ? host->hugetlbfs_2m : host->hugetlbfs_1g;
      if (mount == NULL)
        {
          const char *size = ql_hugepages_names[p->memory.hugepages];
          g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                       "hugepages=%s, but no hugetlbfs with %s pages is mounted "
                       "(Hint: mount -t hugetlbfs -o pagesize=%s none /dev/hugepages%s)",
                       size, size, size, p->memory.hugepages == QL_HUGEPAGES_1G ? "1G" : "");
          return NULL;
        }
      m->hugetlbfs = g_strdup (mount);
    }

  /* Fixed slots first, then devices in profile order, so adding a disk at
   * the end never moves what the guest already knows. */
  if (p->display.vga != QL_VGA_NONE && (p->display.vga != QL_VGA_AUTO || p->display.type != QL_DISPLAY_NONE))
    m->vga_slot = 0x01;
  if (p->display.type != QL_DISPLAY_NONE)
    m->usb_slot = 0x02;

  for (guint i = 0; i < p->nets->len; i++)
    {
      QlNet *net = p->nets->pdata[i];
      guint slot = 0;
      if (net->mode != QL_NET_MODE_NONE && !take_slot (&next_slot, &slot, error))
        return NULL;
      g_array_append_val (m->net_slots, slot);
    }
  for (guint i = 0; i < p->disks->len; i++)
    {
      QlDisk *disk = p->disks->pdata[i];
      guint slot = 0;

      if (disk->bus == QL_DISK_BUS_SCSI && m->scsi_slot == 0 && !take_slot (&next_slot, &m->scsi_slot, error))
        return NULL;
      if ((disk->bus == QL_DISK_BUS_VIRTIO || disk->bus == QL_DISK_BUS_NVME) &&
          !take_slot (&next_slot, &slot, error))
        return NULL;
      g_array_append_val (m->disk_slots, slot);
    }
  {
    guint ahci_ports = p->cdroms->len;
    for (guint i = 0; i < p->disks->len; i++)
      ahci_ports += ((QlDisk *) p->disks->pdata[i])->bus == QL_DISK_BUS_SATA;
    if (ahci_ports > 6)
      {
        g_set_error (error, QL_ERROR, QL_ERROR_PROFILE,
                     "The profile has %u SATA disks and CD-ROMs; q35's AHCI controller has 6 ports", ahci_ports);
        return NULL;
      }
  }
  return g_steal_pointer (&m);
}
