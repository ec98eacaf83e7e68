#include "ql-import-qemu-args.h"
#include "ql-runtime-files.h"

#include <string.h>

static void
device_free (QlImportDevice *device)
{
  g_free (device->group);
  g_free (device->driver);
  g_clear_pointer (&device->props, g_ptr_array_unref);
  g_free (device);
}

GHashTable *
ql_import_devices_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) device_free);
}

QlImportDevice *
ql_import_device_add (GHashTable *devices, const char *id, const char *group, guint line)
{
  QlImportDevice *device = g_new0 (QlImportDevice, 1);

  device->group = g_strdup (group);
  device->driver = group == NULL ? g_strdup ("vfio-pci") : NULL;
  device->props = g_ptr_array_new_with_free_func (g_free);
  device->line = line;
  g_hash_table_replace (devices, g_strdup (id), device);
  return device;
}

void
ql_import_device_set_prop (QlImportDevice *device, const char *key, const char *value)
{
  g_autofree char *prefix = g_strconcat (key, "=", NULL);

  for (guint i = 0; i < device->props->len; i++)
    if (g_str_has_prefix (device->props->pdata[i], prefix))
      {
        g_free (device->props->pdata[i]);
        device->props->pdata[i] = g_strconcat (prefix, value, NULL);
        return;
      }
  g_ptr_array_add (device->props, g_strconcat (prefix, value, NULL));
}

char *
ql_import_hex16 (const char *value, gboolean decimal)
{
  guint64 number;
  char *end;

  if (value == NULL || value[0] == '\0')
    return NULL;
  if (g_ascii_strncasecmp (value, "0x", 2) == 0)
    number = g_ascii_strtoull (value + 2, &end, 16);
  else
    number = g_ascii_strtoull (value, &end, decimal ? 10 : 16);
  if (*end != '\0' || number > 0xffff)
    return NULL;
  return g_strdup_printf ("%04x", (guint) number);
}

static gboolean
parse_switch (const char *value, gboolean *ret)
{
  static const char *const on[] = { "on", "true", "yes", "1", NULL };
  static const char *const off[] = { "off", "false", "no", "0", NULL };

  if (g_strv_contains (on, value))
    *ret = TRUE;
  else if (g_strv_contains (off, value))
    *ret = FALSE;
  else
    return FALSE;
  return TRUE;
}

/* A vfio-pci property of a [pci] section; FALSE when it has no key. */
static gboolean
pci_property (QlImport *import, const char *group, const char *key, const char *value)
{
  static const struct { const char *prop, *key; } ids[] = {
    { "x-pci-vendor-id", "vendor" }, { "x-pci-device-id", "device" },
    { "x-pci-sub-vendor-id", "sub-vendor" }, { "x-pci-sub-device-id", "sub-device" },
  };
  gboolean on;

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    if (strcmp (key, ids[i].prop) == 0)
      {
        /* QEMU reads these as C integers: 0x hex or decimal */
        g_autofree char *hex = ql_import_hex16 (value, !g_str_has_prefix (value, "0x"));
        if (hex == NULL)
          return FALSE;
        ql_import_set (import, group, ids[i].key, hex);
        return TRUE;
      }
  if (strcmp (key, "romfile") == 0)
    {
      ql_import_set (import, group, "rom", value);
      return TRUE;
    }
  if (strcmp (key, "rombar") == 0 && parse_switch (value, &on))
    {
      ql_import_set_bool (import, group, "rom-bar", on);
      return TRUE;
    }
  if (strcmp (key, "x-vga") == 0 && parse_switch (value, &on))
    {
      ql_import_set_bool (import, group, "x-vga", on);
      return TRUE;
    }
  return FALSE;
}

gboolean
ql_import_device_property (QlImport *import, GHashTable *devices, guint line, const char *id,
                           const char *key, const char *value)
{
  QlImportDevice *device = g_hash_table_lookup (devices, id);

  if (device == NULL)
    return FALSE;
  if (device->group == NULL)
    {
      if (strcmp (key, "driver") == 0)
        {
          g_free (device->driver);
          device->driver = g_strdup (value);
        }
      else
        ql_import_device_set_prop (device, key, value);
      return TRUE;
    }
  if (pci_property (import, device->group, key, value))
    return TRUE;
  {
    /* qlaunch's id for the device at 00.0 of [pci NAME] is hostdev-NAME */
    g_autofree char *set = g_strdup_printf ("device.hostdev-%s.%s=%s", device->group + strlen ("pci "), key, value);
    g_autofree char *what = g_strdup_printf ("property %s of %s (no [pci] key)", key, id);
    const char *args[] = { "-set", set, NULL };
    ql_import_keep_args (import, line, what, args);
  }
  return TRUE;
}

/* -set device.ID.PROP=VALUE */
static gboolean
map_set (QlImport *import, GHashTable *devices, guint line, const char *value)
{
  g_autofree char *copy = g_strdup (value);
  char *id, *prop, *eq;

  if (!g_str_has_prefix (copy, "device."))
    return FALSE;
  id = copy + strlen ("device.");
  prop = strchr (id, '.');
  if (prop == NULL)
    return FALSE;
  *prop++ = '\0';
  eq = strchr (prop, '=');
  if (eq == NULL)
    return FALSE;
  *eq = '\0';
  return ql_import_device_property (import, devices, line, id, prop, eq + 1);
}

