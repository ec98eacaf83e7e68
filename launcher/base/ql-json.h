#pragma once

#include <json-glib/json-glib.h>

/* Members the JSON outputs share, written the same way everywhere. */

/* "name": "10de" (hex, digits wide, lowercase, no 0x): PCI ids and classes. */
void ql_json_add_hex (JsonBuilder *builder, const char *name, int digits, guint value);
/* "name": "value", or null */
void ql_json_add_string_or_null (JsonBuilder *builder, const char *name, const char *value);

/* Writes a JSON object atomically (temporary file + rename), mode 0600. */
gboolean ql_json_write_file (const char *path, JsonNode *root, GError **error);
JsonObject *ql_json_read_object (const char *path, GError **error);
