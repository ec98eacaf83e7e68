#pragma once

#include <glib.h>

/* A small AML (ACPI Machine Language, ACPI 6.4 §20) encoder: each function
 * returns the bytes of one term and takes ownership of the terms passed to
 * it, so a table reads like its ASL.  Only what qlaunch's tables use. */

typedef GByteArray QlAml;

/* Concatenates terms, NULL-terminated; consumes them. */
QlAml *ql_aml_list (QlAml *first, ...) G_GNUC_NULL_TERMINATED;

/* Names: "\\_SB.PCI0.SE0" or a relative "QSEL"; segments shorter than 4
 * characters are padded with '_'. */
QlAml *ql_aml_name (const char *path);
QlAml *ql_aml_int (guint64 value);
QlAml *ql_aml_string (const char *text);
QlAml *ql_aml_eisaid (const char *id);
QlAml *ql_aml_local (guint n);
QlAml *ql_aml_arg (guint n);
/* A Buffer of size bytes (a term: a constant or a Local), initialised from data (may be NULL). */
QlAml *ql_aml_buffer (QlAml *size, const guint8 *data, gsize len);
QlAml *ql_aml_package (QlAml *first, ...) G_GNUC_NULL_TERMINATED;

QlAml *ql_aml_scope (const char *path, QlAml *body);
QlAml *ql_aml_device (const char *path, QlAml *body);
QlAml *ql_aml_method (const char *name, guint args, gboolean serialized, QlAml *body);
QlAml *ql_aml_name_decl (const char *name, QlAml *value);
QlAml *ql_aml_operation_region_io (const char *name, guint16 port, guint8 length);

typedef enum { QL_AML_ACCESS_BYTE = 1, QL_AML_ACCESS_WORD = 2 } QlAmlAccess;
/* A field of one unit at bit offset offset_bits in region. */
QlAml *ql_aml_field (const char *region, QlAmlAccess access, guint offset_bits, const char *name, guint bits);

QlAml *ql_aml_if (QlAml *predicate, QlAml *body);
QlAml *ql_aml_else (QlAml *body);
QlAml *ql_aml_while (QlAml *predicate, QlAml *body);
QlAml *ql_aml_return (QlAml *value);
QlAml *ql_aml_store (QlAml *value, QlAml *target);
QlAml *ql_aml_copy_object (QlAml *value, QlAml *target);
QlAml *ql_aml_increment (QlAml *target);
QlAml *ql_aml_shift_left (QlAml *value, QlAml *count);
QlAml *ql_aml_or (QlAml *a, QlAml *b);
QlAml *ql_aml_add (QlAml *a, QlAml *b);
QlAml *ql_aml_subtract (QlAml *a, QlAml *b);
/* Index(object, index) as a reference, the target of a Store. */
QlAml *ql_aml_index (QlAml *object, QlAml *index);
QlAml *ql_aml_sizeof (QlAml *object);
QlAml *ql_aml_mid (QlAml *object, QlAml *index, QlAml *length);
QlAml *ql_aml_lnot (QlAml *a);
QlAml *ql_aml_lequal (QlAml *a, QlAml *b);
QlAml *ql_aml_lless (QlAml *a, QlAml *b);
QlAml *ql_aml_lgreater (QlAml *a, QlAml *b);
QlAml *ql_aml_cond_ref_of (QlAml *name);
/* External (path, DeviceObj), inside If (Zero) as iasl emits it: an
 * interpreter that predates ExternalOp skips it, a disassembler sees it. */
QlAml *ql_aml_external_device (const char *path);
/* A call of a method defined in the table: the name, then its arguments. */
QlAml *ql_aml_call (const char *name, QlAml *first_arg, ...) G_GNUC_NULL_TERMINATED;

/* A complete table: the 36-byte header with the checksum, then body. */
GBytes *ql_aml_table (const char signature[4], guint8 revision, const char *oem_id, const char *oem_table_id,
                      guint32 oem_revision, QlAml *body);
