#include "ql-commands.h"
#include "ql-hotplug-client.h"
#include "ql-qmp-render.h"
#include "ql-error.h"
#include "ql-paths.h"
#include "ql-pin-query.h"
#include "ql-profile.h"
#include "ql-qmp-client.h"
#include "ql-runtime.h"
#include "ql-runtime-files.h"
#include "ql-json.h"

#include <stdio.h>
#include <string.h>

#define STATUS_QMP_TIMEOUT_MS 3000

/* A VM whose supervisor holds its lock: its state, PIDs, threads and devices,
 * from state.json and through QMP. */
/* "start-stages" as read back (already checked), and their sum */
static void
add_stages (JsonBuilder *b, JsonNode *stages)
{
  JsonArray *array;
  gint64 total_usec = 0;

  if (stages == NULL)
    return;
  array = json_node_get_array (stages);
  for (guint i = 0; i < json_array_get_length (array); i++)
    total_usec += json_object_get_int_member (json_array_get_object_element (array, i), "usec");
  json_builder_set_member_name (b, "start-stages");
  json_builder_add_value (b, json_node_copy (stages));
  json_builder_set_member_name (b, "start-usec");
  json_builder_add_int_value (b, total_usec);
}

static gint
slower_first (gconstpointer a, gconstpointer b)
{
  gint64 usec_a = json_object_get_int_member (json_node_get_object (*(JsonNode **) a), "usec");
  gint64 usec_b = json_object_get_int_member (json_node_get_object (*(JsonNode **) b), "usec");

  return usec_a < usec_b ? 1 : usec_a > usec_b ? -1 : 0;
}

/* "  start: 1.2 s, most of it: bind ... 0.9 s, start QEMU 0.2 s" */
static void
print_start_time (JsonObject *o)
{
  g_autoptr(GPtrArray) stages = NULL;
  g_autoptr(GString) line = NULL;
  JsonArray *array;

  if (!json_object_has_member (o, "start-stages") || !json_object_has_member (o, "start-usec"))
    return;
  array = json_object_get_array_member (o, "start-stages");
  stages = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (stages, json_array_get_element (array, i));
  g_ptr_array_sort (stages, slower_first);
  line = g_string_new (NULL);
  g_string_printf (line, "  start took %.1f ms; slowest:", json_object_get_int_member (o, "start-usec") / 1000.0);
  for (guint i = 0; i < MIN (stages->len, 3); i++)
    {
      JsonObject *stage = json_node_get_object (stages->pdata[i]);
      g_autofree char *name = ql_qmp_render_for_terminal (g_strdup (json_object_get_string_member (stage, "stage")));

      g_string_append_printf (line, "%s %s %.1f ms", i ? "," : "", name, json_object_get_int_member (stage, "usec") / 1000.0);
    }
  g_print ("%s\n", line->str);
}

