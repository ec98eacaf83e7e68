/* vBIOS images: the chain walk on the synthetic fixtures and on QEMU's own
 * option ROMs, every malformed form, the NVIDIA flash-dump splice, the
 * registry export, and the 'qlaunch rom' commands end to end. */
#include "fake-sysfs.h"
#include "ql-error.h"
#include "ql-reg.h"
#include "ql-rom.h"
#include "ql-rom-nvidia.h"
#include "ql-rom-sysfs.h"
#include "rom-fixtures.h"

#include <glib/gstdio.h>
#include <string.h>

static guint8 *
copy_of (GBytes *bytes, gsize *ret_len)
{
  const guint8 *data = g_bytes_get_data (bytes, ret_len);
  return g_memdup2 (data, *ret_len);
}

static void
test_fixture (void)
{
  g_autoptr(GBytes) bytes = rom_fixture_rom ();
  g_autoptr(GError) error = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  g_autoptr(QlRom) rom = ql_rom_parse (data, len, &error);
  const QlRomImage *x86, *efi;
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) json = NULL;
  g_autofree char *why = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (rom->images->len, ==, 2);
  g_assert_cmpuint (rom->chain_size, ==, 8192);
  x86 = &g_array_index (rom->images, QlRomImage, 0);
  efi = &g_array_index (rom->images, QlRomImage, 1);
  g_assert_cmpuint (x86->offset, ==, 0);
  g_assert_cmpuint (x86->length, ==, 4096);
  g_assert_cmphex (x86->vendor, ==, 0x10de);
  g_assert_cmphex (x86->device, ==, 0x1c20);
  g_assert_cmphex (x86->class_code, ==, 0x030000);
  g_assert_cmpuint (x86->code_type, ==, QL_ROM_CODE_X86);
  g_assert_true (x86->checksum_ok);
  g_assert_false (x86->last);
  g_assert_cmpuint (efi->offset, ==, 4096);
  g_assert_cmpuint (efi->code_type, ==, QL_ROM_CODE_EFI);
  g_assert_true (efi->efi_signature_ok);
  g_assert_cmphex (efi->efi_machine, ==, 0x8664);
  g_assert_cmphex (efi->efi_subsystem, ==, 0x0B);
  g_assert_true (efi->last);
  g_assert_true (ql_rom_is_uefi_capable (rom));
  g_assert_cmpuint (rom->warnings->len, ==, 0);

  text = ql_rom_describe (rom);
  g_assert_nonnull (strstr (text, "2 images, 8192 bytes in the chain"));
  g_assert_nonnull (strstr (text, "image 0 at 0x00000: x86 PC-AT (legacy BIOS), 4096 bytes, 10de:1c20, class 030000 "
                                  "(VGA compatible controller), revision 0x0001, checksum ok"));
  g_assert_nonnull (strstr (text, "image 1 at 0x01000: EFI, 4096 bytes, 10de:1c20, class 030000 (VGA compatible "
                                  "controller), revision 0x0001, X64 boot service driver, last image"));
  g_assert_nonnull (strstr (text, "UEFI: yes"));

  json = ql_rom_to_json (rom);
  {
    JsonObject *o = json_node_get_object (json);
    JsonArray *images = json_object_get_array_member (o, "images");
    g_assert_cmpint (json_object_get_int_member (o, "chain-size"), ==, 8192);
    g_assert_true (json_object_get_boolean_member (o, "uefi"));
    g_assert_cmpuint (json_array_get_length (images), ==, 2);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (images, 1), "efi-machine"), ==, "X64");
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (images, 0), "device-id"), ==, "1c20");
  }

  g_assert_true (ql_rom_matches (rom, 0x10de, 0x1c20, NULL));
  g_assert_false (ql_rom_matches (rom, 0x10de, 0x1c8d, &why));
  g_assert_cmpstr (why, ==, "the ROM is for 10de:1c20, the device is 10de:1c8d");
}

