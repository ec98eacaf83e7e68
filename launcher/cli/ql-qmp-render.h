#pragma once

#include <json-glib/json-glib.h>

/* QMP data drawn for people: pure functions of what QEMU sent.  What they
 * return is safe on a terminal: QEMU's strings (error messages, ids, HMP
 * output) cannot carry escape sequences to it. */

/* text with control characters other than newline and tab (C0, DEL, C1)
 * and invalid UTF-8 replaced; takes text. */
char *ql_qmp_render_for_terminal (char *text);

/* One event on one line: "HH:MM:SS.uuuuuu NAME {data}", or the event as
 * QEMU sends it (compact JSON) when json is set. */
char *ql_qmp_render_event (const char *name, JsonNode *data, gint64 usec, gboolean json);

/* The guest's PCI tree from query-pci's return, drawn like 'lspci -tv':
 * slot.function, vendor:device, class, and the qdev id in brackets. */
char *ql_qmp_render_pci_tree (JsonNode *query_pci);

/* The "return" of a reply pretty-printed, or its error as "CLASS: desc". */
char *ql_qmp_render_reply (JsonObject *reply);
