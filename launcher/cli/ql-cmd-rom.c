#include "ql-commands.h"
#include "ql-error.h"
#include "ql-paths.h"
#include "ql-pci-address.h"
#include "ql-pci-host.h"
#include "ql-prepare.h"
#include "ql-reg.h"
#include "ql-rom.h"
#include "ql-rom-check.h"
#include "ql-rom-nvidia.h"
#include "ql-rom-sysfs.h"
#include "ql-pci-scan.h"

#include <stdio.h>
#include <string.h>

/* A full address for a PCI address argument; NULL for anything else. */
static char *
as_address (const char *text)
{
  QlPciAddress addr;
  char buf[QL_PCI_ADDRESS_LEN];

  if (!ql_pci_address_parse (text, FALSE, &addr, NULL))
    return NULL;
  ql_pci_address_format (&addr, buf);
  return g_strdup (buf);
}

/* The vendor and device of a host PCI function, as libpci sees it. */
static gboolean
read_device_ids (const char *address, guint16 *ret_vendor, guint16 *ret_device, GError **error)
{
  g_autoptr(QlPciHost) host = ql_pci_host_scan (ql_paths_sysfs (), error);
  const QlPciDevice *d = NULL;
  QlPciAddress addr;

  if (host == NULL)
    return FALSE;
  if (ql_pci_address_parse (address, FALSE, &addr, NULL))
    d = ql_pci_host_lookup (host, &addr);
  if (d == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_NOT_FOUND, "no PCI device %s on this host (see 'qlaunch devices')",
                   address);
      return FALSE;
    }
  *ret_vendor = d->vendor;
  *ret_device = d->device;
  return TRUE;
}

/* --device: BDF or VENDOR:DEVICE */
static gboolean
parse_device (const char *text, guint16 *ret_vendor, guint16 *ret_device, GError **error)
{
  g_autofree char *address = as_address (text);
  unsigned vendor, device;
  char tail;

  if (address != NULL)
    return read_device_ids (address, ret_vendor, ret_device, error);
  if (strlen (text) == 9 && sscanf (text, "%4x:%4x%c", &vendor, &device, &tail) == 2)
    {
      *ret_vendor = vendor;
      *ret_device = device;
      return TRUE;
    }
  g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "--device: '%s' is neither a PCI address (01:00.0) nor VENDOR:DEVICE",
               text);
  return FALSE;
}

static gboolean
write_output (const char *path, const guint8 *data, gsize size, GError **error)
{
  if (!g_file_set_contents_full (path, (const char *) data, size, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error))
    {
      g_prefix_error (error, "Cannot write the ROM: ");
      return FALSE;
    }
  return TRUE;
}

static void
print_rom (const char *label, const QlRom *rom, gboolean json)
{
  if (json)
    {
      g_autoptr(JsonNode) node = ql_rom_to_json (rom);
      ql_cmd_print_json (node);
    }
  else
    {
      g_autofree char *text = ql_rom_describe (rom);
      printf ("%s: %s", label, text);
    }
}

/* ---- info ---- */

static gboolean
info_profile (const char *profile, gboolean json, GError **error)
{
  g_autoptr(QlPrepared) prepared = ql_prepare (profile, error);
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  guint shown = 0;

  if (prepared == NULL)
    return FALSE;
  for (guint i = 0; i < prepared->machine->hostdevs->len; i++)
    {
      const QlMachineHostdev *h = prepared->machine->hostdevs->pdata[i];
      g_autoptr(QlRom) rom = NULL;
      gboolean ok;

      if (h->pci->rom == NULL)
        continue;
      ok = ql_rom_check_hostdev (prepared->machine, h, &rom, notes, error);
      if (rom != NULL)
        print_rom (h->pci->rom_where, rom, json);
      if (!ok)
        return FALSE;
      shown++;
    }
  if (shown == 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s: no [pci] section has rom=", prepared->profile->path);
      return FALSE;
    }
  for (guint i = 0; i < notes->len; i++)
    g_printerr ("qlaunch: %s\n", (char *) notes->pdata[i]);
  if (!json)
    printf ("every rom= matches its device\n");
  return TRUE;
}

static gboolean
info (const char *what, const char *device, gboolean json, GError **error)
{
  g_autofree char *address = g_file_test (what, G_FILE_TEST_EXISTS) ? NULL : as_address (what);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(QlRom) rom = NULL;
  guint16 vendor = 0, dev = 0;
  gboolean match = device != NULL || address != NULL;
  gsize size;
  const guint8 *data;

  if (address != NULL)
    {
      bytes = ql_rom_read_sysfs (ql_paths_sysfs (), address, error);
      if (bytes == NULL || !read_device_ids (address, &vendor, &dev, error))
        return FALSE;
    }
  else
    {
      g_autofree char *contents = NULL;
      if (!g_file_get_contents (what, &contents, &size, error))
        return FALSE;
      bytes = g_bytes_new_take (g_steal_pointer (&contents), size);
    }
  if (device != NULL && !parse_device (device, &vendor, &dev, error))
    return FALSE;
  data = g_bytes_get_data (bytes, &size);
  rom = ql_rom_parse_named (data, size, what, error);
  if (rom == NULL)
    return FALSE;
  print_rom (what, rom, json);
  if (match)
    {
      g_autofree char *why = NULL;
      if (!ql_rom_matches (rom, vendor, dev, &why))
        {
          g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s does not match the device: %s", what, why);
          return FALSE;
        }
      if (!json)
        printf ("matches the device %04x:%04x\n", vendor, dev);
    }
  return TRUE;
}

