#include "ql-json.h"
#include "ql-error.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

void
ql_json_add_hex (JsonBuilder *b, const char *name, int digits, guint value)
{
  g_autofree char *text = g_strdup_printf ("%0*x", digits, value);

  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, text);
}

void
ql_json_add_string_or_null (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static char *
to_pretty_text (JsonNode *root)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  return json_generator_to_data (generator, NULL);
}

gboolean
ql_json_write_file (const char *path, JsonNode *root, GError **error)
{
  g_autofree char *text = to_pretty_text (root);

  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

gboolean
ql_json_write_record (const char *path, JsonNode *root, GError **error)
{
  g_autofree char *text = to_pretty_text (root);

  /* glib syncs a file that replaces a non-empty one, and only then */
  if (unlink (path) != 0 && errno != ENOENT)
    return ql_error_set_errno (error, errno, "Cannot replace '%s'", path);
  return g_file_set_contents_full (path, text, -1,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_ONLY_EXISTING, 0600, error);
}

/* Deeper than anything qlaunch writes; json-glib recurses per level. */
gboolean
ql_json_depth_within (const char *text, gsize length, guint max_depth)
{
  guint depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if ((c == '{' || c == '[') && ++depth > max_depth)
        return FALSE;
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
    }
  return TRUE;
}

gboolean
ql_json_read_file (const char *path, char **ret_text, gsize *ret_length, GError **error)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  g_autofree char *text = NULL;
  struct stat st;
  gssize n = 0;

  if (fd < 0)
    return ql_error_set_errno (error, errno, "Cannot open '%s'", path);
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid () || st.st_size > QL_JSON_FILE_MAX)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' is not a file qlaunch wrote (%s)", path,
                   !S_ISREG (st.st_mode) ? "not a regular file"
                   : st.st_uid != geteuid () ? "owned by another user" : "too large");
      close (fd);
      return FALSE;
    }
  text = g_malloc (st.st_size + 1);
  while (n < st.st_size)
    {
      gssize got = read (fd, text + n, st.st_size - n);
      if (got <= 0)
        break;
      n += got;
    }
  close (fd);
  text[n] = '\0';
  if (!ql_json_depth_within (text, n, QL_JSON_DEPTH_MAX))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' nests deeper than %d levels", path, QL_JSON_DEPTH_MAX);
      return FALSE;
    }
  *ret_text = g_steal_pointer (&text);
  *ret_length = (gsize) n;
  return TRUE;
}

JsonObject *
ql_json_read_object (const char *path, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *text = NULL;
  gsize length;
  JsonNode *root;

  if (!ql_json_read_file (path, &text, &length, error) ||
      !json_parser_load_from_data (parser, text, (gssize) length, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' does not hold a JSON object", path);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

gboolean
ql_json_get_int (JsonObject *o, const char *member, gint64 min, gint64 max, const gint64 *fallback, gint64 *ret,
                 GError **error)
{
  JsonNode *node = json_object_get_member (o, member);

  if (node == NULL && fallback != NULL)
    {
      *ret = *fallback;
      return TRUE;
    }
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
      json_node_get_int (node) < min || json_node_get_int (node) > max)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' is %s", member,
                   node == NULL ? "missing" : "not a number in range");
      return FALSE;
    }
  *ret = json_node_get_int (node);
  return TRUE;
}
