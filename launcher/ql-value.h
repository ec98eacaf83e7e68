#pragma once

#include <glib.h>

/* Parsers for profile values: each returns FALSE and a message (without
 * location) that says what is wrong and what is accepted. */

/* "512M", "8G", "1.5G", "2MiB", "4096K": a number with a binary unit K, M, G
 * or T (optionally followed by "iB" or "B").  A bare number is refused
 * because QEMU reads it as MiB and users read it as bytes. */
gboolean ql_value_parse_size (const char *text, guint64 *ret_bytes, char **ret_message);

/* A decimal or 0x-hex unsigned integer within [min, max]. */
gboolean ql_value_parse_uint (const char *text, guint64 min, guint64 max, guint64 *ret_value,
                              char **ret_message);

/* "1 GiB", "512 MiB", "1.5 GiB": for messages. */
char *ql_value_format_size (guint64 bytes);

/* Levenshtein distance, for "did you mean" suggestions. */
guint ql_value_edit_distance (const char *a, const char *b);
