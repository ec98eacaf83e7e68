#include "ql-journal.h"
#include "ql-error.h"
#include "ql-json.h"
#include "ql-runtime-files.h"
#include "ql-paths.h"
#include "ql-desktop.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#define JOURNAL_VERSION 1

struct _QlJournal {
  char *path;
  QlProcessId qemu;
  GPtrArray *steps;            /* QlHostStep* */
};

QlJournal *
ql_journal_new (const char *runtime_dir)
{
  QlJournal *j = g_new0 (QlJournal, 1);

  j->path = g_build_filename (runtime_dir, QL_RUNTIME_JOURNAL, NULL);
  j->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
  return j;
}

void
ql_journal_free (QlJournal *j)
{
  if (j == NULL)
    return;
  g_free (j->path);
  g_ptr_array_unref (j->steps);
  g_free (j);
}

gboolean
ql_journal_exists (const char *runtime_dir)
{
  g_autofree char *path = g_build_filename (runtime_dir, QL_RUNTIME_JOURNAL, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

/* Paths in a journal can only be the ones this VM's start writes. */
static gboolean
check_own_file (const QlHostStep *step, const char *runtime_dir, const char *state_dir, GError **error)
{
  g_autofree char *expected = NULL;

  if (step->kind == QL_HOST_STEP_SSDT)
    expected = g_build_filename (runtime_dir, QL_RUNTIME_SSDT, NULL);
  else if (step->kind == QL_HOST_STEP_NVRAM)
    expected = g_build_filename (state_dir, QL_STATE_NVRAM, NULL);
  else if (step->kind == QL_HOST_STEP_SHM_FILE)
    {
      /* the runtime directory is named after the VM */
      g_autofree char *vm = g_path_get_basename (runtime_dir);
      expected = ql_looking_glass_shm_path (ql_paths_devfs (), vm);
    }
  else
    return TRUE;
  if (g_strcmp0 (step->path, expected) == 0)
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "a %s step: 'path' is \"%s\", not this VM's \"%s\"",
               ql_host_step_kind_to_string (step->kind), step->path, expected);
  return FALSE;
}

static gboolean
load_steps (QlJournal *j, JsonArray *changes, const char *runtime_dir, const char *state_dir, GError **error)
{
  guint n = json_array_get_length (changes);

  if (n > QL_HOST_STEP_LIMIT)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%u changes, more than %d", n, QL_HOST_STEP_LIMIT);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (changes, i);
      QlHostStep *step;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "change %u is not an object", i + 1);
          return FALSE;
        }
      step = ql_host_step_from_json (json_node_get_object (node), error);
      if (step == NULL)
        {
          g_prefix_error (error, "change %u: ", i + 1);
          return FALSE;
        }
      g_ptr_array_add (j->steps, step);
      if (!check_own_file (step, runtime_dir, state_dir, error))
        {
          g_prefix_error (error, "change %u: ", i + 1);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
load_object (QlJournal *j, JsonObject *o, const char *runtime_dir, const char *state_dir, GError **error)
{
  JsonNode *changes = json_object_get_member (o, "changes");
  gint64 start_time, version;

  if (changes == NULL || !JSON_NODE_HOLDS_ARRAY (changes))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "no changes array");
      return FALSE;
    }
  if (!ql_json_get_int (o, "version", 0, JOURNAL_VERSION, &(gint64) { 0 }, &version, error) || version == 0)
    {
      g_clear_error (error);
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "not a version %d journal (written by a newer qlaunch?)",
                   JOURNAL_VERSION);
      return FALSE;
    }
  if (!ql_json_get_int (o, "qemu-pid", 0, QL_PROCESS_PID_MAX, &(gint64) { 0 }, &j->qemu.pid, error) ||
      !ql_json_get_int (o, "qemu-start-time", 0, G_MAXINT64, &(gint64) { 0 }, &start_time, error))
    return FALSE;
  if (j->qemu.pid != 0 && !ql_process_pid_valid (j->qemu.pid))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'qemu-pid' is not a process id");
      return FALSE;
    }
  j->qemu.start_time = (guint64) start_time;
  j->qemu.kind = QL_PROCESS_QEMU;
  return load_steps (j, json_node_get_array (changes), runtime_dir, state_dir, error);
}