/* QEMU's own option ROMs, as the distribution ships them. */
static void
test_real_roms (void)
{
  const char *path = "/usr/lib/ipxe/qemu/efi-e1000e.rom";
  g_autoptr(GError) error = NULL;
  g_autoptr(QlRom) rom = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const QlRomImage *img0, *img1;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no /usr/lib/ipxe/qemu/efi-e1000e.rom (apt install ipxe-qemu)");
      return;
    }
  rom = ql_rom_load (path, &bytes, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rom->images->len, ==, 2);
  g_assert_cmpuint (rom->chain_size, ==, g_bytes_get_size (bytes));
  img0 = &g_array_index (rom->images, QlRomImage, 0);
  img1 = &g_array_index (rom->images, QlRomImage, 1);
  g_assert_cmphex (img0->vendor, ==, 0x8086);
  g_assert_cmphex (img0->device, ==, 0x10d3);
  g_assert_cmphex (img0->class_code, ==, 0x020000);
  g_assert_true (img0->checksum_ok);
  g_assert_cmpuint (img1->offset, ==, 0x12600);
  g_assert_cmpuint (img1->code_type, ==, QL_ROM_CODE_EFI);
  g_assert_cmphex (img1->efi_machine, ==, 0x8664);
  g_assert_true (img1->last);
  g_assert_true (ql_rom_is_uefi_capable (rom));
}

static void
expect_error (const guint8 *data, gsize len, const char *fragment)
{
  g_autoptr(GError) error = NULL;
  /* an exact-size heap copy, so that ASan sees any read past it */
  g_autofree guint8 *copy = len ? g_memdup2 (data, len) : NULL;
  g_autoptr(QlRom) rom = ql_rom_parse (copy, len, &error);

  g_assert_null (rom);
  g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
  if (strstr (error->message, fragment) == NULL)
    g_error ("expected '%s' in '%s'", fragment, error->message);
}

static void
test_malformed (void)
{
  g_autoptr(GBytes) bytes = rom_fixture_rom ();
  gsize len;
  g_autofree guint8 *rom = copy_of (bytes, &len);
  guint8 *bad = g_malloc (len);

  expect_error (rom, 0, "empty");
  expect_error (rom, 10, "truncated: 10 bytes left");
  memcpy (bad, rom, len);
  bad[1] = 0xAB;
  expect_error (bad, len, "no ROM signature (55 AA), found 55 AB; if this is a flash-tool dump");
  memcpy (bad, rom, len);
  bad[0x18] = 0xFF, bad[0x19] = 0xFF;
  expect_error (bad, len, "PCI data structure pointer 0xffff is outside the image data");
  memcpy (bad, rom, len);
  bad[0x18] = 0x04, bad[0x19] = 0x00;
  expect_error (bad, len, "PCI data structure pointer 0x4 is outside");
  expect_error (rom, 0x70, "PCI data structure pointer 0x60 is outside the image data (112 bytes)");
  memcpy (bad, rom, len);
  bad[ROM_FIXTURE_PCIR] = 'X';
  expect_error (bad, len, "no \"PCIR\" signature at 0x60");
  memcpy (bad, rom, len);
  bad[ROM_FIXTURE_PCIR + 0x10] = 0, bad[ROM_FIXTURE_PCIR + 0x11] = 0;
  expect_error (bad, len, "image at 0x0: image length is 0");
  memcpy (bad, rom, len);
  bad[ROM_FIXTURE_PCIR + 0x11] = 0x80;
  expect_error (bad, len, "truncated: the image is 16781312 bytes, only 8192 are there");
  expect_error (rom, 6000, "image at 0x1000: truncated");
  expect_error (rom, 4096, "the chain runs off the end at 0x1000: image 0 has no last-image indicator");
  /* the second image's PCIR says "not last" */
  memcpy (bad, rom, len);
  bad[4096 + 0x20 + 0x15] = 0x00;
  expect_error (bad, len, "runs off the end at 0x2000: image 1");
  /* indicator bit 7 alone counts: 0x7F is not last */
  bad[4096 + 0x20 + 0x15] = 0x7F;
  expect_error (bad, len, "runs off the end");
  g_free (bad);

  /* 65 images of 512 bytes, none last */
  {
    gsize n = 65 * 512;
    g_autofree guint8 *many = g_malloc0 (n);
    for (guint i = 0; i < 65; i++)
      {
        guint8 *img = many + i * 512;
        img[0] = 0x55, img[1] = 0xAA, img[0x18] = 0x20;
        memcpy (img + 0x20, "PCIR", 4);
        img[0x20 + 0x10] = 1;
      }
    expect_error (many, n, "more than 64 images");
  }

  /* every truncation either fails cleanly or is the whole chain */
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autofree guint8 *copy = g_memdup2 (rom, cut ? cut : 1);
      g_autoptr(QlRom) r = ql_rom_parse (copy, cut, NULL);
      g_assert_null (r);
    }
}

