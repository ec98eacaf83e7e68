#pragma once

#include <glib.h>
#include "ql-machine.h"

/* The machine as a libvirt domain XML (libvirt 9: what 'virsh define'
 * takes): every device with its libvirt element, and what libvirt has no
 * element for (vfio-pci's x-pci-*-id and x-vga, -acpitable, the profile's
 * [qemu] args) in the qemu: namespace.  Each section keeps its profile name
 * as a user alias (ua-disk-NAME, ua-pci-NAME, …), and the profile keys
 * libvirt has no place for go to <metadata>, so that 'qlaunch import
 * libvirt' gives the same profile back.  What cannot be expressed at all is
 * added to warnings (char*).  Pure: no I/O. */
char *ql_libvirt_export (const QlMachine *machine, GPtrArray *warnings);
