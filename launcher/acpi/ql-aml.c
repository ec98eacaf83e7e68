#include "ql-aml.h"

#include <stdarg.h>
#include <string.h>

/* opcodes, ACPI 6.4 §20.3 */
enum {
  OP_ZERO = 0x00, OP_ONE = 0x01, OP_NAME = 0x08, OP_BYTE = 0x0A, OP_WORD = 0x0B, OP_DWORD = 0x0C,
  OP_STRING = 0x0D, OP_QWORD = 0x0E, OP_SCOPE = 0x10, OP_BUFFER = 0x11, OP_PACKAGE = 0x12, OP_METHOD = 0x14,
  OP_EXTERNAL = 0x15, OP_DUAL_NAME = 0x2E, OP_MULTI_NAME = 0x2F, OP_EXT = 0x5B, OP_ROOT = 0x5C, OP_LOCAL0 = 0x60, OP_ARG0 = 0x68,
  OP_STORE = 0x70, OP_ADD = 0x72, OP_SUBTRACT = 0x74, OP_INCREMENT = 0x75, OP_SHIFT_LEFT = 0x79, OP_OR = 0x7D, OP_SIZEOF = 0x87,
  OP_INDEX = 0x88, OP_LNOT = 0x92, OP_LEQUAL = 0x93, OP_LGREATER = 0x94, OP_LLESS = 0x95, OP_COPY_OBJECT = 0x9D,
  OP_MID = 0x9E, OP_IF = 0xA0, OP_ELSE = 0xA1, OP_WHILE = 0xA2, OP_RETURN = 0xA4,
  EXT_COND_REF_OF = 0x12, EXT_OP_REGION = 0x80, EXT_FIELD = 0x81, EXT_DEVICE = 0x82,
};

static QlAml *
bytes (guint n, ...)
{
  QlAml *a = g_byte_array_new ();
  va_list ap;

  va_start (ap, n);
  for (guint i = 0; i < n; i++)
    {
      guint8 b = (guint8) va_arg (ap, int);
      g_byte_array_append (a, &b, 1);
    }
  va_end (ap);
  return a;
}

/* Appends src to dst and frees src. */
static QlAml *
take (QlAml *dst, QlAml *src)
{
  g_byte_array_append (dst, src->data, src->len);
  g_byte_array_unref (src);
  return dst;
}

static QlAml *
list_va (QlAml *first, va_list ap)
{
  QlAml *out = g_byte_array_new ();

  for (QlAml *t = first; t != NULL; t = va_arg (ap, QlAml *))
    take (out, t);
  return out;
}

QlAml *
ql_aml_list (QlAml *first, ...)
{
  va_list ap;
  QlAml *out;

  va_start (ap, first);
  out = list_va (first, ap);
  va_end (ap);
  return out;
}

/* PkgLength (§20.2.4) counts its own bytes. */
static void
append_pkg_length (QlAml *out, gsize content)
{
  guint8 enc[4];
  guint n;
  gsize total;

  if (content + 1 < 0x40)
    {
      enc[0] = (guint8) (content + 1);
      g_byte_array_append (out, enc, 1);
      return;
    }
  n = content + 2 < 0x1000 ? 2 : content + 3 < 0x100000 ? 3 : 4;
  total = content + n;
  g_assert (total < 0x10000000);
  enc[0] = (guint8) ((n - 1) << 6 | (total & 0x0F));
  for (guint i = 1; i < n; i++)
    enc[i] = (guint8) (total >> (4 + 8 * (i - 1)));
  g_byte_array_append (out, enc, n);
}

/* The bit counts of a FieldList use the PkgLength layout, without counting their own bytes. */
static void
append_field_length (QlAml *out, gsize bits)
{
  guint8 enc[4];
  guint n = bits < 0x40 ? 1 : bits < 0x1000 ? 2 : bits < 0x100000 ? 3 : 4;

  if (n == 1)
    enc[0] = (guint8) bits;
  else
    {
      enc[0] = (guint8) ((n - 1) << 6 | (bits & 0x0F));
      for (guint i = 1; i < n; i++)
        enc[i] = (guint8) (bits >> (4 + 8 * (i - 1)));
    }
  g_byte_array_append (out, enc, n);
}

