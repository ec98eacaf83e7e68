/* The <devices> of a libvirt domain: disks, NICs, host devices, display. */
#include "ql-import-libvirt-priv.h"
#include "ql-desktop.h"
#include "ql-import-qemu-args.h"

#include <string.h>

static void
note_address (LvCtx *ctx, xmlNode *node)
{
  if (ctx->noted_addresses || lv_child (node, "address") == NULL)
    return;
  ctx->noted_addresses = TRUE;
  ql_import_note (ctx->import, lv_line (lv_child (node, "address")), "guest <address> elements: qlaunch gives "
                  "every device a fixed slot of its own (VGA 01.0, xHCI 02.0, NICs and disks in profile order, "
                  "root ports from 1c.0)");
}

static void
keep (LvCtx *ctx, xmlNode *node, const char *const *args)
{
  g_autofree char *what = lv_describe (node);
  ql_import_keep_args (ctx->import, lv_line (node), what, args);
}

/* ---- <disk> ---- */

static void
disk_driver (LvCtx *ctx, const char *group, xmlNode *driver)
{
  static const char *const caches[] = { "none", "writeback", "writethrough", "directsync", "unsafe", NULL };
  static const char *const aios[] = { "threads", "native", "io_uring", NULL };
  g_autofree char *type = lv_prop (driver, "type"), *cache = lv_prop (driver, "cache");
  g_autofree char *io = lv_prop (driver, "io"), *discard = lv_prop (driver, "discard");

  if (type != NULL && (strcmp (type, "raw") == 0 || strcmp (type, "qcow2") == 0))
    ql_import_set (ctx->import, group, "format", type);
  else if (type != NULL)
    ql_import_warn (ctx->import, lv_line (driver), "<driver type='%s'>: qlaunch opens raw and qcow2 images; "
                    "convert with qemu-img convert -O qcow2", type);
  if (cache != NULL && g_strv_contains (caches, cache))
    ql_import_set (ctx->import, group, "cache", cache);
  else if (cache != NULL && strcmp (cache, "default") != 0)
    ql_import_warn (ctx->import, lv_line (driver), "<driver cache='%s'> not imported", cache);
  if (io != NULL && g_strv_contains (aios, io))
    ql_import_set (ctx->import, group, "aio", io);
  else if (io != NULL && strcmp (io, "default") != 0)
    ql_import_warn (ctx->import, lv_line (driver), "<driver io='%s'> not imported", io);
  if (discard != NULL && strcmp (discard, "unmap") == 0)
    ql_import_set_bool (ctx->import, group, "discard", TRUE);
}

static const char *
disk_bus (LvCtx *ctx, xmlNode *target)
{
  static const char *const native[] = { "virtio", "scsi", "sata", "nvme", NULL };
  g_autofree char *bus = target ? lv_prop (target, "bus") : NULL;

  if (bus == NULL || strcmp (bus, "virtio") == 0)
    return "virtio";
  for (guint i = 0; native[i] != NULL; i++)
    if (strcmp (bus, native[i]) == 0)
      return native[i];
  ql_import_note (ctx->import, lv_line (target), "<target bus='%s'>: q35 has no such bus in qlaunch; the disk is "
                  "on the AHCI controller (sata)", bus);
  return "sata";
}

static char *
disk_source (LvCtx *ctx, xmlNode *disk)
{
  xmlNode *source = lv_child (disk, "source");
  char *path = NULL;

  if (source != NULL)
    {
      path = lv_prop (source, "file");
      if (path == NULL)
        path = lv_prop (source, "dev");
    }
  return path;
}

