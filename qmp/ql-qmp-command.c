#include "ql-qmp-command.h"
#include "ql-qmp-client.h"

#include <string.h>

static gboolean G_GNUC_PRINTF (2, 3)
fail (GError **error, const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  g_propagate_error (error, g_error_new_valist (QL_QMP_ERROR, QL_QMP_ERROR_GENERIC, format, ap));
  va_end (ap);
  return FALSE;
}

char *
ql_qmp_command_from_json (const char *text, JsonNode **ret_arguments, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) parse_error = NULL;
  JsonObject *message;
  JsonNode *execute, *arguments;

  *ret_arguments = NULL;
  if (!json_parser_load_from_data (parser, text, -1, &parse_error))
    {
      fail (error, "Not JSON: %s", parse_error->message);
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      fail (error, "A QMP command is a JSON object: {\"execute\": NAME, \"arguments\": {…}}");
      return NULL;
    }
  message = json_node_get_object (json_parser_get_root (parser));
  execute = json_object_get_member (message, "execute");
  if (execute == NULL || !JSON_NODE_HOLDS_VALUE (execute) || json_node_get_value_type (execute) != G_TYPE_STRING)
    {
      fail (error, "The command has no \"execute\" string");
      return NULL;
    }
  arguments = json_object_get_member (message, "arguments");
  if (arguments != NULL && !JSON_NODE_HOLDS_OBJECT (arguments))
    {
      fail (error, "\"arguments\" must be an object");
      return NULL;
    }
  *ret_arguments = arguments ? json_node_copy (arguments) : NULL;
  return g_strdup (json_node_get_string (execute));
}

/* "1" is 1, "true" is true, "\"x\"" is "x", "{…}" an object; "x" and
 * "01:00.0" stay strings. */
static JsonNode *
word_value (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (*text != '\0' && json_parser_load_from_data (parser, text, -1, NULL))
    return json_node_copy (json_parser_get_root (parser));
  return json_node_init_string (json_node_alloc (), text);
}

static gboolean
set_dotted (JsonObject *arguments, const char *key, const char *value, GError **error)
{
  g_auto(GStrv) parts = g_strsplit (key, ".", -1);
  JsonObject *o = arguments;
  guint n = g_strv_length (parts);

  for (guint i = 0; i < n; i++)
    {
      if (parts[i][0] == '\0')
        return fail (error, "Empty key in '%s'", key);
      if (i == n - 1)
        {
          if (json_object_has_member (o, parts[i]))
            return fail (error, "'%s' is given twice", key);
          json_object_set_member (o, parts[i], word_value (value));
          break;
        }
      if (!json_object_has_member (o, parts[i]))
        json_object_set_object_member (o, parts[i], json_object_new ());
      else if (!JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, parts[i])))
        return fail (error, "'%s' is both a value and an object", key);
      o = json_object_get_object_member (o, parts[i]);
    }
  return TRUE;
}

char *
ql_qmp_command_from_words (const char *const *words, JsonNode **ret_arguments, GError **error)
{
  g_autoptr(JsonObject) arguments = json_object_new ();

  *ret_arguments = NULL;
  if (words == NULL || words[0] == NULL || words[0][0] == '\0')
    {
      fail (error, "No command given");
      return NULL;
    }
  for (guint i = 1; words[i] != NULL; i++)
    {
      const char *eq = strchr (words[i], '=');
      g_autofree char *key = NULL;

      if (eq == NULL || eq == words[i])
        {
          fail (error, "'%s' is not key=value", words[i]);
          return NULL;
        }
      key = g_strndup (words[i], eq - words[i]);
      if (!set_dotted (arguments, key, eq + 1, error))
        return NULL;
    }
  if (json_object_get_size (arguments) > 0)
    *ret_arguments = json_node_init_object (json_node_alloc (), arguments);
  return g_strdup (words[0]);
}

JsonObject *
ql_qmp_event_object (const char *name, JsonNode *data, gint64 usec)
{
  JsonObject *event = json_object_new ();
  JsonObject *timestamp = json_object_new ();

  json_object_set_string_member (event, "event", name);
  if (data != NULL)
    json_object_set_member (event, "data", json_node_copy (data));
  json_object_set_int_member (timestamp, "seconds", usec / G_USEC_PER_SEC);
  json_object_set_int_member (timestamp, "microseconds", usec % G_USEC_PER_SEC);
  json_object_set_object_member (event, "timestamp", timestamp);
  return event;
}