static void
test_warnings (void)
{
  g_autoptr(GBytes) bytes = rom_fixture_rom ();
  gsize len;
  g_autofree guint8 *rom = copy_of (bytes, &len);
  g_autoptr(QlRom) parsed = NULL;
  g_autofree char *text = NULL;

  rom[0x200] ^= 0x01;                      /* checksum off by one */
  rom[4096 + 4] = 0;                       /* EFI signature gone */
  rom[4096 + 0x20 + 0x06] = 0x21;          /* image 1 for another device */
  parsed = ql_rom_parse (rom, len, NULL);
  g_assert_nonnull (parsed);
  g_assert_false (g_array_index (parsed->images, QlRomImage, 0).checksum_ok);
  g_assert_false (ql_rom_is_uefi_capable (parsed));
  text = ql_rom_describe (parsed);
  g_assert_nonnull (strstr (text, "checksum BAD"));
  g_assert_nonnull (strstr (text, "warning: image at 0x0: checksum is off by 0x"));
  g_assert_nonnull (strstr (text, "warning: image at 0x1000: EFI image without the 0EF1 signature"));
  g_assert_nonnull (strstr (text, "warning: image 1 is for 10de:1c21, image 0 for 10de:1c20"));
  g_assert_nonnull (strstr (text, "UEFI: no"));
}

/* ---- the NVIDIA flash-dump splice ---- */

static gboolean
splice (const guint8 *data, gsize len, gboolean keep_footer, gboolean ignore_sanity, gssize at, QlRomSplice *ret,
        GError **error)
{
  QlRomSpliceOptions options = { keep_footer, ignore_sanity, at };
  return ql_rom_nvidia_splice (data, len, &options, ret, error);
}

