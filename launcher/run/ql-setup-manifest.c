#include "ql-setup-manifest.h"
#include "ql-error.h"
#include "ql-json.h"
#include "ql-paths.h"
#include "ql-profile.h"
#include "ql-value.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
manifest_file_free (QlManifestFile *file)
{
  g_free (file->path);
  g_free (file->sha256);
  g_free (file);
}

QlSetupManifest *
ql_setup_manifest_new (const char *vm, const char *user)
{
  QlSetupManifest *m = g_new0 (QlSetupManifest, 1);

  m->vm = g_strdup (vm);
  m->user = g_strdup (user);
  m->files = g_ptr_array_new_with_free_func ((GDestroyNotify) manifest_file_free);
  m->softdep_modules = g_ptr_array_new_with_free_func (g_free);
  m->nodes = g_array_new (FALSE, FALSE, sizeof (QlVfioNodeOwner));
  m->taps = g_ptr_array_new_with_free_func (g_free);
  return m;
}

void
ql_setup_manifest_free (QlSetupManifest *m)
{
  if (m == NULL)
    return;
  g_free (m->vm);
  g_free (m->user);
  g_free (m->profile);
  g_ptr_array_unref (m->files);
  g_ptr_array_unref (m->softdep_modules);
  g_array_unref (m->nodes);
  g_ptr_array_unref (m->taps);
  g_free (m);
}

char *
ql_setup_manifest_path (const char *vm)
{
  g_autofree char *dir = ql_paths_state_dir (vm);
  return g_build_filename (dir, "host-setup.json", NULL);
}

const QlManifestFile *
ql_setup_manifest_find_file (const QlSetupManifest *m, const char *path)
{
  for (guint i = 0; i < m->files->len; i++)
    if (strcmp (((QlManifestFile *) m->files->pdata[i])->path, path) == 0)
      return m->files->pdata[i];
  return NULL;
}

const QlVfioNodeOwner *
ql_setup_manifest_find_node (const QlSetupManifest *m, int group)
{
  for (guint i = 0; i < m->nodes->len; i++)
    if (g_array_index (m->nodes, QlVfioNodeOwner, i).group == group)
      return &g_array_index (m->nodes, QlVfioNodeOwner, i);
  return NULL;
}

char *
ql_setup_sha256 (const char *text)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
}

static const char *const kind_names[QL_SETUP_FILE_MAX] = {
  [QL_SETUP_FILE_MODPROBE] = "modprobe",
  [QL_SETUP_FILE_MODULES_LOAD] = "modules-load",
  [QL_SETUP_FILE_UDEV] = "udev",
  [QL_SETUP_FILE_LIMITS] = "limits",
  [QL_SETUP_FILE_SYSCTL] = "sysctl",
};

static JsonArray *
strings_to_json (GPtrArray *strings)
{
  JsonArray *a = json_array_new ();
  for (guint i = 0; i < strings->len; i++)
    json_array_add_string_element (a, strings->pdata[i]);
  return a;
}

JsonNode *
ql_setup_manifest_to_json (const QlSetupManifest *m)
{
  JsonObject *o = json_object_new ();
  JsonArray *files = json_array_new (), *nodes = json_array_new ();
  JsonNode *root = json_node_new (JSON_NODE_OBJECT);

  json_object_set_int_member (o, "version", 1);
  json_object_set_string_member (o, "vm", m->vm);
  json_object_set_string_member (o, "user", m->user);
  if (m->profile != NULL)
    json_object_set_string_member (o, "profile", m->profile);
  for (guint i = 0; i < m->files->len; i++)
    {
      const QlManifestFile *f = m->files->pdata[i];
      JsonObject *fo = json_object_new ();
      json_object_set_string_member (fo, "kind", kind_names[f->kind]);
      json_object_set_string_member (fo, "path", f->path);
      json_object_set_string_member (fo, "sha256", f->sha256);
      json_array_add_object_element (files, fo);
    }
  for (guint i = 0; i < m->nodes->len; i++)
    {
      const QlVfioNodeOwner *n = &g_array_index (m->nodes, QlVfioNodeOwner, i);
      JsonObject *no = json_object_new ();
      json_object_set_int_member (no, "group", n->group);
      json_object_set_int_member (no, "uid", n->uid);
      json_object_set_int_member (no, "gid", n->gid);
      json_object_set_int_member (no, "mode", n->mode);
      json_array_add_object_element (nodes, no);
    }
  json_object_set_array_member (o, "files", files);
  json_object_set_array_member (o, "softdep-modules", strings_to_json (m->softdep_modules));
  json_object_set_array_member (o, "vfio-nodes", nodes);
  json_object_set_array_member (o, "taps", strings_to_json (m->taps));
  json_node_take_object (root, o);
  return root;
}

