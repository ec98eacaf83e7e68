#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

/* PCI expansion ROM images (PCI Firmware spec 3.0, §5.1): the chain of
 * images a device's ROM BAR or a romfile holds.  Pure: works on bytes in
 * memory and never reads past them. */

#define QL_ROM_CODE_X86 0x00
#define QL_ROM_CODE_EFI 0x03

typedef struct {
  gsize offset;             /* of the image in the data */
  gsize length;             /* bytes, from the PCIR image length */
  gsize pcir_offset;        /* from the image start */
  guint16 vendor, device;
  guint32 class_code;       /* base << 16 | sub << 8 | prog-if */
  guint8 code_type;
  guint8 pcir_revision;
  guint16 code_revision;
  gboolean last;
  /* code type 0 */
  gsize init_size;          /* bytes, header byte 2 × 512 */
  gboolean checksum_ok;     /* the 8-bit sum of init_size bytes is 0 */
  /* code type 3 */
  gboolean efi_signature_ok;
  guint16 efi_subsystem, efi_machine, efi_compression;
} QlRomImage;

typedef struct {
  GArray *images;           /* QlRomImage, chain order */
  gsize data_size;          /* what was parsed */
  gsize chain_size;         /* up to the end of the last image */
  GPtrArray *warnings;      /* char*, things that do not stop QEMU or a guest */
} QlRom;

void ql_rom_free (QlRom *rom);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlRom, ql_rom_free)

/* Walks the chain from offset 0 like the kernel's pci_get_rom_size(), with
 * every pointer bounds-checked: a bad signature, a PCIR outside the data, a
 * zero length, an image past the end or a chain without a last image is a
 * QL_ERROR_FAILED error naming the offset. */
QlRom *ql_rom_parse (const guint8 *data, gsize size, GError **error);

/* ql_rom_parse with errors that start "NAME: not a valid PCI option ROM". */
QlRom *ql_rom_parse_named (const guint8 *data, gsize size, const char *name, GError **error);

/* Reads and parses a file; errors name the file. */
QlRom *ql_rom_load (const char *path, GBytes **ret_bytes, GError **error);

/* An EFI image that OVMF on x86-64 can run (X64 or EBC). */
gboolean ql_rom_is_uefi_capable (const QlRom *rom);

const char *ql_rom_code_type_name (guint8 code_type);
const char *ql_rom_efi_machine_name (guint16 machine);

/* The ids a device's ROM is matched against: its first image's.  FALSE with
 * a message naming both when they differ. */
gboolean ql_rom_matches (const QlRom *rom, guint16 vendor, guint16 device, char **ret_why);

/* Several lines for a person, and the same as JSON. */
char *ql_rom_describe (const QlRom *rom);
JsonNode *ql_rom_to_json (const QlRom *rom);
