#pragma once

#include <glib.h>
#include "ql-journal.h"

/* Undoes the journal's steps (devices and hugepage pools under sysfs), newest first, reporting each through log
 * (may be NULL) before and after each step: "restoring …" and what was done.  Undone steps leave the journal; the file goes when none
 * is left.  On failure the rest stays recorded and error lists what could
 * not be undone.  The varstore a start created is removed only when
 * start_failed: after a run it holds the guest's UEFI settings. */
gboolean ql_host_undo (QlJournal *journal, const char *sysfs, gboolean start_failed,
                       void (*log) (const char *line, gpointer data), gpointer data, GError **error);
