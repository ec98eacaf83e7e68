#include "ql-profile.h"
#include "ql-error.h"
#include "ql-ini-index.h"
#include "ql-value.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the schema ---- */

typedef enum {
  KEY_STRING,
  KEY_BOOL,
  KEY_UINT,
  KEY_SIZE,
  KEY_ENUM,
  KEY_FILE,
  KEY_FILE_LIST,
  KEY_UUID,
  KEY_MACHINE_TYPE,  /* a versioned q35 machine type, pc-q35-X.Y */
  KEY_MAC,
  KEY_ARGS,
  KEY_STRING_LIST,
  KEY_HEX16,         /* int, -1 when unset */
  KEY_TRISTATE,      /* int: -1 unset, 0, 1 */
  KEY_PCI_HOST,
  KEY_PCI_FUNCTIONS,
  KEY_PCI_SLOT,      /* int: slot << 3 | function */
  KEY_IFNAME,        /* a network interface name */
  KEY_CPU_PIN,       /* QlCpuPin: none, auto or a CPU list */
  KEY_UNIT_LIST,     /* GStrv of systemd unit names, written space-separated */
  KEY_MODULE_LIST,   /* GStrv of kernel module names, written space-separated, '-' as '_' */
  KEY_USB_HOST_LIST, /* GStrv of VENDOR:PRODUCT or BUS-PORT, written space-separated */
  KEY_EVDEV_LIST,    /* GStrv of /dev/input/ paths, written space-separated */
  KEY_UNSUPPORTED,   /* in the design vocabulary, not in this version */
  KEY_N_TYPES
} KeyType;

typedef struct {
  const char *key;
  KeyType type;
  gsize offset;                 /* into QlProfile, or into the item of a named section */
  const char *const *choices;
  guint64 min, max;
} KeySpec;

typedef struct {
  const char *name;
  gboolean named;
  const KeySpec *keys;
  gsize item_size;              /* named sections: size of the item struct */
  gsize id_offset;
  gsize array_offset;           /* named sections: the GPtrArray in QlProfile */
  GDestroyNotify item_free;
  void (*item_init) (gpointer item);
} SectionSpec;

#define P(field) offsetof (QlProfile, field)
#define END { NULL }

static const KeySpec vm_keys[] = {
  { "name", KEY_STRING, P (vm.name) },
  { "accel", KEY_ENUM, P (vm.accel), ql_accel_names },
  { "firmware", KEY_ENUM, P (vm.firmware), ql_firmware_names },
  { "secure-boot", KEY_BOOL, P (vm.secure_boot) },
  { "hide-hypervisor", KEY_BOOL, P (vm.hide_hypervisor) },
  { "hyperv", KEY_BOOL, P (vm.hyperv) },
  { "uuid", KEY_UUID, P (vm.uuid) },
  { "machine", KEY_MACHINE_TYPE, P (vm.machine) },
  { "kernel", KEY_FILE, P (vm.kernel) },
  { "initrd", KEY_FILE, P (vm.initrd) },
  { "append", KEY_STRING, P (vm.append) },
  { "pci-hotplug", KEY_ENUM, P (vm.pci_hotplug), ql_pci_hotplug_names },
  { "autostart", KEY_BOOL, P (vm.autostart) },
  { "inhibit-sleep", KEY_ENUM, P (vm.inhibit_sleep), ql_inhibit_sleep_names },
  { "run-as", KEY_STRING, P (vm.run_as) },
  END
};

static const KeySpec cpu_keys[] = {
  { "model", KEY_STRING, P (cpu.model) },
  { "sockets", KEY_UINT, P (cpu.sockets), NULL, 1, 16 },
  { "cores", KEY_UINT, P (cpu.cores), NULL, 1, 256 },
  { "threads", KEY_UINT, P (cpu.threads), NULL, 1, 8 },
  { "pin", KEY_CPU_PIN, P (cpu.pin) },
  { "emulator-pin", KEY_CPU_PIN, P (cpu.emulator_pin) },
  { "iothreads", KEY_UINT, P (cpu.iothreads), NULL, 0, 16 },
  { "iothread-pin", KEY_CPU_PIN, P (cpu.iothread_pin) },
  { "isolate", KEY_BOOL, P (cpu.isolate) },
  END
};

static const KeySpec memory_keys[] = {
  { "size", KEY_SIZE, P (memory.size), NULL, 16 << 20, G_GUINT64_CONSTANT (16) << 40 },
  { "hugepages", KEY_ENUM, P (memory.hugepages), ql_hugepages_names },
  { "prealloc", KEY_BOOL, P (memory.prealloc) },
  { "prealloc-threads", KEY_UINT, P (memory.prealloc_threads), NULL, 1, 256 },
  { "allocate", KEY_BOOL, P (memory.allocate) },
  END
};

#define D(field) offsetof (QlDisk, field)
static const KeySpec disk_keys[] = {
  { "file", KEY_FILE, D (file) },
  { "format", KEY_ENUM, D (format), ql_disk_format_names },
  { "bus", KEY_ENUM, D (bus), ql_disk_bus_names },
  { "cache", KEY_ENUM, D (cache), ql_disk_cache_names },
  { "aio", KEY_ENUM, D (aio), ql_disk_aio_names },
  { "discard", KEY_BOOL, D (discard) },
  { "readonly", KEY_BOOL, D (readonly) },
  { "boot", KEY_BOOL, D (boot) },
  END
};

#define C(field) offsetof (QlCdrom, field)
static const KeySpec cdrom_keys[] = {
  { "file", KEY_FILE, C (file) },
  { "boot", KEY_BOOL, C (boot) },
  END
};

#define N(field) offsetof (QlNet, field)
static const KeySpec net_keys[] = {
  { "mode", KEY_ENUM, N (mode), ql_net_mode_names },
  { "model", KEY_ENUM, N (model), ql_net_model_names },
  { "mac", KEY_MAC, N (mac) },
  { "forward", KEY_STRING_LIST, N (forward) },
  { "ifname", KEY_IFNAME, N (ifname) },
  { "bridge", KEY_IFNAME, N (bridge) },
  { "create-bridge", KEY_BOOL, N (create_bridge) },
  { "vhost", KEY_BOOL, N (vhost) },
  { "queues", KEY_UINT, N (queues), NULL, 1, 16 },
  { "mtu", KEY_UINT, N (mtu), NULL, 68, 65535 },
  END
};

#define PC(field) offsetof (QlPci, field)
static const KeySpec pci_keys[] = {
  { "host", KEY_PCI_HOST, 0 },
  { "functions", KEY_PCI_FUNCTIONS, PC (functions) },
  { "root-port", KEY_PCI_SLOT, PC (root_port) },
  { "vendor", KEY_HEX16, PC (vendor) },
  { "device", KEY_HEX16, PC (device) },
  { "sub-vendor", KEY_HEX16, PC (sub_vendor) },
  { "sub-device", KEY_HEX16, PC (sub_device) },
  { "rom", KEY_FILE, PC (rom) },
  { "rom-bar", KEY_TRISTATE, PC (rom_bar) },
  { "x-vga", KEY_BOOL, PC (x_vga) },
  { "rom-acpi", KEY_BOOL, PC (rom_acpi) },
  { "hotplug", KEY_BOOL, PC (hotplug) },
  { "release", KEY_ENUM, PC (release), ql_pci_release_names },
  { "power", KEY_ENUM, PC (power), ql_pci_power_names },
  END
};

#define MD(field) offsetof (QlMdev, field)
static const KeySpec mdev_keys[] = {
  { "parent", KEY_STRING, MD (parent) },
  { "type", KEY_STRING, MD (type) },
  { "uuid", KEY_UUID, MD (uuid) },
  { "display", KEY_BOOL, MD (display) },
  { "ramfb", KEY_BOOL, MD (ramfb) },
  { "igd-opregion", KEY_BOOL, MD (igd_opregion) },
  /* QEMU's EDID for the vGPU's display; what GVT-g's and mbochs' EDIDs take */
  { "xres", KEY_UINT, MD (xres), NULL, 320, 16384 },
  { "yres", KEY_UINT, MD (yres), NULL, 200, 16384 },
  { "rom", KEY_FILE, MD (rom) },
  END
};

static const KeySpec display_keys[] = {
  { "type", KEY_ENUM, P (display.type), ql_display_type_names },
  { "listen", KEY_STRING, P (display.listen) },
  { "password-file", KEY_FILE, P (display.password_file) },
  { "gl", KEY_BOOL, P (display.gl) },
  { "rendernode", KEY_STRING, P (display.rendernode) },
  { "vga", KEY_ENUM, P (display.vga), ql_vga_names },
  END
};

static const KeySpec audio_keys[] = {
  { "backend", KEY_ENUM, P (audio.backend), ql_audio_backend_names },
  { "device", KEY_ENUM, P (audio.device), ql_audio_device_names },
  { "output", KEY_BOOL, P (audio.output) },
  { "input", KEY_BOOL, P (audio.input) },
  END
};

static const KeySpec usb_keys[] = {
  { "host", KEY_USB_HOST_LIST, P (usb.host) },
  { "tablet", KEY_TRISTATE, P (usb.tablet) },
  END
};

static const KeySpec input_keys[] = {
  { "evdev", KEY_EVDEV_LIST, P (input.evdev) },
  { "grab-toggle", KEY_ENUM, P (input.grab_toggle), ql_grab_toggle_names },
  { "virtio", KEY_BOOL, P (input.virtio) },
  END
};

