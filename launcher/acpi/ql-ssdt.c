#include "ql-ssdt.h"
#include "ql-aml.h"
#include "ql-profile.h"

#include <glib/gstdio.h>
#include <string.h>

#define FW_CFG_PORT_SELECTOR 0x510
#define FW_CFG_FILE_DIR 0x19
#define FW_CFG_NAME_SIZE 56
#define ACPI_ROM_MAX_CHUNK 0x1000   /* ACPI 6.4 §B.4.3: _ROM returns at most 4 KiB */
/* ACPICA aborts a While loop that runs longer than 30 s (AE_AML_LOOP_TIMEOUT),
 * and a port read costs milliseconds in a slow emulated guest: the ROM is read
 * in loops of this many bytes, one after another, never inside one loop. */
#define ROM_READ_CHUNK 0x400

/* LocalN = 0; While (LocalN < limit) { body; LocalN++ } */
static QlAml *
count_up (guint local, QlAml *limit, QlAml *body)
{
  return ql_aml_list (
      ql_aml_store (ql_aml_int (0), ql_aml_local (local)),
      ql_aml_while (ql_aml_lless (ql_aml_local (local), limit),
                    ql_aml_list (body, ql_aml_increment (ql_aml_local (local)), NULL)),
      NULL);
}

/* Reads Arg0 bytes from the fw_cfg data port into an integer, most significant first. */
static QlAml *
method_read_be (void)
{
  return ql_aml_method ("QRBE", 1, TRUE, ql_aml_list (
      ql_aml_store (ql_aml_int (0), ql_aml_local (0)),
      count_up (1, ql_aml_arg (0),
                ql_aml_store (ql_aml_or (ql_aml_shift_left (ql_aml_local (0), ql_aml_int (8)), ql_aml_name ("QDAT")),
                              ql_aml_local (0))),
      ql_aml_return (ql_aml_local (0)),
      NULL));
}

/* Reads Arg0 bytes from the data port into a new buffer. */
static QlAml *
method_read_buffer (void)
{
  return ql_aml_method ("QRBF", 1, TRUE, ql_aml_list (
      ql_aml_store (ql_aml_buffer (ql_aml_arg (0), NULL, 0), ql_aml_local (0)),
      count_up (1, ql_aml_arg (0),
                ql_aml_store (ql_aml_name ("QDAT"), ql_aml_index (ql_aml_local (0), ql_aml_local (1)))),
      ql_aml_return (ql_aml_local (0)),
      NULL));
}

/* Walks the fw_cfg file directory for QRNM: its selector to QSLT, its size
 * to QSIZ; 1 when found. */
static QlAml *
method_find (void)
{
  return ql_aml_method ("QRFN", 0, TRUE, ql_aml_list (
      ql_aml_store (ql_aml_int (FW_CFG_FILE_DIR), ql_aml_name ("QSEL")),
      ql_aml_store (ql_aml_call ("QRBE", ql_aml_int (4), NULL), ql_aml_local (0)),       /* count */
      count_up (1, ql_aml_local (0), ql_aml_list (
          ql_aml_store (ql_aml_call ("QRBE", ql_aml_int (4), NULL), ql_aml_local (2)),   /* size */
          ql_aml_store (ql_aml_call ("QRBE", ql_aml_int (2), NULL), ql_aml_local (3)),   /* select */
          ql_aml_call ("QRBE", ql_aml_int (2), NULL),                                  /* reserved */
          ql_aml_store (ql_aml_call ("QRBF", ql_aml_int (FW_CFG_NAME_SIZE), NULL), ql_aml_local (4)),
          ql_aml_if (ql_aml_lequal (ql_aml_local (4), ql_aml_name ("QRNM")), ql_aml_list (
              ql_aml_store (ql_aml_local (3), ql_aml_name ("QSLT")),
              ql_aml_store (ql_aml_local (2), ql_aml_name ("QSIZ")),
              ql_aml_return (ql_aml_int (1)),
              NULL)),
          NULL)),
      ql_aml_return (ql_aml_int (0)),
      NULL));
}

/* QROM[Arg0 .. Arg0 + chunk) from the selected file, in a loop of its own. */
static QlAml *
method_read_chunk (void)
{
  return ql_aml_method ("QRCK", 1, TRUE, ql_aml_list (
      ql_aml_store (ql_aml_add (ql_aml_arg (0), ql_aml_int (ROM_READ_CHUNK)), ql_aml_local (0)),
      ql_aml_if (ql_aml_lgreater (ql_aml_local (0), ql_aml_name ("QSIZ")),
                 ql_aml_store (ql_aml_name ("QSIZ"), ql_aml_local (0))),
      ql_aml_store (ql_aml_arg (0), ql_aml_local (1)),
      ql_aml_while (ql_aml_lless (ql_aml_local (1), ql_aml_local (0)), ql_aml_list (
          ql_aml_store (ql_aml_name ("QDAT"), ql_aml_index (ql_aml_name ("QROM"), ql_aml_local (1))),
          ql_aml_increment (ql_aml_local (1)),
          NULL)),
      NULL));
}

