#pragma once

#include <glib.h>
#include "ql-cpu-topology.h"
#include "ql-pci-host.h"

/* What the machine model needs to know about the host, gathered in one
 * place so that the model and the argv stay pure functions of
 * (profile, host facts, paths). */
typedef struct {
  gboolean kvm_usable;
  char *kvm_reason;          /* why KVM is not usable, when it is not */
  char *qemu_binary;         /* absolute path, or NULL when not found */
  GPtrArray *firmware;       /* QlFirmwareDescriptor*, ranked */
  char *hugetlbfs_2m;        /* mount points, NULL when none */
  char *hugetlbfs_1g;
  QlPciHost *pci;            /* only looked at when the profile passes devices through */
  char *pci_error;           /* why pci is NULL then */
  QlCpuTopology *cpus;       /* only looked at when the profile pins threads */
  char *cpus_error;          /* why cpus is NULL then */
  guint qemu_version;        /* major * 100 + minor; 0: not asked (only for rom-acpi with pci-hotplug=native) */
} QlHostFacts;

/* QEMU's version from 'BINARY -version', as major * 100 + minor; 0 when it cannot be read. */
guint ql_host_qemu_version (const char *binary);

/* "QEMU emulator version 7.2.22 (Debian ...)" -> 702 */
guint ql_host_parse_qemu_version (const char *text);

void ql_host_facts_free (QlHostFacts *facts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlHostFacts, ql_host_facts_free)

/* binary: the profile's [qemu] binary, or NULL for qemu-system-x86_64 from PATH. */
QlHostFacts *ql_host_facts_probe (const char *binary);

/* KVM needs /dev/kvm and hardware virtualisation: a /dev/kvm on a CPU
 * without vmx/svm (a paravirtual KVM such as PVM) cannot run an unmodified
 * guest.  cpuinfo is the text of /proc/cpuinfo. */
gboolean ql_host_kvm_usable (gboolean dev_kvm_ok, const char *dev_kvm_error, const char *cpuinfo,
                             char **ret_reason);

/* Mount point of hugetlbfs for a page size in KiB (2048, 1048576) from the
 * text of /proc/mounts, or NULL.  A mount without pagesize= uses the default
 * size, which is given as default_kib. */
char *ql_host_find_hugetlbfs (const char *mounts, guint64 page_kib, guint64 default_kib);
