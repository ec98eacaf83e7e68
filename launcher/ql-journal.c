#include "ql-journal.h"
#include "ql-error.h"
#include "ql-hugepages.h"
#include "ql-net-host.h"
#include "ql-runtime.h"
#include "ql-vfio.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

struct _QlJournal {
  char *path;
  gint64 qemu_pid;
  JsonArray *changes;
};

QlJournal *
ql_journal_new (const char *runtime_dir)
{
  QlJournal *j = g_new0 (QlJournal, 1);

  j->path = g_build_filename (runtime_dir, QL_JOURNAL_FILE, NULL);
  j->changes = json_array_new ();
  return j;
}

void
ql_journal_free (QlJournal *j)
{
  if (j == NULL)
    return;
  g_free (j->path);
  json_array_unref (j->changes);
  g_free (j);
}

gboolean
ql_journal_exists (const char *runtime_dir)
{
  g_autofree char *path = g_build_filename (runtime_dir, QL_JOURNAL_FILE, NULL);
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

QlJournal *
ql_journal_load (const char *runtime_dir, GError **error)
{
  g_autoptr(QlJournal) j = ql_journal_new (runtime_dir);
  g_autoptr(JsonObject) o = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonArray *changes;

  if (!g_file_test (j->path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_NOT_FOUND, "No journal '%s'", j->path);
      return NULL;
    }
  o = ql_json_read_object (j->path, &local_error);
  if (o == NULL || (changes = json_object_get_array_member (o, "changes")) == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "Journal '%s' is damaged: %s", j->path,
                   local_error ? local_error->message : "no changes array");
      return NULL;
    }
  json_array_unref (j->changes);
  j->changes = json_array_ref (changes);
  j->qemu_pid = json_object_get_int_member_with_default (o, "qemu-pid", 0);
  return g_steal_pointer (&j);
}

guint
ql_journal_length (const QlJournal *j)
{
  return json_array_get_length (j->changes);
}

const char *
ql_journal_path (const QlJournal *j)
{
  return j->path;
}

gint64
ql_journal_get_qemu_pid (const QlJournal *j)
{
  return j->qemu_pid;
}

static gboolean
save (QlJournal *j, GError **error)
{
  g_autoptr(JsonObject) o = json_object_new ();
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);

  if (json_array_get_length (j->changes) == 0)
    {
      if (g_unlink (j->path) != 0 && errno != ENOENT)
        {
          int e = errno;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "Cannot remove journal '%s': %s", j->path,
                       g_strerror (e));
          return FALSE;
        }
      return TRUE;
    }
  json_object_set_int_member (o, "version", 1);
  json_object_set_int_member (o, "qemu-pid", j->qemu_pid);
  json_object_set_array_member (o, "changes", json_array_ref (j->changes));
  json_node_set_object (root, o);
  if (!ql_json_write_file (j->path, root, error))
    {
      g_prefix_error (error, "Cannot write journal: ");
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_journal_set_qemu_pid (QlJournal *j, gint64 pid, GError **error)
{
  j->qemu_pid = pid;
  return json_array_get_length (j->changes) == 0 || save (j, error);
}

static void
set_string_or_null (JsonObject *o, const char *name, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, name, value);
  else
    json_object_set_null_member (o, name);
}

/* takes change */
static gboolean
append (QlJournal *j, JsonObject *change, GError **error)
{
  json_array_add_object_element (j->changes, change);
  if (!save (j, error))
    {
      json_array_remove_element (j->changes, json_array_get_length (j->changes) - 1);
      return FALSE;
    }
  return TRUE;
}

static JsonObject *
change_new (const char *kind)
{
  JsonObject *change = json_object_new ();

  json_object_set_string_member (change, "kind", kind);
  return change;
}

gboolean
ql_journal_record_vfio (QlJournal *j, const char *address, const char *driver, const char *driver_override,
                        GError **error)
{
  JsonObject *change = change_new ("vfio-bind");

  json_object_set_string_member (change, "device", address);
  set_string_or_null (change, "driver", driver);
  set_string_or_null (change, "driver-override", driver_override);
  return append (j, change, error);
}

gboolean
ql_journal_record_tap (QlJournal *j, const char *ifname, GError **error)
{
  JsonObject *change = change_new ("tap");

  json_object_set_string_member (change, "name", ifname);
  return append (j, change, error);
}

