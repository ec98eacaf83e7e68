#pragma once

#include <glib.h>

/* Binary values of a Windows registry export (.reg, as regedit writes it:
 * UTF-16LE with a BOM, or plain ASCII/UTF-8), for reading the vBIOS the
 * NVIDIA driver keeps under the adapter's Session key.  Pure. */

typedef struct {
  char *key;        /* the [HKEY_...] line the value belongs to, without brackets */
  char *name;       /* the value's name; "@" for the default value */
  guint line;       /* of the value's first line, from 1 */
  GBytes *bytes;
} QlRegValue;

void ql_reg_value_free (QlRegValue *value);

/* Every hex: and hex(N): value, in file order.  Errors name the line. */
GPtrArray *ql_reg_parse_binary_values (const guint8 *data, gsize size, GError **error);
