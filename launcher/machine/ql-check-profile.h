#pragma once

#include <glib.h>
#include "ql-check.h"
#include "ql-check-files.h"
#include "ql-hugepage-pool.h"
#include "ql-machine.h"
#include "ql-mdev-plan.h"
#include "ql-pci-host.h"

/* The profile side of qlaunch check: what 'start' would refuse for this
 * VM, and the host preparation it cannot see, from what
 * host/ql-check-read.c and the planners found. */

typedef struct {
  const QlBootConfig *boot;
  const char *profile_path;
  const QlMachine *machine;        /* NULL: the profile or the machine was refused (machine_error) */
  const char *machine_error;
  const QlQemuCaps *qemu_caps;     /* the QEMU the VM would start with; NULL: not asked */
  const char *pinned_machine;      /* the machine type pinned in the state dir; NULL: none yet */
  const QlPciHost *pci;            /* with holders; NULL without [pci] sections or when unreadable */
  const char *pci_error;
  GHashTable *driver_modules;      /* PCI driver -> module, for softdep lines */
  const char *plan_error;          /* the host plan's refusal ("[pci gpu]: ..." lines among others); NULL: it builds */
  guint plan_steps;
  const char *rom_error;           /* ql_rom_check_for_machine ()'s refusal */
  GPtrArray *rom_notes;            /* char*, its warnings */
  const QlCheckFileFacts *files;   /* NULL: not read */
  const QlHugepagePool *hugepages; /* of the profile's page size; NULL without hugepages */
  const char *hugepages_error;
  const QlCpuTopology *cpus;       /* online CPUs; NULL when nothing is pinned */
  gboolean as_root;
  const char *user;
  guint64 memlock;                 /* RLIMIT_MEMLOCK (G_MAXUINT64: unlimited) */
  const QlMdevHost *mdev;          /* the [mdev] parents' types; NULL without [mdev] */
  gboolean vendor_reset_loaded;
  GHashTable *reset_methods;       /* address -> SYSFS reset_method text; absent: not shown */
} QlCheckProfileFacts;

/* Appends the profile's findings: profile, one per [pci] device (found,
 * group viable, driver, holders), one per [mdev] (its type offered, with a
 * free instance), rom, files, hugepages, memlock, cpu-pin,
 * acpi, machine-type, host-plan (what start's plan refuses besides). */
void ql_check_profile (const QlCheckProfileFacts *facts, GPtrArray *findings);

/* "mdev NAME" findings (ql-check-mdev.c). */
void ql_check_mdevs (const QlProfile *profile, const QlMdevHost *host, GPtrArray *findings);

/* The name of an AMD GPU that needs vendor-reset to come back after a guest
 * ("Vega 10"), or NULL. */
const char *ql_check_reset_bug_name (guint16 vendor, guint16 device);

/* A finding per device in devices (QlPciDevice*) that needs vendor-reset. */
void ql_check_reset_bug (GPtrArray *devices, gboolean vendor_reset_loaded, GHashTable *reset_methods,
                         const QlBootConfig *boot, GPtrArray *findings);
