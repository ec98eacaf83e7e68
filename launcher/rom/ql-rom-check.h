#pragma once

#include <glib.h>
#include "ql-machine.h"
#include "ql-rom.h"

/* At start, before anything on the host changes: every [pci] rom= is
 * readable, holds a valid image chain and is for the device the guest sees
 * (vendor=/device= when set, else the host device's).  Errors name the
 * profile line.  Warnings (a bad legacy checksum, no UEFI image with
 * firmware=uefi) go to ret_notes. */
gboolean ql_rom_check_for_machine (const QlMachine *machine, GPtrArray *ret_notes, GError **error);

/* The same for one device with rom=; *ret_rom is the parsed ROM whenever
 * it parsed, also when it turns out to be another device's. */
gboolean ql_rom_check_hostdev (const QlMachine *machine, const QlMachineHostdev *hostdev, QlRom **ret_rom,
                               GPtrArray *ret_notes, GError **error);
