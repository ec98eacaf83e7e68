#include "ql-qemu-argv.h"
#include "ql-value.h"
#include "ql-qemu-opts.h"
#include "ql-qemu-argv-desktop.h"
#include "ql-qemu-mdev.h"

#include <string.h>

typedef struct {
  GPtrArray *args;
} Argv;

static void
add (Argv *a, const char *arg)
{
  g_ptr_array_add (a->args, g_strdup (arg));
}

static void
add_take (Argv *a, char *arg)
{
  g_ptr_array_add (a->args, arg);
}

/* -option value, where value is finished from opts */
static void
add_opts (Argv *a, const char *option, QlQemuOpts *opts)
{
  add (a, option);
  add_take (a, ql_qemu_opts_finish (opts));
}

static char *
slot_addr (guint slot)
{
  return g_strdup_printf ("%02x.0", slot);
}

static void
add_pci_device (Argv *a, QlQemuOpts *opts, guint slot)
{
  g_autofree char *addr = slot_addr (slot);

  ql_qemu_opts_add (opts, "bus", "pcie.0");
  ql_qemu_opts_add (opts, "addr", addr);
  add_opts (a, "-device", opts);
}

static gboolean
uses_memory_backend (const QlMachine *m)
{
  return m->hugetlbfs != NULL || m->profile->memory.prealloc || (m->pin != NULL && m->pin->memory_node >= 0);
}

static gboolean
uses_prealloc_context (const QlMachine *m)
{
  return (m->hugetlbfs != NULL || m->profile->memory.prealloc) && m->prealloc_threads > 1 && m->pin != NULL &&
         m->pin->vcpus != NULL;
}

/* The model and the flags, each escaped (a flag is "key" or "key=value"). */
static char *
format_cpu (const QlMachine *m)
{
  g_autoptr(GString) cpu = g_string_new (NULL);
  g_autofree char *model = ql_qemu_escape (m->cpu_model);

  g_string_append (cpu, model);
  for (guint i = 0; i < m->cpu_flags->len; i++)
    {
      g_autofree char *flag = ql_qemu_escape (m->cpu_flags->pdata[i]);
      g_string_append_printf (cpu, ",%s", flag);
    }
  return g_string_free (g_steal_pointer (&cpu), FALSE);
}

static void
add_machine (Argv *a, const QlMachine *m)
{
  QlQemuOpts *machine = ql_qemu_opts_new (m->machine_type);

  ql_qemu_opts_add (machine, "accel", m->accel == QL_ACCEL_KVM ? "kvm" : "tcg");
  ql_qemu_opts_add_bool (machine, "vmport", FALSE);
  if (m->smm)
    ql_qemu_opts_add_bool (machine, "smm", TRUE);
  if (m->uefi)
    {
      ql_qemu_opts_add (machine, "pflash0", "fw-code");
      ql_qemu_opts_add (machine, "pflash1", "fw-vars");
    }
  if (uses_memory_backend (m))
    ql_qemu_opts_add (machine, "memory-backend", "mem");
  add_opts (a, "-machine", machine);
}

static void
add_firmware (Argv *a, const QlMachine *m)
{
  QlQemuOpts *code, *vars;

  if (!m->uefi)
    return;
  code = ql_qemu_opts_new (NULL);
  ql_qemu_opts_add (code, "driver", "file");
  ql_qemu_opts_add (code, "filename", m->firmware_code);
  ql_qemu_opts_add (code, "node-name", "fw-code");
  ql_qemu_opts_add_bool (code, "read-only", TRUE);
  add_opts (a, "-blockdev", code);

  vars = ql_qemu_opts_new (NULL);
  ql_qemu_opts_add (vars, "driver", "file");
  ql_qemu_opts_add (vars, "filename", m->firmware_vars);
  ql_qemu_opts_add (vars, "node-name", "fw-vars");
  add_opts (a, "-blockdev", vars);

  if (m->smm)
    {
      /* Secure Boot firmware only protects its varstore when the flash is
       * writable in SMM alone */
      add (a, "-global");
      add (a, "driver=cfi.pflash01,property=secure,value=on");
    }
}