static void
collect_running (JsonBuilder *b, const char *runtime_dir)
{
  g_autoptr(QlRuntimeState) state = ql_runtime_state_read (runtime_dir, NULL);
  g_autofree char *socket = g_build_filename (runtime_dir, QL_RUNTIME_QMP_SOCKET, NULL);
  g_autoptr(QlQmpClient) qmp = NULL;
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GPtrArray) threads = NULL;
  g_autoptr(JsonObject) devices = NULL;
  g_autoptr(GError) error = NULL;
  const char *status = "starting";
  g_autofree char *safe_status = NULL;

  if (state != NULL && state->qemu.pid != 0)
    {
      qmp = ql_qmp_client_connect_unix (socket, &error);
      if (qmp != NULL && ql_qmp_client_handshake_sync (qmp, STATUS_QMP_TIMEOUT_MS, &error))
        ret = ql_qmp_client_execute_sync (qmp, "query-status", NULL, STATUS_QMP_TIMEOUT_MS, &error);
      if (ret != NULL && JSON_NODE_HOLDS_OBJECT (ret))
        status = safe_status = ql_qmp_render_for_terminal (
          g_strdup (json_object_get_string_member_with_default (json_node_get_object (ret), "status", "unknown")));
      else
        status = "unknown";
      if (ret != NULL)
        threads = ql_pin_query_threads (qmp, state->qemu.pid, STATUS_QMP_TIMEOUT_MS, &error);
      if (ret != NULL)
        devices = ql_qmp_client_forward_sync (qmp, "qlaunch-devices", NULL, STATUS_QMP_TIMEOUT_MS, NULL);
    }
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, status);
  if (error != NULL)
    {
      json_builder_set_member_name (b, "qmp-error");
      json_builder_add_string_value (b, error->message);
    }
  if (state != NULL)
    {
      json_builder_set_member_name (b, "qemu-pid");
      json_builder_add_int_value (b, state->qemu.pid);
      json_builder_set_member_name (b, "supervisor-pid");
      json_builder_add_int_value (b, state->supervisor.pid);
      json_builder_set_member_name (b, "accel");
      json_builder_add_string_value (b, state->accel);
      json_builder_set_member_name (b, "uptime-s");
      json_builder_add_int_value (b, state->started_usec > 0 ? MAX (0, g_get_real_time () - state->started_usec) / G_USEC_PER_SEC : 0);
      json_builder_set_member_name (b, "profile");
      json_builder_add_string_value (b, state->profile);
      add_stages (b, state->stages);
    }
  if (threads != NULL)
    {
      json_builder_set_member_name (b, "threads");
      json_builder_add_value (b, ql_pin_threads_to_json (state->qemu.pid, threads));
    }
  if (devices != NULL && json_object_has_member (devices, "return") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (devices, "return")) &&
      json_array_get_length (json_object_get_array_member (devices, "return")) > 0)
    {
      json_builder_set_member_name (b, "devices");
      json_builder_add_value (b, json_node_copy (json_object_get_member (devices, "return")));
    }
  if (qmp != NULL)
    ql_qmp_client_close (qmp);
}

