#pragma once

#include <json-glib/json-glib.h>

/* Checks shared by the tests of the journal's step kinds. */

JsonObject *parse_object (const char *text);

/* The step, JSON text, is accepted (expect NULL) or refused with an error
 * that contains expect. */
void assert_step_json (const char *json, const char *expect);

/* The journal is refused whole, with an error that contains expect. */
void assert_journal_refused (const char *journal, const char *expect);