QlJournal *
ql_journal_parse (const char *runtime_dir, const char *state_dir, const char *data, gsize length, GError **error)
{
  g_autoptr(QlJournal) j = ql_journal_new (runtime_dir);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (length > QL_JSON_FILE_MAX || !ql_json_depth_within (data, length, QL_JSON_DEPTH_MAX))
    g_set_error (&local_error, QL_ERROR, QL_ERROR_FAILED, "larger than %d bytes or nested deeper than %d levels",
                 QL_JSON_FILE_MAX, QL_JSON_DEPTH_MAX);
  else if (!json_parser_load_from_data (parser, data, (gssize) length, &local_error))
    ;
  else if ((root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    g_set_error (&local_error, QL_ERROR, QL_ERROR_FAILED, "not a JSON object");
  else
    load_object (j, json_node_get_object (root), runtime_dir, state_dir, &local_error);
  if (local_error != NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "Journal '%s' is damaged, nothing was undone: %s", j->path,
                   local_error->message);
      return NULL;
    }
  return g_steal_pointer (&j);
}

QlJournal *
ql_journal_load (const char *runtime_dir, const char *state_dir, GError **error)
{
  g_autofree char *path = g_build_filename (runtime_dir, QL_RUNTIME_JOURNAL, NULL);
  g_autofree char *data = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize length = 0;

  if (!ql_json_read_file (path, &data, &length, &local_error))
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error (error, QL_ERROR, QL_ERROR_NOT_FOUND, "No journal '%s'", path);
      else
        g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "Journal '%s' is damaged, nothing was undone: %s", path,
                     local_error->message);
      return NULL;
    }
  return ql_journal_parse (runtime_dir, state_dir, data, length, error);
}

guint
ql_journal_length (const QlJournal *j)
{
  return j->steps->len;
}

const char *
ql_journal_path (const QlJournal *j)
{
  return j->path;
}

const GPtrArray *
ql_journal_steps (const QlJournal *j)
{
  return j->steps;
}

QlProcessId
ql_journal_get_qemu (const QlJournal *j)
{
  return j->qemu;
}

static gboolean
save (QlJournal *j, GError **error)
{
  g_autoptr(JsonObject) o = json_object_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonArray *changes = json_array_new ();

  if (j->steps->len == 0)
    {
      if (g_unlink (j->path) != 0 && errno != ENOENT)
        return ql_error_set_errno (error, errno, "Cannot remove journal '%s'", j->path);
      return TRUE;
    }
  for (guint i = 0; i < j->steps->len; i++)
    json_array_add_object_element (changes, ql_host_step_to_json (j->steps->pdata[i]));
  json_object_set_int_member (o, "version", JOURNAL_VERSION);
  json_object_set_int_member (o, "qemu-pid", j->qemu.pid);
  json_object_set_int_member (o, "qemu-start-time", (gint64) j->qemu.start_time);
  json_object_set_array_member (o, "changes", changes);
  json_node_set_object (root, o);
  if (!ql_json_write_file (j->path, root, error))
    {
      g_prefix_error (error, "Cannot write journal: ");
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_journal_set_qemu (QlJournal *j, const QlProcessId *qemu, GError **error)
{
  j->qemu = *qemu;
  return j->steps->len == 0 || save (j, error);
}

gboolean
ql_journal_record (QlJournal *j, const QlHostStep *step, GError **error)
{
  g_ptr_array_add (j->steps, ql_host_step_copy (step));
  if (!save (j, error))
    {
      g_ptr_array_remove_index (j->steps, j->steps->len - 1);
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_journal_retain (QlJournal *j, const gboolean *keep, GError **error)
{
  for (guint i = j->steps->len; i-- > 0;)
    if (!keep[i])
      g_ptr_array_remove_index (j->steps, i);
  return save (j, error);
}