gboolean
ql_journal_record_bridge (QlJournal *j, const char *name, GError **error)
{
  JsonObject *change = change_new ("bridge");

  json_object_set_string_member (change, "name", name);
  return append (j, change, error);
}

gboolean
ql_journal_record_hugepages (QlJournal *j, const char *pool_dir, guint64 before, guint64 added, GError **error)
{
  JsonObject *change = change_new ("hugepages");

  json_object_set_string_member (change, "pool", pool_dir);
  json_object_set_int_member (change, "before", before);
  json_object_set_int_member (change, "added", added);
  return append (j, change, error);
}

static gboolean
undo_hugepages (JsonObject *change, const char *sysfs, char **ret_done, GError **error)
{
  const char *pool = json_object_get_string_member_with_default (change, "pool", NULL);
  gint64 before = json_object_get_int_member_with_default (change, "before", -1);
  gint64 added = json_object_get_int_member_with_default (change, "added", -1);
  guint64 total;

  if (pool == NULL || before < 0 || added < 0 || strstr (pool, "..") != NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "a hugepages change without pool, before and added");
      return FALSE;
    }
  if (!ql_hugepages_shrink (sysfs, pool, added, before, &total, error))
    {
      g_prefix_error (error, "Cannot shrink the hugepage pool %s/%s back: ", sysfs, pool);
      return FALSE;
    }
  *ret_done = g_strdup_printf ("hugepage pool %s back to %" G_GUINT64_FORMAT " pages", pool, total);
  return TRUE;
}

static gboolean
undo_change (JsonObject *change, const char *sysfs, char **ret_done, GError **error)
{
  const char *kind = json_object_get_string_member_with_default (change, "kind", "");

  if (g_strcmp0 (kind, "vfio-bind") == 0)
    {
      const char *address = json_object_get_string_member_with_default (change, "device", NULL);
      const char *driver = json_object_get_string_member_with_default (change, "driver", NULL);
      const char *override = json_object_get_string_member_with_default (change, "driver-override", NULL);

      if (address == NULL)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "a vfio-bind change without a device");
          return FALSE;
        }
      if (!ql_vfio_restore (sysfs, address, driver, override, FALSE, error))
        return FALSE;
      *ret_done = g_strdup_printf ("%s is back on %s", address, driver ? driver : "no driver");
      return TRUE;
    }
  if (g_strcmp0 (kind, "tap") == 0 || g_strcmp0 (kind, "bridge") == 0)
    {
      const char *name = json_object_get_string_member_with_default (change, "name", NULL);

      if (name == NULL)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "a %s change without a name", kind);
          return FALSE;
        }
      return kind[0] == 't' ? ql_net_host_remove_tap (name, ret_done, error)
                            : ql_net_host_remove_bridge (name, ret_done, error);
    }
  if (g_strcmp0 (kind, "hugepages") == 0)
    return undo_hugepages (change, sysfs, ret_done, error);
  g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "unknown change '%s' (written by a newer qlaunch?)", kind);
  return FALSE;
}

gboolean
ql_journal_undo (QlJournal *j, const char *sysfs, void (*log) (const char *line), GError **error)
{
  g_autoptr(JsonArray) left = json_array_new ();
  g_autoptr(GString) failures = g_string_new (NULL);
  g_autoptr(GError) save_error = NULL;
  guint n = json_array_get_length (j->changes);

  for (guint i = n; i-- > 0;)
    {
      JsonObject *change = json_array_get_object_element (j->changes, i);
      g_autoptr(GError) change_error = NULL;
      g_autofree char *done = NULL;

      if (change != NULL && undo_change (change, sysfs, &done, &change_error))
        {
          if (log != NULL)
            log (done);
          continue;
        }
      g_string_append_printf (failures, "\n%s", change_error ? change_error->message : "a change that is not an object");
      /* kept in the original order */
      json_array_add_element (left, json_node_copy (json_array_get_element (j->changes, i)));
    }
  json_array_unref (j->changes);
  j->changes = json_array_new ();
  for (guint i = json_array_get_length (left); i-- > 0;)
    json_array_add_element (j->changes, json_node_copy (json_array_get_element (left, i)));

  if (!save (j, &save_error))
    g_string_append_printf (failures, "\n%s", save_error->message);
  if (failures->len > 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Could not undo every host change (kept in '%s'):%s", j->path,
                   failures->str);
      return FALSE;
    }
  return TRUE;
}