static const KeySpec looking_glass_keys[] = {
  { "size", KEY_STRING, P (looking_glass.size_text) },
  { "resolution", KEY_STRING, P (looking_glass.resolution_text) },
  END
};

static const KeySpec acpi_keys[] = {
  { "table", KEY_FILE_LIST, P (acpi_tables) },
  { "fake-battery", KEY_BOOL, P (fake_battery) },
  END
};

static const KeySpec shutdown_keys[] = {
  { "timeout", KEY_UINT, P (shutdown.timeout), NULL, 1, 3600 },
  { "powerdown-retries", KEY_UINT, P (shutdown.powerdown_retries), NULL, 1, 10 },
  END
};

static const KeySpec systemd_keys[] = {
  { "after", KEY_UNIT_LIST, P (systemd.after) },
  { "wants", KEY_UNIT_LIST, P (systemd.wants) },
  { "requires", KEY_UNIT_LIST, P (systemd.requires) },
  END
};

static const KeySpec host_keys[] = {
  { "release-units", KEY_UNIT_LIST, P (host.release_units) },
  { "unbind-consoles", KEY_BOOL, P (host.unbind_consoles) },
  { "unload-modules", KEY_MODULE_LIST, P (host.unload_modules) },
  END
};

static const KeySpec qemu_keys[] = {
  { "binary", KEY_STRING, P (qemu.binary) },
  { "args", KEY_ARGS, P (qemu.args) },
  END
};

static const KeySpec fw_cfg_keys[] = { END };   /* free-form: NAME = FILE */

static void
disk_free (QlDisk *disk)
{
  g_free (disk->id);
  g_free (disk->file);
  g_free (disk);
}

static void
cdrom_free (QlCdrom *cdrom)
{
  g_free (cdrom->id);
  g_free (cdrom->file);
  g_free (cdrom);
}

static void
net_free (QlNet *net)
{
  g_free (net->id);
  g_free (net->mac);
  g_strfreev (net->forward);
  g_free (net->ifname);
  g_free (net->bridge);
  g_free (net->where);
  g_free (net);
}

static void
fw_cfg_free (QlFwCfg *entry)
{
  g_free (entry->name);
  g_free (entry->file);
  g_free (entry);
}

static void
pci_free (QlPci *pci)
{
  g_free (pci->id);
  g_free (pci->host);
  g_free (pci->rom);
  g_free (pci->rom_where);
  g_free (pci->where);
  g_free (pci);
}

static void
mdev_free (QlMdev *mdev)
{
  g_free (mdev->id);
  g_free (mdev->parent);
  g_free (mdev->type);
  g_free (mdev->uuid);
  g_free (mdev->rom);
  g_free (mdev->where);
  g_free (mdev);
}

static void
pci_init (gpointer item)
{
  QlPci *pci = item;

  pci->root_port = -1;
  pci->vendor = pci->device = pci->sub_vendor = pci->sub_device = -1;
  pci->rom_bar = -1;
  pci->hotplug = TRUE;
}

static void
disk_init (gpointer item)
{
  QlDisk *disk = item;

  disk->format = QL_DISK_FORMAT_AUTO;
  disk->bus = QL_DISK_BUS_VIRTIO;
  /* writeback works on every filesystem (tmpfs has no O_DIRECT); cache=none is a choice */
  disk->cache = QL_DISK_CACHE_WRITEBACK;
  disk->aio = QL_DISK_AIO_THREADS;
}

static void
net_init (gpointer item)
{
  QlNet *net = item;

  net->mode = QL_NET_MODE_USER;
  net->model = QL_NET_MODEL_VIRTIO;
  net->queues = 1;
}

static const SectionSpec sections[] = {
  { "vm", FALSE, vm_keys },
  { "cpu", FALSE, cpu_keys },
  { "memory", FALSE, memory_keys },
  { "disk", TRUE, disk_keys, sizeof (QlDisk), D (id), P (disks), (GDestroyNotify) disk_free, disk_init },
  { "cdrom", TRUE, cdrom_keys, sizeof (QlCdrom), C (id), P (cdroms), (GDestroyNotify) cdrom_free, NULL },
  { "net", TRUE, net_keys, sizeof (QlNet), N (id), P (nets), (GDestroyNotify) net_free, net_init },
  { "pci", TRUE, pci_keys, sizeof (QlPci), PC (id), P (pcis), (GDestroyNotify) pci_free, pci_init },
  { "mdev", TRUE, mdev_keys, sizeof (QlMdev), MD (id), P (mdevs), (GDestroyNotify) mdev_free, NULL },
  { "display", FALSE, display_keys },
  { "audio", FALSE, audio_keys },
  { "usb", FALSE, usb_keys },
  { "input", FALSE, input_keys },
  { "looking-glass", FALSE, looking_glass_keys },
  { "acpi", FALSE, acpi_keys },
  { "fw_cfg", FALSE, fw_cfg_keys },
  { "shutdown", FALSE, shutdown_keys },
  { "systemd", FALSE, systemd_keys },
  { "host", FALSE, host_keys },
  { "qemu", FALSE, qemu_keys },
};

#define FIELD(base, offset, type) ((type *) ((char *) (base) + (offset)))

static void
cpu_pin_clear (QlCpuPin *pin)
{
  g_clear_pointer (&pin->cpus, g_array_unref);
  g_clear_pointer (&pin->where, g_free);
  pin->mode = QL_PIN_NONE;
}

char *
ql_profile_rom_fw_cfg_name (const char *pci_id)
{
  return g_strdup_printf ("opt/org.qlaunch/%s-rom", pci_id);
}

gboolean
ql_profile_pins_threads (const QlProfile *profile)
{
  return profile->cpu.pin.mode != QL_PIN_NONE || profile->cpu.emulator_pin.mode != QL_PIN_NONE ||
         profile->cpu.iothread_pin.mode != QL_PIN_NONE;
}

gboolean
ql_profile_has_handover (const QlProfile *profile)
{
  return (profile->host.release_units != NULL && profile->host.release_units[0] != NULL) ||
         profile->host.unbind_consoles ||
         (profile->host.unload_modules != NULL && profile->host.unload_modules[0] != NULL);
}

guint
ql_profile_vcpus (const QlProfile *profile)
{
  return profile->cpu.sockets * profile->cpu.cores * profile->cpu.threads;
}

void
ql_profile_free (QlProfile *profile)
{
  if (profile == NULL)
    return;
  g_free (profile->path);
  g_free (profile->vm.name);
  g_free (profile->vm.uuid);
  g_free (profile->vm.machine);
  g_free (profile->vm.kernel);
  g_free (profile->vm.initrd);
  g_free (profile->vm.append);
  g_free (profile->vm.run_as);
  g_free (profile->vm.run_as_where);
  g_free (profile->cpu.model);
  g_free (profile->memory.where);
  cpu_pin_clear (&profile->cpu.pin);
  cpu_pin_clear (&profile->cpu.emulator_pin);
  cpu_pin_clear (&profile->cpu.iothread_pin);
  g_clear_pointer (&profile->disks, g_ptr_array_unref);
  g_clear_pointer (&profile->cdroms, g_ptr_array_unref);
  g_clear_pointer (&profile->nets, g_ptr_array_unref);
  g_clear_pointer (&profile->pcis, g_ptr_array_unref);
  g_clear_pointer (&profile->mdevs, g_ptr_array_unref);
  g_free (profile->display.listen);
  g_free (profile->display.password_file);
  g_free (profile->display.rendernode);
  g_strfreev (profile->usb.host);
  g_strfreev (profile->input.evdev);
  g_free (profile->looking_glass.size_text);
  g_free (profile->looking_glass.resolution_text);
  g_strfreev (profile->acpi_tables);
  g_clear_pointer (&profile->fw_cfg, g_ptr_array_unref);
  g_free (profile->qemu.binary);
  g_strfreev (profile->qemu.args);
  g_strfreev (profile->systemd.after);
  g_strfreev (profile->systemd.wants);
  g_strfreev (profile->systemd.requires);
  g_strfreev (profile->host.release_units);
  g_strfreev (profile->host.unload_modules);
  g_free (profile);
}

static QlProfile *
profile_new_with_defaults (void)
{
  QlProfile *profile = g_new0 (QlProfile, 1);

  profile->vm.accel = QL_ACCEL_AUTO;
  profile->vm.firmware = QL_FIRMWARE_UEFI;
  profile->vm.hyperv = TRUE;
  profile->cpu.sockets = 1;
  profile->cpu.cores = 2;
  profile->cpu.threads = 1;
  profile->memory.size = G_GUINT64_CONSTANT (2) << 30;
  profile->memory.hugepages = QL_HUGEPAGES_NONE;
  profile->disks = g_ptr_array_new_with_free_func ((GDestroyNotify) disk_free);
  profile->cdroms = g_ptr_array_new_with_free_func ((GDestroyNotify) cdrom_free);
  profile->nets = g_ptr_array_new_with_free_func ((GDestroyNotify) net_free);
  profile->fw_cfg = g_ptr_array_new_with_free_func ((GDestroyNotify) fw_cfg_free);
  profile->pcis = g_ptr_array_new_with_free_func ((GDestroyNotify) pci_free);
  profile->mdevs = g_ptr_array_new_with_free_func ((GDestroyNotify) mdev_free);
  profile->display.type = QL_DISPLAY_NONE;
  profile->display.vga = QL_VGA_AUTO;
  profile->audio.backend = QL_AUDIO_BACKEND_PA;
  profile->audio.device = QL_AUDIO_DEVICE_HDA;
  profile->audio.output = TRUE;
  profile->usb.tablet = -1;
  profile->shutdown.timeout = 120;
  profile->shutdown.powerdown_retries = 3;
  return profile;
}