static void
test_splice (void)
{
  g_autoptr(GBytes) rom_bytes = rom_fixture_rom ();
  g_autoptr(GBytes) dump_bytes = rom_fixture_flash_dump ();
  gsize rom_len, len;
  const guint8 *rom = g_bytes_get_data (rom_bytes, &rom_len);
  g_autofree guint8 *dump = copy_of (dump_bytes, &len);
  g_autoptr(GError) error = NULL;
  QlRomSplice s = { 0 };

  g_assert_true (splice (dump, len, FALSE, FALSE, -1, &s, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (s.start, ==, ROM_FIXTURE_HEADER_SIZE);
  g_assert_cmpuint (s.end - s.start, ==, rom_len);
  g_assert_true (s.footer_found);
  g_assert_cmpuint (s.npds, ==, 1);
  g_assert_cmpuint (s.npde, ==, 3);
  g_assert_cmpmem (dump + s.start, s.end - s.start, rom, rom_len);
  g_assert_cmpstr (s.notes->pdata[0], ==, "a 1024-byte flash-tool header is stripped");
  ql_rom_splice_clear (&s);

  /* --keep-footer: everything from the start, like --disable-footer-strip */
  g_assert_true (splice (dump, len, TRUE, FALSE, -1, &s, NULL));
  g_assert_cmpuint (s.start, ==, ROM_FIXTURE_HEADER_SIZE);
  g_assert_cmpuint (s.end, ==, len);
  ql_rom_splice_clear (&s);

  /* a clean ROM: nothing to strip */
  g_assert_true (splice (rom, rom_len, FALSE, FALSE, -1, &s, NULL));
  g_assert_cmpuint (s.start, ==, 0);
  g_assert_cmpuint (s.end, ==, rom_len);
  g_assert_false (s.footer_found);
  ql_rom_splice_clear (&s);

  /* the marker counts of the patcher's sanity check */
  {
    g_autofree guint8 *odd = g_memdup2 (dump, len);
    memcpy (odd + ROM_FIXTURE_HEADER_SIZE + ROM_FIXTURE_NPDE_AFTER_NPDS, "XXXX", 4);   /* one NPDE less */
    g_assert_false (splice (odd, len, FALSE, FALSE, -1, &s, &error));
    g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "1 NPDS and 2 NPDE markers before the footer at 0x2400, 1 NPDE after "
                                              "the first NPDS (a Pascal ROM has 1, 3 and 2)"));
    g_assert_nonnull (strstr (error->message, "--ignore-sanity-check"));
    g_clear_error (&error);
    ql_rom_splice_clear (&s);
    g_assert_true (splice (odd, len, FALSE, TRUE, -1, &s, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (s.end - s.start, ==, rom_len);
    ql_rom_splice_clear (&s);
  }

  /* no start marker */
  {
    g_autofree guint8 *none = g_memdup2 (dump, len);
    memcpy (none + ROM_FIXTURE_HEADER_SIZE + 0x0E, "VIDEX", 5);
    g_assert_false (splice (none, len, FALSE, FALSE, -1, &s, &error));
    g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "no NVIDIA ROM start (55 AA ?? EB … VIDEO)"));
    g_clear_error (&error);
    ql_rom_splice_clear (&s);
  }

  /* two complete ROMs: ambiguous unless --at says which */
  {
    g_autoptr(GByteArray) two = g_byte_array_new ();
    g_byte_array_append (two, dump, ROM_FIXTURE_HEADER_SIZE);
    g_byte_array_append (two, rom, rom_len);
    g_byte_array_append (two, rom, rom_len);
    g_assert_false (splice (two->data, two->len, FALSE, FALSE, -1, &s, &error));
    g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "ambiguous: 2 complete ROMs start in the data, at 0x400, 0x2400; "
                                              "choose one with --at OFFSET"));
    g_clear_error (&error);
    ql_rom_splice_clear (&s);
    g_assert_true (splice (two->data, two->len, FALSE, FALSE, 0x2400, &s, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (s.start, ==, 0x2400);
    g_assert_cmpuint (s.end, ==, two->len);
    ql_rom_splice_clear (&s);
    g_assert_false (splice (two->data, two->len, FALSE, FALSE, 0x10, &s, &error));
    g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "no ROM start (55 AA ?? EB … VIDEO) at offset 0x10"));
    g_clear_error (&error);
    ql_rom_splice_clear (&s);
  }

  /* a damaged ROM after the marker, and a ROM of another vendor */
  {
    g_autofree guint8 *bad = g_memdup2 (dump, len);
    bad[ROM_FIXTURE_HEADER_SIZE + ROM_FIXTURE_PCIR] = 'X';
    g_assert_false (splice (bad, len, FALSE, FALSE, -1, &s, &error));
    g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "the ROM starting at 0x400 is damaged: image at 0x0: no \"PCIR\""));
    g_clear_error (&error);
    ql_rom_splice_clear (&s);
    memcpy (bad, dump, len);
    bad[ROM_FIXTURE_HEADER_SIZE + ROM_FIXTURE_PCIR + 4] = 0x86, bad[ROM_FIXTURE_HEADER_SIZE + ROM_FIXTURE_PCIR + 5] = 0x80;
    bad[ROM_FIXTURE_HEADER_SIZE + 4096 + 0x24] = 0x86, bad[ROM_FIXTURE_HEADER_SIZE + 4096 + 0x25] = 0x80;
    g_assert_false (splice (bad, len, FALSE, FALSE, -1, &s, &error));
    g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "is for 8086:1c20 class 030000, not an NVIDIA display device"));
    g_clear_error (&error);
    ql_rom_splice_clear (&s);
  }

  /* every truncation of the dump: an error or a valid image, never a read past the data */
  for (gsize cut = 1; cut < len; cut += 7)
    {
      g_autofree guint8 *copy = g_memdup2 (dump, cut);
      if (splice (copy, cut, FALSE, FALSE, -1, &s, NULL))
        g_assert_cmpuint (s.end, <=, cut);
      ql_rom_splice_clear (&s);
    }
}

/* ---- registry exports ---- */

