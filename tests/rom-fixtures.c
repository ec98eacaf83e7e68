#include "rom-fixtures.h"

#include <string.h>

static void
put16 (guint8 *p, guint16 v)
{
  p[0] = v & 0xFF;
  p[1] = v >> 8;
}

static void
put32 (guint8 *p, guint32 v)
{
  put16 (p, v & 0xFFFF);
  put16 (p + 2, v >> 16);
}

static void
pcir (guint8 *image, gsize at, guint8 code_type, gboolean last)
{
  guint8 *p = image + at;

  memcpy (p, "PCIR", 4);
  put16 (p + 0x04, ROM_FIXTURE_VENDOR);
  put16 (p + 0x06, ROM_FIXTURE_DEVICE);
  put16 (p + 0x0A, 0x18);
  p[0x0C] = 3;
  p[0x0D] = 0x00;   /* prog-if */
  p[0x0E] = 0x00;   /* VGA */
  p[0x0F] = 0x03;   /* display */
  put16 (p + 0x10, ROM_FIXTURE_IMAGE_SIZE / 512);
  put16 (p + 0x12, 0x0001);
  p[0x14] = code_type;
  p[0x15] = last ? 0x80 : 0x00;
}

GBytes *
rom_fixture_rom (void)
{
  guint8 *rom = g_malloc0 (2 * ROM_FIXTURE_IMAGE_SIZE);
  guint8 *x86 = rom, *efi = rom + ROM_FIXTURE_IMAGE_SIZE;
  guint8 sum = 0;

  /* image 0: legacy x86, like an NVIDIA BIOS image */
  x86[0] = 0x55;
  x86[1] = 0xAA;
  x86[2] = ROM_FIXTURE_IMAGE_SIZE / 512;
  x86[3] = 0xEB;          /* the entry: jmp short 0x50 */
  x86[4] = 0x4B;
  memcpy (x86 + 5, "7400.L.w.", 9);
  memcpy (x86 + 0x0E, "VIDEO", 5);
  put16 (x86 + 0x18, ROM_FIXTURE_PCIR);
  x86[0x50] = 0xCB;       /* retf */
  pcir (x86, ROM_FIXTURE_PCIR, 0x00, FALSE);
  memcpy (x86 + 0x80, "NPDE", 4);
  memcpy (x86 + 0xA0, "NPDS", 4);
  memcpy (x86 + ROM_FIXTURE_NPDE_AFTER_NPDS, "NPDE", 4);
  for (gsize i = 0x100; i < ROM_FIXTURE_IMAGE_SIZE - 1; i++)
    x86[i] = (guint8) (i * 7 + 3);
  for (gsize i = 0; i < ROM_FIXTURE_IMAGE_SIZE; i++)
    sum += x86[i];
  x86[ROM_FIXTURE_IMAGE_SIZE - 1] = (guint8) (0x100 - sum);

  /* image 1: EFI, X64 boot service driver */
  efi[0] = 0x55;
  efi[1] = 0xAA;
  put16 (efi + 2, ROM_FIXTURE_IMAGE_SIZE / 512);
  put32 (efi + 4, 0x0EF1);
  put16 (efi + 8, 0x0B);
  put16 (efi + 0x0A, 0x8664);
  put16 (efi + 0x0C, 0);
  put16 (efi + 0x16, 0x60);
  put16 (efi + 0x18, 0x20);
  pcir (efi, 0x20, 0x03, TRUE);
  memcpy (efi + 0x40, "NPDE", 4);
  memcpy (efi + 0x60, "MZ", 2);
  for (gsize i = 0x100; i < ROM_FIXTURE_IMAGE_SIZE; i++)
    efi[i] = (guint8) (i * 13 + 1);
  return g_bytes_new_take (rom, 2 * ROM_FIXTURE_IMAGE_SIZE);
}