/* ---- diagnostics ---- */

typedef struct {
  guint line;
  guint seq;
  char *text;
} Diag;

typedef struct {
  const char *path;
  char *dir;
  QlIniIndex *index;
  GKeyFile *keyfile;
  GArray *diags;     /* Diag */
  QlProfile *profile;
  gboolean files_unchecked;  /* files named need not exist (yet) */
  gboolean opens_nothing;    /* no disk is opened to probe its format (host-setup, as root) */
} Loader;

static void
diag_clear (gpointer p)
{
  g_free (((Diag *) p)->text);
}

/* group may be NULL (whole file), key may be NULL (whole section). */
static void
report (Loader *loader, const char *group, const char *key, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

/* "FILE:LINE: [group] key", for errors found later on the host */
static char *
key_where (Loader *loader, const char *group, const char *key)
{
  return g_strdup_printf ("%s:%u: [%s] %s", loader->path, ql_ini_index_key_line (loader->index, group, key), group,
                          key);
}

static void
report (Loader *loader, const char *group, const char *key, const char *fmt, ...)
{
  g_autofree char *message = NULL;
  Diag diag = { 0 };
  va_list ap;

  va_start (ap, fmt);
  message = g_strdup_vprintf (fmt, ap);
  va_end (ap);

  diag.seq = loader->diags->len;
  if (group == NULL)
    diag.text = g_strdup_printf ("%s: %s", loader->path, message);
  else
    {
      diag.line = key ? ql_ini_index_key_line (loader->index, group, key)
                      : ql_ini_index_group_line (loader->index, group);
      diag.text = g_strdup_printf ("%s:%u: [%s]%s%s: %s", loader->path, diag.line, group,
                                   key ? " " : "", key ? key : "", message);
    }
  g_array_append_val (loader->diags, diag);
}

static int
diag_compare (gconstpointer a, gconstpointer b)
{
  const Diag *da = a, *db = b;

  if (da->line != db->line)
    return da->line < db->line ? -1 : 1;
  return da->seq < db->seq ? -1 : da->seq > db->seq;
}

/* " (did you mean 'x'?)" or "" */
static char *
suggest (const char *given, const char *const *candidates, gsize stride, gsize count)
{
  const char *best = NULL;
  guint best_distance = G_MAXUINT;
  guint limit = MAX (1, MIN (3, strlen (given) / 3 + 1));

  for (const char *const *c = candidates; count-- > 0 && *c != NULL;
       c = (const char *const *) ((const char *) c + stride))
    {
      guint d = ql_value_edit_distance (given, *c);
      if (d < best_distance)
        {
          best_distance = d;
          best = *c;
        }
    }
  if (best != NULL && best_distance <= limit)
    return g_strdup_printf ("; did you mean '%s'?", best);
  return g_strdup ("");
}

/* ---- value parsers ---- */

static gboolean
parse_bool (const char *text, gboolean *ret)
{
  static const char *const yes[] = { "true", "yes", "on", "1", NULL };
  static const char *const no[] = { "false", "no", "off", "0", NULL };

  if (ql_enum_from_string (yes, text) >= 0)
    *ret = TRUE;
  else if (ql_enum_from_string (no, text) >= 0)
    *ret = FALSE;
  else
    return FALSE;
  return TRUE;
}

static gboolean
parse_hex16 (const char *text, int *ret)
{
  const char *digits = g_str_has_prefix (text, "0x") || g_str_has_prefix (text, "0X") ? text + 2 : text;
  guint v = 0;
  gsize len = strlen (digits);

  if (len == 0 || len > 4)
    return FALSE;
  for (const char *p = digits; *p; p++)
    {
      if (!g_ascii_isxdigit (*p))
        return FALSE;
      v = v << 4 | g_ascii_xdigit_value (*p);
    }
  *ret = (int) v;
  return TRUE;
}

static gboolean
parse_pci_host (const char *text, QlPci *pci)
{
  g_auto(GStrv) id_index = NULL;
  int vendor, device;
  gboolean has_function;

  g_free (pci->host);
  pci->host = g_strdup (text);
  if (ql_pci_address_parse (text, TRUE, &pci->address, &has_function))
    {
      pci->by_address = TRUE;
      return TRUE;
    }
  /* VENDOR:DEVICE[#N]; an empty value splits into no parts at all */
  id_index = g_strsplit (text, "#", 2);
  if (id_index[0] == NULL)
    return FALSE;
  {
    g_auto(GStrv) ids = g_strsplit (id_index[0], ":", -1);
    if (g_strv_length (ids) != 2 || strlen (ids[0]) != 4 || strlen (ids[1]) != 4 ||
        !parse_hex16 (ids[0], &vendor) || !parse_hex16 (ids[1], &device))
      return FALSE;
  }
  pci->by_address = FALSE;
  pci->match_vendor = vendor;
  pci->match_device = device;
  pci->match_index = 1;
  if (id_index[1] != NULL)
    {
      guint64 n;
      if (!g_ascii_string_to_unsigned (id_index[1], 10, 1, 64, &n, NULL))
        return FALSE;
      pci->match_index = (guint) n;
    }
  return TRUE;
}

static gboolean
parse_pci_functions (const char *text, guint8 *ret)
{
  g_auto(GStrv) parts = NULL;
  guint8 mask = 0;

  if (g_ascii_strcasecmp (text, "all") == 0)
    {
      *ret = 0;
      return TRUE;
    }
  parts = g_strsplit_set (text, ", ", -1);
  for (guint i = 0; parts[i]; i++)
    {
      if (parts[i][0] == '\0')
        continue;
      if (strlen (parts[i]) != 1 || parts[i][0] < '0' || parts[i][0] > '7')
        return FALSE;
      mask |= 1u << (parts[i][0] - '0');
    }
  if (mask == 0)
    return FALSE;
  *ret = mask;
  return TRUE;
}

static char *
expand_path (Loader *loader, const char *value)
{
  if (g_str_has_prefix (value, "~/"))
    {
      g_autofree char *home = g_build_filename (g_get_home_dir (), value + 2, NULL);
      return g_canonicalize_filename (home, NULL);
    }
  return g_canonicalize_filename (value, loader->dir);
}

/* Returns the absolute path, or NULL after reporting why the file is unusable. */
static char *
check_file (Loader *loader, const char *group, const char *key, const char *value)
{
  g_autofree char *path = NULL;

  if (value[0] == '\0')
    {
      report (loader, group, key, "needs a file name");
      return NULL;
    }
  if (strchr (value, '\n') != NULL)
    {
      report (loader, group, key, "file name contains a newline");
      return NULL;
    }
  path = expand_path (loader, value);
  if (loader->files_unchecked)
    return g_steal_pointer (&path);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      report (loader, group, key, "file '%s' does not exist", path);
      return NULL;
    }
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      report (loader, group, key, "'%s' is a directory, not a file", path);
      return NULL;
    }
  if (access (path, R_OK) != 0)
    {
      report (loader, group, key, "file '%s' cannot be read: %s", path, g_strerror (errno));
      return NULL;
    }
  return g_steal_pointer (&path);
}

static gboolean
mac_is_valid (const char *mac)
{
  guint8 first;

  if (strlen (mac) != 17)
    return FALSE;
  for (int i = 0; i < 17; i++)
    if ((i % 3 == 2) ? mac[i] != ':' : !g_ascii_isxdigit (mac[i]))
      return FALSE;
  first = g_ascii_xdigit_value (mac[0]) << 4 | g_ascii_xdigit_value (mac[1]);
  return (first & 1) == 0;   /* not multicast */
}

/* ---- one parser per key type ---- */

static void
replace_string (char **field, char *value)
{
  g_free (*field);
  *field = value;
}

static void
parse_unsupported_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  report (loader, group, spec->key, "is not supported by this version of qlaunch yet");
}

static void
parse_string_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  if (strchr (value, '\n') != NULL)
    report (loader, group, spec->key, "must be a single line");
  else
    replace_string (FIELD (base, spec->offset, char *), g_strdup (value));
}

static void
parse_bool_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  if (!parse_bool (value, FIELD (base, spec->offset, gboolean)))
    report (loader, group, spec->key, "'%s' is not a boolean; use true or false", value);
}

static void
parse_uint_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  g_autofree char *message = NULL;
  guint64 v;

  if (!ql_value_parse_uint (value, spec->min, spec->max, &v, &message))
    report (loader, group, spec->key, "%s", message);
  else
    *FIELD (base, spec->offset, guint) = (guint) v;
}

static void
parse_size_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  g_autofree char *message = NULL;
  guint64 v;

  if (!ql_value_parse_size (value, &v, &message))
    report (loader, group, spec->key, "%s", message);
  else if (v < spec->min || v > spec->max)
    {
      g_autofree char *min = ql_value_format_size (spec->min);
      g_autofree char *max = ql_value_format_size (spec->max);
      report (loader, group, spec->key, "%s is out of range (%s..%s)", value, min, max);
    }
  else
    *FIELD (base, spec->offset, guint64) = v;
}

