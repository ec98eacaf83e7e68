/* QEMU's capabilities, asked of the binary over QMP on its stdio, and
 * cached per binary. */
#include "ql-qemu-probe.h"
#include "ql-error.h"
#include "ql-json.h"
#include "ql-paths.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE_TIMEOUT_MS 20000

/* Each command carries its id; the replies are matched by it, and events
 * and the greeting are skipped. */
static const char probe_input[] =
  "{\"execute\": \"qmp_capabilities\", \"id\": \"caps\"}\n"
  "{\"execute\": \"query-version\", \"id\": \"version\"}\n"
  "{\"execute\": \"query-machines\", \"id\": \"machines\"}\n"
  "{\"execute\": \"query-command-line-options\", \"id\": \"options\"}\n"
  "{\"execute\": \"qom-list-properties\", \"arguments\": {\"typename\": \"generic-pc-machine\"}, "
  "\"id\": \"pc-machine\"}\n"
  "{\"execute\": \"device-list-properties\", \"arguments\": {\"typename\": \"vfio-pci\"}, \"id\": \"vfio-pci\"}\n"
  "{\"execute\": \"device-list-properties\", \"arguments\": {\"typename\": \"vfio-pci-nohotplug\"}, "
  "\"id\": \"vfio-pci-nohotplug\"}\n"
  "{\"execute\": \"quit\", \"id\": \"quit\"}\n";

typedef struct {
  int input;
  guint timeout_s;
} ProbeChild;

/* In the probe's child: the commands on stdin, and SIGALRM (which survives
 * the exec) ends a QEMU that does not answer in time. */
static void
probe_child_setup (gpointer data)
{
  const ProbeChild *child = data;

  dup2 (child->input, STDIN_FILENO);
  alarm (child->timeout_s);
}

/* The "return" of each reply, by id. */
static GHashTable *
replies_by_id (const char *out, GError **error)
{
  g_autoptr(GHashTable) replies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) json_node_unref);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

  for (guint i = 0; lines[i]; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *o;
      const char *id;

      if (g_strstrip (lines[i])[0] == '\0')
        continue;
      if (!ql_json_depth_within (lines[i], strlen (lines[i]), QL_JSON_DEPTH_MAX) ||
          !json_parser_load_from_data (parser, lines[i], -1, NULL) ||
          !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          g_set_error (error, QL_ERROR, QL_ERROR_QEMU, "QMP sent a line that is not a JSON object");
          return NULL;
        }
      o = json_node_get_object (json_parser_get_root (parser));
      if (!json_object_has_member (o, "id") ||
          (id = json_node_get_string (json_object_get_member (o, "id"))) == NULL)
        continue;
      if (json_object_has_member (o, "return"))
        g_hash_table_replace (replies, g_strdup (id), json_node_copy (json_object_get_member (o, "return")));
    }
  return g_steal_pointer (&replies);
}

/* g_spawn_sync, not a GSubprocess: a GSubprocess starts GLib's worker
 * thread (its child watch), and a detached start forks its supervisor
 * after the probe: the fork would have GLib believe in a worker thread
 * it does not have, and its signals and child watches would never come. */
static gboolean
run_probe (const char *binary, guint timeout_ms, char **ret_out, GError **error)
{
  const char *argv[] = { binary, "-machine", "none", "-nodefaults", "-no-user-config", "-display", "none",
                         "-qmp", "stdio", NULL };
  g_autofree char *out = NULL, *err = NULL;
  /* the commands come from a file, not a pipe: a QEMU that exits early
   * cannot make the writer die of SIGPIPE */
  ProbeChild child = { memfd_create ("qlaunch-qemu-probe", MFD_CLOEXEC), (timeout_ms + 999) / 1000 };
  int status = 0;
  gboolean spawned;

  if (child.input < 0 ||
      write (child.input, probe_input, sizeof probe_input - 1) != (ssize_t) (sizeof probe_input - 1) ||
      lseek (child.input, 0, SEEK_SET) != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "the probe's input file: %s", g_strerror (errno));
      if (child.input >= 0)
        close (child.input);
      return FALSE;
    }
  spawned = g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, probe_child_setup, &child, &out, &err,
                          &status, error);
  close (child.input);
  if (!spawned)
    return FALSE;
  if (WIFSIGNALED (status) && WTERMSIG (status) == SIGALRM)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_TIMEOUT, "'%s' did not answer QMP within %u ms", binary, timeout_ms);
      return FALSE;
    }
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_QEMU, "'%s -machine none -qmp stdio' failed: %s", binary,
                   err && *err ? g_strstrip (err) : "no message");
      return FALSE;
    }
  *ret_out = g_steal_pointer (&out);
  return TRUE;
}

