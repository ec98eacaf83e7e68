#include "ql-import-proxmox.h"
#include "ql-desktop.h"
#include "ql-import-qemu-args.h"
#include "ql-error.h"
#include "ql-profile.h"
#include "ql-value.h"

#include <string.h>

/* One Proxmox VM configuration (qm.conf(5)): "key: value" lines, '#'
 * lines at the top holding the VM's notes, then snapshot sections. */

typedef struct {
  QlImport *import;
  GHashTable *devices;     /* hostpciN (and hostpciN.F) → QlImportDevice* */
  GPtrArray *mdev_ids;
  guint vmid;
  char *bootdisk;          /* bootdisk: (old configurations) */
  GStrv boot_order;        /* boot: order=scsi0;ide2;net0 */
} PxCtx;

typedef struct {
  char *key, *value;
  guint line;
} Line;

static void
line_free (Line *line)
{
  g_free (line->key);
  g_free (line->value);
  g_free (line);
}

/* "a,b=c,d=e": the first item may leave out its key (default_key). */
static GHashTable *
parse_options (const char *value, const char *default_key)
{
  GHashTable *options = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto(GStrv) items = g_strsplit (value, ",", -1);

  for (guint i = 0; items[i] != NULL; i++)
    {
      char *eq = strchr (items[i], '=');
      if (eq == NULL && i == 0 && default_key != NULL)
        g_hash_table_insert (options, g_strdup (default_key), g_strdup (items[i]));
      else if (eq == NULL)
        g_hash_table_insert (options, g_strdup (items[i]), g_strdup ("1"));
      else
        g_hash_table_insert (options, g_strndup (items[i], eq - items[i]), g_strdup (eq + 1));
    }
  return options;
}

static gboolean
option_on (GHashTable *options, const char *key)
{
  const char *value = g_hash_table_lookup (options, key);
  return value != NULL && (strcmp (value, "1") == 0 || strcmp (value, "on") == 0);
}

/* Options of key handled by the caller are removed; the rest are warned about. */
static void
warn_rest (PxCtx *ctx, const Line *line, GHashTable *options, const char *why)
{
  GHashTableIter iter;
  gpointer key, value;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, options);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_ptr_array_add (names, key);
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  for (guint i = 0; i < names->len; i++)
    ql_import_warn (ctx->import, line->line, "%s: %s=%s not imported: %s", line->key, (char *) names->pdata[i],
                    (char *) g_hash_table_lookup (options, names->pdata[i]), why);
}

static char *
take (GHashTable *options, const char *key)
{
  gpointer orig = NULL, value = NULL;

  if (!g_hash_table_steal_extended (options, key, &orig, &value))
    return NULL;
  g_free (orig);
  return value;
}

/* ---- simple keys ---- */

static void
import_name (PxCtx *ctx, const Line *line)
{
  g_autofree char *message = NULL;

  if (ql_profile_name_is_valid (line->value, &message))
    ql_import_set (ctx->import, "vm", "name", line->value);
  else
    {
      g_autofree char *clean = ql_import_section_id (line->value);
      ql_import_warn (ctx->import, line->line, "name: '%s' %s; written as '%s'", line->value, message, clean);
      ql_import_set (ctx->import, "vm", "name", clean);
    }
}

static void
import_memory (PxCtx *ctx, const Line *line)
{
  g_autoptr(GHashTable) options = parse_options (line->value, "current");
  g_autofree char *current = take (options, "current");
  guint64 mib;

  if (current == NULL || !ql_import_parse_uint (current, 16, G_GUINT64_CONSTANT (16) << 20, &mib))
    {
      ql_import_warn (ctx->import, line->line, "memory: '%s' is not a size in MiB; not imported", line->value);
      return;
    }
  if (mib % 1024 == 0)
    ql_import_setf (ctx->import, "memory", "size", "%" G_GUINT64_FORMAT "G", mib / 1024);
  else
    ql_import_setf (ctx->import, "memory", "size", "%" G_GUINT64_FORMAT "M", mib);
  warn_rest (ctx, line, options, "qlaunch has no key for it");
}

static void
import_balloon (PxCtx *ctx, const Line *line)
{
  const char *args[] = { "-device", "virtio-balloon-pci,id=balloon0", NULL };

  if (strcmp (line->value, "0") == 0)
    return;   /* no balloon device: qlaunch's too */
  ql_import_keep_args (ctx->import, line->line, "balloon (a balloon device; its target is set over QMP)", args);
}

static void
import_cpu_count (PxCtx *ctx, const Line *line)
{
  guint64 n;
  guint64 max = strcmp (line->key, "sockets") == 0 ? 16 : 256;

  if (!ql_import_parse_uint (line->value, 1, max, &n))
    ql_import_warn (ctx->import, line->line, "%s: '%s' not imported: qlaunch takes 1 to %" G_GUINT64_FORMAT,
                    line->key, line->value, max);
  else
    ql_import_set (ctx->import, "cpu", line->key, line->value);
}

