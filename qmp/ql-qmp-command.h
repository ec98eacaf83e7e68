#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A QMP command as people type it, for the console and 'qlaunch qmp':
 *  - JSON text, {"execute": NAME, "arguments": {…}} (an "id" is dropped:
 *    the client numbers its own commands);
 *  - words, NAME key=value …, where a value that reads as JSON (a number,
 *    true, false, null, "a string", [ ], { }) is that value and anything
 *    else is a string; dotted keys nest (a.b=1 is {"a": {"b": 1}}).
 * Returns the command name and sets *ret_arguments (an object, or NULL for
 * none); NULL with error set when the text is not a command. */
char *ql_qmp_command_from_json (const char *text, JsonNode **ret_arguments, GError **error);
char *ql_qmp_command_from_words (const char *const *words, JsonNode **ret_arguments, GError **error);

/* An event as QEMU sends it: {"event": name, "data": data, "timestamp":
 * {"seconds", "microseconds"}} (data NULL: none). */
JsonObject *ql_qmp_event_object (const char *name, JsonNode *data, gint64 usec);

G_END_DECLS
