/* The <devices> of the exported domain: disks, NICs, host devices, display. */
#include "ql-libvirt-export-priv.h"
#include "ql-value.h"

#include <string.h>

static const char *const caches[] = {
  [QL_DISK_CACHE_NONE] = "none", [QL_DISK_CACHE_WRITEBACK] = "writeback",
  [QL_DISK_CACHE_WRITETHROUGH] = "writethrough", [QL_DISK_CACHE_DIRECTSYNC] = "directsync",
  [QL_DISK_CACHE_UNSAFE] = "unsafe",
};

/* vda, vdb… for virtio; sda, sdb… for the rest (libvirt's own naming) */
static char *
target_dev (const char *prefix, guint *counter)
{
  guint n = (*counter)++;

  if (n < 26)
    return g_strdup_printf ("%s%c", prefix, 'a' + n);
  return g_strdup_printf ("%s%c%c", prefix, 'a' + n / 26 - 1, 'a' + n % 26);
}

static xmlNode *
disk_element (xmlNode *devices, const char *file, const char *device)
{
  gboolean block = g_str_has_prefix (file, "/dev/");
  xmlNode *disk = ex_child (devices, "disk", NULL);
  xmlNode *source;

  ex_prop (disk, "type", block ? "block" : "file");
  ex_prop (disk, "device", device);
  source = ex_child (disk, "source", NULL);
  ex_prop (source, block ? "dev" : "file", file);
  return disk;
}

static void
export_disk (ExCtx *ctx, xmlNode *devices, const QlDisk *disk, guint index, guint *vd, guint *sd, guint *boot)
{
  static const char *const buses[] = {
    [QL_DISK_BUS_VIRTIO] = "virtio", [QL_DISK_BUS_SCSI] = "scsi", [QL_DISK_BUS_SATA] = "sata",
    [QL_DISK_BUS_NVME] = "sata",
  };
  xmlNode *node = disk_element (devices, disk->file, "disk");
  xmlNode *driver = ex_child (node, "driver", NULL), *target;
  g_autofree char *dev = disk->bus == QL_DISK_BUS_VIRTIO ? target_dev ("vd", vd) : target_dev ("sd", sd);

  ex_prop (driver, "name", "qemu");
  ex_prop (driver, "type", disk->format == QL_DISK_FORMAT_QCOW2 ? "qcow2" : "raw");
  ex_prop (driver, "cache", caches[disk->cache]);
  ex_prop (driver, "io", ql_disk_aio_names[disk->aio]);
  if (disk->discard)
    ex_prop (driver, "discard", "unmap");
  if (disk->bus == QL_DISK_BUS_VIRTIO && ctx->p->cpu.iothreads > 0)
    ex_propf (driver, "iothread", "%u", index % ctx->p->cpu.iothreads + 1);
  target = ex_child (node, "target", NULL);
  ex_prop (target, "dev", dev);
  ex_prop (target, "bus", buses[disk->bus]);
  if (disk->bus == QL_DISK_BUS_NVME)
    {
      g_autofree char *section = g_strdup_printf ("disk %s", disk->id);
      ex_warn (ctx, "[disk %s] bus=nvme: libvirt 9 has no NVMe disk bus; exported on SATA", disk->id);
      ex_metadata_key (ctx, section, "bus", "nvme");
    }
  if (disk->readonly && disk->bus == QL_DISK_BUS_SATA)
    {
      /* libvirt refuses it: QEMU's ide-hd cannot be read-only */
      g_autofree char *section = g_strdup_printf ("disk %s", disk->id);
      ex_warn (ctx, "[disk %s] readonly=true on SATA: libvirt refuses read-only SATA disks; exported writable",
               disk->id);
      ex_metadata_key (ctx, section, "readonly", "true");
    }
  else if (disk->readonly)
    ex_child (node, "readonly", NULL);
  if (disk->boot)
    ex_propf (ex_child (node, "boot", NULL), "order", "%u", (*boot)++);
  ex_alias (node, "disk", disk->id);
}

static void
export_cdrom (xmlNode *devices, const QlCdrom *cdrom, guint *sd, guint *boot)
{
  xmlNode *node = disk_element (devices, cdrom->file, "cdrom");
  xmlNode *driver = ex_child (node, "driver", NULL), *target = ex_child (node, "target", NULL);
  g_autofree char *dev = target_dev ("sd", sd);

  ex_prop (driver, "name", "qemu");
  ex_prop (driver, "type", "raw");
  ex_prop (target, "dev", dev);
  ex_prop (target, "bus", "sata");
  ex_child (node, "readonly", NULL);
  if (cdrom->boot)
    ex_propf (ex_child (node, "boot", NULL), "order", "%u", (*boot)++);
  ex_alias (node, "cdrom", cdrom->id);
}

