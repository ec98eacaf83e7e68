#include "ql-rom.h"
#include "ql-error.h"
#include "ql-json.h"

#include <string.h>

#define ROM_SIGNATURE_0 0x55
#define ROM_SIGNATURE_1 0xAA
#define ROM_HEADER_SIZE 0x1A        /* through the PCIR pointer */
#define PCIR_MIN_SIZE 0x18          /* through the indicator byte and max runtime length */
#define EFI_SIGNATURE 0x0EF1
#define MAX_IMAGES 64

static guint16
le16 (const guint8 *p)
{
  return (guint16) (p[0] | p[1] << 8);
}

static guint32
le32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

void
ql_rom_free (QlRom *rom)
{
  if (rom == NULL)
    return;
  g_array_unref (rom->images);
  g_ptr_array_unref (rom->warnings);
  g_free (rom);
}

const char *
ql_rom_code_type_name (guint8 code_type)
{
  switch (code_type)
    {
    case 0x00: return "x86 PC-AT (legacy BIOS)";
    case 0x01: return "Open Firmware";
    case 0x02: return "PA-RISC";
    case 0x03: return "EFI";
    default: return "unknown";
    }
}

const char *
ql_rom_efi_machine_name (guint16 machine)
{
  switch (machine)
    {
    case 0x014C: return "IA-32";
    case 0x0200: return "IA-64";
    case 0x0EBC: return "EBC";
    case 0x8664: return "X64";
    case 0x01C2: return "ARM";
    case 0xAA64: return "AArch64";
    default: return "unknown machine";
    }
}

/* The ROM header at h and the pointer to its PCI data structure. */
static gboolean
check_rom_header (const guint8 *h, gsize avail, gsize offset, gsize *ret_pcir_offset, GError **error)
{
  gsize pcir_offset;

  if (avail < ROM_HEADER_SIZE)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                   "image at 0x%zx: truncated: %zu bytes left, a ROM header needs %d", offset, avail, ROM_HEADER_SIZE);
      return FALSE;
    }
  if (h[0] != ROM_SIGNATURE_0 || h[1] != ROM_SIGNATURE_1)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                   "image at 0x%zx: no ROM signature (55 AA), found %02X %02X%s", offset, h[0], h[1],
                   offset == 0 ? "; if this is a flash-tool dump, try 'qlaunch rom patch'" : "");
      return FALSE;
    }
  pcir_offset = le16 (h + 0x18);
  if (pcir_offset < ROM_HEADER_SIZE || pcir_offset > avail || avail - pcir_offset < PCIR_MIN_SIZE)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                   "image at 0x%zx: PCI data structure pointer 0x%zx is outside the image data (%zu bytes)", offset,
                   pcir_offset, avail);
      return FALSE;
    }
  if (memcmp (h + pcir_offset, "PCIR", 4) != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                   "image at 0x%zx: no \"PCIR\" signature at 0x%zx", offset, offset + pcir_offset);
      return FALSE;
    }
  *ret_pcir_offset = pcir_offset;
  return TRUE;
}

static void
read_pcir (const guint8 *pcir, QlRomImage *img, GPtrArray *warnings)
{
  guint16 pcir_len = le16 (pcir + 0x0A);

  if (img->pcir_offset % 4 != 0)
    g_ptr_array_add (warnings, g_strdup_printf ("image at 0x%zx: the PCI data structure is not 4-byte aligned",
                                                img->offset));
  img->vendor = le16 (pcir + 0x04);
  img->device = le16 (pcir + 0x06);
  img->pcir_revision = pcir[0x0C];
  img->class_code = (guint32) pcir[0x0F] << 16 | (guint32) pcir[0x0E] << 8 | pcir[0x0D];
  img->length = (gsize) le16 (pcir + 0x10) * 512;
  img->code_revision = le16 (pcir + 0x12);
  img->code_type = pcir[0x14];
  img->last = (pcir[0x15] & 0x80) != 0;
  if (pcir_len < PCIR_MIN_SIZE)
    g_ptr_array_add (warnings, g_strdup_printf ("image at 0x%zx: PCI data structure length %u is below %d",
                                                img->offset, pcir_len, PCIR_MIN_SIZE));
}

static void
read_x86_header (const guint8 *h, QlRomImage *img, GPtrArray *warnings)
{
  guint8 sum = 0;

  img->init_size = (gsize) h[2] * 512;
  if (img->init_size == 0 || img->init_size > img->length)
    {
      g_ptr_array_add (warnings, g_strdup_printf ("image at 0x%zx: initialization size %zu does not fit the image (%zu)",
                                                  img->offset, img->init_size, img->length));
      return;
    }
  for (gsize i = 0; i < img->init_size; i++)
    sum += h[i];
  img->checksum_ok = sum == 0;
  if (!img->checksum_ok)
    g_ptr_array_add (warnings, g_strdup_printf ("image at 0x%zx: checksum is off by 0x%02x (a legacy BIOS may refuse it)",
                                                img->offset, sum));
}

