#pragma once

#include <glib.h>
#include "ql-check-files.h"
#include "ql-check-host.h"
#include "ql-machine.h"
#include "ql-pci-host.h"

/* What qlaunch check looks at on the host, read from the sysfs, procfs,
 * devfs, /etc and modules roots (tests point them at fake trees).  Reads only. */

typedef struct {
  const char *sysfs, *procfs, *devfs, *etc, *modules;
} QlCheckRoots;

/* The host's facts; qemu_binary: the profile's [qemu] binary, NULL: from PATH. */
QlCheckHostFacts *ql_check_host_read (const QlCheckRoots *roots, const char *qemu_binary);

/* Fills boot from ETC/os-release, ETC/default/grub, ETC/kernel/cmdline and the initramfs tool. */
void ql_check_read_boot (const char *etc, QlBootConfig *boot);

/* Whether SYSFS/module/vendor_reset exists. */
gboolean ql_check_vendor_reset_loaded (const char *sysfs);

/* address -> reset_method of each device (QlPciDevice*) that shows one. */
GHashTable *ql_check_read_reset_methods (const char *sysfs, GPtrArray *devices);

/* Who QEMU runs as, as start decides it for this process (a user's start:
 * the user, with all its groups; root's: run-as, the sudo user or
 * qlaunch's system user, with the groups start keeps), and the owner, mode
 * and ACL of each file the machine opens and every directory above it. */
QlCheckFileFacts *ql_check_read_files (const QlMachine *machine, const char *devfs);
