#pragma once

#include <glib.h>
#include "ql-host-facts.h"

/* QEMU's version from 'BINARY -version', as major * 100 + minor; 0 when it cannot be read. */
guint ql_host_qemu_version (const char *binary);

/* "QEMU emulator version 7.2.22 (Debian ...)" -> 702 */
guint ql_host_parse_qemu_version (const char *text);

/* Whether only root can have put or changed the program at path: it and
 * every directory above it (links resolved) are root's and writable by no
 * one else.  FALSE with the reason in *ret_why (free it) otherwise. */
gboolean ql_host_program_root_only (const char *path, char **ret_why);

/* KVM, QEMU, firmware and hugetlbfs as PROCFS and DEVFS show them (PCI and
 * CPUs are the caller's, when the profile needs them).  binary: the
 * profile's [qemu] binary, or NULL for $QLAUNCH_QEMU, else qemu-system-x86_64 from PATH. */
QlHostFacts *ql_host_facts_probe (const char *procfs, const char *devfs, const char *binary);

/* KVM needs /dev/kvm and hardware virtualisation: a /dev/kvm on a CPU
 * without vmx/svm (a paravirtual KVM such as PVM) cannot run an unmodified
 * guest.  cpuinfo is the text of /proc/cpuinfo. */
gboolean ql_host_kvm_usable (gboolean dev_kvm_ok, const char *dev_kvm_error, const char *cpuinfo,
                             char **ret_reason);

/* Mount point of hugetlbfs for a page size in KiB (2048, 1048576) from the
 * text of /proc/mounts, or NULL.  A mount without pagesize= uses the default
 * size, which is given as default_kib. */
char *ql_host_find_hugetlbfs (const char *mounts, guint64 page_kib, guint64 default_kib);