static void
parse_enum_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  int v = ql_enum_from_string (spec->choices, value);

  if (v < 0)
    {
      g_autofree char *choices = ql_enum_describe (spec->choices);
      g_autofree char *hint = suggest (value, spec->choices, sizeof (char *), G_MAXSIZE);
      report (loader, group, spec->key, "'%s' is not one of %s%s", value, choices, hint);
    }
  else
    *FIELD (base, spec->offset, int) = v;
}

static void
parse_file_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  char *path = check_file (loader, group, spec->key, value);

  if (path != NULL)
    replace_string (FIELD (base, spec->offset, char *), path);
}

static void
parse_uuid_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  if (!g_uuid_string_is_valid (value))
    report (loader, group, spec->key, "'%s' is not a UUID (like 6f1e9c2a-0b5d-4a57-9d3e-2c4b8a7f1e00)", value);
  else
    replace_string (FIELD (base, spec->offset, char *), g_ascii_strdown (value, -1));
}

static void
parse_machine_type_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  if (!ql_value_machine_type_is_valid (value))
    report (loader, group, spec->key, "'%s' is not a versioned q35 machine type (like pc-q35-7.2; "
            "'qlaunch check' lists this QEMU's)", value);
  else
    replace_string (FIELD (base, spec->offset, char *), g_strdup (value));
}

static void
parse_mac_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  if (!mac_is_valid (value))
    report (loader, group, spec->key, "'%s' is not a unicast MAC address (like 02:00:00:12:34:56)", value);
  else
    replace_string (FIELD (base, spec->offset, char *), g_ascii_strdown (value, -1));
}

/* QEMU's options that would undo its confinement: -sandbox replaced, or
 * QEMU changing its own user or root (qlaunch decides both).  QEMU takes
 * each with one dash or two. */
static const char *const confinement_options[] = { "sandbox", "runas", "run-with", "chroot" };

static const char *
undoes_confinement (char *const *argv)
{
  for (guint i = 0; argv[i] != NULL; i++)
    {
      const char *name = argv[i][0] == '-' ? argv[i] + (argv[i][1] == '-' ? 2 : 1) : NULL;

      for (guint j = 0; name != NULL && j < G_N_ELEMENTS (confinement_options); j++)
        if (strcmp (name, confinement_options[j]) == 0)
          return argv[i];
    }
  return NULL;
}

static void
parse_args_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  const char *refused;
  gint argc;

  if (!g_shell_parse_argv (value, &argc, &argv, &error))
    report (loader, group, spec->key, "cannot be split into arguments: %s", error->message);
  else if ((refused = undoes_confinement (argv)) != NULL)
    report (loader, group, spec->key, "'%s' is not allowed: qlaunch runs QEMU with -sandbox on,obsolete=deny,"
            "elevateprivileges=deny,spawn=deny,resourcecontrol=deny and decides its user; remove it", refused);
  else
    {
      g_strfreev (*FIELD (base, spec->offset, GStrv));
      *FIELD (base, spec->offset, GStrv) = g_steal_pointer (&argv);
    }
}

static void
parse_hex16_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  if (!parse_hex16 (value, FIELD (base, spec->offset, int)))
    report (loader, group, spec->key, "'%s' is not a 16-bit hex id (like 10de or 0x10de)", value);
}

static void
parse_tristate_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  gboolean b;

  if (!parse_bool (value, &b))
    report (loader, group, spec->key, "'%s' is not a boolean; use true or false", value);
  else
    *FIELD (base, spec->offset, int) = b;
}

static void
parse_pci_host_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  if (!parse_pci_host (value, base))
    report (loader, group, spec->key,
            "'%s' is not a PCI address (like 01:00.0 or 0000:01:00.0) or VENDOR:DEVICE[#N] (like 10de:1bb6)",
            value);
}

static void
parse_pci_functions_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  if (!parse_pci_functions (value, FIELD (base, spec->offset, guint8)))
    report (loader, group, spec->key, "'%s' is not 'all' or a list of function numbers 0-7 (like 0,1)", value);
}

static void
parse_pci_slot_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  g_autofree char *full = g_strconcat ("00:", value, NULL);
  QlPciAddress addr;

  if (!ql_pci_address_parse (full, FALSE, &addr, NULL) || addr.slot < 0x1c || addr.slot > 0x1e)
    report (loader, group, spec->key, "'%s' is not a free slot on q35's root bus; use 1c.0-1e.7", value);
  else
    *FIELD (base, spec->offset, int) = (int) (addr.slot << 3 | addr.function);
}

static void
parse_ifname_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  if (!ql_profile_ifname_is_valid (value))
    report (loader, group, spec->key, "'%s' is not an interface name (1-15 characters, no '/', ':', '%%' or spaces)", value);
  else
    replace_string (FIELD (base, spec->offset, char *), g_strdup (value));
}

static void
parse_cpu_pin_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  QlCpuPin *pin = FIELD (base, spec->offset, QlCpuPin);
  g_autoptr(GArray) cpus = NULL;
  g_autofree char *message = NULL;

  if (g_ascii_strcasecmp (value, "none") != 0 && g_ascii_strcasecmp (value, "auto") != 0 &&
      !ql_value_parse_cpu_list (value, &cpus, &message))
    {
      report (loader, group, spec->key, "%s, or auto, or none", message);
      return;
    }
  cpu_pin_clear (pin);
  pin->mode = cpus ? QL_PIN_LIST : g_ascii_strcasecmp (value, "auto") == 0 ? QL_PIN_AUTO : QL_PIN_NONE;
  pin->cpus = g_steal_pointer (&cpus);
  pin->where = key_where (loader, group, spec->key);
}

/* A space-separated list of names, each checked by is_valid and stored as
 * normalize returns it; the field is replaced only when every name is valid. */
static void
parse_name_list (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value,
                 gboolean (*is_valid) (const char *name, char **ret_message), char *(*normalize) (const char *name))
{
  g_auto(GStrv) words = g_strsplit_set (value, " \t", -1);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gboolean valid = TRUE;

  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autofree char *message = NULL;

      if (words[i][0] == '\0')
        continue;
      if (!is_valid (words[i], &message))
        {
          report (loader, group, spec->key, "%s", message);
          valid = FALSE;
          continue;
        }
      g_ptr_array_add (names, normalize (words[i]));
    }
  if (!valid)
    return;
  g_ptr_array_add (names, NULL);
  g_strfreev (*FIELD (base, spec->offset, GStrv));
  *FIELD (base, spec->offset, GStrv) = (GStrv) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static char *
module_spelling (const char *name)
{
  /* the kernel's own spelling, as /sys/module has it */
  return g_strdelimit (g_strdup (name), "-", '_');
}

static void
parse_unit_list_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  parse_name_list (loader, group, spec, base, value, ql_value_unit_name_is_valid, g_strdup);
}

static char *
lowercase (const char *name)
{
  return g_ascii_strdown (name, -1);
}

static gboolean
usb_host_is_valid (const char *text, char **ret_message)
{
  QlUsbHost host;
  return ql_usb_host_parse (text, &host, ret_message);
}

static void
parse_usb_host_list_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  parse_name_list (loader, group, spec, base, value, usb_host_is_valid, lowercase);
}

static void
parse_evdev_list_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  parse_name_list (loader, group, spec, base, value, ql_evdev_path_is_valid, g_strdup);
}

static void
parse_module_list_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, const char *value)
{
  parse_name_list (loader, group, spec, base, value, ql_value_module_name_is_valid, module_spelling);
}

/* List items: the new string, or NULL after reporting why the item is unusable. */
static char *
parse_file_item (Loader *loader, const char *group, const KeySpec *spec, const char *item)
{
  return check_file (loader, group, spec->key, item);
}

static char *
parse_string_item (Loader *loader, const char *group, const KeySpec *spec, const char *item)
{
  return g_strdup (item);
}

typedef void (*ValueParser) (Loader *loader, const char *group, const KeySpec *spec, gpointer base,
                             const char *value);
typedef char *(*ItemParser) (Loader *loader, const char *group, const KeySpec *spec, const char *item);

/* A key holds one value, or a list of items (never both). */
typedef struct {
  ValueParser parse_value;
  ItemParser parse_item;
} KeyParser;

static const KeyParser key_parsers[KEY_N_TYPES] = {
  [KEY_STRING] = { parse_string_key },
  [KEY_BOOL] = { parse_bool_key },
  [KEY_UINT] = { parse_uint_key },
  [KEY_SIZE] = { parse_size_key },
  [KEY_ENUM] = { parse_enum_key },
  [KEY_FILE] = { parse_file_key },
  [KEY_FILE_LIST] = { NULL, parse_file_item },
  [KEY_UUID] = { parse_uuid_key },
  [KEY_MACHINE_TYPE] = { parse_machine_type_key },
  [KEY_MAC] = { parse_mac_key },
  [KEY_ARGS] = { parse_args_key },
  [KEY_STRING_LIST] = { NULL, parse_string_item },
  [KEY_HEX16] = { parse_hex16_key },
  [KEY_TRISTATE] = { parse_tristate_key },
  [KEY_PCI_HOST] = { parse_pci_host_key },
  [KEY_PCI_FUNCTIONS] = { parse_pci_functions_key },
  [KEY_PCI_SLOT] = { parse_pci_slot_key },
  [KEY_IFNAME] = { parse_ifname_key },
  [KEY_CPU_PIN] = { parse_cpu_pin_key },
  [KEY_UNIT_LIST] = { parse_unit_list_key },
  [KEY_MODULE_LIST] = { parse_module_list_key },
  [KEY_USB_HOST_LIST] = { parse_usb_host_list_key },
  [KEY_EVDEV_LIST] = { parse_evdev_list_key },
  [KEY_UNSUPPORTED] = { parse_unsupported_key },
};