GBytes *
rom_fixture_flash_dump (void)
{
  g_autoptr(GBytes) rom = rom_fixture_rom ();
  GByteArray *dump = g_byte_array_new ();
  guint8 header[ROM_FIXTURE_HEADER_SIZE], footer[212 + ROM_FIXTURE_TAIL_SIZE];
  gsize len;
  const guint8 *data = g_bytes_get_data (rom, &len);

  for (gsize i = 0; i < sizeof header; i++)
    header[i] = (guint8) (i % 251);
  memcpy (header, "NVGI", 4);
  memset (footer, 0xFF, sizeof footer);
  memcpy (footer, "VN", 2);
  memcpy (footer + 176, "NPDS", 4);
  memcpy (footer + 208, "NPDE", 4);
  g_byte_array_append (dump, header, sizeof header);
  g_byte_array_append (dump, data, len);
  g_byte_array_append (dump, footer, sizeof footer);
  return g_byte_array_free_to_bytes (dump);
}

static void
append_utf16 (GByteArray *out, const char *ascii)
{
  for (const char *p = ascii; *p; p++)
    {
      guint8 c[2] = { (guint8) *p, 0 };
      g_byte_array_append (out, c, 2);
    }
}

/* "NAME"=hex:xx,xx,... wrapped like regedit: at most 80 columns, ",\" at the end, two spaces before the next. */
static void
append_hex_value (GString *text, const char *name, const guint8 *data, gsize len)
{
  gsize column;

  g_string_append_printf (text, "\"%s\"=hex:", name);
  column = strlen (name) + 7;
  for (gsize i = 0; i < len; i++)
    {
      gboolean more = i + 1 < len;
      g_string_append_printf (text, "%02x%s", data[i], more ? "," : "");
      column += more ? 3 : 2;
      if (more && column > 76)
        {
          g_string_append (text, "\\\r\n  ");
          column = 2;
        }
    }
  g_string_append (text, "\r\n");
}

GBytes *
rom_fixture_reg_export (GBytes *rom)
{
  static const guint8 version[] = { 0x33, 0x38, 0x38, 0x2e, 0x31, 0x36, 0x00 };
  static const guint8 branch[] = { 0x72, 0x33, 0x38, 0x38, 0x5f, 0x31, 0x30, 0x2d, 0x35, 0x00 };
  static const guint8 source = 0x06;
  GString *text = g_string_new ("Windows Registry Editor Version 5.00\r\n\r\n");
  GByteArray *out = g_byte_array_new ();
  gsize len;
  const guint8 *data = g_bytes_get_data (rom, &len);

  g_string_append (text, "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Class\\"
                         "{4d36e968-e325-11ce-bfc1-08002be10318}\\0001\\Session]\r\n");
  append_hex_value (text, "vbiosSource", &source, 1);
  append_hex_value (text, "RmRCPrevDriverVersion", version, sizeof version);
  append_hex_value (text, "RmRCPrevDriverBranch", branch, sizeof branch);
  g_string_append (text, "\"RmRCPrevDriverLoadCount\"=dword:00000001\r\n");
  append_hex_value (text, "RmSessionVbiosImage", data, len);
  g_string_append (text, "\r\n");
  g_byte_array_append (out, (const guint8 *) "\xFF\xFE", 2);
  append_utf16 (out, text->str);
  g_string_free (text, TRUE);
  return g_byte_array_free_to_bytes (out);
}

static gboolean
write_bytes (const char *dir, const char *name, GBytes *bytes, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  return g_file_set_contents (path, data, len, error);
}

gboolean
rom_fixture_write_all (const char *dir, GError **error)
{
  g_autoptr(GBytes) rom = rom_fixture_rom ();
  g_autoptr(GBytes) dump = rom_fixture_flash_dump ();
  g_autoptr(GBytes) reg = rom_fixture_reg_export (rom);

  return g_mkdir_with_parents (dir, 0755) == 0 && write_bytes (dir, "rom.bin", rom, error) &&
         write_bytes (dir, "flash-dump.bin", dump, error) && write_bytes (dir, "session.reg", reg, error);
}