/* Once: finds the file and reads it into QROM, chunk after chunk (as many
 * as the ROM had when the table was made).  Serialized, so a second caller
 * never sees half a ROM. */
static QlAml *
method_init (gsize rom_size)
{
  QlAml *chunks = g_byte_array_new ();

  for (gsize at = 0; at < rom_size; at += ROM_READ_CHUNK)
    {
      QlAml *call = ql_aml_call ("QRCK", ql_aml_int (at), NULL);
      g_byte_array_append (chunks, call->data, call->len);
      g_byte_array_unref (call);
    }
  return ql_aml_method ("QRIN", 0, TRUE, ql_aml_list (
      ql_aml_if (ql_aml_name ("QRDN"), ql_aml_return (ql_aml_int (0))),
      ql_aml_store (ql_aml_int (1), ql_aml_name ("QRDN")),
      ql_aml_if (ql_aml_lnot (ql_aml_cond_ref_of (ql_aml_name ("\\_SB.PCI0.FWCF"))), ql_aml_return (ql_aml_int (0))),
      ql_aml_if (ql_aml_lnot (ql_aml_call ("QRFN", NULL, NULL)), ql_aml_return (ql_aml_int (0))),
      ql_aml_store (ql_aml_name ("QSLT"), ql_aml_name ("QSEL")),
      ql_aml_copy_object (ql_aml_buffer (ql_aml_name ("QSIZ"), NULL, 0), ql_aml_name ("QROM")),
      chunks,
      ql_aml_return (ql_aml_int (1)),
      NULL));
}

/* _ROM(offset, length): at most 4 KiB of the ROM from offset; past its end, zeros. */
static QlAml *
method_rom (void)
{
  return ql_aml_method ("_ROM", 2, TRUE, ql_aml_list (
      ql_aml_call ("QRIN", NULL, NULL),
      ql_aml_store (ql_aml_arg (1), ql_aml_local (0)),
      ql_aml_if (ql_aml_lgreater (ql_aml_local (0), ql_aml_int (ACPI_ROM_MAX_CHUNK)),
                 ql_aml_store (ql_aml_int (ACPI_ROM_MAX_CHUNK), ql_aml_local (0))),
      ql_aml_if (ql_aml_lless (ql_aml_arg (0), ql_aml_sizeof (ql_aml_name ("QROM"))),
                 ql_aml_return (ql_aml_mid (ql_aml_name ("QROM"), ql_aml_arg (0), ql_aml_local (0)))),
      ql_aml_return (ql_aml_buffer (ql_aml_local (0), NULL, 0)),
      NULL));
}

static QlAml *
rom_device (const QlSsdtRom *rom)
{
  guint8 name[FW_CFG_NAME_SIZE] = { 0 };
  guint8 placeholder = 0;
  QlAml *body;

  g_assert (strlen (rom->fw_cfg_name) < FW_CFG_NAME_SIZE);
  memcpy (name, rom->fw_cfg_name, strlen (rom->fw_cfg_name));
  body = ql_aml_list (
      rom->define_device ? ql_aml_name_decl ("_ADR", ql_aml_int (0)) : g_byte_array_new (),
      ql_aml_operation_region_io ("QFWP", FW_CFG_PORT_SELECTOR, 2),
      ql_aml_field ("QFWP", QL_AML_ACCESS_WORD, 0, "QSEL", 16),
      ql_aml_field ("QFWP", QL_AML_ACCESS_BYTE, 8, "QDAT", 8),
      /* compared with the directory entry's NUL-padded name as it is */
      ql_aml_name_decl ("QRNM", ql_aml_buffer (ql_aml_int (FW_CFG_NAME_SIZE), name, sizeof name)),
      ql_aml_name_decl ("QRDN", ql_aml_int (0)),
      ql_aml_name_decl ("QSLT", ql_aml_int (0)),
      ql_aml_name_decl ("QSIZ", ql_aml_int (0)),
      ql_aml_name_decl ("QROM", ql_aml_buffer (ql_aml_int (1), &placeholder, 1)),
      method_read_be (),
      method_read_buffer (),
      method_find (),
      method_read_chunk (),
      method_init (rom->rom_size),
      method_rom (),
      NULL);
  if (rom->define_device)
    {
      g_autofree char *port = g_strndup (rom->acpi_path, strrchr (rom->acpi_path, '.') - rom->acpi_path);
      return ql_aml_list (ql_aml_external_device (port), ql_aml_device (rom->acpi_path, body), NULL);
    }
  return ql_aml_list (ql_aml_external_device (rom->acpi_path), ql_aml_scope (rom->acpi_path, body), NULL);
}

