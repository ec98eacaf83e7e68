#pragma once

#include <glib.h>
#include "ql-host-step.h"
#include "ql-process.h"

/* RUNTIME/journal.json: every host change a start makes (a QlHostStep),
 * written before the change is made, so that the supervisor's teardown, or
 * 'qlaunch recover' after the supervisor died, can undo it.  A change that
 * was journaled but never made undoes to nothing.  The journal only records
 * and loads; run/ql-host-undo.c undoes. */

typedef struct _QlJournal QlJournal;

/* An empty journal; nothing is written until the first change. */
QlJournal *ql_journal_new (const char *runtime_dir);

/* NULL with QL_ERROR_NOT_FOUND when there is none.  Every step is validated
 * (ql_host_step_from_json ()) and its files must be the VM's own (the SSDT in
 * runtime_dir, the varstore in state_dir); one bad step refuses the whole
 * journal, before anything acts on it. */
QlJournal *ql_journal_load (const char *runtime_dir, const char *state_dir, GError **error);
/* The same from the journal's bytes. */
QlJournal *ql_journal_parse (const char *runtime_dir, const char *state_dir, const char *data, gsize length,
                             GError **error);
gboolean ql_journal_exists (const char *runtime_dir);
void ql_journal_free (QlJournal *journal);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlJournal, ql_journal_free)

guint ql_journal_length (const QlJournal *journal);
const char *ql_journal_path (const QlJournal *journal);
/* QlHostStep*, oldest first. */
const GPtrArray *ql_journal_steps (const QlJournal *journal);

/* The QEMU that used the changes (pid and start time); recover makes sure
 * it is gone first.  pid 0: none. */
gboolean ql_journal_set_qemu (QlJournal *journal, const QlProcessId *qemu, GError **error);
QlProcessId ql_journal_get_qemu (const QlJournal *journal);

/* Appends step and writes the journal; on failure the journal is as it was. */
gboolean ql_journal_record (QlJournal *journal, const QlHostStep *step, GError **error);

/* Keeps only the steps for which keep[i] is TRUE and writes the journal;
 * the file goes when none is left. */
gboolean ql_journal_retain (QlJournal *journal, const gboolean *keep, GError **error);