/* The field is replaced only when every item parses. */
static void
parse_list_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base, ItemParser parse_item)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) list = g_key_file_get_string_list (loader->keyfile, group, spec->key, NULL, &error);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func (g_free);

  if (list == NULL)
    {
      report (loader, group, spec->key, "%s", error->message);
      return;
    }
  for (guint i = 0; list[i] != NULL; i++)
    {
      char *item;

      g_strstrip (list[i]);
      if (list[i][0] == '\0')
        continue;
      item = parse_item (loader, group, spec, list[i]);
      if (item == NULL)
        return;
      g_ptr_array_add (out, item);
    }
  g_ptr_array_add (out, NULL);
  g_strfreev (*FIELD (base, spec->offset, GStrv));
  *FIELD (base, spec->offset, GStrv) = (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

static void
parse_key (Loader *loader, const char *group, const KeySpec *spec, gpointer base)
{
  const KeyParser *parser = &key_parsers[spec->type];
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;

  if (parser->parse_item != NULL)
    {
      parse_list_key (loader, group, spec, base, parser->parse_item);
      return;
    }
  value = g_key_file_get_string (loader->keyfile, group, spec->key, &error);
  if (value == NULL)
    {
      report (loader, group, spec->key, "%s", error->message);
      return;
    }
  parser->parse_value (loader, group, spec, base, g_strstrip (value));
}

static gboolean
section_id_is_valid (const char *id)
{
  gsize len = strlen (id);

  if (len == 0 || len > 20 || !g_ascii_isalpha (id[0]))
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

static void
parse_fw_cfg (Loader *loader, const char *group)
{
  g_auto(GStrv) keys = g_key_file_get_keys (loader->keyfile, group, NULL, NULL);

  for (guint i = 0; keys && keys[i]; i++)
    {
      g_autofree char *value = g_key_file_get_string (loader->keyfile, group, keys[i], NULL);
      g_autofree char *path = NULL;
      QlFwCfg *entry;

      if (!g_str_has_prefix (keys[i], "opt/") || strlen (keys[i]) < 5)
        {
          report (loader, group, keys[i], "fw_cfg names must start with 'opt/' (like opt/com.example/blob)");
          continue;
        }
      if (strlen (keys[i]) > 55)
        {
          report (loader, group, keys[i], "fw_cfg names are at most 55 characters long");
          continue;
        }
      path = check_file (loader, group, keys[i], value ? g_strstrip (value) : "");
      if (path == NULL)
        continue;
      entry = g_new0 (QlFwCfg, 1);
      entry->name = g_strdup (keys[i]);
      entry->file = g_steal_pointer (&path);
      g_ptr_array_add (loader->profile->fw_cfg, entry);
    }
}

static const SectionSpec *
section_lookup (const char *kind)
{
  const SectionSpec *spec = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (sections); i++)
    if (g_strcmp0 (sections[i].name, kind) == 0)
      spec = &sections[i];
  return spec;
}

static void
report_unknown_section (Loader *loader, const char *group, const char *kind)
{
  g_autofree char *hint = suggest (kind, &sections[0].name, sizeof (SectionSpec), G_N_ELEMENTS (sections));

  report (loader, group, NULL, "unknown section%s", hint);
}

/* Named sections need a valid NAME, the others none. */
static gboolean
check_section_id (Loader *loader, const char *group, const SectionSpec *spec, const char *kind, const char *id)
{
  if (spec->named && (id == NULL || id[0] == '\0'))
    {
      report (loader, group, NULL, "needs a name, like [%s NAME]", kind);
      return FALSE;
    }
  if (!spec->named && id != NULL)
    {
      report (loader, group, NULL, "takes no name; write [%s]", kind);
      return FALSE;
    }
  if (spec->named && !section_id_is_valid (id))
    {
      report (loader, group, NULL,
              "name '%s' must start with a letter and hold at most 20 letters, digits, '-' or '_'", id);
      return FALSE;
    }
  return TRUE;
}

/* The new item of a named section, with its defaults, or NULL after
 * reporting that the name is taken. */
static gpointer
section_item_add (Loader *loader, const char *group, const SectionSpec *spec, const char *kind, const char *id)
{
  GPtrArray *items = *FIELD (loader->profile, spec->array_offset, GPtrArray *);
  gpointer item;

  for (guint i = 0; i < items->len; i++)
    if (g_strcmp0 (*FIELD (items->pdata[i], spec->id_offset, char *), id) == 0)
      {
        report (loader, group, NULL, "another [%s %s] exists; names must be unique", kind, id);
        return NULL;
      }
  item = g_malloc0 (spec->item_size);
  *FIELD (item, spec->id_offset, char *) = g_strdup (id);
  if (spec->item_init)
    spec->item_init (item);
  g_ptr_array_add (items, item);
  return item;
}

static void
parse_section_keys (Loader *loader, const char *group, const SectionSpec *spec, gpointer base)
{
  g_auto(GStrv) keys = g_key_file_get_keys (loader->keyfile, group, NULL, NULL);

  for (guint i = 0; keys && keys[i]; i++)
    {
      const KeySpec *key = NULL;

      for (const KeySpec *k = spec->keys; k->key != NULL; k++)
        if (g_strcmp0 (k->key, keys[i]) == 0)
          key = k;
      if (key == NULL)
        {
          g_autofree char *hint = suggest (keys[i], &spec->keys[0].key, sizeof (KeySpec), G_MAXSIZE);
          report (loader, group, keys[i], "unknown key%s", hint);
          continue;
        }
      parse_key (loader, group, key, base);
    }
}

static void
parse_group (Loader *loader, const char *group)
{
  g_auto(GStrv) words = g_strsplit_set (group, " \t", 2);
  const char *kind = words[0];
  g_autofree char *id = words[1] ? g_strstrip (g_strdup (words[1])) : NULL;
  const SectionSpec *spec = section_lookup (kind);
  gpointer base = loader->profile;

  if (spec == NULL)
    {
      report_unknown_section (loader, group, kind);
      return;
    }
  if (!check_section_id (loader, group, spec, kind, id))
    return;
  if (spec->keys == fw_cfg_keys)
    {
      parse_fw_cfg (loader, group);
      return;
    }
  if (spec->named)
    {
      base = section_item_add (loader, group, spec, kind, id);
      if (base == NULL)
        return;
    }
  parse_section_keys (loader, group, spec, base);
}

/* ---- checks across keys ---- */

/* Only a regular file or a block device is read: opening anything else
 * can act (a watchdog's node resets the host when closed), and the profile
 * may be someone else's, read by root.  The path is resolved once (O_PATH,
 * which opens no device) and that very inode reopened. */
static QlDiskFormat
probe_disk_format (const char *path)
{
  static const guint8 qcow2_magic[4] = { 'Q', 'F', 'I', 0xfb };
  guint8 head[4] = { 0 };
  int where = open (path, O_PATH | O_CLOEXEC);
  g_autofree char *self = NULL;
  struct stat st;
  gssize n = 0;
  int fd = -1;

  if (where >= 0 && fstat (where, &st) == 0 && (S_ISREG (st.st_mode) || S_ISBLK (st.st_mode)))
    {
      self = g_strdup_printf ("/proc/self/fd/%d", where);
      /* non-blocking: a file on a hung mount must not hang the load */
      fd = open (self, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    }
  if (fd >= 0)
    {
      n = read (fd, head, sizeof head);
      close (fd);
    }
  if (where >= 0)
    close (where);
  return n == 4 && memcmp (head, qcow2_magic, 4) == 0 ? QL_DISK_FORMAT_QCOW2 : QL_DISK_FORMAT_RAW;
}

static char *
group_of (const char *kind, const char *id)
{
  return g_strdup_printf ("%s %s", kind, id);
}

static void
check_pcis (Loader *loader)
{
  QlProfile *p = loader->profile;
  gboolean any_x_vga = FALSE;

  for (guint i = 0; i < p->pcis->len; i++)
    {
      QlPci *pci = p->pcis->pdata[i];
      g_autofree char *group = group_of ("pci", pci->id);

      if (pci->host == NULL)
        {
          if (!g_key_file_has_key (loader->keyfile, group, "host", NULL))
            report (loader, group, NULL, "needs host= (an address like 01:00.0, or VENDOR:DEVICE; see 'qlaunch devices')");
          continue;
        }
      pci->where = key_where (loader, group, "host");
      if (pci->rom != NULL)
        pci->rom_where = key_where (loader, group, "rom");
      if (pci->rom_acpi && pci->rom == NULL && !g_key_file_has_key (loader->keyfile, group, "rom", NULL))
        report (loader, group, "rom-acpi", "needs rom= (the vBIOS file the guest's driver reads through ACPI _ROM)");
      if (pci->rom_acpi)
        {
          /* section names are short enough for QEMU's 55 characters */
          g_autofree char *fw_cfg_name = ql_profile_rom_fw_cfg_name (pci->id);
          for (guint j = 0; j < p->fw_cfg->len; j++)
            if (strcmp (((QlFwCfg *) p->fw_cfg->pdata[j])->name, fw_cfg_name) == 0)
              report (loader, "fw_cfg", fw_cfg_name, "is the name qlaunch gives the ROM of [pci %s] (rom-acpi=true)",
                      pci->id);
        }
      /* host=01:00.1 alone means that function */
      if (pci->by_address && pci->address.function != 0 && pci->functions == 0 &&
          !g_key_file_has_key (loader->keyfile, group, "functions", NULL))
        pci->functions = 1u << pci->address.function;
      if (pci->x_vga)
        {
          if (any_x_vga)
            report (loader, group, "x-vga", "only one device can be the guest's primary VGA");
          any_x_vga = TRUE;
        }
      for (guint j = 0; j < i; j++)
        {
          QlPci *other = p->pcis->pdata[j];
          if (other->host != NULL && g_strcmp0 (other->host, pci->host) == 0)
            report (loader, group, "host", "'%s' is already passed through by [pci %s]", pci->host, other->id);
          if (pci->root_port >= 0 && other->root_port == pci->root_port)
            report (loader, group, "root-port", "%02x.%x is already the root port of [pci %s]",
                    pci->root_port >> 3, pci->root_port & 7, other->id);
        }
    }
  if (any_x_vga && p->display.vga != QL_VGA_AUTO && p->display.vga != QL_VGA_NONE)
    report (loader, "display", "vga", "a [pci] device with x-vga=true is the guest's VGA; set vga=none");
}

/* parent= is a PCI function's address, canonical from here on, or the
 * name of a parent that is no PCI device (the kernel's sample drivers) */
static void
check_mdev_parent (Loader *loader, const char *group, QlMdev *mdev)
{
  QlProfile *p = loader->profile;
  char canonical[QL_PCI_ADDRESS_LEN];

  if (mdev->parent == NULL)
    {
      report (loader, group, NULL, "needs parent= (the PCI address of the device that makes the mdev, like "
              "00:02.0 for an Intel GPU; see 'qlaunch devices')");
      return;
    }
  if (ql_pci_address_parse (mdev->parent, FALSE, &mdev->parent_address, NULL))
    {
      ql_pci_address_format (&mdev->parent_address, canonical);
      replace_string (&mdev->parent, g_strdup (canonical));
      mdev->parent_is_pci = TRUE;
    }
  else if (strchr (mdev->parent, ':') != NULL || !ql_profile_mdev_parent_is_valid (mdev->parent))
    {
      report (loader, group, "parent", "'%s' is not a PCI address (like 00:02.0 or 0000:00:02.0), nor the name of "
              "an mdev parent device (like mbochs); see 'qlaunch devices'", mdev->parent);
      return;
    }
  if (!mdev->parent_is_pci)
    return;
  for (guint j = 0; j < p->pcis->len; j++)
    {
      QlPci *pci = p->pcis->pdata[j];
      if (pci->by_address && ql_pci_address_same_slot (&pci->address, &mdev->parent_address))
        report (loader, group, "parent", "%s is passed through whole by [pci %s]; a device given to vfio-pci "
                "makes no mdevs", canonical, pci->id);
    }
}

/* What QEMU's vfio-pci refuses, said here with the key to change. */
static void
check_mdev_display (Loader *loader, const char *group, QlMdev *mdev)
{
  if (mdev->ramfb && !mdev->display)
    report (loader, group, "ramfb", "needs display=on (QEMU shows the ramfb on the mdev's display)");
  if ((mdev->xres != 0 || mdev->yres != 0) && !mdev->display)
    report (loader, group, mdev->xres != 0 ? "xres" : "yres", "needs display=on (the resolution is the display's)");
  if ((mdev->xres != 0) != (mdev->yres != 0))
    report (loader, group, mdev->xres != 0 ? "xres" : "yres", "needs %s as well", mdev->xres != 0 ? "yres" : "xres");
}

static void
check_mdevs (Loader *loader)
{
  QlProfile *p = loader->profile;

  for (guint i = 0; i < p->mdevs->len; i++)
    {
      QlMdev *mdev = p->mdevs->pdata[i];
      g_autofree char *group = group_of ("mdev", mdev->id);

      mdev->where = g_strdup_printf ("%s:%u: [%s]", loader->path, ql_ini_index_group_line (loader->index, group),
                                     group);
      check_mdev_parent (loader, group, mdev);
      if (mdev->type == NULL)
        report (loader, group, NULL, "needs type= (one of the parent's mdev types, like i915-GVTg_V5_4; see "
                "'qlaunch devices')");
      else if (!ql_profile_mdev_type_is_valid (mdev->type))
        report (loader, group, "type", "'%s' is not an mdev type name (letters, digits, '-', '_' and '.', like "
                "i915-GVTg_V5_4; see 'qlaunch devices')", mdev->type);
      if (mdev->uuid == NULL && p->vm.name != NULL)
        mdev->uuid = ql_profile_default_mdev_uuid (p->vm.name, mdev->id);
      check_mdev_display (loader, group, mdev);
      for (guint j = 0; j < i; j++)
        {
          QlMdev *other = p->mdevs->pdata[j];
          if (mdev->uuid != NULL && g_strcmp0 (other->uuid, mdev->uuid) == 0)
            report (loader, group, "uuid", "%s is already the uuid of [mdev %s]", mdev->uuid, other->id);
        }
    }
}

static void
check_tap (Loader *loader, QlNet *net, guint *taps)
{
  static const char *const tap_keys[] = { "ifname", "bridge", "create-bridge", "vhost", "queues", "mtu", NULL };
  QlProfile *p = loader->profile;
  g_autofree char *group = group_of ("net", net->id);
  guint n;

  if (net->mode != QL_NET_MODE_TAP)
    {
      for (guint k = 0; tap_keys[k]; k++)
        if (g_key_file_has_key (loader->keyfile, group, tap_keys[k], NULL))
          report (loader, group, tap_keys[k], "only works with mode=tap");
      return;
    }
  n = (*taps)++;
  net->where = g_strdup_printf ("%s:%u: [%s]", loader->path, ql_ini_index_group_line (loader->index, group), group);
  if (net->ifname == NULL && p->vm.name != NULL)
    net->ifname = ql_profile_default_ifname (p->vm.name, n);
  for (guint j = 0; j < p->nets->len && p->nets->pdata[j] != net; j++)
    {
      QlNet *other = p->nets->pdata[j];
      if (other->mode == QL_NET_MODE_TAP && g_strcmp0 (other->ifname, net->ifname) == 0)
        report (loader, group, "ifname", "'%s' is already the tap of [net %s]", net->ifname, other->id);
    }
  if (net->bridge != NULL && g_strcmp0 (net->bridge, net->ifname) == 0)
    report (loader, group, "bridge", "'%s' is this NIC's own tap; name the bridge the tap joins", net->bridge);
  if (net->create_bridge && net->bridge == NULL)
    report (loader, group, "create-bridge", "needs bridge= (the name of the bridge to create)");
  if (net->queues > 1 && net->model != QL_NET_MODEL_VIRTIO)
    report (loader, group, "queues", "multiqueue needs model=virtio; %s has one queue",
            ql_net_model_names[net->model]);
  if (net->vhost && net->model != QL_NET_MODEL_VIRTIO)
    report (loader, group, "vhost", "vhost-net only serves model=virtio, not %s", ql_net_model_names[net->model]);
}

static void
check_cpu_pins (Loader *loader, guint vcpus)
{
  QlProfile *p = loader->profile;

  if (p->cpu.pin.mode == QL_PIN_LIST && p->cpu.pin.cpus->len != vcpus)
    report (loader, "cpu", "pin", "lists %u host CPUs for %u vCPUs (sockets × cores × threads); "
            "give one host CPU per vCPU, in vCPU order, or write pin=auto", p->cpu.pin.cpus->len, vcpus);
  if (p->cpu.isolate && p->cpu.pin.mode == QL_PIN_NONE)
    report (loader, "cpu", "isolate", "keeps the host off the vCPUs' CPUs, and the vCPUs are not pinned; "
            "set pin=auto or pin=LIST as well");
  if (p->cpu.iothread_pin.mode != QL_PIN_NONE && p->cpu.iothreads == 0)
    report (loader, "cpu", "iothread-pin", "there are no iothreads to pin; set iothreads=N as well");
  if (p->cpu.pin.mode == QL_PIN_NONE)
    {
      if (p->cpu.emulator_pin.mode == QL_PIN_AUTO)
        report (loader, "cpu", "emulator-pin", "auto means the host CPUs the vCPUs leave free, and pin= is not set; "
                "list the CPUs, or set pin= as well");
      if (p->cpu.iothread_pin.mode == QL_PIN_AUTO)
        report (loader, "cpu", "iothread-pin", "auto means the host CPUs the vCPUs leave free, and pin= is not set; "
                "list the CPUs, or set pin= as well");
    }
}

static void
check_vm (Loader *loader)
{
  QlProfile *p = loader->profile;
  g_autofree char *message = NULL;

  if (p->vm.name == NULL)
    {
      g_autofree char *base = g_path_get_basename (p->path);
      if (g_str_has_suffix (base, ".ini"))
        base[strlen (base) - 4] = '\0';
      p->vm.name = g_steal_pointer (&base);
      if (!ql_profile_name_is_valid (p->vm.name, &message))
        report (loader, "vm", NULL, "no name is set and the file name is not a usable one (%s); set name=", message);
    }
  else if (!ql_profile_name_is_valid (p->vm.name, &message))
    report (loader, "vm", "name", "%s", message);

  if ((p->vm.initrd || p->vm.append) && p->vm.kernel == NULL)
    report (loader, "vm", p->vm.initrd ? "initrd" : "append", "needs kernel= as well");
  if (p->vm.secure_boot && p->vm.firmware != QL_FIRMWARE_UEFI)
    report (loader, "vm", "secure-boot", "needs firmware=uefi");
  if (p->vm.run_as != NULL)
    {
      g_clear_pointer (&message, g_free);
      p->vm.run_as_where = key_where (loader, "vm", "run-as");
      if (!ql_value_user_name_is_valid (p->vm.run_as, &message))
        report (loader, "vm", "run-as", "%s", message);
    }
}

static void
check_cpu (Loader *loader)
{
  QlProfile *p = loader->profile;
  guint64 vcpus = (guint64) p->cpu.sockets * p->cpu.cores * p->cpu.threads;

  if (vcpus > 288)
    report (loader, "cpu", NULL, "sockets × cores × threads = %" G_GUINT64_FORMAT " vCPUs; q35 allows at most 288", vcpus);
  check_cpu_pins (loader, (guint) vcpus);
}

static void
check_memory (Loader *loader)
{
  QlProfile *p = loader->profile;

  if (p->memory.hugepages != QL_HUGEPAGES_NONE)
    {
      guint64 page = p->memory.hugepages == QL_HUGEPAGES_2M ? 2 << 20 : 1 << 30;
      p->memory.where = key_where (loader, "memory", "hugepages");
      if (p->memory.size % page != 0)
        {
          g_autofree char *size = ql_value_format_size (p->memory.size);
          report (loader, "memory", "size", "%s is not a multiple of the %s hugepage size", size,
                  ql_hugepages_names[p->memory.hugepages]);
        }
    }
  if (p->memory.allocate && p->memory.hugepages == QL_HUGEPAGES_NONE)
    report (loader, "memory", "allocate", "grows the hugepage pool; it needs hugepages=2M or hugepages=1G");
  if (p->memory.prealloc_threads > 0 && !p->memory.prealloc && p->memory.hugepages == QL_HUGEPAGES_NONE)
    report (loader, "memory", "prealloc-threads", "has no effect without prealloc=true or hugepages");
}

static void
check_disks (Loader *loader)
{
  QlProfile *p = loader->profile;

  for (guint i = 0; i < p->disks->len; i++)
    {
      QlDisk *disk = p->disks->pdata[i];
      g_autofree char *group = group_of ("disk", disk->id);

      if (disk->file == NULL)
        {
          if (g_key_file_has_key (loader->keyfile, group, "file", NULL) == FALSE)
            report (loader, group, NULL, "needs file=");
          continue;
        }
      if (disk->format == QL_DISK_FORMAT_AUTO && !loader->opens_nothing)
        disk->format = probe_disk_format (disk->file);
      if (disk->aio == QL_DISK_AIO_NATIVE &&
          disk->cache != QL_DISK_CACHE_NONE && disk->cache != QL_DISK_CACHE_DIRECTSYNC)
        report (loader, group, "aio", "native needs cache=none or cache=directsync (O_DIRECT)");
    }
}

static void
check_cdroms (Loader *loader)
{
  QlProfile *p = loader->profile;

  for (guint i = 0; i < p->cdroms->len; i++)
    {
      QlCdrom *cdrom = p->cdroms->pdata[i];
      g_autofree char *group = group_of ("cdrom", cdrom->id);

      if (cdrom->file == NULL && !g_key_file_has_key (loader->keyfile, group, "file", NULL))
        report (loader, group, NULL, "needs file=");
    }
}

/* The i-th NIC: its forward rules and its MAC, unique among the NICs before it. */
static void
check_net (Loader *loader, guint i)
{
  QlProfile *p = loader->profile;
  QlNet *net = p->nets->pdata[i];
  g_autofree char *group = group_of ("net", net->id);

  if (net->forward != NULL && net->forward[0] != NULL && net->mode != QL_NET_MODE_USER)
    report (loader, group, "forward", "only works with mode=user");
  for (guint j = 0; net->forward && net->forward[j]; j++)
    if ((!g_str_has_prefix (net->forward[j], "tcp:") && !g_str_has_prefix (net->forward[j], "udp:")) ||
        strchr (net->forward[j], '-') == NULL)
      report (loader, group, "forward", "'%s' is not a forward rule like tcp:127.0.0.1:2222-:22",
              net->forward[j]);
  if (net->mac == NULL && p->vm.name != NULL)
    net->mac = ql_profile_default_mac (p->vm.name, net->id);
  for (guint j = 0; j < i; j++)
    if (g_strcmp0 (((QlNet *) p->nets->pdata[j])->mac, net->mac) == 0)
      report (loader, group, "mac", "%s is already used by [net %s]", net->mac,
              ((QlNet *) p->nets->pdata[j])->id);
}

static void
check_nets (Loader *loader)
{
  QlProfile *p = loader->profile;

  for (guint i = 0, taps = 0; i < p->nets->len; i++)
    {
      check_net (loader, i);
      check_tap (loader, p->nets->pdata[i], &taps);
    }
}

static void
check_display (Loader *loader)
{
  QlProfile *p = loader->profile;

  if (p->display.gl && p->display.type == QL_DISPLAY_NONE)
    report (loader, "display", "gl", "needs type=spice, type=vnc (egl-headless) or type=gtk");
  if (p->display.listen != NULL && p->display.type != QL_DISPLAY_VNC && p->display.type != QL_DISPLAY_SPICE)
    report (loader, "display", "listen", "needs type=vnc or type=spice");
  if (p->display.password_file != NULL && p->display.type != QL_DISPLAY_VNC && p->display.type != QL_DISPLAY_SPICE)
    report (loader, "display", "password-file", "needs type=vnc or type=spice");
  if (p->display.listen != NULL)
    {
      g_autofree char *host = NULL, *message = NULL;
      guint port;

      if (!ql_value_parse_listen (p->display.listen, &host, &port, &message))
        report (loader, "display", "listen", "%s", message);
    }
  if (p->display.gl && p->display.type == QL_DISPLAY_SPICE && p->display.listen != NULL)
    report (loader, "display", "listen", "SPICE with gl=true works on its unix socket only; remove listen= "
            "(the viewer connects with 'qlaunch view')");
  if (p->display.rendernode != NULL)
    {
      if (!p->display.gl)
        report (loader, "display", "rendernode", "is the GPU that renders for gl=true; set gl=true as well");
      else if (p->display.type == QL_DISPLAY_GTK)
        report (loader, "display", "rendernode", "works with type=spice or type=vnc (egl-headless); gtk renders "
                "on the GPU of its window; remove rendernode=");
      if (!g_str_has_prefix (p->display.rendernode, "/dev/dri/") || strstr (p->display.rendernode, "..") != NULL)
        report (loader, "display", "rendernode", "'%s' is not a DRM render node; name one like /dev/dri/renderD128",
                p->display.rendernode);
    }
}

static void
check_audio (Loader *loader)
{
  QlAudio *audio = &loader->profile->audio;

  audio->enabled = g_key_file_has_group (loader->keyfile, "audio");
  if (!audio->enabled)
    return;
  if (!audio->output && !audio->input)
    report (loader, "audio", "output", "false with input=false leaves no sound device; remove [audio] "
            "(no sound card), or set output=true");
  if (audio->device == QL_AUDIO_DEVICE_USB && audio->input)
    report (loader, "audio", "input", "usb-audio only plays sound; for a microphone set device=ich9-intel-hda");
  if (audio->device == QL_AUDIO_DEVICE_USB && !audio->output)
    report (loader, "audio", "output", "usb-audio is an output device; set output=true or device=ich9-intel-hda");
}

static void
check_input (Loader *loader)
{
  QlInput *input = &loader->profile->input;
  guint n = input->evdev ? g_strv_length (input->evdev) : 0;

  if (input->grab_toggle != QL_GRAB_TOGGLE_DEFAULT && n == 0)
    report (loader, "input", "grab-toggle", "switches the evdev= devices between host and guest, and none is "
            "listed; add evdev=/dev/input/by-id/...-event-kbd");
  for (guint i = 0; i < n; i++)
    for (guint j = 0; j < i; j++)
      if (strcmp (input->evdev[i], input->evdev[j]) == 0)
        report (loader, "input", "evdev", "'%s' is listed twice", input->evdev[i]);
}

static void
check_usb (Loader *loader)
{
  QlUsb *usb = &loader->profile->usb;

  for (guint i = 0; usb->host && usb->host[i]; i++)
    for (guint j = 0; j < i; j++)
      if (strcmp (usb->host[i], usb->host[j]) == 0)
        report (loader, "usb", "host", "'%s' is listed twice", usb->host[i]);
}

/* Looking Glass refuses a size that is not a power of two, and a frame
 * that does not fit leaves the client black. */
static void
check_looking_glass (Loader *loader)
{
  QlLookingGlass *lg = &loader->profile->looking_glass;
  g_autofree char *message = NULL;
  g_autofree char *right = NULL;
  guint64 needed, size;

  lg->enabled = g_key_file_has_group (loader->keyfile, "looking-glass");
  if (!lg->enabled)
    return;
  lg->width = 1920;
  lg->height = 1080;
  if (lg->resolution_text != NULL &&
      !ql_resolution_parse (lg->resolution_text, &lg->width, &lg->height, &message))
    {
      report (loader, "looking-glass", "resolution", "%s", message);
      return;
    }
  needed = ql_looking_glass_size_for (lg->width, lg->height);
  lg->size = needed;
  if (lg->size_text == NULL || g_ascii_strcasecmp (lg->size_text, "auto") == 0)
    return;
  right = ql_value_format_size (needed);
  if (!ql_value_parse_size (lg->size_text, &size, &message))
    report (loader, "looking-glass", "size", "%s, or auto (%s for %ux%u)", message, right, lg->width, lg->height);
  else if (size % (1 << 20) != 0 || ((size >> 20) & ((size >> 20) - 1)) != 0)
    report (loader, "looking-glass", "size", "%s is not a power of two in MiB, which Looking Glass needs; "
            "use size=%" G_GUINT64_FORMAT "M for %ux%u, or size=auto", lg->size_text, needed >> 20, lg->width,
            lg->height);
  else if (size < needed)
    report (loader, "looking-glass", "size", "%s is too small for %ux%u (two frames of width × height × 4 bytes "
            "and 10 MiB, rounded up to a power of two); use size=%" G_GUINT64_FORMAT "M, or size=auto",
            lg->size_text, lg->width, lg->height, needed >> 20);
  else
    lg->size = size;
}

static void
check_acpi_tables (Loader *loader)
{
  QlProfile *p = loader->profile;

  for (guint i = 0; p->acpi_tables && p->acpi_tables[i]; i++)
    if (strchr (p->acpi_tables[i], ':') != NULL)
      report (loader, "acpi", "table", "'%s' contains ':', which QEMU's -acpitable reads as a file separator; rename the file",
              p->acpi_tables[i]);
}

/* In this order: the VM name decides the default MACs and tap names. */
static void
check_profile (Loader *loader)
{
  check_vm (loader);
  check_cpu (loader);
  check_memory (loader);
  check_disks (loader);
  check_cdroms (loader);
  check_nets (loader);
  check_pcis (loader);
  check_mdevs (loader);
  check_display (loader);
  check_audio (loader);
  check_usb (loader);
  check_input (loader);
  check_looking_glass (loader);
  check_acpi_tables (loader);
}

gboolean
ql_profile_name_is_valid (const char *name, char **ret_message)
{
  if (name[0] == '\0')
    {
      *ret_message = g_strdup ("the VM name is empty");
      return FALSE;
    }
  if (strlen (name) > 64)
    {
      *ret_message = g_strdup_printf ("the VM name '%s' is longer than 64 characters", name);
      return FALSE;
    }
  if (name[0] == '.' || name[0] == '-')
    {
      *ret_message = g_strdup_printf ("the VM name '%s' must not start with '%c'", name, name[0]);
      return FALSE;
    }
  for (const char *p = name; *p; p++)
    if (*p == '/' || g_ascii_iscntrl (*p))
      {
        *ret_message = g_strdup_printf ("the VM name '%s' contains '/' or a control character", name);
        return FALSE;
      }
  if (!g_utf8_validate (name, -1, NULL))
    {
      *ret_message = g_strdup ("the VM name is not valid UTF-8");
      return FALSE;
    }
  /* C1 controls and format characters (bidi overrides, zero-width) would
   * make the name print as another one */
  for (const char *p = name; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_iscntrl (c) || g_unichar_type (c) == G_UNICODE_FORMAT)
        {
          *ret_message = g_strdup_printf ("the VM name contains the invisible or control character U+%04X", c);
          return FALSE;
        }
    }
  return TRUE;
}

char *
ql_profile_default_mac (const char *vm_name, const char *net_id)
{
  g_autofree char *seed = g_strdup_printf ("qlaunch\n%s\n%s", vm_name, net_id);
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[32];
  gsize len = sizeof digest;

  g_checksum_update (sum, (const guchar *) seed, -1);
  g_checksum_get_digest (sum, digest, &len);
  /* 0x02: locally administered, unicast */
  return g_strdup_printf ("02:%02x:%02x:%02x:%02x:%02x", digest[0], digest[1], digest[2], digest[3], digest[4]);
}

gboolean
ql_profile_ifname_is_valid (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len >= 16 || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return FALSE;
  for (const char *c = name; *c; c++)
    if (*c == '/' || *c == ':' || *c == '%' || g_ascii_isspace (*c) || g_ascii_iscntrl (*c) || (guchar) *c >= 0x80)
      return FALSE;
  return TRUE;
}

char *
ql_profile_default_ifname (const char *vm_name, guint n)
{
  g_autofree char *suffix = g_strdup_printf ("-%u", n);
  g_autoptr(GString) clean = g_string_new (NULL);
  g_autofree char *sum = NULL;
  gsize room = 15 - strlen ("ql-") - strlen (suffix);

  for (const char *c = vm_name; *c; c++)
    g_string_append_c (clean, g_ascii_isalnum (*c) || *c == '-' || *c == '_' ? *c : '_');
  if (strcmp (clean->str, vm_name) == 0 && clean->len <= room)
    return g_strdup_printf ("ql-%s%s", vm_name, suffix);
  /* shortened or changed: a hash of the real name keeps two VMs apart */
  sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, vm_name, -1);
  g_string_truncate (clean, MIN (clean->len, room - 4));
  return g_strdup_printf ("ql-%s%.4s%s", clean->str, sum, suffix);
}