static void
import_disk (LvCtx *ctx, xmlNode *disk)
{
  g_autofree char *type = lv_prop (disk, "type"), *device = lv_prop (disk, "device");
  g_autofree char *path = NULL, *dev = NULL, *id = NULL, *group = NULL;
  xmlNode *target = lv_child (disk, "target");
  gboolean cdrom = device != NULL && strcmp (device, "cdrom") == 0;

  if (type != NULL && strcmp (type, "file") != 0 && strcmp (type, "block") != 0)
    return lv_not_imported (ctx, disk, "qlaunch opens image files and block devices; give the volume's path "
                            "(virsh vol-path) in a [disk] section");
  if (device != NULL && strcmp (device, "disk") != 0 && !cdrom)
    return lv_not_imported (ctx, disk, "qlaunch has disks and CD-ROMs");
  path = disk_source (ctx, disk);
  if (path == NULL)
    return lv_not_imported (ctx, disk, cdrom ? "an empty CD-ROM drive (qlaunch's [cdrom] needs a file)"
                                             : "no <source file> or <source dev>");
  dev = target ? lv_prop (target, "dev") : NULL;
  id = lv_alias_id (disk, cdrom ? "cdrom" : "disk");
  if (id == NULL)
    id = g_strdup (dev ? dev : (cdrom ? "cdrom" : "disk"));
  g_autofree char *section = lv_section_id (ctx, cdrom ? "cdrom" : "disk", id);
  group = g_strdup_printf ("%s %s", cdrom ? "cdrom" : "disk", section);
  ql_import_set (ctx->import, group, "file", path);
  if (!cdrom)
    {
      ql_import_set (ctx->import, group, "bus", disk_bus (ctx, target));
      if (lv_child (disk, "driver") != NULL)
        disk_driver (ctx, group, lv_child (disk, "driver"));
      if (lv_child (disk, "readonly") != NULL)
        ql_import_set_bool (ctx->import, group, "readonly", TRUE);
    }
  if (lv_child (disk, "boot") != NULL)
    ql_import_set_bool (ctx->import, group, "boot", TRUE);
  note_address (ctx, disk);
  for (xmlNode *c = disk->children; c != NULL; c = c->next)
    {
      static const char *const understood[] = { "source", "target", "driver", "readonly", "boot", "address",
                                                "alias", NULL };
      if (c->type == XML_ELEMENT_NODE && !g_strv_contains (understood, (const char *) c->name))
        lv_not_imported (ctx, c, "qlaunch has no [disk] key for it");
    }
}

/* ---- <interface> ---- */

static void
interface_source (LvCtx *ctx, const char *group, xmlNode *iface, const char *type)
{
  xmlNode *source = lv_child (iface, "source");

  if (strcmp (type, "user") == 0)
    {
      ql_import_set (ctx->import, group, "mode", "user");
      return;
    }
  ql_import_set (ctx->import, group, "mode", "tap");
  if (strcmp (type, "ethernet") == 0)
    return;   /* a tap of its own, on no bridge */
  if (strcmp (type, "bridge") == 0)
    {
      g_autofree char *bridge = source ? lv_prop (source, "bridge") : NULL;
      if (bridge != NULL)
        ql_import_set (ctx->import, group, "bridge", bridge);
      return;
    }
  /* type='network' */
  {
    g_autofree char *network = source ? lv_prop (source, "network") : NULL;
    if (network != NULL && strcmp (network, "default") == 0)
      {
        ql_import_set (ctx->import, group, "bridge", "virbr0");
        ql_import_note (ctx->import, lv_line (iface), "libvirt network 'default': its bridge virbr0 (the tap "
                        "joins it; libvirt's dnsmasq must still run for DHCP)");
      }
    else
      ql_import_warn (ctx->import, lv_line (iface), "libvirt network '%s': its bridge is not in the domain XML; "
                      "set [%s] bridge= to it (virsh net-info %s)", network ? network : "", group,
                      network ? network : "NAME");
  }
}

