/* The AML encoder and qlaunch's SSDT: encodings checked byte by byte, the
 * tables decompiled with iasl (acpica-tools) and compiled back. */
#include "ql-aml.h"
#include "ql-ssdt.h"

#include <glib/gstdio.h>
#include <string.h>

static void
test_encodings (void)
{
  static const struct { guint64 v; const char *hex; } ints[] = {
    { 0, "00" }, { 1, "01" }, { 2, "0a02" }, { 0xFF, "0aff" }, { 0x100, "0b0001" }, { 0x1000, "0b0010" },
    { 0x10000, "0c00000100" }, { 0x100000000ULL, "0e0000000001000000" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ints); i++)
    {
      QlAml *a = ql_aml_int (ints[i].v);
      g_autofree char *hex = g_strnfill (a->len * 2, '0');
      for (guint j = 0; j < a->len; j++)
        g_snprintf (hex + 2 * j, 3, "%02x", a->data[j]);
      g_assert_cmpstr (hex, ==, ints[i].hex);
      g_byte_array_unref (a);
    }

  /* names: root, dual and multi prefixes, '_' padding */
  {
    QlAml *a = ql_aml_name ("\\_SB.PCI0.SE0.S00");
    g_assert_cmpmem (a->data, a->len, "\\\x2f\x04_SB_PCI0SE0_S00_", 19);
    g_byte_array_unref (a);
    a = ql_aml_name ("AC0.X");
    g_assert_cmpmem (a->data, a->len, "\x2e" "AC0_X___", 9);
    g_byte_array_unref (a);
  }
  /* EisaId("PNP0C0A") is 0x0A0CD041 */
  {
    QlAml *a = ql_aml_eisaid ("PNP0C0A");
    g_assert_cmpmem (a->data, a->len, "\x0c\x41\xd0\x0c\x0a", 5);
    g_byte_array_unref (a);
  }
  /* PkgLength: one byte below 0x40 in all, then two (ACPI 6.4 §20.2.4) */
  {
    /* the length counts the 4-byte name, the body and its own bytes */
    static const struct { guint body; guint8 lead, second; guint header; } lens[] = {
      { 0x3A, 0x3F, 0, 1 },
      { 0x3B, 0x41, 0x04, 2 },     /* 0x41 = 0x3B + 4 + 2 */
      { 0x200, 0x46, 0x20, 2 },    /* 0x206 */
    };
    for (guint i = 0; i < G_N_ELEMENTS (lens); i++)
      {
        QlAml *body = g_byte_array_new ();
        QlAml *scope;
        g_byte_array_set_size (body, lens[i].body);
        memset (body->data, 0xA3, body->len);   /* NoopOp */
        scope = ql_aml_scope ("ABCD", body);
        g_assert_cmphex (scope->data[0], ==, 0x10);
        g_assert_cmphex (scope->data[1], ==, lens[i].lead);
        if (lens[i].header == 2)
          g_assert_cmphex (scope->data[2], ==, lens[i].second);
        g_assert_cmpuint (scope->len, ==, 1 + lens[i].header + 4 + lens[i].body);
        g_byte_array_unref (scope);
      }
  }
}

static void
check_header (GBytes *table)
{
  gsize len;
  const guint8 *t = g_bytes_get_data (table, &len);
  guint8 sum = 0;

  g_assert_cmpmem (t, 4, "SSDT", 4);
  g_assert_cmpuint (t[4] | t[5] << 8 | t[6] << 16 | (guint) t[7] << 24, ==, len);
  g_assert_cmpmem (t + 10, 6, "QLNCH ", 6);
  g_assert_cmpmem (t + 16, 8, "QLSSDT  ", 8);
  for (gsize i = 0; i < len; i++)
    sum += t[i];
  g_assert_cmpuint (sum, ==, 0);
}

