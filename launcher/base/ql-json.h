#pragma once

#include <json-glib/json-glib.h>

/* Members the JSON outputs share, written the same way everywhere. */

/* "name": "10de" (hex, digits wide, lowercase, no 0x): PCI ids and classes. */
void ql_json_add_hex (JsonBuilder *builder, const char *name, int digits, guint value);
/* "name": "value", or null */
void ql_json_add_string_or_null (JsonBuilder *builder, const char *name, const char *value);

/* Writes a JSON object atomically (temporary file + rename), mode 0600. */
gboolean ql_json_write_file (const char *path, JsonNode *root, GError **error);
/* The same for a record that a power cut may lose but nobody sees half
 * written (how a run ended): no fsync, which costs a disk flush per stop. */
gboolean ql_json_write_record (const char *path, JsonNode *root, GError **error);
/* A JSON file qlaunch wrote in its runtime or state dir, read as untrusted:
 * a regular file (no symlink, FIFO or device), owned by this user, at most
 * QL_JSON_FILE_MAX bytes, nested at most QL_JSON_DEPTH_MAX deep. */
#define QL_JSON_FILE_MAX (1 << 20)
#define QL_JSON_DEPTH_MAX 32
/* Whether no object or array in text nests deeper than max_depth (json-glib
 * recurses once per level: a deep file would exhaust the stack). */
gboolean ql_json_depth_within (const char *text, gsize length, guint max_depth);
gboolean ql_json_read_file (const char *path, char **ret_text, gsize *ret_length, GError **error);
JsonObject *ql_json_read_object (const char *path, GError **error);

/* An integer member of an object read from a file, in min..max.  When it is
 * absent: *fallback if given, else "'MEMBER' is missing"; of another type or
 * out of range: "'MEMBER' is not a number in range" (QL_ERROR_FAILED). */
gboolean ql_json_get_int (JsonObject *object, const char *member, gint64 min, gint64 max, const gint64 *fallback,
                          gint64 *ret, GError **error);