/* op (1 or 2 bytes), PkgLength, content */
static QlAml *
package_op (const guint8 *op, guint oplen, QlAml *content)
{
  QlAml *out = g_byte_array_new ();

  g_byte_array_append (out, op, oplen);
  append_pkg_length (out, content->len);
  return take (out, content);
}

static void
append_seg (QlAml *out, const char *seg, gsize len)
{
  char s[4] = { '_', '_', '_', '_' };

  g_assert (len >= 1 && len <= 4);
  memcpy (s, seg, len);
  g_byte_array_append (out, (const guint8 *) s, 4);
}

QlAml *
ql_aml_name (const char *path)
{
  QlAml *out = g_byte_array_new ();
  g_auto(GStrv) segs = NULL;
  guint n;

  if (path[0] == '\\')
    {
      guint8 root = OP_ROOT;
      g_byte_array_append (out, &root, 1);
      path++;
    }
  segs = g_strsplit (path, ".", -1);
  n = g_strv_length (segs);
  if (n == 2)
    {
      guint8 op = OP_DUAL_NAME;
      g_byte_array_append (out, &op, 1);
    }
  else if (n > 2)
    {
      guint8 op[2] = { OP_MULTI_NAME, (guint8) n };
      g_byte_array_append (out, op, 2);
    }
  for (guint i = 0; i < n; i++)
    append_seg (out, segs[i], strlen (segs[i]));
  return out;
}

QlAml *
ql_aml_int (guint64 v)
{
  QlAml *out;
  guint width;
  guint8 op;

  if (v == 0)
    return bytes (1, OP_ZERO);
  if (v == 1)
    return bytes (1, OP_ONE);
  if (v <= 0xFF)
    op = OP_BYTE, width = 1;
  else if (v <= 0xFFFF)
    op = OP_WORD, width = 2;
  else if (v <= 0xFFFFFFFF)
    op = OP_DWORD, width = 4;
  else
    op = OP_QWORD, width = 8;
  out = bytes (1, op);
  for (guint i = 0; i < width; i++)
    {
      guint8 b = (guint8) (v >> (8 * i));
      g_byte_array_append (out, &b, 1);
    }
  return out;
}

QlAml *
ql_aml_string (const char *text)
{
  QlAml *out = bytes (1, OP_STRING);

  g_byte_array_append (out, (const guint8 *) text, strlen (text) + 1);
  return out;
}

/* "PNP0C0A": three letters in 5 bits each, then four hex digits, big-endian in a DWord. */
QlAml *
ql_aml_eisaid (const char *id)
{
  guint32 v;

  g_assert (strlen (id) == 7);
  v = (guint32) ((id[0] - 0x40) & 0x1F) << 26 | (guint32) ((id[1] - 0x40) & 0x1F) << 21 |
      (guint32) ((id[2] - 0x40) & 0x1F) << 16 | (guint32) g_ascii_xdigit_value (id[3]) << 12 |
      (guint32) g_ascii_xdigit_value (id[4]) << 8 | (guint32) g_ascii_xdigit_value (id[5]) << 4 |
      (guint32) g_ascii_xdigit_value (id[6]);
  return ql_aml_int (GUINT32_SWAP_LE_BE (v));
}

QlAml *
ql_aml_local (guint n)
{
  g_assert (n < 8);
  return bytes (1, OP_LOCAL0 + n);
}

QlAml *
ql_aml_arg (guint n)
{
  g_assert (n < 7);
  return bytes (1, OP_ARG0 + n);
}

QlAml *
ql_aml_buffer (QlAml *size, const guint8 *data, gsize len)
{
  static const guint8 op = OP_BUFFER;

  if (data != NULL)
    g_byte_array_append (size, data, len);
  return package_op (&op, 1, size);
}