/* ---- patch ---- */

static gboolean
splice_and_write (const char *what, const guint8 *data, gsize size, const QlRomSpliceOptions *options,
                  const char *out, gboolean check_only, GError **error)
{
  QlRomSplice splice;
  g_autoptr(QlRom) rom = NULL;
  gboolean ok;

  if (!ql_rom_nvidia_splice (data, size, options, &splice, error))
    {
      g_prefix_error (error, "%s: ", what);
      return FALSE;
    }
  for (guint i = 0; i < splice.notes->len; i++)
    printf ("%s: %s\n", what, (char *) splice.notes->pdata[i]);
  if (splice.start == 0 && splice.end == size)
    printf ("%s: already a VM-ready image: nothing to strip\n", what);
  rom = ql_rom_parse (data + splice.start, splice.end - splice.start, error);
  g_assert (rom != NULL);   /* the splice checked it */
  print_rom (check_only ? "the image" : out, rom, FALSE);
  ok = check_only || write_output (out, data + splice.start, splice.end - splice.start, error);
  if (ok && !check_only)
    printf ("wrote %zu bytes to %s\n", splice.end - splice.start, out);
  ql_rom_splice_clear (&splice);
  return ok;
}

static gboolean
patch (const char *in, const char *out, const QlRomSpliceOptions *options, gboolean check_only, GError **error)
{
  g_autofree char *contents = NULL;
  gsize size = 0;

  if (!g_file_get_contents (in, &contents, &size, error))
    return FALSE;
  return splice_and_write (in, (const guint8 *) contents, size, options, out, check_only, error);
}

/* ---- from-reg ---- */

static gboolean
from_reg (const char *in, const char *out, const char *value_name, gboolean check_only, GError **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GPtrArray) candidates = g_ptr_array_new ();
  QlRomSpliceOptions options = { .at = -1 };
  gsize size = 0;

  if (!g_file_get_contents (in, &contents, &size, error))
    return FALSE;
  values = ql_reg_parse_binary_values ((const guint8 *) contents, size, error);
  if (values == NULL)
    {
      g_prefix_error (error, "%s: ", in);
      return FALSE;
    }
  for (guint i = 0; i < values->len; i++)
    {
      QlRegValue *v = values->pdata[i];
      gsize len;
      const guint8 *data = g_bytes_get_data (v->bytes, &len);
      g_autoptr(QlRom) rom = NULL;
      QlRomSplice splice = { 0 };

      if (value_name != NULL)
        {
          if (strcmp (v->name, value_name) == 0)
            g_ptr_array_add (candidates, v);
          continue;
        }
      rom = len > 0 ? ql_rom_parse (data, len, NULL) : NULL;
      if (rom != NULL || (len > 0 && ql_rom_nvidia_splice (data, len, &options, &splice, NULL)))
        g_ptr_array_add (candidates, v);
      ql_rom_splice_clear (&splice);
    }
  if (candidates->len == 0)
    {
      if (value_name != NULL)
        g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s: no binary value named \"%s\"", in, value_name);
      else
        g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                     "%s: none of its %u binary values holds a PCI option ROM; export the adapter's Session key "
                     "(HKLM\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e968-e325-11ce-bfc1-08002be10318}\\000N\\"
                     "Session) after the NVIDIA driver ran once", in, values->len);
      return FALSE;
    }
  if (candidates->len > 1)
    {
      g_autoptr(GString) list = g_string_new (NULL);
      for (guint i = 0; i < candidates->len; i++)
        {
          QlRegValue *v = candidates->pdata[i];
          g_string_append_printf (list, "\n  line %u: \"%s\" (%zu bytes)", v->line, v->name, g_bytes_get_size (v->bytes));
        }
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s: %u values hold a ROM; choose one with --value NAME:%s", in,
                   candidates->len, list->str);
      return FALSE;
    }
  {
    QlRegValue *v = candidates->pdata[0];
    g_autofree char *what = g_strdup_printf ("%s: value \"%s\" (line %u)", in, v->name, v->line);
    gsize len;
    const guint8 *data = g_bytes_get_data (v->bytes, &len);
    g_autoptr(QlRom) rom = ql_rom_parse (data, len, NULL);

    printf ("%s: %zu bytes\n", what, len);
    if (rom == NULL)
      /* a dump with a flash-tool header, stored as it is */
      return splice_and_write (what, data, len, &options, out, check_only, error);
    print_rom (check_only ? "the image" : out, rom, FALSE);
    if (check_only)
      return TRUE;
    if (!write_output (out, data, len, error))
      return FALSE;
    printf ("wrote %zu bytes to %s\n", len, out);
    return TRUE;
  }
}

