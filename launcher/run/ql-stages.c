#include "ql-stages.h"

#include <stdarg.h>

typedef struct {
  char *name;
  gint64 elapsed_us;
} Stage;

struct _QlStages {
  QlStageSink sink;
  gpointer data;
  GArray *done;           /* Stage */
  char *current;
  gint64 current_began;
};

static void
clear_stage (gpointer p)
{
  g_free (((Stage *) p)->name);
}

QlStages *
ql_stages_new (QlStageSink sink, gpointer data)
{
  QlStages *stages = g_new0 (QlStages, 1);

  stages->sink = sink;
  stages->data = data;
  stages->done = g_array_new (FALSE, FALSE, sizeof (Stage));
  g_array_set_clear_func (stages->done, clear_stage);
  return stages;
}

void
ql_stages_set_sink (QlStages *stages, QlStageSink sink, gpointer data)
{
  stages->sink = sink;
  stages->data = data;
}

void
ql_stages_free (QlStages *stages)
{
  if (stages == NULL)
    return;
  g_array_unref (stages->done);
  g_free (stages->current);
  g_free (stages);
}

/* Names end up on terminals and in JSON: one line of printable text. */
static char *printable_name (const char *format, va_list args) G_GNUC_PRINTF (1, 0);

static char *
printable_name (const char *format, va_list args)
{
  g_autofree char *text = g_strdup_vprintf (format, args);
  GString *name = g_string_new (NULL);

  for (const char *p = text; *p != '\0' && name->len < QL_STAGE_NAME_MAX; p++)
    g_string_append_c (name, g_ascii_iscntrl (*p) ? ' ' : *p);
  return g_string_free (name, FALSE);
}

void
ql_stages_end (QlStages *stages)
{
  Stage stage;
  gboolean kept;

  if (stages == NULL || stages->current == NULL)
    return;
  stage.name = g_steal_pointer (&stages->current);
  stage.elapsed_us = g_get_monotonic_time () - stages->current_began;
  kept = stages->done->len < QL_STAGES_MAX;
  if (kept)
    g_array_append_val (stages->done, stage);
  if (stages->sink != NULL)
    stages->sink (QL_STAGE_END, stage.name, NULL, stage.elapsed_us, stages->data);
  if (!kept)
    g_free (stage.name);
}

void
ql_stages_begin (QlStages *stages, const char *format, ...)
{
  va_list args;

  if (stages == NULL)
    return;
  ql_stages_end (stages);
  va_start (args, format);
  stages->current = printable_name (format, args);
  va_end (args);
  stages->current_began = g_get_monotonic_time ();
  if (stages->sink != NULL)
    stages->sink (QL_STAGE_BEGIN, stages->current, NULL, 0, stages->data);
}

void
ql_stages_progress (QlStages *stages, const char *format, ...)
{
  g_autofree char *detail = NULL;
  va_list args;

  if (stages == NULL || stages->current == NULL || stages->sink == NULL)
    return;
  va_start (args, format);
  detail = printable_name (format, args);
  va_end (args);
  stages->sink (QL_STAGE_PROGRESS, stages->current, detail, g_get_monotonic_time () - stages->current_began,
                stages->data);
}

gboolean
ql_stages_current (const QlStages *stages, gint64 *ret_elapsed_us)
{
  if (stages == NULL || stages->current == NULL)
    return FALSE;
  *ret_elapsed_us = g_get_monotonic_time () - stages->current_began;
  return TRUE;
}

void
ql_stages_add_json (const QlStages *stages, JsonBuilder *b)
{
  gint64 total_us = 0;

  if (stages == NULL || stages->done->len == 0)
    return;
  json_builder_set_member_name (b, "start-stages");
  json_builder_begin_array (b);
  for (guint i = 0; i < stages->done->len; i++)
    {
      const Stage *stage = &g_array_index (stages->done, Stage, i);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "stage");
      json_builder_add_string_value (b, stage->name);
      json_builder_set_member_name (b, "usec");
      json_builder_add_int_value (b, stage->elapsed_us);
      json_builder_end_object (b);
      total_us += stage->elapsed_us;
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "start-usec");
  json_builder_add_int_value (b, total_us);
}

static gboolean
stage_valid (JsonNode *node)
{
  JsonObject *o;
  JsonNode *name, *usec;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  o = json_node_get_object (node);
  name = json_object_get_member (o, "stage");
  usec = json_object_get_member (o, "usec");
  if (name == NULL || usec == NULL || !JSON_NODE_HOLDS_VALUE (name) || !JSON_NODE_HOLDS_VALUE (usec) ||
      json_node_get_value_type (name) != G_TYPE_STRING || json_node_get_value_type (usec) != G_TYPE_INT64)
    return FALSE;
  for (const char *p = json_node_get_string (name); *p != '\0'; p++)
    if (g_ascii_iscntrl (*p) || p - json_node_get_string (name) >= QL_STAGE_NAME_MAX)
      return FALSE;
  return json_node_get_int (usec) >= 0 && json_node_get_int (usec) < QL_STAGE_USEC_MAX;
}

gboolean
ql_stages_json_valid (JsonNode *node)
{
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  array = json_node_get_array (node);
  if (json_array_get_length (array) > QL_STAGES_MAX)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (!stage_valid (json_array_get_element (array, i)))
      return FALSE;
  return TRUE;
}
