#pragma once

#include <glib.h>
#include "ql-machine.h"

/* At start, before anything on the host changes: every [pci] rom= is
 * readable, holds a valid image chain and is for the device the guest sees
 * (vendor=/device= when set, else the host device's).  Errors name the
 * profile line.  Warnings (a bad legacy checksum, no UEFI image with
 * firmware=uefi) go to ret_notes. */
gboolean ql_rom_check_for_machine (const QlMachine *machine, GPtrArray *ret_notes, GError **error);