static void
import_cpu (PxCtx *ctx, const Line *line)
{
  g_autoptr(GHashTable) options = parse_options (line->value, "cputype");
  g_autofree char *type = take (options, "cputype"), *flags = take (options, "flags");
  g_autofree char *hidden = take (options, "hidden"), *vendor = take (options, "hv-vendor-id");

  if (type != NULL && g_str_has_prefix (type, "x86-64-v"))
    {
      ql_import_warn (ctx->import, line->line, "cpu: '%s' is Proxmox's own model (not QEMU's); written as host",
                      type);
      ql_import_set (ctx->import, "cpu", "model", "host");
    }
  else if (type != NULL)
    ql_import_set (ctx->import, "cpu", "model", type);
  if (hidden != NULL && strcmp (hidden, "1") == 0)
    ql_import_set_bool (ctx->import, "vm", "hide-hypervisor", TRUE);
  if (vendor != NULL)
    {
      ql_import_set_bool (ctx->import, "vm", "hide-hypervisor", TRUE);
      ql_import_note (ctx->import, line->line, "cpu: hv-vendor-id=%s: hide-hypervisor=true sets qlaunch's own "
                      "vendor id", vendor);
    }
  if (flags != NULL)
    ql_import_warn (ctx->import, line->line, "cpu: flags=%s not imported: qlaunch has no key for CPU flags", flags);
  warn_rest (ctx, line, options, "qlaunch has no key for it");
}

static void
import_hugepages (PxCtx *ctx, const Line *line)
{
  if (strcmp (line->value, "2") == 0 || strcmp (line->value, "any") == 0)
    ql_import_set (ctx->import, "memory", "hugepages", "2M");
  else if (strcmp (line->value, "1024") == 0)
    ql_import_set (ctx->import, "memory", "hugepages", "1G");
  else
    ql_import_warn (ctx->import, line->line, "hugepages: '%s' not imported", line->value);
  if (strcmp (line->value, "any") == 0)
    ql_import_note (ctx->import, line->line, "hugepages: any: qlaunch asks for 2M pages");
}

/* affinity: the host CPUs every QEMU thread may run on (Proxmox sets it
 * with taskset).  qlaunch pins each vCPU to one CPU, the others to a set. */
static void
import_affinity (PxCtx *ctx, const Line *line)
{
  g_autoptr(GArray) cpus = ql_import_parse_cpuset (line->value);
  g_autofree char *set = NULL;

  if (cpus == NULL)
    {
      ql_import_warn (ctx->import, line->line, "affinity: '%s' is not a CPU list; not imported", line->value);
      return;
    }
  set = ql_value_format_cpu_set (cpus);
  ql_import_set (ctx->import, "cpu", "emulator-pin", set);
  ql_import_set (ctx->import, "cpu", "iothread-pin", set);
  ql_import_note (ctx->import, line->line, "affinity: %s: QEMU's other threads and the iothreads stay on these CPUs "
                  "(emulator-pin, iothread-pin); the vCPUs float unless [cpu] pin= names a CPU for each", set);
}

static void
import_bios (PxCtx *ctx, const Line *line)
{
  if (strcmp (line->value, "ovmf") == 0)
    ql_import_set (ctx->import, "vm", "firmware", "uefi");
  else if (strcmp (line->value, "seabios") == 0)
    ql_import_set (ctx->import, "vm", "firmware", "bios");
  else
    ql_import_warn (ctx->import, line->line, "bios: '%s' not imported", line->value);
}

static void
import_machine (PxCtx *ctx, const Line *line)
{
  g_autoptr(GHashTable) options = parse_options (line->value, "type");
  g_autofree char *type = take (options, "type");

  if (type != NULL && (strcmp (type, "q35") == 0 || g_str_has_prefix (type, "pc-q35-")))
    {
      if (ql_value_machine_type_is_valid (type))
        ql_import_set (ctx->import, "vm", "machine", type);  /* the guest keeps its hardware */
      else if (strcmp (type, "q35") != 0)
        ql_import_note (ctx->import, line->line, "machine: %s: not a pc-q35-X.Y type; qlaunch pins what q35 is "
                        "in its QEMU at the first start", type);
    }
  else
    ql_import_warn (ctx->import, line->line, "machine: '%s': qlaunch builds a q35 machine (PCIe); the guest sees "
                    "another chipset than on Proxmox (i440fx)", type ? type : line->value);
  warn_rest (ctx, line, options, "qlaunch has no key for it");
}

static void
import_efidisk (PxCtx *ctx, const Line *line)
{
  g_autoptr(GHashTable) options = parse_options (line->value, "file");
  g_autofree char *file = take (options, "file");

  if (option_on (options, "pre-enrolled-keys"))
    ql_import_set_bool (ctx->import, "vm", "secure-boot", TRUE);
  ql_import_set (ctx->import, "vm", "firmware", "uefi");
  ql_import_warn (ctx->import, line->line, "efidisk0: %s holds the UEFI variables; qlaunch keeps them in its state dir "
                  "(OVMF_VARS.fd): copy it there ('pvesm path %s' names the file) before the first start to keep "
                  "the guest's boot entries", file ? file : line->value, file ? file : line->value);
}