static void
interface_details (LvCtx *ctx, const char *group, xmlNode *iface)
{
  static const char *const models[] = { "virtio", "e1000e", "e1000", "rtl8139", NULL };
  xmlNode *mac = lv_child (iface, "mac"), *model = lv_child (iface, "model"), *driver = lv_child (iface, "driver");
  xmlNode *target = lv_child (iface, "target"), *mtu = lv_child (iface, "mtu");
  g_autofree char *address = mac ? lv_prop (mac, "address") : NULL;
  g_autofree char *type = model ? lv_prop (model, "type") : NULL;
  g_autofree char *dev = target ? lv_prop (target, "dev") : NULL;

  if (address != NULL)
    {
      g_autofree char *lower = g_ascii_strdown (address, -1);
      ql_import_set (ctx->import, group, "mac", lower);
    }
  if (type != NULL && g_strv_contains (models, type))
    ql_import_set (ctx->import, group, "model", type);
  else if (type != NULL)
    ql_import_warn (ctx->import, lv_line (model), "<model type='%s'>: qlaunch's NIC models are virtio, e1000e, "
                    "e1000 and rtl8139; written as virtio", type);
  if (driver != NULL)
    {
      g_autofree char *name = lv_prop (driver, "name"), *queues = lv_prop (driver, "queues");
      if (name != NULL && strcmp (name, "vhost") == 0)
        ql_import_set_bool (ctx->import, group, "vhost", TRUE);
      if (queues != NULL)
        ql_import_set (ctx->import, group, "queues", queues);
    }
  /* vnetN and macvtapN are names libvirt makes up at each start */
  if (dev != NULL && !g_str_has_prefix (dev, "vnet") && !g_str_has_prefix (dev, "macvtap"))
    ql_import_set (ctx->import, group, "ifname", dev);
  if (mtu != NULL)
    {
      g_autofree char *size = lv_prop (mtu, "size");
      if (size != NULL)
        ql_import_set (ctx->import, group, "mtu", size);
    }
}

static void
import_interface (LvCtx *ctx, xmlNode *iface)
{
  static const char *const types[] = { "bridge", "network", "user", "ethernet", NULL };
  static const char *const understood[] = { "source", "mac", "model", "driver", "target", "mtu", "address",
                                            "alias", NULL };
  g_autofree char *type = lv_prop (iface, "type"), *id = NULL, *section = NULL, *group = NULL;

  if (type == NULL || !g_strv_contains (types, type))
    return lv_not_imported (ctx, iface, "qlaunch's NICs are taps on a bridge or user-mode networking");
  id = lv_alias_id (iface, "net");
  if (id == NULL)
    id = g_strdup_printf ("net%u", ctx->nets);
  ctx->nets++;
  section = lv_section_id (ctx, "net", id);
  group = g_strdup_printf ("net %s", section);
  interface_source (ctx, group, iface, type);
  interface_details (ctx, group, iface);
  note_address (ctx, iface);
  for (xmlNode *c = iface->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && !g_strv_contains (understood, (const char *) c->name))
      lv_not_imported (ctx, c, "qlaunch has no [net] key for it");
}

/* ---- <hostdev> ---- */

static char *
pci_source (xmlNode *hostdev)
{
  xmlNode *source = lv_child (hostdev, "source");
  xmlNode *address = source ? lv_child (source, "address") : NULL;
  g_autofree char *domain = NULL, *bus = NULL, *slot = NULL, *function = NULL;

  if (address == NULL)
    return NULL;
  domain = lv_prop (address, "domain");
  bus = lv_prop (address, "bus");
  slot = lv_prop (address, "slot");
  function = lv_prop (address, "function");
  if (bus == NULL || slot == NULL)
    return NULL;
  return g_strdup_printf ("%04x:%02x:%02x.%x", domain ? (guint) g_ascii_strtoull (domain, NULL, 0) : 0,
                          (guint) g_ascii_strtoull (bus, NULL, 0), (guint) g_ascii_strtoull (slot, NULL, 0),
                          function ? (guint) g_ascii_strtoull (function, NULL, 0) : 0);
}

/* A function of a slot already imported: added to its functions=. */
static gboolean
join_slot (LvCtx *ctx, const char *host, GHashTable *slots, const char *alias)
{
  g_autofree char *slot = g_strndup (host, strlen ("0000:00:00"));
  const char *group = g_hash_table_lookup (slots, slot);
  g_autofree char *functions = NULL, *joined = NULL;

  if (group == NULL)
    return FALSE;
  functions = ql_import_get (ctx->import, group, "functions");
  joined = g_strdup_printf ("%s,%c", functions ? functions : "0", host[strlen (host) - 1]);
  ql_import_set (ctx->import, group, "functions", joined);
  ql_import_device_add (ctx->devices, alias, group, 0);
  return TRUE;
}