static void
add_memory (Argv *a, const QlMachine *m, const QlProfile *p)
{
  guint64 mib = p->memory.size >> 20;
  QlQemuOpts *mem;

  add (a, "-m");
  add_take (a, g_strdup_printf ("%" G_GUINT64_FORMAT "M", mib));
  if (!uses_memory_backend (m))
    return;

  if (uses_prealloc_context (m))
    {
      /* the preallocation threads run where the vCPUs will, not squeezed
       * onto the emulator's CPUs that QEMU inherits */
      QlQemuOpts *context = ql_qemu_opts_new ("thread-context");
      g_autofree char *set = ql_value_format_cpu_set (m->pin->vcpus);
      g_auto(GStrv) ranges = g_strsplit (set, ",", -1);

      ql_qemu_opts_add (context, "id", "prealloc");
      for (guint i = 0; ranges[i] != NULL; i++)
        ql_qemu_opts_add (context, "cpu-affinity", ranges[i]);
      add_opts (a, "-object", context);
    }

  mem = ql_qemu_opts_new (m->hugetlbfs ? "memory-backend-file" : "memory-backend-ram");
  ql_qemu_opts_add (mem, "id", "mem");
  ql_qemu_opts_addf (mem, "size", "%" G_GUINT64_FORMAT "M", mib);
  if (m->hugetlbfs)
    {
      ql_qemu_opts_add (mem, "mem-path", m->hugetlbfs);
      ql_qemu_opts_add_bool (mem, "share", TRUE);
    }
  if (m->hugetlbfs != NULL || p->memory.prealloc)
    {
      ql_qemu_opts_add_bool (mem, "prealloc", TRUE);
      if (m->prealloc_threads > 0)
        ql_qemu_opts_addf (mem, "prealloc-threads", "%u", m->prealloc_threads);
      if (uses_prealloc_context (m))
        ql_qemu_opts_add (mem, "prealloc-context", "prealloc");
    }
  if (m->pin != NULL && m->pin->memory_node >= 0)
    {
      ql_qemu_opts_addf (mem, "host-nodes", "%d", m->pin->memory_node);
      ql_qemu_opts_add (mem, "policy", "bind");
    }
  add_opts (a, "-object", mem);
}

static void
add_monitors (Argv *a, const QlMachine *m)
{
  QlQemuOpts *opts;

  /* The supervisor's own monitor on an inherited socket: it is connected
   * before QEMU runs a single instruction, and no other client can take it.
   * Everyone else (status, pin, console, scripts) reaches QEMU through the
   * supervisor's relay on RUNTIME/qmp.sock, any number at once. */
  opts = ql_qemu_opts_new ("socket");
  ql_qemu_opts_add (opts, "id", "qmp-supervisor");
  ql_qemu_opts_addf (opts, "fd", "%d", QL_MACHINE_QMP_FD);
  add_opts (a, "-chardev", opts);
  add (a, "-mon");
  add (a, "chardev=qmp-supervisor,mode=control");

  /* Serial console: QEMU writes the log itself, the supervisor relays it live. */
  opts = ql_qemu_opts_new ("socket");
  ql_qemu_opts_add (opts, "id", "serial0");
  ql_qemu_opts_addf (opts, "fd", "%d", QL_MACHINE_SERIAL_FD);
  ql_qemu_opts_add (opts, "logfile", m->serial_log);
  add_opts (a, "-chardev", opts);
  add (a, "-serial");
  add (a, "chardev:serial0");
}

#define DISPLAY_SECRET_ID "display-password"
#define SPICE_DEFAULT_PORT 5930

/* The password stays in its file: QEMU reads it as a secret object. */
static void
add_display_password (Argv *a, const QlProfile *p)
{
  QlQemuOpts *opts;

  if (p->display.password_file == NULL)
    return;
  opts = ql_qemu_opts_new ("secret");
  ql_qemu_opts_add (opts, "id", DISPLAY_SECRET_ID);
  ql_qemu_opts_add (opts, "file", p->display.password_file);
  ql_qemu_opts_add (opts, "format", "raw");
  add_opts (a, "-object", opts);
}

/* "HOST:PORT", "HOST", "PORT" or "[IPV6]:PORT" (checked at load) */
static void
add_spice_listen (QlQemuOpts *opts, const char *listen)
{
  g_autofree char *host = NULL, *message = NULL;
  guint port = 0;

  if (!ql_value_parse_listen (listen ? listen : "127.0.0.1", &host, &port, &message))
    g_assert_not_reached ();
  if (host != NULL)
    ql_qemu_opts_add (opts, "addr", host);
  ql_qemu_opts_addf (opts, "port", "%u", port ? port : SPICE_DEFAULT_PORT);
}