static void
read_efi_header (const guint8 *h, QlRomImage *img, GPtrArray *warnings)
{
  img->init_size = (gsize) le16 (h + 2) * 512;
  img->efi_signature_ok = le32 (h + 4) == EFI_SIGNATURE;
  img->efi_subsystem = le16 (h + 8);
  img->efi_machine = le16 (h + 0x0A);
  img->efi_compression = le16 (h + 0x0C);
  if (!img->efi_signature_ok)
    g_ptr_array_add (warnings, g_strdup_printf ("image at 0x%zx: EFI image without the 0EF1 signature", img->offset));
  else if (le16 (h + 0x16) >= img->length)
    g_ptr_array_add (warnings, g_strdup_printf ("image at 0x%zx: EFI image header offset is outside the image",
                                                img->offset));
}

static gboolean
parse_image (const guint8 *data, gsize size, gsize offset, GPtrArray *warnings, QlRomImage *ret_image, GError **error)
{
  const guint8 *h = data + offset;
  gsize avail = size - offset;
  QlRomImage img = { .offset = offset };

  if (!check_rom_header (h, avail, offset, &img.pcir_offset, error))
    return FALSE;
  read_pcir (h + img.pcir_offset, &img, warnings);
  if (img.length == 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "image at 0x%zx: image length is 0", offset);
      return FALSE;
    }
  if (img.length > avail)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                   "image at 0x%zx: truncated: the image is %zu bytes, only %zu are there", offset, img.length, avail);
      return FALSE;
    }
  if (img.code_type == QL_ROM_CODE_X86)
    read_x86_header (h, &img, warnings);
  else if (img.code_type == QL_ROM_CODE_EFI)
    read_efi_header (h, &img, warnings);
  *ret_image = img;
  return TRUE;
}

QlRom *
ql_rom_parse (const guint8 *data, gsize size, GError **error)
{
  g_autoptr(QlRom) rom = g_new0 (QlRom, 1);
  gsize offset = 0;

  rom->images = g_array_new (FALSE, FALSE, sizeof (QlRomImage));
  rom->warnings = g_ptr_array_new_with_free_func (g_free);
  rom->data_size = size;
  if (size == 0)
    {
      g_set_error_literal (error, QL_ERROR, QL_ERROR_FAILED, "empty: no ROM image");
      return NULL;
    }
  for (;;)
    {
      QlRomImage img;

      if (rom->images->len == MAX_IMAGES)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "more than %d images without a last-image indicator", MAX_IMAGES);
          return NULL;
        }
      if (offset >= size)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                       "the chain runs off the end at 0x%zx: image %u has no last-image indicator", offset,
                       rom->images->len - 1);
          return NULL;
        }
      if (!parse_image (data, size, offset, rom->warnings, &img, error))
        return NULL;
      g_array_append_val (rom->images, img);
      offset += img.length;
      if (img.last)
        break;
    }
  rom->chain_size = offset;
  {
    const QlRomImage *first = &g_array_index (rom->images, QlRomImage, 0);
    for (guint i = 1; i < rom->images->len; i++)
      {
        const QlRomImage *img = &g_array_index (rom->images, QlRomImage, i);
        if (img->vendor != first->vendor || img->device != first->device)
          g_ptr_array_add (rom->warnings,
                           g_strdup_printf ("image %u is for %04x:%04x, image 0 for %04x:%04x", i, img->vendor,
                                            img->device, first->vendor, first->device));
      }
  }
  return g_steal_pointer (&rom);
}

QlRom *
ql_rom_parse_named (const guint8 *data, gsize size, const char *name, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  QlRom *rom = ql_rom_parse (data, size, &local_error);

  if (rom == NULL)
    g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s: not a valid PCI option ROM: %s", name, local_error->message);
  return rom;
}

QlRom *
ql_rom_load (const char *path, GBytes **ret_bytes, GError **error)
{
  g_autofree char *contents = NULL;
  gsize size = 0;
  g_autoptr(GError) local_error = NULL;
  QlRom *rom;

  if (!g_file_get_contents (path, &contents, &size, &local_error))
    {
      g_set_error (error, QL_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? QL_ERROR_NOT_FOUND : QL_ERROR_FAILED,
                   "%s", local_error->message);
      return NULL;
    }
  rom = ql_rom_parse_named ((const guint8 *) contents, size, path, error);
  if (rom == NULL)
    return NULL;
  if (ret_bytes != NULL)
    *ret_bytes = g_bytes_new_take (g_steal_pointer (&contents), size);
  return rom;
}

gboolean
ql_rom_is_uefi_capable (const QlRom *rom)
{
  for (guint i = 0; i < rom->images->len; i++)
    {
      const QlRomImage *img = &g_array_index (rom->images, QlRomImage, i);
      if (img->code_type == QL_ROM_CODE_EFI && img->efi_signature_ok &&
          (img->efi_machine == 0x8664 || img->efi_machine == 0x0EBC))
        return TRUE;
    }
  return FALSE;
}

gboolean
ql_rom_matches (const QlRom *rom, guint16 vendor, guint16 device, char **ret_why)
{
  const QlRomImage *first = &g_array_index (rom->images, QlRomImage, 0);

  if (first->vendor == vendor && first->device == device)
    return TRUE;
  if (ret_why != NULL)
    *ret_why = g_strdup_printf ("the ROM is for %04x:%04x, the device is %04x:%04x", first->vendor, first->device,
                                vendor, device);
  return FALSE;
}