QlAml *
ql_aml_package (QlAml *first, ...)
{
  static const guint8 op = OP_PACKAGE;
  QlAml *elements = g_byte_array_new ();
  guint8 count = 0;
  va_list ap;

  va_start (ap, first);
  for (QlAml *t = first; t != NULL; t = va_arg (ap, QlAml *))
    {
      take (elements, t);
      count++;
    }
  va_end (ap);
  g_byte_array_prepend (elements, &count, 1);
  return package_op (&op, 1, elements);
}

QlAml *
ql_aml_scope (const char *path, QlAml *body)
{
  static const guint8 op = OP_SCOPE;
  return package_op (&op, 1, ql_aml_list (ql_aml_name (path), body, NULL));
}

QlAml *
ql_aml_device (const char *path, QlAml *body)
{
  static const guint8 op[] = { OP_EXT, EXT_DEVICE };
  return package_op (op, 2, ql_aml_list (ql_aml_name (path), body, NULL));
}

QlAml *
ql_aml_method (const char *name, guint args, gboolean serialized, QlAml *body)
{
  static const guint8 op = OP_METHOD;
  g_assert (args < 8);
  return package_op (&op, 1, ql_aml_list (ql_aml_name (name), bytes (1, args | (serialized ? 0x08 : 0)), body, NULL));
}

QlAml *
ql_aml_name_decl (const char *name, QlAml *value)
{
  return ql_aml_list (bytes (1, OP_NAME), ql_aml_name (name), value, NULL);
}

QlAml *
ql_aml_operation_region_io (const char *name, guint16 port, guint8 length)
{
  return ql_aml_list (bytes (2, OP_EXT, EXT_OP_REGION), ql_aml_name (name), bytes (1, 0x01 /* SystemIO */),
                      ql_aml_int (port), ql_aml_int (length), NULL);
}

QlAml *
ql_aml_field (const char *region, QlAmlAccess access, guint offset_bits, const char *name, guint bits)
{
  static const guint8 op[] = { OP_EXT, EXT_FIELD };
  /* NoLock, Preserve */
  QlAml *content = ql_aml_list (ql_aml_name (region), bytes (1, access), NULL);

  if (offset_bits > 0)
    {
      guint8 reserved = 0x00;
      g_byte_array_append (content, &reserved, 1);
      append_field_length (content, offset_bits);
    }
  g_assert (strlen (name) == 4);
  g_byte_array_append (content, (const guint8 *) name, 4);
  append_field_length (content, bits);
  return package_op (op, 2, content);
}

QlAml *
ql_aml_if (QlAml *predicate, QlAml *body)
{
  static const guint8 op = OP_IF;
  return package_op (&op, 1, ql_aml_list (predicate, body, NULL));
}

QlAml *
ql_aml_else (QlAml *body)
{
  static const guint8 op = OP_ELSE;
  return package_op (&op, 1, body);
}

QlAml *
ql_aml_while (QlAml *predicate, QlAml *body)
{
  static const guint8 op = OP_WHILE;
  return package_op (&op, 1, ql_aml_list (predicate, body, NULL));
}

QlAml *
ql_aml_return (QlAml *value)
{
  return ql_aml_list (bytes (1, OP_RETURN), value, NULL);
}

QlAml *
ql_aml_store (QlAml *value, QlAml *target)
{
  return ql_aml_list (bytes (1, OP_STORE), value, target, NULL);
}

QlAml *
ql_aml_copy_object (QlAml *value, QlAml *target)
{
  return ql_aml_list (bytes (1, OP_COPY_OBJECT), value, target, NULL);
}

QlAml *
ql_aml_increment (QlAml *target)
{
  return ql_aml_list (bytes (1, OP_INCREMENT), target, NULL);
}

static QlAml *
binary (guint8 op, QlAml *a, QlAml *b, gboolean target)
{
  return ql_aml_list (bytes (1, op), a, b, target ? bytes (1, OP_ZERO) : NULL, NULL);
}