/* gl=true without a window: the guest renders on the host GPU, and VNC or
 * SPICE send the frames */
static void
add_display_none_or_egl (Argv *a, const QlProfile *p)
{
  QlQemuOpts *opts;

  add (a, "-display");
  if (!p->display.gl || p->display.type == QL_DISPLAY_SPICE)
    {
      add (a, "none");
      return;
    }
  opts = ql_qemu_opts_new ("egl-headless");
  if (p->display.rendernode != NULL)
    ql_qemu_opts_add (opts, "rendernode", p->display.rendernode);
  add_take (a, ql_qemu_opts_finish (opts));
}

static void
add_spice (Argv *a, const QlMachine *m, const QlProfile *p)
{
  QlQemuOpts *opts = ql_qemu_opts_new (NULL);

  if (m->spice_socket != NULL)
    {
      /* no TCP port: only who can enter the runtime directory connects */
      ql_qemu_opts_add_bool (opts, "unix", TRUE);
      ql_qemu_opts_add (opts, "addr", m->spice_socket);
    }
  else
    add_spice_listen (opts, p->display.listen);
  if (p->display.gl)
    {
      ql_qemu_opts_add_bool (opts, "gl", TRUE);
      if (p->display.rendernode != NULL)
        ql_qemu_opts_add (opts, "rendernode", p->display.rendernode);
    }
  add_display_password (a, p);
  if (p->display.password_file != NULL)
    ql_qemu_opts_add (opts, "password-secret", DISPLAY_SECRET_ID);
  else
    ql_qemu_opts_add_bool (opts, "disable-ticketing", TRUE);
  add_opts (a, "-spice", opts);
}

static void
add_display (Argv *a, const QlMachine *m, const QlProfile *p)
{
  static const char *const vga_devices[] = {
    [QL_VGA_STD] = "VGA", [QL_VGA_QXL] = "qxl-vga", [QL_VGA_VIRTIO] = "virtio-vga",
  };
  QlQemuOpts *opts;

  switch (p->display.type)
    {
    case QL_DISPLAY_VNC:
      add_display_none_or_egl (a, p);
      add_display_password (a, p);
      opts = ql_qemu_opts_new (p->display.listen ? p->display.listen : "127.0.0.1:0");
      if (p->display.password_file != NULL)
        ql_qemu_opts_add (opts, "password-secret", DISPLAY_SECRET_ID);
      add_opts (a, "-vnc", opts);
      break;
    case QL_DISPLAY_SPICE:
      add_display_none_or_egl (a, p);
      add_spice (a, m, p);
      break;
    case QL_DISPLAY_GTK:
      opts = ql_qemu_opts_new ("gtk");
      if (p->display.gl)
        ql_qemu_opts_add_bool (opts, "gl", TRUE);
      add_opts (a, "-display", opts);
      break;
    case QL_DISPLAY_NONE:
    default:
      add (a, "-display");
      add (a, "none");
      break;
    }

  if (m->vga_slot != 0)
    {
      QlVga vga = p->display.vga == QL_VGA_AUTO ? QL_VGA_STD : p->display.vga;
      opts = ql_qemu_opts_new (vga_devices[vga]);
      ql_qemu_opts_add (opts, "id", "video0");
      add_pci_device (a, opts, m->vga_slot);
    }
  if (m->usb_slot != 0)
    {
      opts = ql_qemu_opts_new ("qemu-xhci");
      ql_qemu_opts_add (opts, "id", "usb");
      add_pci_device (a, opts, m->usb_slot);
      if (m->usb_tablet)
        {
          add (a, "-device");
          add (a, "usb-tablet,bus=usb.0,id=tablet");
        }
    }
}

/* A file node "<node>-file" and a format node on top of it; returns the
 * format node's name, which the device's drive= takes. */
