#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

/* The stages of a start (read the profile, scan the host, each host change,
 * QEMU up, pinning, resume), timed as they happen.  A sink hears of each
 * as it begins, progresses and ends, so that 'start' can show them; the
 * times go into state.json and last-exit.json.  Every function takes a NULL
 * QlStages and then does nothing, for the callers that show nothing. */
typedef enum {
  QL_STAGE_BEGIN,
  QL_STAGE_PROGRESS,     /* detail: how far a long stage is ("3.1 of 32.0 GiB") */
  QL_STAGE_END,          /* elapsed_us: the stage's time */
} QlStageEvent;

typedef void (*QlStageSink) (QlStageEvent event, const char *stage, const char *detail, gint64 elapsed_us,
                             gpointer data);

typedef struct _QlStages QlStages;

QlStages *ql_stages_new (QlStageSink sink, gpointer data);
void ql_stages_free (QlStages *stages);
/* Who hears of the stages from now on (a forked supervisor tells its parent). */
void ql_stages_set_sink (QlStages *stages, QlStageSink sink, gpointer data);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlStages, ql_stages_free)

/* Ends the stage under way, if any, and begins the next. */
void ql_stages_begin (QlStages *stages, const char *format, ...) G_GNUC_PRINTF (2, 3);
void ql_stages_progress (QlStages *stages, const char *format, ...) G_GNUC_PRINTF (2, 3);
void ql_stages_end (QlStages *stages);
/* Whether a stage is under way, and for how long it has been. */
gboolean ql_stages_current (const QlStages *stages, gint64 *ret_elapsed_us);

/* "start-stages": [{"stage": "...", "usec": 1250}, ...] and "start-usec": the
 * sum, into an object being built; nothing when there are no stages. */
void ql_stages_add_json (const QlStages *stages, JsonBuilder *builder);
/* Whether a "start-stages" read back from a file is what ql_stages_add_json
 * writes (at most QL_STAGES_MAX entries, names of printable characters). */
gboolean ql_stages_json_valid (JsonNode *node);

#define QL_STAGES_MAX 256
#define QL_STAGE_USEC_MAX (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)
#define QL_STAGE_NAME_MAX 200
