#pragma once

#include <glib.h>

/* Synthetic vBIOS fixtures, made byte by byte from the PCI Firmware spec
 * and the NVIDIA markers (reference/spec.md §1): no real vBIOS is shipped. */

#define ROM_FIXTURE_VENDOR 0x10de
#define ROM_FIXTURE_DEVICE 0x1c20
#define ROM_FIXTURE_IMAGE_SIZE 4096
#define ROM_FIXTURE_PCIR 0x60             /* of the x86 image; its entry jumps to a retf at 0x50 */
#define ROM_FIXTURE_NPDE_AFTER_NPDS 0xC0  /* the x86 image's second NPDE */
#define ROM_FIXTURE_HEADER_SIZE 0x400     /* the flash tool's header in the dump */
#define ROM_FIXTURE_TAIL_SIZE 300         /* after the footer markers */

/* An x86 image (checksummed, "VIDEO" at 0x0E, NPDE/NPDS markers, an init
 * entry that returns at once, so SeaBIOS can run it) and an X64 EFI image,
 * last: 8 KiB, NVIDIA 10de:1c20, class 030000. */
GBytes *rom_fixture_rom (void);
/* The ROM as a flash tool dumps it: a header before, and a
 * "VN"…"NPDS"…"NPDE" footer and a tail after. */
GBytes *rom_fixture_flash_dump (void);
/* A regedit export (UTF-16LE, BOM, CRLF, 80-column hex: values with ",\"
 * continuations) of a Session key holding the ROM among other values. */
GBytes *rom_fixture_reg_export (GBytes *rom);

/* Writes rom.bin, flash-dump.bin and session.reg into dir. */
gboolean rom_fixture_write_all (const char *dir, GError **error);