static char *
add_blockdev (Argv *a, const char *node, const char *file, QlDiskFormat format, QlDiskCache cache,
              QlDiskAio aio, gboolean discard, gboolean readonly)
{
  g_autofree char *file_node = g_strconcat (node, "-file", NULL);
  char *format_node = g_strconcat (node, "-fmt", NULL);
  QlQemuOpts *opts = ql_qemu_opts_new (NULL);
  gboolean direct = cache == QL_DISK_CACHE_NONE || cache == QL_DISK_CACHE_DIRECTSYNC;
  gboolean no_flush = cache == QL_DISK_CACHE_UNSAFE;

  ql_qemu_opts_add (opts, "driver", "file");
  ql_qemu_opts_add (opts, "filename", file);
  ql_qemu_opts_add (opts, "node-name", file_node);
  ql_qemu_opts_add_bool (opts, "cache.direct", direct);
  ql_qemu_opts_add_bool (opts, "cache.no-flush", no_flush);
  ql_qemu_opts_add (opts, "aio", ql_disk_aio_names[aio]);
  if (discard)
    ql_qemu_opts_add (opts, "discard", "unmap");
  ql_qemu_opts_add_bool (opts, "read-only", readonly);
  add_opts (a, "-blockdev", opts);

  opts = ql_qemu_opts_new (NULL);
  ql_qemu_opts_add (opts, "driver", format == QL_DISK_FORMAT_QCOW2 ? "qcow2" : "raw");
  ql_qemu_opts_add (opts, "file", file_node);
  ql_qemu_opts_add (opts, "node-name", format_node);
  ql_qemu_opts_add_bool (opts, "cache.direct", direct);
  ql_qemu_opts_add_bool (opts, "cache.no-flush", no_flush);
  if (discard)
    ql_qemu_opts_add (opts, "discard", "unmap");
  ql_qemu_opts_add_bool (opts, "read-only", readonly);
  add_opts (a, "-blockdev", opts);
  return format_node;
}

static void
add_disks (Argv *a, const QlMachine *m, const QlProfile *p, guint *ahci_port, guint *bootindex)
{
  static const char *const drivers[] = {
    [QL_DISK_BUS_VIRTIO] = "virtio-blk-pci", [QL_DISK_BUS_SCSI] = "scsi-hd",
    [QL_DISK_BUS_SATA] = "ide-hd", [QL_DISK_BUS_NVME] = "nvme",
  };

  for (guint i = 0; i < p->cpu.iothreads; i++)
    {
      QlQemuOpts *opts = ql_qemu_opts_new ("iothread");
      ql_qemu_opts_addf (opts, "id", "io%u", i);
      add_opts (a, "-object", opts);
    }

  if (m->scsi_slot != 0)
    {
      QlQemuOpts *opts = ql_qemu_opts_new ("virtio-scsi-pci");
      g_autofree char *iothread = ql_machine_iothread_for_disk (m, -1);
      ql_qemu_opts_add (opts, "id", "scsi0");
      if (iothread != NULL)
        ql_qemu_opts_add (opts, "iothread", iothread);
      add_pci_device (a, opts, m->scsi_slot);
    }

  for (guint i = 0; i < p->disks->len; i++)
    {
      QlDisk *disk = p->disks->pdata[i];
      g_autofree char *node = g_strconcat ("disk-", disk->id, NULL);
      g_autofree char *fmt = add_blockdev (a, node, disk->file, disk->format, disk->cache, disk->aio,
                                           disk->discard, disk->readonly);
      gboolean write_through = disk->cache == QL_DISK_CACHE_WRITETHROUGH ||
                               disk->cache == QL_DISK_CACHE_DIRECTSYNC;
      QlQemuOpts *opts = ql_qemu_opts_new (drivers[disk->bus]);

      ql_qemu_opts_add (opts, "drive", fmt);
      ql_qemu_opts_add (opts, "id", node);
      if (disk->bus == QL_DISK_BUS_NVME)
        ql_qemu_opts_add (opts, "serial", disk->id);
      if (disk->bus == QL_DISK_BUS_VIRTIO && p->cpu.iothreads > 0)
        {
          g_autofree char *iothread = ql_machine_iothread_for_disk (m, i);
          ql_qemu_opts_add (opts, "iothread", iothread);
        }
      if (write_through)
        ql_qemu_opts_add_bool (opts, "write-cache", FALSE);
      if (disk->boot)
        ql_qemu_opts_addf (opts, "bootindex", "%u", (*bootindex)++);
      switch (disk->bus)
        {
        case QL_DISK_BUS_SATA:
          ql_qemu_opts_addf (opts, "bus", "ide.%u", (*ahci_port)++);
          add_opts (a, "-device", opts);
          break;
        case QL_DISK_BUS_SCSI:
          ql_qemu_opts_add (opts, "bus", "scsi0.0");
          add_opts (a, "-device", opts);
          break;
        case QL_DISK_BUS_VIRTIO:
        case QL_DISK_BUS_NVME:
        default:
          add_pci_device (a, opts, g_array_index (m->disk_slots, guint, i));
          break;
        }
    }
}