static void
import_vga (PxCtx *ctx, const Line *line)
{
  g_autoptr(GHashTable) options = parse_options (line->value, "type");
  g_autofree char *type = take (options, "type");

  g_free (take (options, "memory"));
  if (type == NULL || strcmp (type, "std") == 0 || strcmp (type, "cirrus") == 0 || strcmp (type, "vmware") == 0)
    {
      ql_import_set (ctx->import, "display", "vga", "std");
      ql_import_set (ctx->import, "display", "type", "vnc");
    }
  else if (g_str_has_prefix (type, "qxl"))
    {
      ql_import_set (ctx->import, "display", "vga", "qxl");
      ql_import_set (ctx->import, "display", "type", "spice");
    }
  else if (g_str_has_prefix (type, "virtio"))
    {
      ql_import_set (ctx->import, "display", "vga", "virtio");
      ql_import_set (ctx->import, "display", "type", strcmp (type, "virtio-gl") == 0 ? "spice" : "vnc");
      if (strcmp (type, "virtio-gl") == 0)
        ql_import_set_bool (ctx->import, "display", "gl", TRUE);
    }
  else if (strcmp (type, "none") == 0 || g_str_has_prefix (type, "serial"))
    ql_import_set (ctx->import, "display", "vga", "none");
  else
    ql_import_warn (ctx->import, line->line, "vga: '%s' not imported", type);
  if (ql_import_has_group (ctx->import, "display"))
    {
      g_autofree char *shown = ql_import_get (ctx->import, "display", "type");
      if (shown != NULL)
        ql_import_note (ctx->import, line->line, "vga: Proxmox shows the screen through its web console; qlaunch "
                        "serves %s on 127.0.0.1", shown);
    }
  warn_rest (ctx, line, options, "qlaunch has no key for it");
}

/* ---- hostpciN ---- */

/* "0000:01:00.0" / "01:00" / "01:00.0;01:00.1" → host=, functions= */
static gboolean
hostpci_host (PxCtx *ctx, const Line *line, const char *group, const char *ids)
{
  g_auto(GStrv) parts = g_strsplit (ids, ";", -1);
  g_autofree char *slot = NULL, *first = NULL;
  g_autoptr(GString) functions = g_string_new (NULL);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      const char *id = g_str_has_prefix (parts[i], "0000:") ? parts[i] + 5 : parts[i];
      const char *dot = strrchr (id, '.');
      g_autofree char *this_slot = dot ? g_strndup (id, dot - id) : g_strdup (id);

      if (strlen (this_slot) != 5 || this_slot[2] != ':')
        return FALSE;
      if (slot != NULL && strcmp (slot, this_slot) != 0)
        {
          ql_import_warn (ctx->import, line->line, "%s: %s: functions of different slots; qlaunch passes one "
                          "slot per [pci] section, only %s taken (add a [pci] section for %s)", line->key, ids, slot,
                          parts[i]);
          continue;
        }
      if (slot == NULL)
        slot = g_steal_pointer (&this_slot);
      if (dot != NULL)
        {
          g_string_append_printf (functions, "%s%s", functions->len ? "," : "", dot + 1);
          if (first == NULL)
            first = g_strdup (dot + 1);
        }
    }
  ql_import_setf (ctx->import, group, "host", "%s.%s", slot, first ? first : "0");
  ql_import_set (ctx->import, group, "functions", functions->len ? functions->str : "all");
  return TRUE;
}