static void
hostdev_rom (LvCtx *ctx, const char *group, xmlNode *rom)
{
  g_autofree char *bar = lv_prop (rom, "bar"), *file = lv_prop (rom, "file"), *enabled = lv_prop (rom, "enabled");

  if (bar != NULL)
    ql_import_set_bool (ctx->import, group, "rom-bar", strcmp (bar, "on") == 0);
  if (file != NULL)
    ql_import_set (ctx->import, group, "rom", file);
  if (enabled != NULL && strcmp (enabled, "no") == 0)
    {
      ql_import_set_bool (ctx->import, group, "rom-bar", FALSE);
      ql_import_note (ctx->import, lv_line (rom), "<rom enabled='no'>: written as rom-bar=false");
    }
}

/* The guest address: the pcie-root-port it sits behind, where qlaunch can place one. */
static void
hostdev_guest_address (LvCtx *ctx, const char *group, xmlNode *hostdev)
{
  xmlNode *address = lv_child (hostdev, "address");
  g_autofree char *bus = address ? lv_prop (address, "bus") : NULL;
  g_autofree char *index = bus ? g_strdup_printf ("%u", (guint) g_ascii_strtoull (bus, NULL, 0)) : NULL;
  const char *port = index ? g_hash_table_lookup (ctx->ports, index) : NULL;

  if (index != NULL && g_hash_table_contains (ctx->ports_without_hotplug, index))
    ql_import_set_bool (ctx->import, group, "hotplug", FALSE);
  if (port != NULL && g_ascii_strtoull (port, NULL, 16) >= 0x1c && g_ascii_strtoull (port, NULL, 16) <= 0x1e)
    ql_import_set (ctx->import, group, "root-port", port);
  else if (address != NULL)
    ql_import_note (ctx->import, lv_line (address), "[%s]: the device is at 00.0 behind a pcie-root-port qlaunch "
                    "places at 1c.0 onward%s%s", group, port ? ", not at " : "", port ? port : "");
}

static void
import_pci_hostdev (LvCtx *ctx, xmlNode *hostdev, const char *alias, GHashTable *slots)
{
  g_autofree char *host = pci_source (hostdev), *id = NULL, *section = NULL, *group = NULL;
  g_autofree char *managed = lv_prop (hostdev, "managed");

  if (host == NULL)
    return lv_not_imported (ctx, hostdev, "no <source><address>");
  if (join_slot (ctx, host, slots, alias))
    return;
  id = lv_alias_id (hostdev, "pci");
  section = lv_section_id (ctx, "pci", id ? id : alias);
  group = g_strdup_printf ("pci %s", section);
  ql_import_set (ctx->import, group, "host", g_str_has_prefix (host, "0000:") ? host + 5 : host);
  ql_import_setf (ctx->import, group, "functions", "%c", host[strlen (host) - 1]);
  if (lv_child (hostdev, "rom") != NULL)
    hostdev_rom (ctx, group, lv_child (hostdev, "rom"));
  hostdev_guest_address (ctx, group, hostdev);
  if (managed != NULL && strcmp (managed, "no") == 0)
    {
      ql_import_set (ctx->import, group, "release", "vfio");
      ql_import_note (ctx->import, lv_line (hostdev), "<hostdev managed='no'>: qlaunch binds it to vfio-pci if "
                      "needed and leaves it there (release=vfio)");
    }
  g_hash_table_insert (slots, g_strndup (host, strlen ("0000:00:00")), g_strdup (group));
  ql_import_device_add (ctx->devices, alias, group, lv_line (hostdev));
}