/* iasl -d, then the .dsl compiled again with iasl: both must succeed. */
static char *
decompile (GBytes *table)
{
  const char *iasl = g_getenv ("QL_IASL");
  g_autofree char *dir = g_dir_make_tmp ("ql-acpi-XXXXXX", NULL);
  g_autofree char *aml = g_build_filename (dir, "t.aml", NULL);
  g_autofree char *dsl = g_build_filename (dir, "t.dsl", NULL);
  g_autofree char *out = NULL, *err = NULL, *text = NULL;
  const char *dis[] = { iasl, "-d", aml, NULL };
  const char *comp[] = { iasl, "-p", aml, dsl, NULL };
  int status;

  g_assert_true (g_file_set_contents (aml, g_bytes_get_data (table, NULL), g_bytes_get_size (table), NULL));
  g_assert_true (g_spawn_sync (dir, (char **) dis, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (g_file_get_contents (dsl, &text, NULL, NULL));
  g_unlink (aml);
  g_clear_pointer (&out, g_free);
  /* compile it back: iasl takes -p as the output prefix */
  g_assert_true (g_spawn_sync (dir, (char **) comp, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, NULL));
  if (!g_spawn_check_wait_status (status, NULL) || strstr (out, " 0 Errors") == NULL)
    g_error ("iasl could not compile the disassembly back:\n%s%s\n%s", out, err, text);
  g_unlink (aml);
  g_unlink (dsl);
  g_rmdir (dir);
  return g_steal_pointer (&text);
}

static gboolean
have_iasl (void)
{
  const char *iasl = g_getenv ("QL_IASL");
  if (iasl == NULL || iasl[0] == '\0')
    {
      g_test_skip ("iasl not found (apt install acpica-tools)");
      return FALSE;
    }
  return TRUE;
}

static void
assert_contains (const char *text, const char *fragment)
{
  if (strstr (text, fragment) == NULL)
    g_error ("'%s' not in:\n%s", fragment, text);
}

static void
test_rom_scope (void)
{
  QlSsdtRom rom = { "\\_SB.PCI0.SE0.S00", "opt/org.qlaunch/dgpu-rom", FALSE, 0x2a00 };
  g_autoptr(GBytes) table = ql_ssdt_build (&rom, 1, FALSE);
  g_autofree char *dsl = NULL;

  check_header (table);
  if (!have_iasl ())
    return;
  dsl = decompile (table);
  assert_contains (dsl, "Scope (\\_SB.PCI0.SE0.S00)");
  assert_contains (dsl, "OperationRegion (QFWP, SystemIO, 0x0510, 0x02)");
  assert_contains (dsl, "Field (QFWP, WordAcc, NoLock, Preserve)\n        {\n            QSEL,   16\n");
  assert_contains (dsl, "Field (QFWP, ByteAcc, NoLock, Preserve)\n        {\n            Offset (0x01), \n            QDAT,   8\n");
  assert_contains (dsl, "Name (QRNM, Buffer (0x38)");
  assert_contains (dsl, "// qlaunch/\n            /* 0010 */  0x64, 0x67, 0x70, 0x75, 0x2D, 0x72, 0x6F, 0x6D,  // dgpu-rom");
  assert_contains (dsl, "Method (QRIN, 0, Serialized)");
  assert_contains (dsl, "If (!CondRefOf (\\_SB.PCI0.FWCF))");
  assert_contains (dsl, "QSEL = 0x19");
  assert_contains (dsl, "If ((Local4 == QRNM))");
  assert_contains (dsl, "QSLT = Local3");
  assert_contains (dsl, "QSIZ = Local2");
  assert_contains (dsl, "CopyObject (Buffer (QSIZ) {}, QROM)");
  /* the ROM in loops of 1 KiB, one after another: no loop runs into
   * ACPICA's 30 s limit in a slow guest */
  assert_contains (dsl, "Method (QRCK, 1, Serialized)");
  assert_contains (dsl, "While ((Local1 < Local0))");
  assert_contains (dsl, "QRCK (Zero)\n");
  assert_contains (dsl, "QRCK (0x2800)\n");
  g_assert_null (strstr (dsl, "QRCK (0x2C00)"));
  assert_contains (dsl, "Method (_ROM, 2, Serialized)");
  assert_contains (dsl, "If ((Local0 > 0x1000))");
  assert_contains (dsl, "Return (Mid (QROM, Arg0, Local0))");
  g_assert_null (strstr (dsl, "_ADR"));
  g_assert_null (strstr (dsl, "BAT0"));
}

static void
test_rom_define_and_battery (void)
{
  QlSsdtRom roms[] = {
    { "\\_SB.PCI0.SE0.S00", "opt/org.qlaunch/gpu-rom", TRUE },
    { "\\_SB.PCI0.SE8.S00", "opt/org.qlaunch/gpu2-rom", TRUE },
  };
  g_autoptr(GBytes) table = ql_ssdt_build (roms, 2, TRUE);
  g_autofree char *dsl = NULL;

  check_header (table);
  if (!have_iasl ())
    return;
  dsl = decompile (table);
  assert_contains (dsl, "Device (\\_SB.PCI0.SE0.S00)\n    {\n        Name (_ADR, Zero)");
  assert_contains (dsl, "Device (\\_SB.PCI0.SE8.S00)\n    {\n        Name (_ADR, Zero)");
  assert_contains (dsl, "// gpu2-rom");
  assert_contains (dsl, "Scope (\\_SB.PCI0.SF8)");
  assert_contains (dsl, "Device (BAT0)");
  assert_contains (dsl, "Name (_HID, EisaId (\"PNP0C0A\")");
  assert_contains (dsl, "Return (0x1F)");
  assert_contains (dsl, "Method (_BIF, 0, NotSerialized)");
  assert_contains (dsl, "Method (_BST, 0, NotSerialized)");
  assert_contains (dsl, "Device (AC0)");
  assert_contains (dsl, "Name (_HID, \"ACPI0003\"");
  assert_contains (dsl, "Method (_PSR, 0, NotSerialized)");
}

static void
test_nothing (void)
{
  g_assert_null (ql_ssdt_build (NULL, 0, FALSE));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/acpi/encodings", test_encodings);
  g_test_add_func ("/acpi/rom-scope", test_rom_scope);
  g_test_add_func ("/acpi/rom-define-and-battery", test_rom_define_and_battery);
  g_test_add_func ("/acpi/nothing", test_nothing);
  return g_test_run ();
}