static const char *
class_name (guint32 class_code)
{
  switch (class_code >> 8)
    {
    case 0x0300: return "VGA compatible controller";
    case 0x0302: return "3D controller";
    case 0x0380: return "display controller";
    case 0x0200: return "Ethernet controller";
    case 0x0100: return "SCSI controller";
    case 0x0106: return "SATA controller";
    case 0x0108: return "NVMe controller";
    default: return NULL;
    }
}

static const char *
efi_subsystem_name (guint16 subsystem)
{
  switch (subsystem)
    {
    case 0x0A: return "application";
    case 0x0B: return "boot service driver";
    case 0x0C: return "runtime driver";
    default: return "unknown subsystem";
    }
}

char *
ql_rom_describe (const QlRom *rom)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "%u image%s, %zu bytes in the chain", rom->images->len,
                          rom->images->len == 1 ? "" : "s", rom->chain_size);
  if (rom->data_size > rom->chain_size)
    g_string_append_printf (out, " (%zu bytes after it)", rom->data_size - rom->chain_size);
  g_string_append_c (out, '\n');
  for (guint i = 0; i < rom->images->len; i++)
    {
      const QlRomImage *img = &g_array_index (rom->images, QlRomImage, i);
      const char *cls = class_name (img->class_code);

      g_string_append_printf (out, "image %u at 0x%05zx: %s, %zu bytes, %04x:%04x, class %06x%s%s%s, revision 0x%04x",
                              i, img->offset, ql_rom_code_type_name (img->code_type), img->length, img->vendor,
                              img->device, img->class_code, cls ? " (" : "", cls ? cls : "", cls ? ")" : "",
                              img->code_revision);
      if (img->code_type == QL_ROM_CODE_X86)
        g_string_append_printf (out, ", checksum %s", img->checksum_ok ? "ok" : "BAD");
      else if (img->code_type == QL_ROM_CODE_EFI)
        g_string_append_printf (out, ", %s %s%s%s", ql_rom_efi_machine_name (img->efi_machine),
                                efi_subsystem_name (img->efi_subsystem),
                                img->efi_compression ? ", compressed" : "",
                                img->efi_signature_ok ? "" : ", BAD EFI signature");
      if (img->last)
        g_string_append (out, ", last image");
      g_string_append_c (out, '\n');
    }
  g_string_append_printf (out, "UEFI: %s\n", ql_rom_is_uefi_capable (rom) ? "yes (an x86-64 EFI driver is in the chain)"
                                                                          : "no (no x86-64 EFI image: OVMF cannot run it)");
  for (guint i = 0; i < rom->warnings->len; i++)
    g_string_append_printf (out, "warning: %s\n", (char *) rom->warnings->pdata[i]);
  return g_string_free (out, FALSE);
}

JsonNode *
ql_rom_to_json (const QlRom *rom)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, rom->data_size);
  json_builder_set_member_name (b, "chain-size");
  json_builder_add_int_value (b, rom->chain_size);
  json_builder_set_member_name (b, "uefi");
  json_builder_add_boolean_value (b, ql_rom_is_uefi_capable (rom));
  json_builder_set_member_name (b, "images");
  json_builder_begin_array (b);
  for (guint i = 0; i < rom->images->len; i++)
    {
      const QlRomImage *img = &g_array_index (rom->images, QlRomImage, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "offset");
      json_builder_add_int_value (b, img->offset);
      json_builder_set_member_name (b, "length");
      json_builder_add_int_value (b, img->length);
      ql_json_add_hex (b, "vendor-id", 4, img->vendor);
      ql_json_add_hex (b, "device-id", 4, img->device);
      ql_json_add_hex (b, "class", 6, img->class_code);
      json_builder_set_member_name (b, "code-type");
      json_builder_add_int_value (b, img->code_type);
      json_builder_set_member_name (b, "code-type-name");
      json_builder_add_string_value (b, ql_rom_code_type_name (img->code_type));
      json_builder_set_member_name (b, "last");
      json_builder_add_boolean_value (b, img->last);
      if (img->code_type == QL_ROM_CODE_X86)
        {
          json_builder_set_member_name (b, "checksum-ok");
          json_builder_add_boolean_value (b, img->checksum_ok);
        }
      else if (img->code_type == QL_ROM_CODE_EFI)
        {
          json_builder_set_member_name (b, "efi-signature-ok");
          json_builder_add_boolean_value (b, img->efi_signature_ok);
          json_builder_set_member_name (b, "efi-machine");
          json_builder_add_string_value (b, ql_rom_efi_machine_name (img->efi_machine));
          ql_json_add_hex (b, "efi-subsystem", 4, img->efi_subsystem);
          json_builder_set_member_name (b, "efi-compressed");
          json_builder_add_boolean_value (b, img->efi_compression != 0);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "warnings");
  json_builder_begin_array (b);
  for (guint i = 0; i < rom->warnings->len; i++)
    json_builder_add_string_value (b, rom->warnings->pdata[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