static void
export_net (ExCtx *ctx, xmlNode *devices, const QlNet *net)
{
  g_autofree char *section = g_strdup_printf ("net %s", net->id);
  xmlNode *iface;

  if (net->mode == QL_NET_MODE_NONE)
    return;
  iface = ex_child (devices, "interface", NULL);
  if (net->mode == QL_NET_MODE_USER)
    {
      ex_prop (iface, "type", "user");
      for (guint i = 0; net->forward && net->forward[i]; i++)
        ex_metadata_key (ctx, section, "forward", net->forward[i]);
    }
  else if (net->bridge != NULL)
    {
      ex_prop (iface, "type", "bridge");
      ex_prop (ex_child (iface, "source", NULL), "bridge", net->bridge);
    }
  else
    ex_prop (iface, "type", "ethernet");
  ex_prop (ex_child (iface, "mac", NULL), "address", net->mac);
  ex_prop (ex_child (iface, "model", NULL), "type", ql_net_model_names[net->model]);
  if (net->mode == QL_NET_MODE_TAP)
    {
      if (net->ifname != NULL)
        ex_prop (ex_child (iface, "target", NULL), "dev", net->ifname);
      if (net->vhost || net->queues > 1)
        {
          xmlNode *driver = ex_child (iface, "driver", NULL);
          ex_prop (driver, "name", net->vhost ? "vhost" : "qemu");
          if (net->queues > 1)
            ex_propf (driver, "queues", "%u", net->queues);
        }
      if (net->mtu > 0)
        ex_propf (ex_child (iface, "mtu", NULL), "size", "%u", net->mtu);
      if (net->create_bridge)
        ex_metadata_key (ctx, section, "create-bridge", "true");
    }
  ex_alias (iface, "net", net->id);
}

static void
export_root_port (xmlNode *devices, const QlMachineHostdev *h, guint index, gboolean shared)
{
  xmlNode *controller = ex_child (devices, "controller", NULL);
  xmlNode *target, *address;

  ex_prop (controller, "type", "pci");
  ex_propf (controller, "index", "%u", index);
  ex_prop (controller, "model", "pcie-root-port");
  target = ex_child (controller, "target", NULL);
  ex_propf (target, "chassis", "%u", h->chassis);
  ex_propf (target, "port", "0x%x", h->chassis);
  if (!h->pci->hotplug)
    ex_prop (target, "hotplug", "off");
  address = ex_child (controller, "address", NULL);
  ex_prop (address, "type", "pci");
  ex_prop (address, "domain", "0x0000");
  ex_prop (address, "bus", "0x00");
  ex_propf (address, "slot", "0x%02x", h->port_devfn >> 3);
  ex_propf (address, "function", "0x%x", h->port_devfn & 7);
  if ((h->port_devfn & 7) == 0 && shared)
    ex_prop (address, "multifunction", "on");
}

