#pragma once

#include <glib.h>
#include "ql-stages.h"

/* How 'start' shows its stages: on a terminal, the stage under way on an
 * updating line and each finished one as a line with its time (the way
 * systemctl and podman show theirs); elsewhere a plain message per finished
 * stage; with --quiet nothing. */
typedef enum {
  QL_PROGRESS_QUIET,
  QL_PROGRESS_PLAIN,
  QL_PROGRESS_TERMINAL,
} QlProgressMode;

typedef struct _QlProgress QlProgress;

/* TERMINAL when stderr is a terminal that is not TERM=dumb, else PLAIN; QUIET if quiet. */
QlProgressMode ql_progress_mode_for_stderr (gboolean quiet);

QlProgress *ql_progress_new (QlProgressMode mode, const char *vm_name);
void ql_progress_free (QlProgress *progress);
/* Plain messages name the VM: the profile's name once it is read. */
void ql_progress_set_vm_name (QlProgress *progress, const char *vm_name);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlProgress, ql_progress_free)

/* A QlStageSink; data is the QlProgress. */
void ql_progress_show (QlStageEvent event, const char *stage, const char *detail, gint64 elapsed_us, gpointer data);
/* The start failed: the stage under way, if any, is shown as the one that failed. */
void ql_progress_failed (QlProgress *progress);

/* --detach: the supervisor's stages reach the waiting parent through the
 * READY pipe as lines "STAGE\tEVENT\tUSEC\tNAME\tDETAIL".  A QlStageSink
 * writing them; data is the fd as GINT_TO_POINTER. */
void ql_progress_send (QlStageEvent event, const char *stage, const char *detail, gint64 elapsed_us, gpointer data);
/* One line read from the pipe (without its newline): shown and TRUE if it is
 * a well-formed stage line, else FALSE. */
gboolean ql_progress_receive (QlProgress *progress, const char *line);
