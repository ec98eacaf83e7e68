#pragma once

/* Shared by the two halves of the libvirt importer (the domain, its
 * <devices>); not for other files. */

#include <glib.h>
#include <libxml/tree.h>
#include "ql-import.h"

#define QL_LIBVIRT_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

typedef struct {
  QlImport *import;
  GHashTable *devices;     /* alias → QlImportDevice*: what -set and <qemu:override> name */
  GPtrArray *mdev_ids;     /* aliases of the mdev hostdevs, in order */
  GHashTable *ports;       /* controller index (as text) → "SS.F" of a pcie-root-port on bus 0 */
  GHashTable *ports_without_hotplug;  /* controller indices with <target hotplug='off'> */
  GHashTable *ids;         /* section ids taken, per kind: "disk vda" */
  guint hostdevs;          /* libvirt's alias counter: hostdev0, hostdev1, … */
  guint vcpus;
  guint nets;              /* <interface> elements seen */
  gboolean noted_addresses;
  gboolean noted_controllers;
} LvCtx;

/* An attribute, NULL when absent. */
char *lv_prop (xmlNode *node, const char *name);
/* The element's text, stripped; NULL when empty. */
char *lv_text (xmlNode *node);
/* The first child element of that name (libvirt's namespace, not qemu:). */
xmlNode *lv_child (xmlNode *node, const char *name);
gboolean lv_is (xmlNode *node, const char *name);
guint lv_line (xmlNode *node);
/* The attribute is "on"/"yes". */
gboolean lv_prop_on (xmlNode *node, const char *name);
/* "<name>", "<name type='x'>" for warnings. */
char *lv_describe (xmlNode *node);
void lv_not_imported (LvCtx *ctx, xmlNode *node, const char *why);

/* A section id not taken yet for kind: base, base-2, … */
char *lv_section_id (LvCtx *ctx, const char *kind, const char *base);
/* The user alias ("ua-NAME"), less "ua-" and less "KIND-" when it starts so. */
char *lv_alias_id (xmlNode *node, const char *kind);
char *lv_alias (xmlNode *node);

void lv_import_devices (LvCtx *ctx, xmlNode *devices);
