#pragma once

#include <glib.h>

/* RUNTIME/journal.json: every change a start makes to the host, written
 * before the change is made, so that the supervisor's teardown, or
 * 'qlaunch recover' after the supervisor died, can undo it.  A change that
 * was journaled but never made undoes to nothing. */

typedef struct _QlJournal QlJournal;

#define QL_JOURNAL_FILE "journal.json"

/* An empty journal; nothing is written until the first change. */
QlJournal *ql_journal_new (const char *runtime_dir);
/* NULL with QL_ERROR_NOT_FOUND when there is none. */
QlJournal *ql_journal_load (const char *runtime_dir, GError **error);
gboolean ql_journal_exists (const char *runtime_dir);
void ql_journal_free (QlJournal *journal);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlJournal, ql_journal_free)

guint ql_journal_length (const QlJournal *journal);
const char *ql_journal_path (const QlJournal *journal);

/* The QEMU that used the changes; recover makes sure it is gone first. */
gboolean ql_journal_set_qemu_pid (QlJournal *journal, gint64 pid, GError **error);
gint64 ql_journal_get_qemu_pid (const QlJournal *journal);

/* A device about to leave driver (NULL: none) for vfio-pci. */
gboolean ql_journal_record_vfio (QlJournal *journal, const char *address, const char *driver,
                                 const char *driver_override, GError **error);

/* A tap about to be created; undone by deleting it if it is still there. */
gboolean ql_journal_record_tap (QlJournal *journal, const char *ifname, GError **error);

/* A bridge about to be created; undone by deleting it once no port uses it. */
gboolean ql_journal_record_bridge (QlJournal *journal, const char *name, GError **error);

/* A hugepage pool (its directory relative to sysfs) about to grow from
 * before by added pages; undone by shrinking it by added, never below before. */
gboolean ql_journal_record_hugepages (QlJournal *journal, const char *pool_dir, guint64 before, guint64 added,
                                      GError **error);

/* Undoes every change, newest first.  Undone changes leave the journal;
 * the file goes when none is left.  On failure the rest stays recorded
 * and error lists what could not be undone.  Each undone change is
 * reported through log (may be NULL). */
gboolean ql_journal_undo (QlJournal *journal, const char *sysfs, void (*log) (const char *line),
                          GError **error);