QlQemuCaps *
ql_qemu_caps_probe (const char *binary, guint timeout_ms, GError **error)
{
  g_autofree char *out = NULL;
  g_autoptr(GHashTable) replies = NULL;
  QlQemuCaps *caps;
  JsonNode *version, *machines, *options;

  if (!run_probe (binary, timeout_ms, &out, error) || (replies = replies_by_id (out, error)) == NULL)
    return NULL;
  version = g_hash_table_lookup (replies, "version");
  machines = g_hash_table_lookup (replies, "machines");
  options = g_hash_table_lookup (replies, "options");
  if (version == NULL || machines == NULL || options == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_QEMU, "'%s' did not answer query-version, query-machines and "
                   "query-command-line-options", binary);
      return NULL;
    }
  caps = ql_qemu_caps_from_qmp (version, machines, options, g_hash_table_lookup (replies, "pc-machine"),
                                g_hash_table_lookup (replies, "vfio-pci"),
                                g_hash_table_lookup (replies, "vfio-pci-nohotplug"), error);
  if (caps == NULL)
    g_prefix_error (error, "'%s': ", binary);
  return caps;
}

char *
ql_qemu_caps_cache_path (const char *binary, const char *cache_dir)
{
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, binary, -1);
  g_autofree char *name = g_strdup_printf ("qemu-%.16s.json", hash);

  return g_build_filename (cache_dir, name, NULL);
}

static JsonNode *
cache_entry (const char *binary, const struct stat *st, const QlQemuCaps *caps)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "binary");
  json_builder_add_string_value (b, binary);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, st->st_size);
  json_builder_set_member_name (b, "mtime-ns");
  json_builder_add_int_value (b, (gint64) st->st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_mtim.tv_nsec);
  json_builder_set_member_name (b, "caps");
  json_builder_add_value (b, ql_qemu_caps_to_json (caps));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* The cached caps when the entry is whole, valid and for this very file. */
static QlQemuCaps *
cache_read (const char *path, const char *binary, const struct stat *st, GError **error)
{
  g_autoptr(JsonObject) o = ql_json_read_object (path, error);
  gint64 size, mtime;
  JsonNode *name;

  if (o == NULL || !ql_json_get_int (o, "size", 0, G_MAXINT64, NULL, &size, error) ||
      !ql_json_get_int (o, "mtime-ns", G_MININT64, G_MAXINT64, NULL, &mtime, error))
    return NULL;
  name = json_object_get_member (o, "binary");
  if (name == NULL || !JSON_NODE_HOLDS_VALUE (name) || g_strcmp0 (json_node_get_string (name), binary) != 0 ||
      size != st->st_size ||
      mtime != (gint64) st->st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_mtim.tv_nsec)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "made for another binary, or before it changed");
      return NULL;
    }
  return ql_qemu_caps_from_json (json_object_get_member (o, "caps"), error);
}

QlQemuCaps *
ql_qemu_caps_get (const char *binary, const char *cache_dir, GError **error)
{
  g_autofree char *path = ql_qemu_caps_cache_path (binary, cache_dir);
  g_autoptr(GError) cache_error = NULL;
  g_autoptr(JsonNode) entry = NULL;
  QlQemuCaps *caps;
  struct stat st;

  if (stat (binary, &st) != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "'%s': %s", binary, g_strerror (errno));
      return NULL;
    }
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      caps = cache_read (path, binary, &st, &cache_error);
      if (caps != NULL)
        return caps;
      g_debug ("%s: %s, asking QEMU again", path, cache_error->message);
      g_clear_error (&cache_error);
    }
  caps = ql_qemu_caps_probe (binary, PROBE_TIMEOUT_MS, error);
  if (caps == NULL)
    return NULL;
  entry = cache_entry (binary, &st, caps);
  if (!ql_paths_make_own_dir (cache_dir, &cache_error) || !ql_json_write_file (path, entry, &cache_error))
    g_debug ("%s: %s, not cached, ignoring", path, cache_error->message);
  return caps;
}