static void
test_reg (void)
{
  g_autoptr(GBytes) rom = rom_fixture_rom ();
  g_autoptr(GBytes) reg = rom_fixture_reg_export (rom);
  g_autoptr(GError) error = NULL;
  gsize len;
  g_autofree guint8 *data = copy_of (reg, &len);
  g_autoptr(GPtrArray) values = ql_reg_parse_binary_values (data, len, &error);
  QlRegValue *v;

  g_assert_no_error (error);
  g_assert_cmpuint (values->len, ==, 4);
  v = values->pdata[0];
  g_assert_cmpstr (v->name, ==, "vbiosSource");
  g_assert_cmpuint (v->line, ==, 4);
  g_assert_cmpuint (g_bytes_get_size (v->bytes), ==, 1);
  g_assert_true (g_str_has_suffix (v->key, "{4d36e968-e325-11ce-bfc1-08002be10318}\\0001\\Session"));
  v = values->pdata[3];
  g_assert_cmpstr (v->name, ==, "RmSessionVbiosImage");
  g_assert_true (g_bytes_equal (v->bytes, rom));

  /* the same as ASCII, as an editor might save it */
  {
    GString *ascii = g_string_new (NULL);
    for (gsize i = 2; i < len; i += 2)
      g_string_append_c (ascii, (char) data[i]);
    g_autoptr(GPtrArray) again = ql_reg_parse_binary_values ((const guint8 *) ascii->str, ascii->len, &error);
    g_assert_no_error (error);
    g_assert_true (g_bytes_equal (((QlRegValue *) again->pdata[3])->bytes, rom));
    g_string_free (ascii, TRUE);
  }

  {
    static const struct { const char *text; const char *fragment; } bad[] = {
      { "REGEDIT5\r\n", "line 1: not a registry export" },
      { "Windows Registry Editor Version 5.00\r\n[K]\r\n\"a\"=hex:01,zz\r\n", "line 3: value \"a\" holds something that is not a hex byte" },
      { "Windows Registry Editor Version 5.00\r\n[K]\r\n\"a\"=hex:01,\\\r\n", "line 3: value \"a\" continues past the end" },
      { "Windows Registry Editor Version 5.00\r\n\"a\"=hex:123\r\n", "line 2: value \"a\" holds something" },
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(GPtrArray) none = ql_reg_parse_binary_values ((const guint8 *) bad[i].text, strlen (bad[i].text), &error);
        g_assert_null (none);
        g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
        if (strstr (error->message, bad[i].fragment) == NULL)
          g_error ("expected '%s' in '%s'", bad[i].fragment, error->message);
        g_clear_error (&error);
      }
    /* UTF-16 cut in the middle of a character */
    g_assert_null (ql_reg_parse_binary_values (data, len - 1, &error));
    g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "odd number of bytes"));
    g_clear_error (&error);
  }

  /* hex(N): values, @, quoted names, a trailing comma */
  {
    const char *text = "Windows Registry Editor Version 5.00\n[K]\n@=hex(3):0a,0b,\n\"x\\\"y\"=hex:1,2\n\"s\"=\"str\"\n";
    g_autoptr(GPtrArray) vals = ql_reg_parse_binary_values ((const guint8 *) text, strlen (text), &error);
    g_assert_no_error (error);
    g_assert_cmpuint (vals->len, ==, 2);
    g_assert_cmpstr (((QlRegValue *) vals->pdata[0])->name, ==, "@");
    g_assert_cmpuint (g_bytes_get_size (((QlRegValue *) vals->pdata[0])->bytes), ==, 2);
    g_assert_cmpstr (((QlRegValue *) vals->pdata[1])->name, ==, "x\"y");
  }
}

/* ---- the commands ---- */

static char *
run (int *ret_status, char **ret_err, const char *first, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;
  va_list ap;

  g_ptr_array_add (argv, (char *) g_getenv ("QL_QLAUNCH"));
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, ret_err,
                               ret_status, NULL));
  return g_steal_pointer (&out);
}

static void
assert_same_file (const char *a, GBytes *b)
{
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (a, &contents, &len, NULL));
  g_assert_cmpmem (contents, len, g_bytes_get_data (b, NULL), g_bytes_get_size (b));
}