static void
add_cdroms (Argv *a, const QlProfile *p, guint *ahci_port, guint *bootindex)
{
  for (guint i = 0; i < p->cdroms->len; i++)
    {
      QlCdrom *cdrom = p->cdroms->pdata[i];
      g_autofree char *node = g_strconcat ("cdrom-", cdrom->id, NULL);
      g_autofree char *fmt = add_blockdev (a, node, cdrom->file, QL_DISK_FORMAT_RAW, QL_DISK_CACHE_WRITEBACK,
                                           QL_DISK_AIO_THREADS, FALSE, TRUE);
      QlQemuOpts *opts = ql_qemu_opts_new ("ide-cd");

      ql_qemu_opts_add (opts, "drive", fmt);
      ql_qemu_opts_add (opts, "id", node);
      ql_qemu_opts_addf (opts, "bus", "ide.%u", (*ahci_port)++);
      if (cdrom->boot)
        ql_qemu_opts_addf (opts, "bootindex", "%u", (*bootindex)++);
      add_opts (a, "-device", opts);
    }
}

/* fd=N or fds=N:N+1:..., the same for vhost */
static char *
fd_list (int first, guint count)
{
  g_autoptr(GString) list = g_string_new (NULL);

  for (guint q = 0; q < count; q++)
    g_string_append_printf (list, "%s%d", q ? ":" : "", first + (int) q);
  return g_string_free (g_steal_pointer (&list), FALSE);
}

static QlQemuOpts *
tap_netdev (const QlMachineTap *tap, const char *id)
{
  QlQemuOpts *opts = ql_qemu_opts_new ("tap");
  g_autofree char *fds = fd_list (tap->tap_fd, tap->net->queues);
  gboolean multi = tap->net->queues > 1;

  ql_qemu_opts_add (opts, "id", id);
  ql_qemu_opts_add (opts, multi ? "fds" : "fd", fds);
  if (tap->vhost_fd >= 0)
    {
      g_autofree char *vhostfds = fd_list (tap->vhost_fd, tap->net->queues);
      ql_qemu_opts_add (opts, "vhost", "on");
      ql_qemu_opts_add (opts, multi ? "vhostfds" : "vhostfd", vhostfds);
    }
  return opts;
}

static void
add_nets (Argv *a, const QlMachine *m, const QlProfile *p)
{
  static const char *const models[] = {
    [QL_NET_MODEL_VIRTIO] = "virtio-net-pci", [QL_NET_MODEL_E1000E] = "e1000e",
    [QL_NET_MODEL_E1000] = "e1000", [QL_NET_MODEL_RTL8139] = "rtl8139",
  };

  for (guint i = 0; i < p->nets->len; i++)
    {
      QlNet *net = p->nets->pdata[i];
      g_autofree char *id = g_strconcat ("net-", net->id, NULL);
      QlQemuOpts *opts;

      if (net->mode == QL_NET_MODE_NONE)
        continue;
      if (net->mode == QL_NET_MODE_TAP)
        opts = tap_netdev (ql_machine_tap_for (m, net), id);
      else
        {
          opts = ql_qemu_opts_new ("user");
          ql_qemu_opts_add (opts, "id", id);
          for (guint j = 0; net->forward && net->forward[j]; j++)
            ql_qemu_opts_add (opts, "hostfwd", net->forward[j]);
        }
      add_opts (a, "-netdev", opts);

      opts = ql_qemu_opts_new (models[net->model]);
      ql_qemu_opts_add (opts, "netdev", id);
      ql_qemu_opts_add (opts, "id", id);
      ql_qemu_opts_add (opts, "mac", net->mac);
      if (net->queues > 1)
        {
          /* a vector per rx and tx queue, one for config, one for the control queue */
          ql_qemu_opts_add (opts, "mq", "on");
          ql_qemu_opts_addf (opts, "vectors", "%u", 2 * net->queues + 2);
        }
      if (net->mode == QL_NET_MODE_TAP && net->mtu > 0 && net->model == QL_NET_MODEL_VIRTIO)
        ql_qemu_opts_addf (opts, "host_mtu", "%u", net->mtu);
      add_pci_device (a, opts, g_array_index (m->net_slots, guint, i));
    }
}