static void
import_mdev_hostdev (LvCtx *ctx, xmlNode *hostdev, const char *alias)
{
  xmlNode *source = lv_child (hostdev, "source");
  xmlNode *address = source ? lv_child (source, "address") : NULL;
  g_autofree char *uuid = address ? lv_prop (address, "uuid") : NULL;
  g_autofree char *display = lv_prop (hostdev, "display"), *ramfb = lv_prop (hostdev, "ramfb");
  g_autofree char *sysfsdev = NULL;
  QlImportDevice *device;

  if (uuid == NULL)
    return lv_not_imported (ctx, hostdev, "no <source><address uuid>");
  device = ql_import_device_add (ctx->devices, alias, NULL, lv_line (hostdev));
  sysfsdev = g_strconcat ("/sys/bus/mdev/devices/", uuid, NULL);
  ql_import_device_set_prop (device, "sysfsdev", sysfsdev);
  if (display != NULL)
    ql_import_device_set_prop (device, "display", display);
  if (ramfb != NULL)
    ql_import_device_set_prop (device, "ramfb", ramfb);
  g_ptr_array_add (ctx->mdev_ids, g_strdup (alias));
}

static void
import_usb_hostdev (LvCtx *ctx, xmlNode *hostdev)
{
  xmlNode *source = lv_child (hostdev, "source");
  xmlNode *vendor = source ? lv_child (source, "vendor") : NULL, *product = source ? lv_child (source, "product") : NULL;
  g_autofree char *vid = vendor ? lv_prop (vendor, "id") : NULL, *pid = product ? lv_prop (product, "id") : NULL;
  g_autofree char *item = NULL, *message = NULL, *have = NULL;
  guint64 v, d;
  QlUsbHost parsed;

  if (vid == NULL || pid == NULL || !ql_import_parse_uint (vid, 0, 0xffff, &v) ||
      !ql_import_parse_uint (pid, 0, 0xffff, &d))
    return lv_not_imported (ctx, hostdev, "qlaunch keeps USB devices by vendor and product id only");
  item = g_strdup_printf ("%04x:%04x", (guint) v, (guint) d);
  g_assert (ql_usb_host_parse (item, &parsed, &message));
  have = ql_import_get (ctx->import, "usb", "host");
  if (have != NULL)
    ql_import_setf (ctx->import, "usb", "host", "%s %s", have, item);
  else
    ql_import_set (ctx->import, "usb", "host", item);
}

static void
import_hostdev (LvCtx *ctx, xmlNode *hostdev, GHashTable *slots)
{
  g_autofree char *type = lv_prop (hostdev, "type"), *alias = lv_alias (hostdev);

  /* libvirt names every hostdev hostdevN in document order, whatever its type */
  if (alias == NULL)
    alias = g_strdup_printf ("hostdev%u", ctx->hostdevs);
  ctx->hostdevs++;
  if (type != NULL && strcmp (type, "pci") == 0)
    import_pci_hostdev (ctx, hostdev, alias, slots);
  else if (type != NULL && strcmp (type, "mdev") == 0)
    import_mdev_hostdev (ctx, hostdev, alias);
  else if (type != NULL && strcmp (type, "usb") == 0)
    import_usb_hostdev (ctx, hostdev);
  else
    lv_not_imported (ctx, hostdev, "qlaunch passes PCI, mediated and USB devices");
}

/* ---- display ---- */

