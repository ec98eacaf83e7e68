/* QMP for scripts: one command with its reply, or the events as they come. */
#include "ql-commands.h"
#include "ql-qmp-command.h"
#include "ql-qmp-render.h"
#include "ql-runtime.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

#define QMP_CONNECT_TIMEOUT_MS 5000

int
ql_cmd_qmp (int argc, char **argv)
{
  int timeout_s = 60;
  const GOptionEntry entries[] = {
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s, "Seconds to wait for the reply (default 60)", "S" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME {JSON}|COMMAND [KEY=VALUE…]");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQmpClient) qmp = NULL;
  g_autoptr(JsonNode) arguments = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(JsonNode) reply_node = NULL;
  g_autofree char *command = NULL;

  g_option_context_set_summary (context,
                                "Send one QMP command to a running VM and print QEMU's reply as JSON.\n"
                                "The command is JSON ('{\"execute\": \"query-status\"}') or words\n"
                                "('device_del id=gpu'); exit status 0 for a \"return\", 1 for an \"error\".");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_strict_posix (context, TRUE);
  if (!ql_cmd_parse (context, &argc, &argv, 2, G_MAXINT) || !ql_cmd_check_vm_name (argv[1]))
    return 2;
  if (timeout_s <= 0)
    {
      g_printerr ("qlaunch qmp: --timeout must be positive\n");
      return 2;
    }
  if (argv[2][0] == '{' && argc == 3)
    command = ql_qmp_command_from_json (argv[2], &arguments, &error);
  else
    command = ql_qmp_command_from_words ((const char *const *) argv + 2, &arguments, &error);
  if (command == NULL)
    {
      ql_cmd_print_error (error);
      return 2;
    }
  qmp = ql_cmd_connect_vm (argv[1], QMP_CONNECT_TIMEOUT_MS, NULL, &error);
  if (qmp != NULL)
    reply = ql_qmp_client_forward_sync (qmp, command, arguments, (guint) timeout_s * 1000, &error);
  if (reply == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  reply_node = json_node_init_object (json_node_alloc (), reply);
  ql_cmd_print_json (reply_node);
  ql_qmp_client_close (qmp);
  return json_object_has_member (reply, "error") ? 1 : 0;
}

/* ---- events ---- */

typedef struct {
  GMainLoop *loop;
  gboolean json;
} EventsFollow;

static void
print_event (QlQmpClient *client, const char *name, JsonNode *data, gint64 usec, gpointer user_data)
{
  EventsFollow *follow = user_data;
  g_autofree char *line = ql_qmp_render_event (name, data, usec, follow->json);

  printf ("%s\n", line);
  fflush (stdout);
}

static void
vm_gone (QlQmpClient *client, GError *why, gpointer user_data)
{
  EventsFollow *follow = user_data;

  g_main_loop_quit (follow->loop);
}

static gboolean
interrupted (gpointer user_data)
{
  EventsFollow *follow = user_data;

  g_main_loop_quit (follow->loop);
  return G_SOURCE_CONTINUE;
}

int
ql_cmd_events (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per line, as QEMU sends them", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQmpClient) qmp = NULL;
  EventsFollow follow = { .loop = g_main_loop_new (NULL, FALSE) };
  guint sigint, sigterm;

  g_option_context_set_summary (context, "Print a running VM's QMP events as they come, until it ends (or Ctrl-C).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1) || !ql_cmd_check_vm_name (argv[1]))
    {
      g_main_loop_unref (follow.loop);
      return 2;
    }
  follow.json = json;
  qmp = ql_cmd_connect_vm (argv[1], QMP_CONNECT_TIMEOUT_MS, NULL, &error);
  if (qmp == NULL)
    {
      ql_cmd_print_error (error);
      g_main_loop_unref (follow.loop);
      return 1;
    }
  g_signal_connect (qmp, "event", G_CALLBACK (print_event), &follow);
  g_signal_connect (qmp, "closed", G_CALLBACK (vm_gone), &follow);
  sigint = g_unix_signal_add (SIGINT, interrupted, &follow);
  sigterm = g_unix_signal_add (SIGTERM, interrupted, &follow);
  g_main_loop_run (follow.loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_signal_handlers_disconnect_by_data (qmp, &follow);
  ql_qmp_client_close (qmp);
  g_main_loop_unref (follow.loop);
  return 0;
}