static gboolean
port_slot_shared (const QlMachine *m, const QlMachineHostdev *h)
{
  for (guint i = 0; i < m->hostdevs->len; i++)
    {
      const QlMachineHostdev *other = m->hostdevs->pdata[i];
      if (other != h && other->port_devfn >> 3 == h->port_devfn >> 3)
        return TRUE;
    }
  return FALSE;
}

static void
add_hostdev_ids (QlQemuOpts *opts, const QlPci *pci)
{
  if (pci->vendor >= 0)
    ql_qemu_opts_addf (opts, "x-pci-vendor-id", "0x%04x", pci->vendor);
  if (pci->device >= 0)
    ql_qemu_opts_addf (opts, "x-pci-device-id", "0x%04x", pci->device);
  if (pci->sub_vendor >= 0)
    ql_qemu_opts_addf (opts, "x-pci-sub-vendor-id", "0x%04x", pci->sub_vendor);
  if (pci->sub_device >= 0)
    ql_qemu_opts_addf (opts, "x-pci-sub-device-id", "0x%04x", pci->sub_device);
}

/* Like the seeds' machines: a pcie-root-port on pcie.0 per device, the
 * device at 00.0 behind it with its functions kept together. */
static void
add_hostdevs (Argv *a, const QlMachine *m)
{
  for (guint i = 0; i < m->hostdevs->len; i++)
    {
      const QlMachineHostdev *h = m->hostdevs->pdata[i];
      const QlPci *pci = h->pci;
      QlQemuOpts *opts = ql_qemu_opts_new ("pcie-root-port");

      ql_qemu_opts_add (opts, "id", h->port_id);
      ql_qemu_opts_add (opts, "bus", "pcie.0");
      ql_qemu_opts_addf (opts, "addr", "%02x.%x", h->port_devfn >> 3, h->port_devfn & 7);
      if ((h->port_devfn & 7) == 0 && port_slot_shared (m, h))
        ql_qemu_opts_add_bool (opts, "multifunction", TRUE);
      ql_qemu_opts_addf (opts, "chassis", "%u", h->chassis);
      ql_qemu_opts_addf (opts, "port", "%u", h->chassis);
      if (!pci->hotplug)
        ql_qemu_opts_add_bool (opts, "hotplug", FALSE);
      add_opts (a, "-device", opts);

      for (guint j = 0; j < h->functions->len; j++)
        {
          const QlMachineFunction *f = h->functions->pdata[j];

          opts = ql_qemu_opts_new ("vfio-pci");
          ql_qemu_opts_add (opts, "host", f->host);
          ql_qemu_opts_add (opts, "id", f->id);
          ql_qemu_opts_add (opts, "bus", h->port_id);
          ql_qemu_opts_addf (opts, "addr", "00.%u", f->guest_function);
          if (f->guest_function == 0)
            {
              if (h->functions->len > 1)
                ql_qemu_opts_add_bool (opts, "multifunction", TRUE);
              add_hostdev_ids (opts, pci);
              if (pci->rom != NULL)
                ql_qemu_opts_add (opts, "romfile", pci->rom);
              if (pci->rom_bar >= 0)
                ql_qemu_opts_addf (opts, "rombar", "%d", pci->rom_bar);
              if (pci->x_vga)
                ql_qemu_opts_add_bool (opts, "x-vga", TRUE);
            }
          add_opts (a, "-device", opts);
        }
    }
}

