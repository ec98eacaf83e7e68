#pragma once

#include <json-glib/json-glib.h>

/* What one QEMU binary can do, asked of the binary itself over QMP (never
 * guessed from its version number where QMP can tell), as plain data: the
 * machine model and the argv take it as input, the host layer probes and
 * caches it (ql-qemu-probe.h), and tests build it by hand. */

typedef struct {
  char *name;                /* "pc-q35-7.2" */
  char *alias;               /* "q35" for the newest q35, else NULL */
  gboolean is_default;
  gboolean deprecated;
} QlQemuMachineType;

typedef struct {
  guint version;             /* major * 100 + minor, from query-version */
  guint micro;
  GPtrArray *machine_types;  /* QlQemuMachineType*, as query-machines lists them */
  GStrv machine_props;       /* the pc machines' properties (qom-list-properties generic-pc-machine) */
  GStrv chardev_props;       /* -chardev's parameters */
  GStrv run_with_props;      /* -run-with's parameters; empty before 9.1 */
  GStrv vfio_pci_props;      /* device-list-properties vfio-pci; empty without vfio-pci */
  GStrv vfio_nohotplug_props;  /* ... vfio-pci-nohotplug, which has ramfb (mdev displays) */
} QlQemuCaps;

void ql_qemu_caps_free (QlQemuCaps *caps);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlQemuCaps, ql_qemu_caps_free)

/* An empty set for version (major * 100 + minor): no machine types, no
 * properties; tests and the QMP parser fill it in. */
QlQemuCaps *ql_qemu_caps_new (guint version);
void ql_qemu_caps_add_machine_type (QlQemuCaps *caps, const char *name, const char *alias, gboolean is_default,
                                    gboolean deprecated);

const QlQemuMachineType *ql_qemu_caps_find_machine_type (const QlQemuCaps *caps, const char *name);
/* The versioned type an alias ("q35") stands for in this QEMU, or NULL. */
const char *ql_qemu_caps_resolve_alias (const QlQemuCaps *caps, const char *alias);
/* "pc-q35-7.2, pc-q35-7.1, ..." the versioned q35 types, newest first; NULL: none. */
char *ql_qemu_caps_q35_types (const QlQemuCaps *caps);

gboolean ql_qemu_caps_has_machine_prop (const QlQemuCaps *caps, const char *prop);
gboolean ql_qemu_caps_has_chardev_prop (const QlQemuCaps *caps, const char *prop);
gboolean ql_qemu_caps_has_vfio_pci_prop (const QlQemuCaps *caps, const char *prop);
gboolean ql_qemu_caps_has_vfio_nohotplug_prop (const QlQemuCaps *caps, const char *prop);
/* -run-with user= (QEMU 9.1); -runas is gone in 10.0. */
gboolean ql_qemu_caps_has_run_with_user (const QlQemuCaps *caps);
/* Whether QEMU's DSDT describes the devices behind a cold-plugged root port
 * (S00 under SE0) also without ACPI bridge hotplug: QEMU 8.0 and later
 * (commit 0e84fd3b98fe, reference/spec.md 2.4).  That is ACPI table
 * content, which no QMP command shows, so this one is read from the version
 * query-version reports. */
gboolean ql_qemu_caps_describes_bridge_slots (const QlQemuCaps *caps);

/* The caps from the QMP replies (the "return" members) of query-version,
 * query-machines, query-command-line-options, qom-list-properties of
 * generic-pc-machine, and device-list-properties of vfio-pci and
 * vfio-pci-nohotplug (each of the last three NULL: QEMU does not have it). */
QlQemuCaps *ql_qemu_caps_from_qmp (JsonNode *version, JsonNode *machines, JsonNode *cmdline_options,
                                   JsonNode *pc_machine, JsonNode *vfio_pci, JsonNode *vfio_nohotplug,
                                   GError **error);

/* As JSON for the cache, and back; what is read back is checked member by
 * member (a file is not trusted). */
JsonNode *ql_qemu_caps_to_json (const QlQemuCaps *caps);
QlQemuCaps *ql_qemu_caps_from_json (JsonNode *node, GError **error);