QlAml *
ql_aml_shift_left (QlAml *value, QlAml *count)
{
  return binary (OP_SHIFT_LEFT, value, count, TRUE);
}

QlAml *
ql_aml_or (QlAml *a, QlAml *b)
{
  return binary (OP_OR, a, b, TRUE);
}

QlAml *
ql_aml_subtract (QlAml *a, QlAml *b)
{
  return binary (OP_SUBTRACT, a, b, TRUE);
}

QlAml *
ql_aml_add (QlAml *a, QlAml *b)
{
  return binary (OP_ADD, a, b, TRUE);
}

QlAml *
ql_aml_index (QlAml *object, QlAml *index)
{
  return binary (OP_INDEX, object, index, TRUE);
}

QlAml *
ql_aml_sizeof (QlAml *object)
{
  return ql_aml_list (bytes (1, OP_SIZEOF), object, NULL);
}

QlAml *
ql_aml_mid (QlAml *object, QlAml *index, QlAml *length)
{
  return ql_aml_list (bytes (1, OP_MID), object, index, length, bytes (1, OP_ZERO), NULL);
}

QlAml *
ql_aml_lnot (QlAml *a)
{
  return ql_aml_list (bytes (1, OP_LNOT), a, NULL);
}

QlAml *
ql_aml_lequal (QlAml *a, QlAml *b)
{
  return binary (OP_LEQUAL, a, b, FALSE);
}

QlAml *
ql_aml_lless (QlAml *a, QlAml *b)
{
  return binary (OP_LLESS, a, b, FALSE);
}

QlAml *
ql_aml_lgreater (QlAml *a, QlAml *b)
{
  return binary (OP_LGREATER, a, b, FALSE);
}

QlAml *
ql_aml_cond_ref_of (QlAml *name)
{
  return ql_aml_list (bytes (2, OP_EXT, EXT_COND_REF_OF), name, bytes (1, OP_ZERO), NULL);
}

QlAml *
ql_aml_external_device (const char *path)
{
  QlAml *external = ql_aml_list (bytes (1, OP_EXTERNAL), ql_aml_name (path), bytes (2, 0x06 /* DeviceObj */, 0), NULL);
  return ql_aml_if (ql_aml_int (0), external);
}

QlAml *
ql_aml_call (const char *name, QlAml *first_arg, ...)
{
  QlAml *out = ql_aml_name (name);
  va_list ap;

  va_start (ap, first_arg);
  take (out, list_va (first_arg, ap));
  va_end (ap);
  return out;
}

static void
put_padded (guint8 *dst, const char *src, gsize width)
{
  gsize len = MIN (strlen (src), width);

  memset (dst, ' ', width);
  memcpy (dst, src, len);
}

GBytes *
ql_aml_table (const char signature[4], guint8 revision, const char *oem_id, const char *oem_table_id,
              guint32 oem_revision, QlAml *body)
{
  guint8 header[36] = { 0 };
  guint32 length = 36 + body->len;
  guint8 sum = 0;
  QlAml *table;

  memcpy (header, signature, 4);
  for (guint i = 0; i < 4; i++)
    header[4 + i] = (guint8) (length >> (8 * i));
  header[8] = revision;
  put_padded (header + 10, oem_id, 6);
  put_padded (header + 16, oem_table_id, 8);
  for (guint i = 0; i < 4; i++)
    header[24 + i] = (guint8) (oem_revision >> (8 * i));
  memcpy (header + 28, "QLNC", 4);   /* creator id */
  header[32] = 1;                    /* creator revision */
  table = g_byte_array_new ();
  g_byte_array_append (table, header, sizeof header);
  take (table, body);
  for (guint i = 0; i < table->len; i++)
    sum += table->data[i];
  table->data[9] = (guint8) (0x100 - sum);
  return g_byte_array_free_to_bytes (table);
}