/* -acpitable file=F (only): [acpi] table; qlaunch's own SSDT is made at each start */
static gboolean
map_acpitable (QlImport *import, guint line, const char *value)
{
  if (!g_str_has_prefix (value, "file=") || strchr (value, ',') != NULL)
    return FALSE;
  if (g_str_has_suffix (value, "/" QL_RUNTIME_SSDT))
    {
      ql_import_note (import, line, "-acpitable %s: qlaunch's SSDT, written again at each start", value);
      return TRUE;
    }
  ql_import_append (import, "acpi", "table", value + strlen ("file="));
  return TRUE;
}

/* -fw_cfg name=opt/…,file=F: [fw_cfg] */
static gboolean
map_fw_cfg (QlImport *import, const char *value)
{
  g_auto(GStrv) parts = g_strsplit (value, ",", -1);
  const char *name = NULL, *file = NULL;

  for (guint i = 0; parts[i] != NULL; i++)
    if (g_str_has_prefix (parts[i], "name="))
      name = parts[i] + strlen ("name=");
    else if (g_str_has_prefix (parts[i], "file="))
      file = parts[i] + strlen ("file=");
    else
      return FALSE;
  if (name == NULL || file == NULL || !g_str_has_prefix (name, "opt/"))
    return FALSE;
  if (g_str_has_prefix (name, "opt/org.qlaunch/") && g_str_has_suffix (name, "-rom"))
    {
      /* the ROM of a [pci NAME] with rom-acpi=true (ql_profile_rom_fw_cfg_name) */
      g_autofree char *id = g_strndup (name + strlen ("opt/org.qlaunch/"),
                                       strlen (name) - strlen ("opt/org.qlaunch/") - strlen ("-rom"));
      g_autofree char *group = g_strconcat ("pci ", id, NULL);
      if (ql_import_has_group (import, group))
        {
          ql_import_set_bool (import, group, "rom-acpi", TRUE);
          return TRUE;
        }
    }
  ql_import_set (import, "fw_cfg", name, file);
  return TRUE;
}

/* -global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off: [vm] pci-hotplug=native */
static gboolean
map_global (QlImport *import, const char *value)
{
  if (strcmp (value, "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off") != 0)
    return FALSE;
  ql_import_set (import, "vm", "pci-hotplug", "native");
  return TRUE;
}

/* -cpu MODEL,flags: the model, and the flags that hide the hypervisor;
 * other flags have no key and a second -cpu would drop qlaunch's. */
static gboolean
map_cpu (QlImport *import, guint line, const char *what, const char *value)
{
  g_auto(GStrv) parts = g_strsplit (value, ",", -1);

  if (parts[0] == NULL || parts[0][0] == '\0')
    return FALSE;
  ql_import_set (import, "cpu", "model", parts[0]);
  for (guint i = 1; parts[i] != NULL; i++)
    {
      if (strcmp (parts[i], "kvm=off") == 0 || g_str_has_prefix (parts[i], "hv_vendor_id=") ||
          g_str_has_prefix (parts[i], "hv-vendor-id="))
        ql_import_set_bool (import, "vm", "hide-hypervisor", TRUE);
      else if (g_str_has_prefix (parts[i], "hv_") || g_str_has_prefix (parts[i], "hv-"))
        ql_import_set_bool (import, "vm", "hyperv", TRUE);
      else
        ql_import_warn (import, line, "%s: -cpu flag '%s' not imported: qlaunch has no key for CPU flags "
                        "(its own -cpu would be replaced by a second one)", what, parts[i]);
    }
  return TRUE;
}

static gboolean
map_option (QlImport *import, GHashTable *devices, guint line, const char *what, const char *option,
            const char *value)
{
  if (value == NULL)
    return FALSE;
  if (strcmp (option, "-set") == 0)
    return map_set (import, devices, line, value);
  if (strcmp (option, "-acpitable") == 0)
    return map_acpitable (import, line, value);
  if (strcmp (option, "-global") == 0)
    return map_global (import, value);
  if (strcmp (option, "-fw_cfg") == 0)
    return map_fw_cfg (import, value);
  if (strcmp (option, "-cpu") == 0)
    return map_cpu (import, line, what, value);
  return FALSE;
}

void
ql_import_qemu_args (QlImport *import, GHashTable *devices, guint line, const char *what,
                     const char *const *args)
{
  guint n = args ? g_strv_length ((GStrv) args) : 0;

  for (guint i = 0; i < n;)
    {
      const char *option = args[i];
      /* an option's value is the next argument unless that is an option itself */
      const char *value = i + 1 < n && args[i + 1][0] != '-' ? args[i + 1] : NULL;
      guint taken = value != NULL ? 2 : 1;

      if (!map_option (import, devices, line, what, option, value))
        {
          const char *kept[] = { option, value, NULL };
          g_autofree char *label = g_strdup_printf ("%s %s", what, option);
          ql_import_keep_args (import, line, label, kept);
        }
      i += taken;
    }
}

void
ql_import_write_mdevs (QlImport *import, GHashTable *devices, const GPtrArray *ids)
{
  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = ids->pdata[i];
      QlImportDevice *device = g_hash_table_lookup (devices, id);
      g_autoptr(GString) opts = NULL;
      g_autofree char *what = NULL;
      const char *args[3] = { "-device", NULL, NULL };

      if (device == NULL || device->group != NULL)
        continue;
      opts = g_string_new (device->driver);
      g_string_append_printf (opts, ",id=%s", id);
      for (guint j = 0; j < device->props->len; j++)
        g_string_append_printf (opts, ",%s", (char *) device->props->pdata[j]);
      args[1] = opts->str;
      what = g_strdup_printf ("mediated device %s (no [mdev] section in this version: create the mdev before "
                              "the start, and give the profile an [mdev] section once qlaunch has one)", id);
      ql_import_keep_args (import, device->line, what, args);
    }
}