static gboolean
get_string (JsonObject *o, const char *member, const char **ret, GError **error)
{
  JsonNode *node = json_object_get_member (o, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' is %s", member, node == NULL ? "missing" : "not a string");
      return FALSE;
    }
  *ret = json_node_get_string (node);
  return TRUE;
}

static JsonArray *
get_array (JsonObject *o, const char *member, GError **error)
{
  JsonNode *node = json_object_get_member (o, member);

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) ||
      json_array_get_length (json_node_get_array (node)) > QL_SETUP_MANIFEST_LIMIT)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' is %s", member,
                   node == NULL ? "missing" : !JSON_NODE_HOLDS_ARRAY (node) ? "not a list" : "too long");
      return NULL;
    }
  return json_node_get_array (node);
}

static gboolean
invalid (GError **error, const char *member, const char *value)
{
  g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' is not valid: \"%s\"", member, value);
  return FALSE;
}

static gboolean
sha256_valid (const char *s)
{
  if (strlen (s) != 64)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

/* The path must be the one host-setup writes for the kind: nothing else
 * under /etc is ever removed. */
static gboolean
parse_file (QlSetupManifest *m, JsonNode *node, GError **error)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *kind, *path, *sha256;
  g_autofree char *expected = NULL;
  QlManifestFile *f;
  int k;

  if (o == NULL)
    return invalid (error, "files", "an entry is not an object");
  if (!get_string (o, "kind", &kind, error) || !get_string (o, "path", &path, error) ||
      !get_string (o, "sha256", &sha256, error))
    return FALSE;
  for (k = 0; k < QL_SETUP_FILE_MAX && strcmp (kind_names[k], kind) != 0; k++)
    ;
  if (k == QL_SETUP_FILE_MAX)
    return invalid (error, "kind", kind);
  expected = ql_setup_file_path (k, m->vm);
  if (expected == NULL || strcmp (expected, path) != 0 || ql_setup_manifest_find_file (m, path) != NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'path' \"%s\" is not a file host-setup writes for VM '%s'",
                   path, m->vm);
      return FALSE;
    }
  if (!sha256_valid (sha256))
    return invalid (error, "sha256", sha256);
  f = g_new0 (QlManifestFile, 1);
  f->kind = k;
  f->path = g_strdup (path);
  f->sha256 = g_strdup (sha256);
  g_ptr_array_add (m->files, f);
  return TRUE;
}

static gboolean
parse_node (QlSetupManifest *m, JsonNode *node, GError **error)
{
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  gint64 group, uid, gid, mode;
  QlVfioNodeOwner n;

  if (o == NULL)
    return invalid (error, "vfio-nodes", "an entry is not an object");
  if (!ql_json_get_int (o, "group", 0, G_MAXINT, NULL, &group, error) ||
      !ql_json_get_int (o, "uid", 0, G_MAXUINT32 - 1, NULL, &uid, error) ||
      !ql_json_get_int (o, "gid", 0, G_MAXUINT32 - 1, NULL, &gid, error) ||
      !ql_json_get_int (o, "mode", 0, 0777, NULL, &mode, error))
    return FALSE;
  if (ql_setup_manifest_find_node (m, group) != NULL)
    return invalid (error, "vfio-nodes", "a group twice");
  n = (QlVfioNodeOwner) { .group = group, .uid = uid, .gid = gid, .mode = mode };
  g_array_append_val (m->nodes, n);
  return TRUE;
}

static gboolean
parse_names (JsonObject *o, const char *member, gboolean (*valid) (const char *), GPtrArray *into, GError **error)
{
  JsonArray *a = get_array (o, member, error);

  if (a == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *node = json_array_get_element (a, i);
      const char *name;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return invalid (error, member, "an entry is not a string");
      name = json_node_get_string (node);
      if (!valid (name))
        return invalid (error, member, name);
      g_ptr_array_add (into, g_strdup (name));
    }
  return TRUE;
}

static gboolean
module_valid (const char *name)
{
  g_autofree char *message = NULL;
  return ql_value_module_name_is_valid (name, &message);
}

/* Optional (records before it have none): an absolute path on one line. */
static gboolean
parse_profile (QlSetupManifest *m, JsonObject *o, GError **error)
{
  const char *profile;

  if (!json_object_has_member (o, "profile"))
    return TRUE;
  if (!get_string (o, "profile", &profile, error))
    return FALSE;
  if (profile[0] != '/' || strlen (profile) > 4096 || strpbrk (profile, "\n\r") != NULL)
    return invalid (error, "profile", profile);
  m->profile = g_strdup (profile);
  return TRUE;
}