static void
hostpci_ids (PxCtx *ctx, const Line *line, const char *group, GHashTable *options)
{
  static const struct { const char *option, *key; } ids[] = {
    { "vendor-id", "vendor" }, { "device-id", "device" },
    { "sub-vendor-id", "sub-vendor" }, { "sub-device-id", "sub-device" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *value = take (options, ids[i].option);
      g_autofree char *hex = value ? ql_import_hex16 (value, FALSE) : NULL;
      if (hex != NULL)
        ql_import_set (ctx->import, group, ids[i].key, hex);
      else if (value != NULL)
        ql_import_warn (ctx->import, line->line, "%s: %s=%s is not a 16-bit hex id", line->key, ids[i].option,
                        value);
    }
}

static void
hostpci_rom (PxCtx *ctx, const Line *line, const char *group, GHashTable *options)
{
  g_autofree char *rombar = take (options, "rombar"), *romfile = take (options, "romfile");

  if (rombar != NULL)
    ql_import_set_bool (ctx->import, group, "rom-bar", strcmp (rombar, "0") != 0);
  if (romfile != NULL)
    {
      /* Proxmox takes the name inside /usr/share/kvm/ */
      g_autofree char *path = g_path_is_absolute (romfile) ? g_strdup (romfile)
                                                            : g_build_filename ("/usr/share/kvm", romfile, NULL);
      ql_import_set (ctx->import, group, "rom", path);
    }
}

/* An mdev hostpci: Proxmox makes its UUID from the index and the VMID. */
static void
hostpci_mdev (PxCtx *ctx, const Line *line, const char *index, const char *type)
{
  g_autofree char *uuid = g_strdup_printf ("%08u-0000-0000-0000-%012u", (guint) g_ascii_strtoull (index, NULL, 10),
                                           ctx->vmid);
  g_autofree char *sysfsdev = g_strconcat ("/sys/bus/mdev/devices/", uuid, NULL);
  g_autofree char *id = g_strconcat ("hostpci", index, NULL);
  QlImportDevice *device = ql_import_device_add (ctx->devices, id, NULL, line->line);

  ql_import_device_set_prop (device, "sysfsdev", sysfsdev);
  g_ptr_array_add (ctx->mdev_ids, g_strdup (id));
  ql_import_note (ctx->import, line->line, "%s: mdev=%s: create it as Proxmox does before the start "
                  "(echo %s > /sys/bus/pci/devices/DEVICE/mdev_supported_types/%s/create)", line->key, type, uuid,
                  type);
}

static void
import_hostpci (PxCtx *ctx, const Line *line)
{
  g_autoptr(GHashTable) options = parse_options (line->value, "host");
  const char *index = line->key + strlen ("hostpci");
  g_autofree char *host = take (options, "host"), *mdev = take (options, "mdev"), *pcie = take (options, "pcie");
  g_autofree char *xvga = take (options, "x-vga"), *mapping = take (options, "mapping");
  g_autofree char *group = g_strdup_printf ("pci %s", line->key);

  if (mapping != NULL)
    {
      ql_import_warn (ctx->import, line->line, "%s: mapping=%s not imported: a cluster resource mapping; put the "
                      "device's address in host= ('pvesh get /cluster/mapping/pci/%s')", line->key, mapping, mapping);
      return warn_rest (ctx, line, options, "the device was not imported");
    }
  if (mdev != NULL)
    {
      hostpci_mdev (ctx, line, index, mdev);
      return warn_rest (ctx, line, options, "qlaunch has no key for it");
    }
  if (host == NULL || !hostpci_host (ctx, line, group, host))
    {
      ql_import_warn (ctx->import, line->line, "%s: '%s' names no host PCI device; not imported", line->key,
                      line->value);
      return;
    }
  if (pcie != NULL && strcmp (pcie, "1") != 0)
    ql_import_note (ctx->import, line->line, "%s: pcie=0: qlaunch puts every device behind a PCIe root port",
                    line->key);
  if (xvga != NULL && strcmp (xvga, "0") != 0)
    ql_import_set_bool (ctx->import, group, "x-vga", TRUE);
  hostpci_ids (ctx, line, group, options);
  hostpci_rom (ctx, line, group, options);
  {
    /* Proxmox's QEMU ids: hostpciN, or hostpciN.F for each function */
    g_autofree char *id = g_strconcat ("hostpci", index, NULL), *id0 = g_strconcat (id, ".0", NULL);
    ql_import_device_add (ctx->devices, id, group, line->line);
    ql_import_device_add (ctx->devices, id0, group, line->line);
  }
  warn_rest (ctx, line, options, "qlaunch has no [pci] key for it");
}

/* ---- netN ---- */

static void
import_net (PxCtx *ctx, const Line *line)
{
  static const char *const models[] = { "virtio", "e1000e", "e1000", "rtl8139", NULL };
  g_autoptr(GHashTable) options = parse_options (line->value, "model");
  g_autofree char *group = g_strdup_printf ("net %s", line->key), *model = take (options, "model");
  g_autofree char *mac = take (options, "macaddr"), *bridge = take (options, "bridge");
  g_autofree char *queues = take (options, "queues"), *mtu = take (options, "mtu"), *firewall = take (options, "firewall");

  /* "virtio=BC:24:11:…": the model's name holds the MAC */
  if (model != NULL && strchr (model, '=') == NULL)
    for (guint i = 0; models[i] != NULL && mac == NULL; i++)
      if (g_hash_table_contains (options, models[i]))
        {
          g_free (model);
          model = g_strdup (models[i]);
          mac = take (options, models[i]);
        }
  for (guint i = 0; models[i] != NULL && model == NULL; i++)
    if (g_hash_table_contains (options, models[i]))
      {
        model = g_strdup (models[i]);
        mac = take (options, models[i]);
      }
  ql_import_set (ctx->import, group, "mode", bridge ? "tap" : "user");
  if (bridge != NULL)
    ql_import_set (ctx->import, group, "bridge", bridge);
  if (model != NULL && g_strv_contains (models, model))
    ql_import_set (ctx->import, group, "model", model);
  else if (model != NULL)
    ql_import_warn (ctx->import, line->line, "%s: model %s: qlaunch's NIC models are virtio, e1000e, e1000 and "
                    "rtl8139; written as virtio", line->key, model);
  if (mac != NULL)
    {
      g_autofree char *lower = g_ascii_strdown (mac, -1);
      ql_import_set (ctx->import, group, "mac", lower);
    }
  if (queues != NULL && strcmp (queues, "0") != 0)
    ql_import_set (ctx->import, group, "queues", queues);
  if (mtu != NULL && strcmp (mtu, "1") != 0)
    ql_import_set (ctx->import, group, "mtu", mtu);
  if (bridge != NULL && (model == NULL || strcmp (model, "virtio") == 0))
    ql_import_set_bool (ctx->import, group, "vhost", TRUE);
  if (firewall != NULL && strcmp (firewall, "0") != 0)
    ql_import_warn (ctx->import, line->line, "%s: firewall=1 not imported: Proxmox's firewall bridge (fwbr) is "
                    "its own; the tap joins %s directly", line->key, bridge ? bridge : "the bridge");
  warn_rest (ctx, line, options, "qlaunch has no [net] key for it");
}

/* ---- disks ---- */

/* A Proxmox volume id → a path, for the default storages of an
 * installation; NULL for others (only 'pvesm path' knows them). */
static char *
volume_path (const char *volume, guint vmid)
{
  const char *colon = strchr (volume, ':');
  const char *name = colon ? colon + 1 : NULL;

  if (name == NULL)
    return NULL;
  if (g_str_has_prefix (volume, "local-lvm:"))
    return g_build_filename ("/dev/pve", name, NULL);
  if (g_str_has_prefix (volume, "local:"))
    {
      if (g_str_has_prefix (name, "iso/"))
        return g_build_filename ("/var/lib/vz/template", name, NULL);
      if (strchr (name, '/') != NULL)
        return g_build_filename ("/var/lib/vz/images", name, NULL);
      if (vmid != 0)
        {
          g_autofree char *dir = g_strdup_printf ("%u", vmid);
          return g_build_filename ("/var/lib/vz/images", dir, name, NULL);
        }
    }
  return NULL;
}

static char *
disk_file (PxCtx *ctx, const Line *line, const char *file)
{
  char *path;

  if (g_path_is_absolute (file))
    return g_strdup (file);
  path = volume_path (file, ctx->vmid);
  if (path != NULL)
    ql_import_warn (ctx->import, line->line, "%s: volume %s: the path %s is where Proxmox's default storage keeps "
                    "it; confirm with 'pvesm path %s'", line->key, file, path, file);
  else
    ql_import_warn (ctx->import, line->line, "%s: volume %s not imported: run 'pvesm path %s' and add a [disk %s] "
                    "section with file= that path", line->key, file, file, line->key);
  return path;
}

static gboolean
in_boot_order (PxCtx *ctx, const char *key)
{
  return (ctx->boot_order != NULL && g_strv_contains ((const char *const *) ctx->boot_order, key)) ||
         g_strcmp0 (ctx->bootdisk, key) == 0;
}

static const char *
disk_bus (const char *key)
{
  if (g_str_has_prefix (key, "virtio"))
    return "virtio";
  if (g_str_has_prefix (key, "scsi"))
    return "scsi";
  return "sata";
}

static void
disk_options (PxCtx *ctx, const Line *line, const char *group, GHashTable *options)
{
  static const char *const caches[] = { "none", "writeback", "writethrough", "directsync", "unsafe", NULL };
  static const char *const aios[] = { "threads", "native", "io_uring", NULL };
  g_autofree char *cache = take (options, "cache"), *aio = take (options, "aio"), *discard = take (options, "discard");
  g_autofree char *format = take (options, "format"), *ro = take (options, "ro"), *iothread = take (options, "iothread");

  if (cache != NULL && g_strv_contains (caches, cache))
    ql_import_set (ctx->import, group, "cache", cache);
  if (aio != NULL && g_strv_contains (aios, aio))
    ql_import_set (ctx->import, group, "aio", aio);
  if (g_strcmp0 (discard, "on") == 0)
    ql_import_set_bool (ctx->import, group, "discard", TRUE);
  if (format != NULL && (strcmp (format, "raw") == 0 || strcmp (format, "qcow2") == 0))
    ql_import_set (ctx->import, group, "format", format);
  if (g_strcmp0 (ro, "1") == 0)
    ql_import_set_bool (ctx->import, group, "readonly", TRUE);
  if (g_strcmp0 (iothread, "1") == 0 && strcmp (disk_bus (line->key), "virtio") == 0)
    ql_import_set (ctx->import, "cpu", "iothreads", "1");
}

static void
import_disk (PxCtx *ctx, const Line *line)
{
  g_autoptr(GHashTable) options = parse_options (line->value, "file");
  g_autofree char *file = take (options, "file"), *media = take (options, "media"), *path = NULL;
  gboolean cdrom = g_strcmp0 (media, "cdrom") == 0;
  g_autofree char *group = g_strdup_printf ("%s %s", cdrom ? "cdrom" : "disk", line->key);

  /* Proxmox's bookkeeping, not the machine's */
  g_free (take (options, "size"));
  g_free (take (options, "backup"));
  g_free (take (options, "replicate"));

  if (file == NULL || strcmp (file, "none") == 0 || strcmp (file, "cdrom") == 0)
    {
      ql_import_warn (ctx->import, line->line, "%s: %s not imported: qlaunch's [cdrom] needs a file", line->key,
                      file ? file : "an empty drive");
      return;
    }
  path = disk_file (ctx, line, file);
  if (path == NULL)
    return;
  ql_import_set (ctx->import, group, "file", path);
  if (!cdrom)
    {
      ql_import_set (ctx->import, group, "bus", disk_bus (line->key));
      if (g_str_has_prefix (line->key, "ide"))
        ql_import_note (ctx->import, line->line, "%s: IDE disks are on q35's AHCI controller (bus=sata)", line->key);
      disk_options (ctx, line, group, options);
    }
  if (in_boot_order (ctx, line->key))
    ql_import_set_bool (ctx->import, group, "boot", TRUE);
  warn_rest (ctx, line, options, "qlaunch has no key for it");
}

static gboolean
is_disk_key (const char *key)
{
  static const char *const prefixes[] = { "ide", "sata", "scsi", "virtio", NULL };

  for (guint i = 0; prefixes[i] != NULL; i++)
    if (g_str_has_prefix (key, prefixes[i]) && key[strlen (prefixes[i])] != '\0' &&
        strspn (key + strlen (prefixes[i]), "0123456789") == strlen (key + strlen (prefixes[i])))
      return TRUE;
  return FALSE;
}

/* ---- the rest ---- */

static void
import_boot (PxCtx *ctx, const Line *line)
{
  g_autoptr(GHashTable) options = parse_options (line->value, "legacy");
  g_autofree char *order = take (options, "order"), *legacy = take (options, "legacy");

  if (order != NULL)
    {
      g_strfreev (ctx->boot_order);
      ctx->boot_order = g_strsplit (order, ";", -1);
    }
  if (legacy != NULL)
    ql_import_note (ctx->import, line->line, "boot: %s: qlaunch boots the disks with boot=true first, then the "
                    "CD-ROMs (bootdisk: is the disk)", legacy);
}

static void
import_audio (PxCtx *ctx, const Line *line)
{
  g_autoptr(GHashTable) options = parse_options (line->value, "device");
  g_autofree char *device = take (options, "device"), *driver = take (options, "driver");
  g_autofree char *audiodev = g_strdup_printf ("%s,id=audio0", g_strcmp0 (driver, "spice") == 0 ? "spice" : "none");
  const char *controller = g_strcmp0 (device, "AC97") == 0 ? "AC97,audiodev=audio0" : device;
  const char *hda[] = { "-audiodev", audiodev, "-device", controller, "-device", "hda-duplex,audiodev=audio0", NULL };
  const char *ac97[] = { "-audiodev", audiodev, "-device", controller, NULL };

  if (device == NULL)
    return;
  if (strcmp (device, "ich9-intel-hda") == 0)
    {
      /* Proxmox's HDA is hda-duplex; its spice driver plays into the SPICE client, which qlaunch has not */
      ql_import_set (ctx->import, "audio", "device", "ich9-intel-hda");
      ql_import_set (ctx->import, "audio", "backend", "none");
      ql_import_set_bool (ctx->import, "audio", "input", TRUE);
      ql_import_warn (ctx->import, line->line, "%s: driver=%s: the sound card plays nowhere (backend=none); set "
                      "[audio] backend=pa, pipewire or alsa", line->key, driver ? driver : "none");
      return;
    }
  ql_import_keep_args (ctx->import, line->line, "audio0 ([audio] has ich9-intel-hda and usb-audio)",
                       g_strcmp0 (device, "AC97") == 0 ? ac97 : hda);
}

static void
import_usb (PxCtx *ctx, const Line *line)
{
  g_autoptr(GHashTable) options = parse_options (line->value, "host");
  g_autofree char *host = take (options, "host"), *message = NULL, *have = NULL;
  QlUsbHost parsed;

  g_free (take (options, "usb3"));
  if (host == NULL || !ql_usb_host_parse (host, &parsed, &message))
    {
      ql_import_warn (ctx->import, line->line, "%s: '%s' not imported: qlaunch keeps USB devices by VENDOR:PRODUCT "
                      "or BUS-PORT", line->key, line->value);
      return;
    }
  have = ql_import_get (ctx->import, "usb", "host");
  if (have != NULL)
    ql_import_setf (ctx->import, "usb", "host", "%s %s", have, host);
  else
    ql_import_set (ctx->import, "usb", "host", host);
  warn_rest (ctx, line, options, "qlaunch has no key for it");
}

/* Looking Glass: an ivshmem-plain device on /dev/shm/NAME, size in MiB. */
static void
import_ivshmem (PxCtx *ctx, const Line *line)
{
  g_autoptr(GHashTable) options = parse_options (line->value, "size");
  g_autofree char *size = take (options, "size"), *name = take (options, "name"), *object = NULL;
  g_autofree char *shm = name ? g_strdup (name) : g_strdup_printf ("pve-shm-%u", ctx->vmid);

  if (size == NULL || strchr (shm, '/') != NULL || strchr (shm, ',') != NULL)
    {
      ql_import_warn (ctx->import, line->line, "ivshmem: '%s' not imported", line->value);
      return;
    }
  object = g_strdup_printf ("memory-backend-file,id=ivshmem,share=on,mem-path=/dev/shm/%s,size=%sM", shm, size);
  {
    const char *args[] = { "-object", object, "-device", "ivshmem-plain,memdev=ivshmem", NULL };
    ql_import_keep_args (ctx->import, line->line, "ivshmem", args);
  }
}

static void
import_smbios (PxCtx *ctx, const Line *line)
{
  g_autoptr(GHashTable) options = parse_options (line->value, NULL);
  g_autofree char *uuid = take (options, "uuid");

  if (uuid != NULL)
    ql_import_set (ctx->import, "vm", "uuid", uuid);
  warn_rest (ctx, line, options, "qlaunch has no SMBIOS keys");
}

static void
import_flag (PxCtx *ctx, const Line *line)
{
  gboolean on = strcmp (line->value, "0") != 0;

  if (strcmp (line->key, "onboot") == 0)
    ql_import_set_bool (ctx->import, "vm", "autostart", on);
  else if (strcmp (line->key, "kvm") == 0 && !on)
    ql_import_set (ctx->import, "vm", "accel", "tcg");
  else if (strcmp (line->key, "localtime") == 0 && on)
    {
      const char *args[] = { "-rtc", "base=localtime", NULL };
      ql_import_keep_args (ctx->import, line->line, "localtime", args);
    }
  else if (strcmp (line->key, "numa") == 0 && on)
    ql_import_warn (ctx->import, line->line, "numa: 1 not imported: qlaunch gives the guest one NUMA node (and binds "
                    "its memory to the pinned vCPUs' node)");
  else if (strcmp (line->key, "tablet") == 0 && on)
    ql_import_note (ctx->import, line->line, "tablet: qlaunch adds a USB tablet with any display");
}

typedef void (*KeyImporter) (PxCtx *ctx, const Line *line);

static const struct {
  const char *key;
  KeyImporter import;
} keys[] = {
  { "name", import_name }, { "memory", import_memory }, { "balloon", import_balloon },
  { "cores", import_cpu_count }, { "sockets", import_cpu_count }, { "cpu", import_cpu },
  { "hugepages", import_hugepages }, { "affinity", import_affinity }, { "bios", import_bios },
  { "machine", import_machine }, { "efidisk0", import_efidisk }, { "vga", import_vga },
  { "audio0", import_audio }, { "ivshmem", import_ivshmem }, { "smbios1", import_smbios },
  { "onboot", import_flag }, { "kvm", import_flag }, { "localtime", import_flag }, { "numa", import_flag },
  { "tablet", import_flag },
};

/* Proxmox's own bookkeeping: nothing of the machine. */
static const char *const bookkeeping[] = {
  "ostype", "agent", "vmgenid", "meta", "digest", "startup", "protection", "lock",
  "template", "description", "scsihw", "tags", NULL,
};

static void
import_line (PxCtx *ctx, const Line *line)
{
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (strcmp (line->key, keys[i].key) == 0)
      return keys[i].import (ctx, line);
  if (g_str_has_prefix (line->key, "hostpci"))
    return import_hostpci (ctx, line);
  if (g_str_has_prefix (line->key, "net") && g_ascii_isdigit (line->key[3]))
    return import_net (ctx, line);
  if (g_str_has_prefix (line->key, "usb") && g_ascii_isdigit (line->key[3]))
    return import_usb (ctx, line);
  if (g_str_has_prefix (line->key, "unused"))
    return ql_import_note (ctx->import, line->line, "%s: %s is not attached to the VM; not imported", line->key,
                           line->value);
  if (g_strv_contains (bookkeeping, line->key))
    {
      if (strcmp (line->key, "agent") != 0 || !g_str_has_prefix (line->value, "1"))
        ql_import_note (ctx->import, line->line, "%s: Proxmox's own setting, nothing of the machine qlaunch builds",
                        line->key);
      if (strcmp (line->key, "scsihw") == 0 && !g_str_has_prefix (line->value, "virtio-scsi"))
        ql_import_note (ctx->import, line->line, "scsihw: %s: qlaunch's SCSI disks are on virtio-scsi", line->value);
      if (strcmp (line->key, "agent") == 0 && g_str_has_prefix (line->value, "1"))
        ql_import_warn (ctx->import, line->line, "agent: the guest agent's channel is not imported (no key yet)");
      return;
    }
  ql_import_warn (ctx->import, line->line, "%s: '%s' not imported: qlaunch has no key for it", line->key,
                  line->value);
}

/* "key: value"; FALSE for anything else. */
static gboolean
split_line (const char *text, guint number, Line **ret)
{
  const char *colon = strchr (text, ':');
  g_autofree char *key = NULL;

  if (colon == NULL || colon == text)
    return FALSE;
  key = g_strndup (text, colon - text);
  for (const char *c = key; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '-' && *c != '_')
      return FALSE;
  *ret = g_new0 (Line, 1);
  (*ret)->key = g_steal_pointer (&key);
  (*ret)->value = g_strstrip (g_strdup (colon + 1));
  (*ret)->line = number;
  return TRUE;
}

/* The lines of the VM itself (before the first [section]), the notes
 * ('#' lines) apart. */
static GPtrArray *
read_lines (PxCtx *ctx, const char *data, GString *notes, GError **error)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func ((GDestroyNotify) line_free);
  g_auto(GStrv) texts = g_strsplit (data, "\n", -1);

  for (guint i = 0; texts[i] != NULL; i++)
    {
      char *text = g_strstrip (texts[i]);
      Line *line = NULL;

      if (text[0] == '\0')
        continue;
      if (text[0] == '#')
        {
          g_string_append_printf (notes, "%s%s", notes->len ? "\n" : "", g_strstrip (text + 1));
          continue;
        }
      if (text[0] == '[')
        {
          ql_import_note (ctx->import, i + 1, "%s and what follows: Proxmox's snapshots and pending changes, "
                          "not imported", text);
          break;
        }
      if (!split_line (text, i + 1, &line))
        {
          g_set_error (error, QL_ERROR, QL_ERROR_PROFILE, "%s:%u: '%s' is not 'key: value'; not a Proxmox VM "
                       "configuration", ql_import_source (ctx->import), i + 1, text);
          return NULL;
        }
      g_ptr_array_add (lines, line);
    }
  return g_steal_pointer (&lines);
}