static void
import_graphics (LvCtx *ctx, xmlNode *graphics)
{
  g_autofree char *type = lv_prop (graphics, "type"), *port = lv_prop (graphics, "port");
  g_autofree char *listen = lv_prop (graphics, "listen");
  xmlNode *gl = lv_child (graphics, "gl"), *listen_node = lv_child (graphics, "listen");
  guint64 port_number = port ? g_ascii_strtoull (port, NULL, 10) : 0;

  if (ql_import_has_key (ctx->import, "display", "type"))
    return lv_not_imported (ctx, graphics, "qlaunch gives a VM one display");
  if (listen == NULL && listen_node != NULL)
    listen = lv_prop (listen_node, "address");
  if (type != NULL && (strcmp (type, "spice") == 0 || strcmp (type, "vnc") == 0))
    ql_import_set (ctx->import, "display", "type", type);
  else if (type != NULL && strcmp (type, "sdl") == 0)
    {
      ql_import_set (ctx->import, "display", "type", "gtk");
      ql_import_note (ctx->import, lv_line (graphics), "<graphics type='sdl'>: a local window, GTK's in qlaunch");
    }
  else
    return lv_not_imported (ctx, graphics, "qlaunch's displays are spice, vnc and gtk");
  if (gl != NULL && lv_prop_on (gl, "enable"))
    ql_import_set_bool (ctx->import, "display", "gl", TRUE);
  if (strcmp (type, "vnc") == 0 && (listen != NULL || port_number >= 5900))
    ql_import_setf (ctx->import, "display", "listen", "%s:%u", listen ? listen : "127.0.0.1",
                    port_number >= 5900 ? (guint) (port_number - 5900) : 0);
  else if (strcmp (type, "spice") == 0 && (listen != NULL || port_number > 0))
    ql_import_setf (ctx->import, "display", "listen", "%s:%u", listen ? listen : "127.0.0.1",
                    port_number > 0 ? (guint) port_number : 5930);
  for (xmlNode *c = graphics->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && !lv_is (c, "gl") && !lv_is (c, "listen"))
      lv_not_imported (ctx, c, "qlaunch has no [display] key for it");
}

static void
import_video (LvCtx *ctx, xmlNode *video)
{
  static const struct { const char *model, *vga; } models[] = {
    { "vga", "std" }, { "qxl", "qxl" }, { "virtio", "virtio" }, { "none", "none" }, { "bochs", "std" },
  };
  xmlNode *model = lv_child (video, "model");
  g_autofree char *type = model ? lv_prop (model, "type") : NULL;

  if (ql_import_has_key (ctx->import, "display", "vga"))
    return lv_not_imported (ctx, video, "qlaunch gives a VM one emulated VGA");
  for (guint i = 0; type != NULL && i < G_N_ELEMENTS (models); i++)
    if (strcmp (type, models[i].model) == 0)
      {
        ql_import_set (ctx->import, "display", "vga", models[i].vga);
        if (strcmp (type, "bochs") == 0)
          ql_import_note (ctx->import, lv_line (model), "<model type='bochs'>: written as vga=std");
        note_address (ctx, video);
        return;
      }
  lv_not_imported (ctx, video, "qlaunch's VGAs are std, qxl, virtio or none");
}

static void
import_sound (LvCtx *ctx, xmlNode *sound)
{
  g_autofree char *model = lv_prop (sound, "model");
  const char *args[] = { "-audiodev", "none,id=audio0", "-device", "intel-hda", "-device",
                         "hda-duplex,audiodev=audio0", NULL };

  if (g_strcmp0 (model, "ich9") == 0 || g_strcmp0 (model, "usb") == 0)
    {
      /* libvirt's HDA is hda-duplex; its default backend follows the display (spice), which qlaunch has not */
      gboolean usb = strcmp (model, "usb") == 0;
      ql_import_set (ctx->import, "audio", "device", usb ? "usb-audio" : "ich9-intel-hda");
      ql_import_set (ctx->import, "audio", "backend", "none");
      ql_import_set_bool (ctx->import, "audio", "input", !usb);
      ql_import_warn (ctx->import, lv_line (sound), "<sound>: the sound card plays nowhere (backend=none); set "
                      "[audio] backend=pa, pipewire or alsa");
      return;
    }
  if (g_strcmp0 (model, "ich6") != 0)
    return lv_not_imported (ctx, sound, "qlaunch keeps HDA sound (ich9, ich6) only");
  keep (ctx, sound, args);
  ql_import_warn (ctx->import, lv_line (sound), "<sound>: the audio backend is 'none' (silent); change "
                  "-audiodev none to pa or pipewire in [qemu] args, or use model ich9 and [audio]");
}

