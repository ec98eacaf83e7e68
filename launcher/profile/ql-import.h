#pragma once

#include <glib.h>

/* A profile being written by an importer (libvirt domain XML, Proxmox
 * VMID.conf): the keys of qlaunch's own vocabulary, the QEMU options that
 * have none (kept in [qemu] args), and every warning, each naming the
 * foreign element or key and its line.  Pure: the importers get the text,
 * the caller writes the result. */

typedef struct _QlImport QlImport;

/* source: the file imported, as messages name it ("-" for stdin is fine). */
QlImport *ql_import_new (const char *source);
void ql_import_free (QlImport *import);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlImport, ql_import_free)

const char *ql_import_source (const QlImport *import);

/* Sets [group] key = value (replacing an earlier value). */
void ql_import_set (QlImport *import, const char *group, const char *key, const char *value);
void ql_import_setf (QlImport *import, const char *group, const char *key, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);
void ql_import_set_bool (QlImport *import, const char *group, const char *key, gboolean value);
/* Appends one item to a ';'-separated list key ([acpi] table). */
void ql_import_append (QlImport *import, const char *group, const char *key, const char *item);
/* The value set so far, or NULL. */
char *ql_import_get (const QlImport *import, const char *group, const char *key);
gboolean ql_import_has_group (const QlImport *import, const char *group);
gboolean ql_import_has_key (const QlImport *import, const char *group, const char *key);
/* A comment written above the key (or above the group when key is NULL). */
void ql_import_comment (QlImport *import, const char *group, const char *key, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);

/* "SOURCE:LINE: message", listed at the end and in the profile's header;
 * line 0 names no line. */
void ql_import_warn (QlImport *import, guint line, const char *fmt, ...) G_GNUC_PRINTF (3, 4);
/* The same, for what was understood but is done differently by qlaunch. */
void ql_import_note (QlImport *import, guint line, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

/* QEMU arguments with no profile key: appended to [qemu] args, with a
 * warning "SOURCE:LINE: what: kept in [qemu] args as ARGS". */
void ql_import_keep_args (QlImport *import, guint line, const char *what, const char *const *args);

/* A [pci] with x-vga=true is the guest's VGA, and qlaunch refuses a
 * second one: an emulated [display] vga= other than none becomes none,
 * with a warning.  Importers call it last. */
void ql_import_resolve_x_vga (QlImport *import);

/* "SOURCE:LINE: …" lines, in the order found. */
const GPtrArray *ql_import_warnings (const QlImport *import);
const GPtrArray *ql_import_notes (const QlImport *import);

/* The profile text: a header naming the source and every warning, then the
 * sections in the order they were first set, [qemu] last. */
char *ql_import_to_data (QlImport *import, const char *kind);

/* A section name made of what a profile accepts ([a-zA-Z0-9_-]), from a
 * foreign name ("vda", "hostpci0", "ua-disk-system" less its prefix). */
char *ql_import_section_id (const char *name);

/* A decimal or 0x-hex number in [min, max] (ql_value_parse_uint without its message). */
gboolean ql_import_parse_uint (const char *text, guint64 min, guint64 max, guint64 *ret_value);

/* Host CPUs "0-3,^2,8" (libvirt cpuset) or "0-3,8": the listed CPUs in
 * ascending order; NULL when it is not such a set. */
GArray *ql_import_parse_cpuset (const char *text);