/* The status of one VM as a JSON object. */
static JsonNode *
collect_status (const char *name)
{
  g_autofree char *runtime_dir = ql_paths_runtime_dir (name);
  g_autofree char *state_dir = ql_paths_state_dir (name);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonObject) last_exit = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, name);

  if (ql_lock_is_held (runtime_dir))
    collect_running (b, runtime_dir);
  else
    {
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, "stopped");
    }

  last_exit = ql_runtime_last_exit_read (state_dir);
  if (last_exit != NULL)
    {
      JsonNode *node = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (node, last_exit);
      json_builder_set_member_name (b, "last-exit");
      json_builder_add_value (b, node);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
print_human (JsonObject *o)
{
  const char *name = json_object_get_string_member (o, "name");
  const char *state = json_object_get_string_member (o, "state");

  if (json_object_has_member (o, "qemu-pid"))
    g_print ("%s: %s (QEMU pid %" G_GINT64_FORMAT ", supervisor pid %" G_GINT64_FORMAT ", %s, up %" G_GINT64_FORMAT " s)\n",
             name, state, json_object_get_int_member (o, "qemu-pid"),
             json_object_get_int_member (o, "supervisor-pid"),
             json_object_get_string_member_with_default (o, "accel", "?"),
             json_object_get_int_member_with_default (o, "uptime-s", 0));
  else
    g_print ("%s: %s\n", name, state);
  print_start_time (o);
  if (json_object_has_member (o, "threads"))
    ql_cmd_print_threads (json_object_get_array_member (o, "threads"));
  if (json_object_has_member (o, "devices"))
    {
      g_autofree char *devices = ql_cmd_hotplug_describe_devices (json_object_get_member (o, "devices"));
      g_auto(GStrv) lines = g_strsplit (g_strchomp (devices), "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        g_print ("  %s\n", lines[i]);
    }
  if (json_object_has_member (o, "qmp-error"))
    g_print ("  QMP: %s\n", json_object_get_string_member (o, "qmp-error"));
  if (g_strcmp0 (state, "stopped") == 0 && json_object_has_member (o, "last-exit"))
    {
      JsonObject *e = json_object_get_object_member (o, "last-exit");
      g_autoptr(GDateTime) ended = g_date_time_new_from_unix_local (
        json_object_get_int_member_with_default (e, "ended-usec", 0) / G_USEC_PER_SEC);
      g_autofree char *when = g_date_time_format (ended, "%Y-%m-%d %H:%M:%S");
      g_print ("  last run ended %s: %s (exit status %" G_GINT64_FORMAT ")\n", when,
               json_object_get_string_member_with_default (e, "message", ""),
               json_object_get_int_member_with_default (e, "exit-status", -1));
      print_start_time (e);
    }
}

int
ql_cmd_status (int argc, char **argv)
{
  gboolean as_json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[NAME]");
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonArray) all = json_array_new ();

  g_option_context_set_summary (context,
                                "Show whether a VM runs, from QEMU's own query-status, with its PIDs and\n"
                                "uptime, or how its last run ended.  Without NAME: every VM with a runtime directory.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 0, 1))
    return 1;

  if (argc == 2)
    {
      if (!ql_cmd_check_vm_name (argv[1]))
        return 1;
      g_ptr_array_add (names, g_strdup (argv[1]));
    }
  else
    {
      g_autofree char *base = ql_paths_runtime_base ();
      g_autoptr(GDir) dir = g_dir_open (base, 0, NULL);
      const char *entry;

      g_autofree char *unused = NULL;

      /* anything else in the runtime base is not a VM of ours */
      while (dir && (entry = g_dir_read_name (dir)))
        if (ql_profile_name_is_valid (entry, &unused))
          g_ptr_array_add (names, g_strdup (entry));
        else
          g_clear_pointer (&unused, g_free);
      g_ptr_array_sort (names, ql_cmd_compare_strings);
    }

  for (guint i = 0; i < names->len; i++)
    {
      JsonNode *node = collect_status (names->pdata[i]);
      if (as_json)
        json_array_add_element (all, node);
      else
        {
          print_human (json_node_get_object (node));
          json_node_unref (node);
        }
    }

  if (as_json)
    {
      g_autoptr(JsonNode) root = json_node_new (argc == 2 ? JSON_NODE_OBJECT : JSON_NODE_ARRAY);
      if (argc == 2)
        json_node_set_object (root, json_node_get_object (json_array_get_element (all, 0)));
      else
        json_node_set_array (root, all);
      ql_cmd_print_json (root);
    }
  else if (names->len == 0)
    g_print ("No VM is running\n");
  return 0;
}

int
ql_cmd_list (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_auto(GStrv) dirs = ql_paths_profile_dirs ();
  guint found = 0;

  g_option_context_set_summary (context, "List the profiles in the profile directories.");
  if (!ql_cmd_parse (context, &argc, &argv, 0, 0))
    return 1;

  for (guint i = 0; dirs[i]; i++)
    {
      g_autoptr(GDir) dir = g_dir_open (dirs[i], 0, NULL);
      g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
      const char *entry;

      while (dir && (entry = g_dir_read_name (dir)))
        if (g_str_has_suffix (entry, ".ini"))
          g_ptr_array_add (files, g_strdup (entry));
      g_ptr_array_sort (files, ql_cmd_compare_strings);
      for (guint j = 0; j < files->len; j++)
        {
          g_autofree char *name = g_strndup (files->pdata[j], strlen (files->pdata[j]) - 4);
          g_autofree char *path = g_build_filename (dirs[i], files->pdata[j], NULL);
          g_autofree char *runtime_dir = ql_paths_runtime_dir (name);
          g_print ("%-20s %-8s %s\n", name, ql_lock_is_held (runtime_dir) ? "running" : "-", path);
          found++;
        }
    }
  if (found == 0)
    {
      g_autofree char *where = g_strjoinv (", ", dirs);
      g_print ("No profiles in %s\n", where);
    }
  return 0;
}