static void
import_input (LvCtx *ctx, xmlNode *input)
{
  g_autofree char *type = lv_prop (input, "type"), *bus = lv_prop (input, "bus");

  if (type == NULL)
    return;
  if ((strcmp (type, "mouse") == 0 || strcmp (type, "keyboard") == 0) && g_strcmp0 (bus, "ps2") == 0)
    return;   /* q35's own PS/2 */
  if (strcmp (type, "tablet") == 0 && g_strcmp0 (bus, "usb") == 0)
    {
      ql_import_note (ctx->import, lv_line (input), "<input type='tablet'>: qlaunch adds a USB tablet with any "
                      "display");
      return;
    }
  if (strcmp (type, "evdev") == 0)
    {
      xmlNode *source = lv_child (input, "source");
      g_autofree char *dev = source ? lv_prop (source, "dev") : NULL;
      g_autofree char *grab = source ? lv_prop (source, "grab") : NULL;
      g_autofree char *opts = NULL;
      if (dev == NULL)
        return lv_not_imported (ctx, input, "no <source dev>");
      opts = g_strdup_printf ("input-linux,id=evdev%u,evdev=%s%s", ctx->hostdevs++, dev,
                              g_strcmp0 (grab, "all") == 0 ? ",grab_all=on,repeat=on" : "");
      const char *args[] = { "-object", opts, NULL };
      return keep (ctx, input, args);
    }
  if (g_strcmp0 (bus, "virtio") == 0)
    {
      const char *device = strcmp (type, "keyboard") == 0 ? "virtio-keyboard-pci"
                         : strcmp (type, "mouse") == 0 ? "virtio-mouse-pci" : "virtio-tablet-pci";
      const char *args[] = { "-device", device, NULL };
      return keep (ctx, input, args);
    }
  lv_not_imported (ctx, input, "qlaunch has no [input] section yet");
}

/* ---- the rest ---- */

static void
import_controller (LvCtx *ctx, xmlNode *controller)
{
  g_autofree char *model = lv_prop (controller, "model"), *index = lv_prop (controller, "index");
  xmlNode *address = lv_child (controller, "address");

  if (g_strcmp0 (model, "pcie-root-port") == 0 && address != NULL && index != NULL)
    {
      g_autofree char *slot = lv_prop (address, "slot"), *function = lv_prop (address, "function");
      xmlNode *target = lv_child (controller, "target");
      g_autofree char *hotplug = target ? lv_prop (target, "hotplug") : NULL;
      if (g_strcmp0 (hotplug, "off") == 0)
        g_hash_table_add (ctx->ports_without_hotplug, g_strdup (index));
      if (slot != NULL)
        g_hash_table_insert (ctx->ports, g_strdup (index),
                             g_strdup_printf ("%02x.%x", (guint) g_ascii_strtoull (slot, NULL, 0),
                                              function ? (guint) g_ascii_strtoull (function, NULL, 0) : 0));
    }
  if (ctx->noted_controllers)
    return;
  ctx->noted_controllers = TRUE;
  ql_import_note (ctx->import, lv_line (controller), "<controller> elements: qlaunch lays out its own (pcie.0, a "
                  "pcie-root-port per [pci] device, ICH9 AHCI, xHCI with a display, virtio-scsi for scsi disks)");
}

static void
import_channel (LvCtx *ctx, xmlNode *channel)
{
  g_autofree char *type = lv_prop (channel, "type");
  const char *args[] = { "-device", "virtio-serial-pci,id=vdagent-serial", "-chardev",
                         "spicevmc,id=vdagent,name=vdagent", "-device",
                         "virtserialport,bus=vdagent-serial.0,chardev=vdagent,name=com.redhat.spice.0", NULL };

  if (g_strcmp0 (type, "spicevmc") == 0)
    return keep (ctx, channel, args);
  lv_not_imported (ctx, channel, "qlaunch has no guest-agent channel yet");
}

static void
import_redirdev (LvCtx *ctx, xmlNode *redirdev)
{
  g_autofree char *type = lv_prop (redirdev, "type");
  g_autofree char *chardev = g_strdup_printf ("spicevmc,id=usbredir%u,name=usbredir", ctx->hostdevs);
  g_autofree char *device = g_strdup_printf ("usb-redir,chardev=usbredir%u", ctx->hostdevs++);
  const char *args[] = { "-chardev", chardev, "-device", device, NULL };

  if (g_strcmp0 (type, "spicevmc") != 0)
    return lv_not_imported (ctx, redirdev, "qlaunch keeps spice USB redirection only");
  keep (ctx, redirdev, args);
}