/* A full battery on AC power: what a laptop driver that checks for one finds. */
static QlAml *
battery (void)
{
  const guint capacity_mwh = 50000, voltage_mv = 12000;

  return ql_aml_list (ql_aml_external_device ("\\_SB.PCI0.SF8"), ql_aml_scope ("\\_SB.PCI0.SF8", ql_aml_list (
      ql_aml_device ("BAT0", ql_aml_list (
          ql_aml_name_decl ("_HID", ql_aml_eisaid ("PNP0C0A")),
          ql_aml_name_decl ("_UID", ql_aml_int (1)),
          ql_aml_method ("_STA", 0, FALSE, ql_aml_return (ql_aml_int (0x1F))),
          ql_aml_method ("_BIF", 0, FALSE, ql_aml_return (ql_aml_package (
              ql_aml_int (0),                    /* power unit: mW/mWh */
              ql_aml_int (capacity_mwh),         /* design capacity */
              ql_aml_int (capacity_mwh),         /* last full charge */
              ql_aml_int (1),                    /* rechargeable */
              ql_aml_int (voltage_mv),
              ql_aml_int (capacity_mwh / 10),    /* warning */
              ql_aml_int (capacity_mwh / 20),    /* low */
              ql_aml_int (1), ql_aml_int (1),    /* granularity */
              ql_aml_string ("qlaunch battery"), ql_aml_string ("1"), ql_aml_string ("LION"),
              ql_aml_string ("qlaunch"),
              NULL))),
          ql_aml_method ("_BST", 0, FALSE, ql_aml_return (ql_aml_package (
              ql_aml_int (0),                    /* neither charging nor discharging: full */
              ql_aml_int (0),                    /* rate */
              ql_aml_int (capacity_mwh),         /* remaining */
              ql_aml_int (voltage_mv),
              NULL))),
          NULL)),
      ql_aml_device ("AC0", ql_aml_list (
          ql_aml_name_decl ("_HID", ql_aml_string ("ACPI0003")),
          ql_aml_name_decl ("_PCL", ql_aml_package (ql_aml_name ("\\_SB"), NULL)),
          ql_aml_method ("_STA", 0, FALSE, ql_aml_return (ql_aml_int (0x0F))),
          ql_aml_method ("_PSR", 0, FALSE, ql_aml_return (ql_aml_int (1))),
          NULL)),
      NULL)), NULL);
}

GBytes *
ql_ssdt_build (const QlSsdtRom *roms, guint n_roms, gboolean fake_battery)
{
  QlAml *body;

  if (n_roms == 0 && !fake_battery)
    return NULL;
  body = g_byte_array_new ();
  for (guint i = 0; i < n_roms; i++)
    {
      QlAml *dev = rom_device (&roms[i]);
      g_byte_array_append (body, dev->data, dev->len);
      g_byte_array_unref (dev);
    }
  if (fake_battery)
    {
      QlAml *bat = battery ();
      g_byte_array_append (body, bat->data, bat->len);
      g_byte_array_unref (bat);
    }
  return ql_aml_table ("SSDT", 1, QL_SSDT_OEM_ID, QL_SSDT_TABLE_ID, 1, body);
}

static gsize
rom_file_size (const char *path)
{
  GStatBuf st;

  return path != NULL && g_stat (path, &st) == 0 && st.st_size > 0 ? (gsize) st.st_size : 0;
}

GBytes *
ql_ssdt_for_machine (const QlMachine *m)
{
  g_autoptr(GArray) roms = g_array_new (FALSE, FALSE, sizeof (QlSsdtRom));

  if (m->ssdt == NULL)
    return NULL;
  for (guint i = 0; i < m->hostdevs->len; i++)
    {
      const QlMachineHostdev *h = m->hostdevs->pdata[i];
      QlSsdtRom rom = { h->acpi_path, h->rom_fw_cfg_name, h->acpi_define_device, rom_file_size (h->pci->rom) };
      if (h->rom_fw_cfg_name != NULL)
        g_array_append_val (roms, rom);
    }
  return ql_ssdt_build ((const QlSsdtRom *) roms->data, roms->len, m->profile->fake_battery);
}