static void
add_identity (Argv *a, const QlProfile *p)
{
  QlQemuOpts *opts = ql_qemu_opts_new (NULL);

  ql_qemu_opts_add (opts, "guest", p->vm.name);
  ql_qemu_opts_add_bool (opts, "debug-threads", TRUE);
  add_opts (a, "-name", opts);
  if (p->vm.uuid)
    {
      add (a, "-uuid");
      add (a, p->vm.uuid);
    }
  add (a, "-no-user-config");
  add (a, "-nodefaults");
  add (a, "-msg");
  add (a, "timestamp=on");
  /* QEMU confines itself; spawn=deny also forbids the helper scripts we never use */
  add (a, "-sandbox");
  add (a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
}

static void
add_cpu (Argv *a, const QlMachine *m, const QlProfile *p)
{
  add (a, "-cpu");
  add_take (a, format_cpu (m));
  add (a, "-smp");
  add_take (a, g_strdup_printf ("%u,sockets=%u,cores=%u,threads=%u",
                                p->cpu.sockets * p->cpu.cores * p->cpu.threads,
                                p->cpu.sockets, p->cpu.cores, p->cpu.threads));
}

static void
add_chipset_globals (Argv *a, const QlProfile *p)
{
  /* S3/S4 break passed-through GPUs on resume; the seeds' machines disable them */
  add (a, "-global");
  add (a, "ICH9-LPC.disable_s3=1");
  add (a, "-global");
  add (a, "ICH9-LPC.disable_s4=1");
  if (p->vm.pci_hotplug == QL_PCI_HOTPLUG_NATIVE)
    {
      add (a, "-global");
      add (a, "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off");
    }
}

static void
add_acpi_table (Argv *a, const char *file)
{
  QlQemuOpts *opts = ql_qemu_opts_new (NULL);

  ql_qemu_opts_add (opts, "file", file);
  add_opts (a, "-acpitable", opts);
}

static void
add_fw_cfg (Argv *a, const char *name, const char *file)
{
  QlQemuOpts *opts = ql_qemu_opts_new (NULL);

  ql_qemu_opts_add (opts, "name", name);
  ql_qemu_opts_add (opts, "file", file);
  add_opts (a, "-fw_cfg", opts);
}

/* The profile's tables and qlaunch's SSDT, then the rom-acpi ROMs and the profile's [fw_cfg]. */
static void
add_acpi_and_fw_cfg (Argv *a, const QlMachine *m, const QlProfile *p)
{
  for (guint i = 0; p->acpi_tables && p->acpi_tables[i]; i++)
    add_acpi_table (a, p->acpi_tables[i]);
  if (m->ssdt != NULL)
    add_acpi_table (a, m->ssdt);
  for (guint i = 0; i < m->hostdevs->len; i++)
    {
      const QlMachineHostdev *h = m->hostdevs->pdata[i];
      if (h->rom_fw_cfg_name != NULL)
        add_fw_cfg (a, h->rom_fw_cfg_name, h->pci->rom);
    }
  for (guint i = 0; i < p->fw_cfg->len; i++)
    {
      QlFwCfg *entry = p->fw_cfg->pdata[i];
      add_fw_cfg (a, entry->name, entry->file);
    }
}

/* -kernel/-initrd/-append take the whole value: no option parsing, no escaping */
static void
add_kernel (Argv *a, const QlProfile *p)
{
  if (p->vm.kernel == NULL)
    return;
  add (a, "-kernel");
  add (a, p->vm.kernel);
  if (p->vm.initrd)
    {
      add (a, "-initrd");
      add (a, p->vm.initrd);
    }
  if (p->vm.append)
    {
      add (a, "-append");
      add (a, p->vm.append);
    }
}

GStrv
ql_qemu_argv_build (const QlMachine *m)
{
  const QlProfile *p = m->profile;
  Argv a = { g_ptr_array_new () };
  guint ahci_port = 0, bootindex = 1;

  add (&a, m->qemu_binary);
  add_identity (&a, p);
  add_machine (&a, m);
  add_cpu (&a, m, p);
  add_memory (&a, m, p);
  add_firmware (&a, m);
  add_chipset_globals (&a, p);

  add_monitors (&a, m);
  add_display (&a, m, p);
  add_disks (&a, m, p, &ahci_port, &bootindex);
  add_cdroms (&a, p, &ahci_port, &bootindex);
  add_nets (&a, m, p);
  ql_qemu_argv_add_desktop (a.args, m);
  add_hostdevs (&a, m);
  ql_qemu_mdev_add_args (a.args, m);
  add_acpi_and_fw_cfg (&a, m, p);
  add_kernel (&a, p);

  add (&a, "-S");
  for (guint i = 0; p->qemu.args && p->qemu.args[i]; i++)
    add (&a, p->qemu.args[i]);

  g_ptr_array_add (a.args, NULL);
  return (GStrv) g_ptr_array_free (a.args, FALSE);
}

char *
ql_qemu_argv_format (const char *const *argv)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; argv[i]; i++)
    {
      gboolean plain = argv[i][0] != '\0';

      for (const char *c = argv[i]; *c && plain; c++)
        plain = g_ascii_isalnum (*c) || strchr ("-_./=:,@%+", *c) != NULL;
      if (plain)
        g_string_append (out, argv[i]);
      else
        {
          g_autofree char *quoted = g_shell_quote (argv[i]);
          g_string_append (out, quoted);
        }
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}