/* ---- dump ---- */

static gboolean
dump (const char *device, const char *out, GError **error)
{
  g_autofree char *address = as_address (device);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(QlRom) rom = NULL;
  g_autoptr(GError) parse_error = NULL;
  g_autofree char *why = NULL;
  guint16 vendor, dev;
  gsize size;
  const guint8 *data;

  if (address == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' is not a PCI address (like 01:00.0)", device);
      return FALSE;
    }
  if (!read_device_ids (address, &vendor, &dev, error))
    return FALSE;
  bytes = ql_rom_read_sysfs (ql_paths_sysfs (), address, error);
  if (bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (bytes, &size);
  rom = ql_rom_parse (data, size, &parse_error);
  if (rom == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                   "the %zu bytes read from %s are not a valid ROM (%s); nothing was written.  The ROM may be "
                   "shadowed by the system firmware: dump it while the device is not the boot GPU", size, address,
                   parse_error->message);
      return FALSE;
    }
  if (!ql_rom_matches (rom, vendor, dev, &why))
    g_printerr ("qlaunch: warning: %s: %s\n", address, why);
  if (!write_output (out, data, size, error))
    return FALSE;
  print_rom (out, rom, FALSE);
  printf ("wrote %zu bytes from %s to %s\n", size, address, out);
  return TRUE;
}

int
ql_cmd_rom (int argc, char **argv)
{
  gboolean json = FALSE, check = FALSE, keep_footer = FALSE, ignore_sanity = FALSE;
  g_autofree char *device = NULL, *value = NULL, *profile = NULL;
  gint64 at = -1;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "info: JSON output", NULL },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "info: check the ROM is for this device", "BDF|VENDOR:DEVICE" },
    { "profile", 0, 0, G_OPTION_ARG_STRING, &profile, "info: check every rom= of a profile", "NAME|FILE.ini" },
    { "check", 0, 0, G_OPTION_ARG_NONE, &check, "patch, from-reg: report, write nothing", NULL },
    { "keep-footer", 0, 0, G_OPTION_ARG_NONE, &keep_footer, "patch: keep what follows the ROM (older GPUs)", NULL },
    { "ignore-sanity-check", 0, 0, G_OPTION_ARG_NONE, &ignore_sanity, "patch: cut at the footer despite odd marker counts",
      NULL },
    { "at", 0, 0, G_OPTION_ARG_INT64, &at, "patch: the ROM starts at this offset", "OFFSET" },
    { "value", 0, 0, G_OPTION_ARG_STRING, &value, "from-reg: take this value", "NAME" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("info FILE|BDF | patch IN OUT | from-reg FILE.reg OUT | dump BDF OUT");
  g_autoptr(GError) error = NULL;
  QlRomSpliceOptions options;
  const char *sub;
  gboolean ok;

  g_option_context_set_summary (context,
                                "vBIOS images (PCI option ROMs):\n"
                                "  info FILE|BDF         walk the image chain: ids, class, x86/EFI, sizes, checksums\n"
                                "  info --profile NAME   the same for every rom= of a profile, checked against its device\n"
                                "  patch IN OUT          cut the ROM out of an NVIDIA flash-tool dump (nvflash, GPU-Z)\n"
                                "  from-reg FILE.reg OUT the ROM from a Windows registry export of the NVIDIA Session key\n"
                                "  dump BDF OUT          read a device's ROM through sysfs");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 0, 3))
    return 1;
  sub = argc > 1 ? argv[1] : "info";
  options = (QlRomSpliceOptions) { keep_footer, ignore_sanity, at };
  if (strcmp (sub, "info") == 0 && profile != NULL && argc <= 2)
    ok = info_profile (profile, json, &error);
  else if (strcmp (sub, "info") == 0 && argc == 3)
    ok = info (argv[2], device, json, &error);
  else if (strcmp (sub, "patch") == 0 && (argc == 4 || (check && argc == 3)))
    ok = patch (argv[2], argc == 4 ? argv[3] : NULL, &options, check || argc == 3, &error);
  else if (strcmp (sub, "from-reg") == 0 && (argc == 4 || (check && argc == 3)))
    ok = from_reg (argv[2], argc == 4 ? argv[3] : NULL, value, check || argc == 3, &error);
  else if (strcmp (sub, "dump") == 0 && argc == 4)
    ok = dump (argv[2], argv[3], &error);
  else
    {
      g_autofree char *usage = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("%s: expected one of the forms below\n%s", argv[0], usage);
      return 1;
    }
  if (!ok)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  return 0;
}