static QlProfile *
profile_load_from_data (const char *text, const char *display_path, gboolean files_unchecked, gboolean opens_nothing,
                        GError **error)
{
  g_autoptr(QlIniIndex) index = ql_ini_index_scan (text);
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(QlProfile) profile = profile_new_with_defaults ();
  g_autoptr(GArray) diags = g_array_new (FALSE, TRUE, sizeof (Diag));
  g_autofree char *canonical = g_canonicalize_filename (display_path, NULL);
  g_autofree char *dir = g_path_get_dirname (canonical);
  g_autoptr(GError) local_error = NULL;
  GPtrArray *problems = ql_ini_index_get_problems (index);
  Loader loader = { display_path, NULL, index, keyfile, diags, profile, files_unchecked, opens_nothing };
  g_autoptr(GString) all = NULL;

  g_array_set_clear_func (diags, diag_clear);
  loader.dir = dir;
  profile->path = g_strdup (canonical);

  for (guint i = 0; i < problems->len; i++)
    {
      QlIniProblem *problem = problems->pdata[i];
      Diag diag = { problem->line, diags->len,
                    g_strdup_printf ("%s:%u: %s", display_path, problem->line, problem->message) };
      g_array_append_val (diags, diag);
    }

  /* the index located every problem GKeyFile would stop at; a file it
   * still reads (duplicates) is checked whole, so every error shows at once */
  if (!g_key_file_load_from_data (keyfile, text, -1, G_KEY_FILE_NONE, &local_error))
    {
      if (diags->len == 0)
        report (&loader, NULL, NULL, "%s", local_error->message);
    }
  else
    {
      g_auto(GStrv) groups = g_key_file_get_groups (keyfile, NULL);

      for (guint i = 0; groups[i] != NULL; i++)
        parse_group (&loader, groups[i]);
      check_profile (&loader);
    }

  if (diags->len == 0)
    return g_steal_pointer (&profile);

  g_array_sort (diags, diag_compare);
  all = g_string_new (NULL);
  for (guint i = 0; i < diags->len; i++)
    {
      if (i > 0)
        g_string_append_c (all, '\n');
      g_string_append (all, g_array_index (diags, Diag, i).text);
    }
  g_set_error_literal (error, QL_ERROR, QL_ERROR_PROFILE, all->str);
  return NULL;
}