QlSetupManifest *
ql_setup_manifest_from_json (JsonObject *o, const char *vm, GError **error)
{
  g_autoptr(QlSetupManifest) m = NULL;
  const char *name, *user;
  JsonArray *files, *nodes;
  gint64 version;

  if (!ql_json_get_int (o, "version", 1, 1, NULL, &version, error) || !get_string (o, "vm", &name, error) ||
      !get_string (o, "user", &user, error))
    return NULL;
  if (strcmp (name, vm) != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'vm' is \"%s\", not '%s'", name, vm);
      return NULL;
    }
  if (!ql_setup_name_valid (user))
    {
      invalid (error, "user", user);
      return NULL;
    }
  m = ql_setup_manifest_new (vm, user);
  if (!parse_profile (m, o, error))
    return NULL;
  if ((files = get_array (o, "files", error)) == NULL || (nodes = get_array (o, "vfio-nodes", error)) == NULL)
    return NULL;
  for (guint i = 0; i < json_array_get_length (files); i++)
    if (!parse_file (m, json_array_get_element (files, i), error))
      return NULL;
  for (guint i = 0; i < json_array_get_length (nodes); i++)
    if (!parse_node (m, json_array_get_element (nodes, i), error))
      return NULL;
  if (!parse_names (o, "softdep-modules", module_valid, m->softdep_modules, error) ||
      !parse_names (o, "taps", ql_profile_ifname_is_valid, m->taps, error))
    return NULL;
  return g_steal_pointer (&m);
}

/* Why a file opened as fd is not root's own, which nobody else could have
 * planted or changed; NULL when it is. */
static const char *
distrust (int fd)
{
  struct stat st;

  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    return "it is not a regular file";
  if (st.st_uid != geteuid ())
    return "it is owned by another user";
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return "others may write it";
  if (st.st_size > QL_JSON_FILE_MAX)
    return "it is too large";
  return NULL;
}

/* Opened once, never through a link, and checked and read through that
 * one fd: what is checked is what is read. */
static char *
read_trusted (const char *path, gboolean *ret_exists, GError **error)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  g_autoptr(GString) text = g_string_new (NULL);
  const char *why;
  char buf[4096];
  gssize got;

  *ret_exists = fd >= 0 || errno != ENOENT;
  if (fd < 0)
    {
      if (errno == ELOOP)
        g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "it is not a regular file");
      else if (*ret_exists)
        ql_error_set_errno (error, errno, "Cannot open '%s'", path);
      return NULL;
    }
  if ((why = distrust (fd)) != NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s", why);
      close (fd);
      return NULL;
    }
  while ((got = read (fd, buf, sizeof buf)) > 0 && text->len <= QL_JSON_FILE_MAX)
    g_string_append_len (text, buf, got);
  close (fd);
  if (got < 0 || text->len > QL_JSON_FILE_MAX || !ql_json_depth_within (text->str, text->len, QL_JSON_DEPTH_MAX))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "it cannot be read, or is too large or too deep");
      return NULL;
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static JsonObject *
parse_object (const char *text, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!json_parser_load_from_data (parser, text, -1, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "it does not hold a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

QlSetupManifest *
ql_setup_manifest_load (const char *vm, gboolean *ret_exists, GError **error)
{
  g_autofree char *path = ql_setup_manifest_path (vm);
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) o = NULL;
  g_autoptr(GError) local_error = NULL;
  QlSetupManifest *m;

  text = read_trusted (path, ret_exists, &local_error);
  if (text == NULL && !*ret_exists)
    return NULL;
  if (text == NULL || (o = parse_object (text, &local_error)) == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "host-setup's record '%s' is not trusted, nothing was done: %s",
                   path, local_error->message);
      *ret_exists = TRUE;
      return NULL;
    }
  m = ql_setup_manifest_from_json (o, vm, error);
  if (m == NULL)
    g_prefix_error (error, "host-setup's record '%s' is damaged, nothing was done: ", path);
  return m;
}

gboolean
ql_setup_manifest_save (const QlSetupManifest *m, GError **error)
{
  g_autofree char *path = ql_setup_manifest_path (m->vm);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(JsonNode) root = NULL;

  if (m->files->len == 0 && m->nodes->len == 0 && m->taps->len == 0)
    {
      if (g_unlink (path) != 0 && errno != ENOENT)
        return ql_error_set_errno (error, errno, "Cannot remove '%s'", path);
      return TRUE;
    }
  if (!ql_paths_make_own_dir (dir, error))
    return FALSE;
  root = ql_setup_manifest_to_json (m);
  return ql_json_write_file (path, root, error);
}
