#pragma once

#include <glib.h>
#include "ql-check.h"
#include "ql-enums.h"

/* The host side of qlaunch check: what a passthrough VM needs from the
 * host before any profile is read, as host/ql-check-read.c found it. */

typedef enum {
  QL_CPU_VENDOR_OTHER,
  QL_CPU_VENDOR_INTEL,
  QL_CPU_VENDOR_AMD,
} QlCpuVendor;

typedef enum {
  QL_TRISTATE_UNKNOWN = -1,
  QL_TRISTATE_NO = 0,
  QL_TRISTATE_YES = 1,
} QlTristate;

typedef struct {
  QlBootConfig boot;
  QlCpuVendor cpu_vendor;
  gboolean kvm_usable;
  char *kvm_reason;            /* as 'start' says it */
  gboolean has_profile;        /* checking a profile: accel is its [vm] accel */
  QlAccel accel;
  char *cmdline;               /* /proc/cmdline */
  gboolean acpi_dmar, acpi_ivrs;   /* SYSFS/firmware/acpi/tables */
  guint iommu_units;           /* SYSFS/class/iommu entries */
  guint iommu_groups;          /* SYSFS/kernel/iommu_groups entries */
  QlTristate intremap_hw;      /* Intel ecap IR bit of every DMAR unit; UNKNOWN: not shown */
  gboolean intremap_in_use;    /* /proc/interrupts has IR- interrupt chips */
  QlTristate unsafe_interrupts;    /* vfio_iommu_type1 allow_unsafe_interrupts; UNKNOWN: not loaded */
  QlTristate vfio_pci_loaded;  /* YES loaded or built in, NO not; */
  QlTristate vfio_pci_present; /* in modules.dep / modules.builtin; UNKNOWN: they cannot be read */
  char *kernel_release;
  char *qemu_binary;           /* NULL: not found */
  guint qemu_version;          /* major * 100 + minor; 0: unreadable */
  guint firmware_descriptors;
} QlCheckHostFacts;

void ql_check_host_facts_free (QlCheckHostFacts *facts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlCheckHostFacts, ql_check_host_facts_free)

/* Appends the host's findings: kvm, iommu, kernel-cmdline, interrupt-remapping, vfio, qemu, firmware. */
void ql_check_host (const QlCheckHostFacts *facts, GPtrArray *findings);

/* Whether the command line has param (a whole word, "iommu=pt"). */
gboolean ql_check_cmdline_has (const char *cmdline, const char *param);
