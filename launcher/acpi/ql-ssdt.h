#pragma once

#include <glib.h>
#include "ql-machine.h"

/* qlaunch's SSDT: the _ROM method laptop GPU drivers read their vBIOS with,
 * fed from a fw_cfg file, and a battery for drivers that want one.  Pure:
 * the table is a function of the machine. */

typedef struct {
  const char *acpi_path;      /* \_SB.PCI0.SE0.S00 */
  const char *fw_cfg_name;    /* the fw_cfg file that holds the ROM */
  gboolean define_device;     /* QEMU does not describe the device: Device() instead of Scope() */
  gsize rom_size;             /* of the ROM file: how many chunks the table reads */
} QlSsdtRom;

#define QL_SSDT_OEM_ID "QLNCH"
#define QL_SSDT_TABLE_ID "QLSSDT"

/* roms may be empty; NULL when there is nothing to put in a table. */
GBytes *ql_ssdt_build (const QlSsdtRom *roms, guint n_roms, gboolean fake_battery);

/* The table for machine->ssdt, or NULL when the machine has none. */
GBytes *ql_ssdt_for_machine (const QlMachine *machine);