QlProfile *
ql_profile_load_from_data (const char *text, const char *display_path, GError **error)
{
  return profile_load_from_data (text, display_path, /* files_unchecked= */ FALSE, /* opens_nothing= */ FALSE, error);
}

static guint
line_of (const char *text, const char *at)
{
  guint line = 1;

  for (const char *p = text; p < at; p++)
    line += *p == '\n';
  return line;
}

/* A NUL would silently end the text where it stands, and GKeyFile reads
 * only UTF-8: both are refused with their line. */
static gboolean
check_text (const char *path, const char *text, gsize length, GError **error)
{
  const char *nul = memchr (text, '\0', length);
  const char *end = NULL;

  if (nul != NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_PROFILE, "%s:%u: a NUL byte; a profile is text", path,
                   line_of (text, nul));
      return FALSE;
    }
  if (!g_utf8_validate (text, (gssize) length, &end))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_PROFILE, "%s:%u: not UTF-8 text (byte 0x%02x); save the file as UTF-8",
                   path, line_of (text, end), (guchar) *end);
      return FALSE;
    }
  return TRUE;
}

static QlProfile *
profile_load (const char *path, gboolean files_unchecked, gboolean opens_nothing, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &text, &length, &local_error))
    {
      g_set_error (error, QL_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? QL_ERROR_NOT_FOUND : QL_ERROR_FAILED,
                   "Cannot read profile: %s", local_error->message);
      return NULL;
    }
  if (!check_text (path, text, length, error))
    return NULL;
  return profile_load_from_data (text, path, files_unchecked, opens_nothing, error);
}

QlProfile *
ql_profile_load (const char *path, GError **error)
{
  return profile_load (path, /* files_unchecked= */ FALSE, /* opens_nothing= */ FALSE, error);
}

QlProfile *
ql_profile_load_for_unit (const char *path, GError **error)
{
  return profile_load (path, /* files_unchecked= */ TRUE, /* opens_nothing= */ FALSE, error);
}

QlProfile *
ql_profile_load_for_setup (const char *path, GError **error)
{
  return profile_load (path, /* files_unchecked= */ TRUE, /* opens_nothing= */ TRUE, error);
}