static void
import_memballoon (LvCtx *ctx, xmlNode *balloon)
{
  g_autofree char *model = lv_prop (balloon, "model");
  const char *args[] = { "-device", "virtio-balloon-pci,id=balloon0", NULL };

  if (g_strcmp0 (model, "none") == 0)
    return;
  keep (ctx, balloon, args);
}

static void
import_rng (LvCtx *ctx, xmlNode *rng)
{
  const char *args[] = { "-object", "rng-random,id=rng0,filename=/dev/urandom", "-device",
                         "virtio-rng-pci,rng=rng0", NULL };
  keep (ctx, rng, args);
}

/* Looking Glass and friends: an ivshmem-plain device on a file in /dev/shm. */
static void
import_shmem (LvCtx *ctx, xmlNode *shmem)
{
  g_autofree char *name = lv_prop (shmem, "name"), *object = NULL, *device = NULL;
  xmlNode *size = lv_child (shmem, "size");
  g_autofree char *value = size ? lv_text (size) : NULL, *unit = size ? lv_prop (size, "unit") : NULL;

  if (name == NULL || value == NULL || strchr (name, '/') != NULL || strchr (name, ',') != NULL)
    return lv_not_imported (ctx, shmem, "no name or size");
  object = g_strdup_printf ("memory-backend-file,id=shmem-%s,mem-path=/dev/shm/%s,size=%s%s,share=on", name, name,
                            value, unit && g_ascii_toupper (unit[0]) == 'M' ? "M" : unit ? "" : "M");
  device = g_strdup_printf ("ivshmem-plain,memdev=shmem-%s", name);
  {
    const char *args[] = { "-object", object, "-device", device, NULL };
    keep (ctx, shmem, args);
  }
}

static void
import_emulator (LvCtx *ctx, xmlNode *emulator)
{
  g_autofree char *path = lv_text (emulator), *base = path ? g_path_get_basename (path) : NULL;

  if (base != NULL && strcmp (base, "qemu-system-x86_64") != 0)
    ql_import_set (ctx->import, "qemu", "binary", path);
}

static void
import_console (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *type = lv_prop (node, "type");

  if (g_strcmp0 (type, "pty") != 0)
    lv_not_imported (ctx, node, "qlaunch's serial console is a log file with a live relay ('qlaunch start')");
}

typedef void (*DeviceImporter) (LvCtx *ctx, xmlNode *node);

static const struct {
  const char *name;
  DeviceImporter import;
} device_elements[] = {
  { "emulator", import_emulator }, { "disk", import_disk }, { "interface", import_interface },
  { "graphics", import_graphics }, { "video", import_video }, { "sound", import_sound },
  { "input", import_input }, { "controller", import_controller }, { "channel", import_channel },
  { "redirdev", import_redirdev }, { "memballoon", import_memballoon }, { "rng", import_rng },
  { "shmem", import_shmem }, { "serial", import_console }, { "console", import_console },
};

void
lv_import_devices (LvCtx *ctx, xmlNode *devices)
{
  g_autoptr(GHashTable) slots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  /* the root ports first: a hostdev's guest address names one by its index */
  for (xmlNode *c = devices->children; c != NULL; c = c->next)
    if (lv_is (c, "controller"))
      import_controller (ctx, c);
  for (xmlNode *c = devices->children; c != NULL; c = c->next)
    {
      gboolean done = c->type != XML_ELEMENT_NODE || lv_is (c, "controller");

      if (!done && lv_is (c, "hostdev"))
        {
          import_hostdev (ctx, c, slots);
          done = TRUE;
        }
      for (guint i = 0; !done && i < G_N_ELEMENTS (device_elements); i++)
        if (lv_is (c, device_elements[i].name))
          {
            device_elements[i].import (ctx, c);
            done = TRUE;
          }
      if (!done)
        lv_not_imported (ctx, c, "qlaunch has no key for this device");
    }
}