static void
import_all (PxCtx *ctx, GPtrArray *lines)
{
  const Line *args = NULL;

  /* what decides how other keys are read comes first */
  for (guint i = 0; i < lines->len; i++)
    {
      Line *line = lines->pdata[i];
      if (strcmp (line->key, "boot") == 0)
        import_boot (ctx, line);
      else if (strcmp (line->key, "bootdisk") == 0)
        {
          /* a key given twice: the last one, as Proxmox reads it */
          g_free (ctx->bootdisk);
          ctx->bootdisk = g_strdup (line->value);
        }
      else if (strcmp (line->key, "cdrom") == 0)
        {
          g_free (line->key);
          line->key = g_strdup ("ide2");
        }
    }
  for (guint i = 0; i < lines->len; i++)
    {
      const Line *line = lines->pdata[i];
      if (is_disk_key (line->key))
        import_disk (ctx, line);
      else if (strcmp (line->key, "args") == 0)
        args = line;
      else if (strcmp (line->key, "boot") == 0 || strcmp (line->key, "bootdisk") == 0)
        continue;   /* read above: boot= of the disks */
      else
        import_line (ctx, line);
    }
  /* args: last, so that -set device.hostpciN finds its [pci] section */
  if (args != NULL)
    {
      g_auto(GStrv) argv = NULL;
      g_autoptr(GError) error = NULL;
      if (!g_shell_parse_argv (args->value, NULL, &argv, &error))
        ql_import_warn (ctx->import, args->line, "args: cannot be split into arguments (%s); not imported",
                        error->message);
      else
        ql_import_qemu_args (ctx->import, ctx->devices, args->line, "args:", (const char *const *) argv);
    }
  ql_import_write_mdevs (ctx->import, ctx->devices, ctx->mdev_ids);
  ql_import_resolve_x_vga (ctx->import);
}

QlImport *
ql_import_proxmox (const char *data, const char *source, guint vmid, GError **error)
{
  g_autoptr(QlImport) import = ql_import_new (source);
  g_autoptr(GString) notes = g_string_new (NULL);
  g_autoptr(GPtrArray) lines = NULL;
  PxCtx ctx = { import, NULL, NULL, vmid };

  lines = read_lines (&ctx, data, notes, error);
  if (lines == NULL)
    return NULL;
  ctx.devices = ql_import_devices_new ();
  ctx.mdev_ids = g_ptr_array_new_with_free_func (g_free);
  /* Proxmox names a VM by its id; the name is optional */
  ql_import_setf (import, "vm", "name", "vm-%u", vmid);
  ql_import_set (import, "vm", "firmware", "bios");   /* Proxmox's default: SeaBIOS */
  import_all (&ctx, lines);
  if (notes->len > 0)
    ql_import_comment (import, "vm", NULL, "%s", notes->str);
  g_hash_table_unref (ctx.devices);
  g_ptr_array_unref (ctx.mdev_ids);
  g_strfreev (ctx.boot_order);
  g_free (ctx.bootdisk);
  return g_steal_pointer (&import);
}