static void
test_commands (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-rom-XXXXXX", NULL);
  g_autofree char *rom = g_build_filename (dir, "rom.bin", NULL);
  g_autofree char *dump = g_build_filename (dir, "flash-dump.bin", NULL);
  g_autofree char *reg = g_build_filename (dir, "session.reg", NULL);
  g_autofree char *out1 = g_build_filename (dir, "from-dump.rom", NULL);
  g_autofree char *out2 = g_build_filename (dir, "from-reg.rom", NULL);
  g_autoptr(GBytes) expected = rom_fixture_rom ();
  g_autoptr(GError) error = NULL;
  int status;

  g_assert_true (rom_fixture_write_all (dir, &error));

  {
    g_autofree char *err = NULL;
    g_autofree char *out = run (&status, &err, "rom", "info", rom, NULL);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (out, "2 images, 8192 bytes in the chain"));
  }
  {
    g_autofree char *err = NULL;
    g_autofree char *out = run (&status, &err, "rom", "info", "--json", rom, NULL);
    g_autoptr(JsonNode) node = json_from_string (out, &error);
    g_assert_no_error (error);
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (node), "chain-size"), ==, 8192);
  }
  {
    g_autofree char *err = NULL;
    g_autofree char *out = run (&status, &err, "rom", "info", "--device", "10de:1c20", rom, NULL);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (out, "matches the device 10de:1c20"));
    g_free (out);
    g_free (err);
    out = run (&status, &err, "rom", "info", "--device", "10de:1bb6", rom, NULL);
    g_assert_false (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (err, "does not match the device: the ROM is for 10de:1c20, the device is 10de:1bb6"));
  }
  {
    /* a flash-tool dump is not a ROM as it is */
    g_autofree char *err = NULL;
    g_autofree char *out = run (&status, &err, "rom", "info", dump, NULL);
    g_assert_false (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (err, "not a valid PCI option ROM: image at 0x0: no ROM signature (55 AA), found 4E 56; "
                                   "if this is a flash-tool dump, try 'qlaunch rom patch'"));
  }
  {
    g_autofree char *err = NULL;
    g_autofree char *out = run (&status, &err, "rom", "patch", "--check", dump, NULL);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (out, "a 1024-byte flash-tool header is stripped"));
    g_assert_false (g_file_test (out1, G_FILE_TEST_EXISTS));
    g_free (out);
    g_free (err);
    out = run (&status, &err, "rom", "patch", dump, out1, NULL);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (out, "wrote 8192 bytes"));
    assert_same_file (out1, expected);
  }
  {
    g_autofree char *err = NULL;
    g_autofree char *out = run (&status, &err, "rom", "from-reg", reg, out2, NULL);
    g_assert_true (g_spawn_check_wait_status (status, NULL));
    g_assert_nonnull (strstr (out, "value \"RmSessionVbiosImage\" (line 8): 8192 bytes"));
    assert_same_file (out2, expected);
  }
  {
    /* a device without a ROM BAR, on a fake sysfs */
    g_autofree char *sysfs = fake_sysfs_new ();
    g_autofree char *err = NULL;
    g_autoptr(GBytes) none = ql_rom_read_sysfs (sysfs, "0000:01:00.0", &error);
    g_assert_null (none);
    g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "0000:01:00.0 has no ROM BAR (no 'rom' file in sysfs).  Laptop (Optimus) dGPUs"));
    g_assert_nonnull (strstr (error->message, "qlaunch rom from-reg"));
    g_clear_error (&error);
    none = ql_rom_read_sysfs (sysfs, "0000:09:00.0", &error);
    g_assert_error (error, QL_ERROR, QL_ERROR_NOT_FOUND);
    fake_sysfs_remove (sysfs);
  }
  g_unlink (rom), g_unlink (dump), g_unlink (reg), g_unlink (out1), g_unlink (out2);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rom/fixture", test_fixture);
  g_test_add_func ("/rom/real-roms", test_real_roms);
  g_test_add_func ("/rom/malformed", test_malformed);
  g_test_add_func ("/rom/warnings", test_warnings);
  g_test_add_func ("/rom/nvidia-splice", test_splice);
  g_test_add_func ("/rom/reg", test_reg);
  g_test_add_func ("/rom/commands", test_commands);
  return g_test_run ();
}