static void
export_ids (ExCtx *ctx, const char *alias, const QlPci *pci)
{
  const struct { int value; const char *prop; } ids[] = {
    { pci->vendor, "x-pci-vendor-id" }, { pci->device, "x-pci-device-id" },
    { pci->sub_vendor, "x-pci-sub-vendor-id" }, { pci->sub_device, "x-pci-sub-device-id" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    if (ids[i].value >= 0)
      {
        g_autofree char *value = g_strdup_printf ("%d", ids[i].value);
        ex_override (ctx, alias, ids[i].prop, "unsigned", value);
      }
  if (pci->x_vga)
    ex_override (ctx, alias, "x-vga", "bool", "true");
}

static void
export_function (ExCtx *ctx, xmlNode *devices, const QlMachineHostdev *h, const QlMachineFunction *f, guint bus)
{
  const QlPci *pci = h->pci;
  xmlNode *hostdev = ex_child (devices, "hostdev", NULL), *source, *address;
  QlPciAddress host;
  g_autofree char *alias = NULL;

  /* the machine formatted it; it parses */
  if (!ql_pci_address_parse (f->host, FALSE, &host, NULL))
    g_return_if_reached ();
  ex_prop (hostdev, "mode", "subsystem");
  ex_prop (hostdev, "type", "pci");
  ex_prop (hostdev, "managed", pci->release == QL_PCI_RELEASE_VFIO ? "no" : "yes");
  ex_prop (ex_child (hostdev, "driver", NULL), "name", "vfio");
  source = ex_child (ex_child (hostdev, "source", NULL), "address", NULL);
  ex_propf (source, "domain", "0x%04x", host.domain);
  ex_propf (source, "bus", "0x%02x", host.bus);
  ex_propf (source, "slot", "0x%02x", host.slot);
  ex_propf (source, "function", "0x%x", host.function);
  if (f->guest_function == 0 && (pci->rom != NULL || pci->rom_bar >= 0))
    {
      xmlNode *rom = ex_child (hostdev, "rom", NULL);
      if (pci->rom_bar >= 0)
        ex_prop (rom, "bar", pci->rom_bar ? "on" : "off");
      if (pci->rom != NULL)
        ex_prop (rom, "file", pci->rom);
    }
  if (f->guest_function == 0)
    ex_alias (hostdev, "pci", pci->id);
  else
    {
      g_autofree char *id = g_strdup_printf ("%s-f%u", pci->id, f->guest_function);
      ex_alias (hostdev, "pci", id);
    }
  address = ex_child (hostdev, "address", NULL);
  ex_prop (address, "type", "pci");
  ex_prop (address, "domain", "0x0000");
  ex_propf (address, "bus", "0x%02x", bus);
  ex_prop (address, "slot", "0x00");
  ex_propf (address, "function", "0x%x", f->guest_function);
  if (f->guest_function == 0 && h->functions->len > 1)
    ex_prop (address, "multifunction", "on");
  if (f->guest_function == 0)
    {
      alias = g_strconcat ("ua-pci-", pci->id, NULL);
      export_ids (ctx, alias, pci);
    }
}

static void
export_hostdevs (ExCtx *ctx, xmlNode *devices)
{
  const QlMachine *m = ctx->m;

  for (guint i = 0; i < m->hostdevs->len; i++)
    {
      const QlMachineHostdev *h = m->hostdevs->pdata[i];
      gboolean shared = FALSE;
      g_autofree char *group = g_strdup_printf ("pci %s", h->pci->id);

      for (guint j = 0; j < m->hostdevs->len; j++)
        shared |= j != i && ((const QlMachineHostdev *) m->hostdevs->pdata[j])->port_devfn >> 3 == h->port_devfn >> 3;
      /* controller index 0 is pcie.0; the root ports follow */
      export_root_port (devices, h, i + 1, shared);
      for (guint j = 0; j < h->functions->len; j++)
        export_function (ctx, devices, h, h->functions->pdata[j], i + 1);
      if (h->pci->rom_acpi)
        ex_metadata_key (ctx, group, "rom-acpi", "true");
      if (h->pci->power != QL_PCI_POWER_UNCHANGED)
        ex_metadata_key (ctx, group, "power", ql_pci_power_names[h->pci->power]);
    }
}

/* [audio] as libvirt's <sound> (ich9: HDA with hda-duplex, usb: usb-audio);
 * the backend and the codec's choice, which libvirt ties to its own
 * <audio> elements, travel in qlaunch's metadata. */
static void
export_sound (ExCtx *ctx, xmlNode *devices)
{
  const QlAudio *audio = &ctx->p->audio;

  if (!audio->enabled)
    return;
  ex_prop (ex_child (devices, "sound", NULL), "model", audio->device == QL_AUDIO_DEVICE_USB ? "usb" : "ich9");
  ex_metadata_key (ctx, "audio", "backend", ql_audio_backend_names[audio->backend]);
  if (!audio->input)
    ex_metadata_key (ctx, "audio", "input", "false");
  if (!audio->output)
    ex_metadata_key (ctx, "audio", "output", "false");
}

/* [usb] host= by VENDOR:PRODUCT as USB <hostdev>s; BUS-PORT has no libvirt form */
static void
export_usb_hosts (ExCtx *ctx, xmlNode *devices)
{
  const QlUsb *usb = &ctx->p->usb;

  for (guint i = 0; usb->host != NULL && usb->host[i] != NULL; i++)
    {
      g_autofree char *message = NULL;
      xmlNode *hostdev, *source;
      QlUsbHost host;

      if (!ql_usb_host_parse (usb->host[i], &host, &message) || !host.by_id)
        {
          ex_warn (ctx, "[usb] host=%s: libvirt names USB devices by vendor and product (or bus and device "
                   "number, not port); not exported", usb->host[i]);
          continue;
        }
      hostdev = ex_child (devices, "hostdev", NULL);
      ex_prop (hostdev, "mode", "subsystem");
      ex_prop (hostdev, "type", "usb");
      source = ex_child (hostdev, "source", NULL);
      ex_propf (ex_child (source, "vendor", NULL), "id", "0x%04x", host.vendor);
      ex_propf (ex_child (source, "product", NULL), "id", "0x%04x", host.product);
    }
  if (usb->tablet == 0 && ctx->p->display.type != QL_DISPLAY_NONE)
    ex_metadata_key (ctx, "usb", "tablet", "false");
}

/* FIXME: [input] and [looking-glass] have libvirt forms (<input type='evdev'>,
 * <shmem>) not written yet: each is named rather than dropped without a word. */
static void
export_desktop_warnings (ExCtx *ctx)
{
  const QlProfile *p = ctx->p;

  if ((p->input.evdev != NULL && p->input.evdev[0] != NULL) || p->input.virtio)
    ex_warn (ctx, "[input]: not exported by this version; add <input type='evdev'> or virtio inputs by hand");
  if (p->looking_glass.enabled)
    ex_warn (ctx, "[looking-glass]: not exported by this version; add a <shmem> with model ivshmem-plain by hand");
}

static void
export_graphics (ExCtx *ctx, xmlNode *devices)
{
  const QlProfile *p = ctx->p;
  g_autofree char *host = NULL, *message = NULL;
  guint port = 0;
  xmlNode *graphics;

  if (p->display.type == QL_DISPLAY_NONE)
    return;
  graphics = ex_child (devices, "graphics", NULL);
  if (p->display.type == QL_DISPLAY_GTK)
    {
      ex_prop (graphics, "type", "sdl");
      if (p->display.gl)
        ex_prop (ex_child (graphics, "gl", NULL), "enable", "yes");
      ex_warn (ctx, "[display] type=gtk: libvirt has no GTK window; exported as its SDL window");
      return;
    }
  ex_prop (graphics, "type", ql_display_type_names[p->display.type]);
  if (p->display.password_file != NULL)
    ex_warn (ctx, "[display] password-file: libvirt keeps the password in the XML (passwd=); not exported");
  if (p->display.type == QL_DISPLAY_SPICE && p->display.listen == NULL)
    {
      /* qlaunch's SPICE without listen= opens no port: libvirt's local-only form */
      ex_prop (ex_child (graphics, "listen", NULL), "type", "none");
      if (p->display.gl)
        ex_prop (ex_child (graphics, "gl", NULL), "enable", "yes");
      return;
    }
  ql_value_parse_listen (p->display.listen ? p->display.listen : "127.0.0.1", &host, &port, &message);
  ex_prop (graphics, "autoport", "no");
  if (p->display.type == QL_DISPLAY_VNC)
    ex_propf (graphics, "port", "%u", 5900 + port);
  else
    ex_propf (graphics, "port", "%u", port ? port : 5930);
  ex_prop (graphics, "listen", host ? host : "127.0.0.1");
}

static void
export_video (ExCtx *ctx, xmlNode *devices)
{
  static const char *const models[] = {
    [QL_VGA_AUTO] = "vga", [QL_VGA_NONE] = "none", [QL_VGA_STD] = "vga", [QL_VGA_QXL] = "qxl",
    [QL_VGA_VIRTIO] = "virtio",
  };
  xmlNode *model = ex_child (ex_child (devices, "video", NULL), "model", NULL);

  ex_prop (model, "type", ctx->m->vga_slot == 0 ? "none" : models[ctx->p->display.vga]);
}

static void
export_controllers (ExCtx *ctx, xmlNode *devices)
{
  xmlNode *usb = ex_child (devices, "controller", NULL);

  ex_prop (usb, "type", "usb");
  ex_prop (usb, "index", "0");
  ex_prop (usb, "model", ctx->m->usb_slot != 0 ? "qemu-xhci" : "none");
  if (ctx->m->scsi_slot != 0)
    {
      xmlNode *scsi = ex_child (devices, "controller", NULL);
      ex_prop (scsi, "type", "scsi");
      ex_prop (scsi, "index", "0");
      ex_prop (scsi, "model", "virtio-scsi");
      if (ctx->p->cpu.iothreads > 0)
        ex_prop (ex_child (scsi, "driver", NULL), "iothread", "1");
    }
}

void
ex_devices (ExCtx *ctx, xmlNode *domain)
{
  const QlProfile *p = ctx->p;
  xmlNode *devices = ex_child (domain, "devices", NULL);
  guint vd = 0, sd = 0, boot = 1;

  ex_child (devices, "emulator", ctx->m->qemu_binary);
  for (guint i = 0; i < p->disks->len; i++)
    export_disk (ctx, devices, p->disks->pdata[i], i, &vd, &sd, &boot);
  for (guint i = 0; i < p->cdroms->len; i++)
    export_cdrom (devices, p->cdroms->pdata[i], &sd, &boot);
  export_controllers (ctx, devices);
  for (guint i = 0; i < p->nets->len; i++)
    export_net (ctx, devices, p->nets->pdata[i]);
  export_hostdevs (ctx, devices);
  /* qlaunch's serial console is a log with a live relay; libvirt's is a pty */
  ex_prop (ex_child (devices, "serial", NULL), "type", "pty");
  if (ctx->m->usb_tablet)
    {
      xmlNode *tablet = ex_child (devices, "input", NULL);
      ex_prop (tablet, "type", "tablet");
      ex_prop (tablet, "bus", "usb");
    }
  export_graphics (ctx, devices);
  export_sound (ctx, devices);
  export_usb_hosts (ctx, devices);
  export_desktop_warnings (ctx);
  export_video (ctx, devices);
  ex_prop (ex_child (devices, "memballoon", NULL), "model", "none");
}
