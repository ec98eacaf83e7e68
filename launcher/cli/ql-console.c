/* qlaunch console NAME: an interactive QMP console on a running VM, with
 * readline's line editing, a history per VM and completion.  Events are
 * printed above the line being edited as they arrive. */
#include "ql-commands.h"
#include "ql-hotplug-client.h"
#include "ql-paths.h"
#include "ql-pin-query.h"
#include "ql-qmp-command.h"
#include "ql-qmp-render.h"
#include "ql-qemu-argv-desktop.h"

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define CONSOLE_QMP_TIMEOUT_MS 10000
#define CONSOLE_HISTORY_LINES 1000
#define CONSOLE_RECENT_EVENTS 50
#define CONSOLE_HISTORY_MAX_BYTES (1024 * 1024)

typedef struct {
  const char *name;
  QlQmpClient *qmp;
  QlRuntimeState *state;
  GMainLoop *loop;
  char *prompt;
  int history_fd;             /* -1: no history kept */
  GPtrArray *qmp_commands;   /* from query-commands, for completion */
  GPtrArray *device_ids;     /* qdev ids from query-pci, for completion */
  GPtrArray *pci_names;      /* the profile's [pci NAME]s, for completion */
  GPtrArray *recent_events;  /* lines */
  gboolean follow_events;
  gboolean in_command;       /* readline's line is not on the screen */
  gboolean quit_armed;       /* 'quit' was typed once */
  gboolean vm_ended;
} Console;

/* readline's callbacks carry no user data */
static Console *console;

typedef struct {
  const char *name;
  void (*run) (Console *c, char **words, const char *line);
  const char *args;
  const char *help;
} ConsoleCommand;

static const ConsoleCommand *find_command (const char *name);

/* ---- output ---- */

/* A line printed while the user may be typing goes above the prompt, and
 * the prompt comes back with what was typed. */
static void
print_above_prompt (Console *c, const char *text)
{
  int saved_point;
  char *saved_line;

  if (c->in_command || !isatty (STDOUT_FILENO))
    {
      printf ("%s\n", text);
      fflush (stdout);
      return;
    }
  saved_point = rl_point;
  saved_line = rl_copy_text (0, rl_end);
  rl_save_prompt ();
  rl_replace_line ("", 0);
  rl_redisplay ();
  printf ("\r%s\n", text);
  rl_restore_prompt ();
  rl_replace_line (saved_line, 0);
  rl_point = saved_point;
  rl_redisplay ();
  free (saved_line);
}

/* QEMU's words (a GError's message may be its "desc") made safe to print. */
static void
print_error (const GError *error)
{
  g_autofree char *text = ql_qmp_render_for_terminal (g_strdup_printf ("error: %s", error->message));

  printf ("%s\n", text);
}

static void
print_reply (JsonObject *reply)
{
  g_autofree char *text = ql_qmp_render_reply (reply);

  if (text[0] != '\0')
    printf ("%s%s", text, g_str_has_suffix (text, "\n") ? "" : "\n");
}

/* Runs a QMP command and prints its reply (or why there is none). */
static JsonObject *
run_qmp (Console *c, const char *command, JsonNode *arguments, gboolean print)
{
  g_autoptr(GError) error = NULL;
  JsonObject *reply = ql_qmp_client_forward_sync (c->qmp, command, arguments, CONSOLE_QMP_TIMEOUT_MS, &error);

  if (reply == NULL)
    print_error (error);
  else if (print || json_object_has_member (reply, "error"))
    print_reply (reply);
  return reply;
}

static void
run_qmp_and_say (Console *c, const char *command, const char *done)
{
  g_autoptr(JsonObject) reply = run_qmp (c, command, NULL, FALSE);

  if (reply != NULL && !json_object_has_member (reply, "error"))
    printf ("%s\n", done);
}

/* ---- commands ---- */

static void
cmd_status (Console *c, char **words, const char *line)
{
  g_autoptr(JsonObject) reply = run_qmp (c, "query-status", NULL, FALSE);
  JsonNode *ret = reply ? json_object_get_member (reply, "return") : NULL;
  gint64 up = c->state->started_usec > 0 ? (g_get_real_time () - c->state->started_usec) / G_USEC_PER_SEC : 0;

  g_autofree char *text = NULL;

  if (ret == NULL || !JSON_NODE_HOLDS_OBJECT (ret))
    return;
  text = ql_qmp_render_for_terminal (g_strdup_printf (
    "%s: %s (QEMU pid %" G_GINT64_FORMAT ", supervisor pid %" G_GINT64_FORMAT ", %s, up %" G_GINT64_FORMAT " s)",
    c->name, json_object_get_string_member_with_default (json_node_get_object (ret), "status", "?"),
    c->state->qemu.pid, c->state->supervisor.pid, c->state->accel, MAX (up, 0)));
  printf ("%s\n", text);
}

static void
cmd_powerdown (Console *c, char **words, const char *line)
{
  run_qmp_and_say (c, "system_powerdown", "power button pressed");
}

static void
cmd_stop (Console *c, char **words, const char *line)
{
  g_autoptr(GError) error = NULL;

  if (!ql_cmd_request_stop (c->name, c->state, FALSE, 0, &error))
    print_error (error);
  else
    printf ("stopping: the power button, then QMP quit after %" G_GINT64_FORMAT " s if the guest does not power off\n",
            c->state->stop_timeout_s);
}

static void
cmd_reset (Console *c, char **words, const char *line)
{
  run_qmp_and_say (c, "system_reset", "reset");
}

static void
cmd_pause (Console *c, char **words, const char *line)
{
  run_qmp_and_say (c, "stop", "paused");
}

static void
cmd_resume (Console *c, char **words, const char *line)
{
  run_qmp_and_say (c, "cont", "running");
}

/* The monitor's 'quit' ends QEMU at once; the console leaves on 'exit'.
 * Someone who typed 'quit' to leave must not pull the plug on the guest. */
static void
cmd_quit (Console *c, char **words, const char *line)
{
  if (!c->quit_armed)
    {
      printf ("'quit' ends the VM at once, without a guest shutdown (QMP quit); type 'quit' again to do it.\n"
              "To leave the console and keep the VM running: 'exit' or Ctrl-D.  To shut it down: 'stop'.\n");
      c->quit_armed = TRUE;
      return;
    }
  run_qmp_and_say (c, "quit", "quitting");
}

static void
cmd_cpus (Console *c, char **words, const char *line)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) threads = ql_pin_query_threads (c->qmp, c->state->qemu.pid, CONSOLE_QMP_TIMEOUT_MS, &error);
  g_autoptr(JsonNode) json = NULL;

  if (threads == NULL)
    {
      print_error (error);
      return;
    }
  json = ql_pin_threads_to_json (c->state->qemu.pid, threads);
  ql_cmd_print_threads (json_node_get_array (json));
}

static void
remember_device_ids (Console *c, JsonArray *devices)
{
  for (guint i = 0; devices != NULL && i < json_array_get_length (devices); i++)
    {
      JsonNode *node = json_array_get_element (devices, i);
      JsonObject *d = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *id = d ? json_object_get_string_member_with_default (d, "qdev_id", "") : "";
      JsonObject *bridge = d && json_object_has_member (d, "pci_bridge") ? json_object_get_object_member (d, "pci_bridge") : NULL;

      if (id[0] != '\0' && !g_ptr_array_find_with_equal_func (c->device_ids, id, g_str_equal, NULL))
        g_ptr_array_add (c->device_ids, g_strdup (id));
      if (bridge != NULL && json_object_has_member (bridge, "devices"))
        remember_device_ids (c, json_object_get_array_member (bridge, "devices"));
    }
}

static JsonNode *
query_pci (Console *c, gboolean quiet)
{
  g_autoptr(JsonObject) reply = quiet ? ql_qmp_client_forward_sync (c->qmp, "query-pci", NULL, CONSOLE_QMP_TIMEOUT_MS, NULL)
                                      : run_qmp (c, "query-pci", NULL, FALSE);
  JsonNode *ret = reply ? json_object_get_member (reply, "return") : NULL;

  if (ret == NULL || !JSON_NODE_HOLDS_ARRAY (ret))
    return NULL;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (ret)); i++)
    {
      JsonNode *bus = json_array_get_element (json_node_get_array (ret), i);
      if (JSON_NODE_HOLDS_OBJECT (bus) && json_object_has_member (json_node_get_object (bus), "devices"))
        remember_device_ids (c, json_object_get_array_member (json_node_get_object (bus), "devices"));
    }
  return json_node_copy (ret);
}

static void
cmd_pci (Console *c, char **words, const char *line)
{
  g_autoptr(JsonNode) pci = query_pci (c, FALSE);
  g_autofree char *tree = pci ? ql_qmp_render_pci_tree (pci) : NULL;

  if (tree != NULL)
    printf ("%s", tree);
}

static void
cmd_events (Console *c, char **words, const char *line)
{
  if (words[1] != NULL && g_str_equal (words[1], "off"))
    {
      c->follow_events = FALSE;
      printf ("events: not printed as they come ('events' shows the last %d and follows again)\n",
              CONSOLE_RECENT_EVENTS);
      return;
    }
  for (guint i = 0; i < c->recent_events->len; i++)
    printf ("%s\n", (char *) c->recent_events->pdata[i]);
  c->follow_events = TRUE;
  printf ("events: printed as they come ('events off' stops)\n");
}

static void
cmd_hmp (Console *c, char **words, const char *line)
{
  const char *command_line = g_strstrip (g_strdup (line + strlen ("hmp")));
  g_autofree char *owned = (char *) command_line;
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonObject) reply = NULL;

  if (command_line[0] == '\0')
    {
      printf ("usage: hmp COMMAND (QEMU's human monitor, e.g. 'hmp info pci')\n");
      return;
    }
  json_object_set_string_member (arguments, "command-line", command_line);
  node = json_node_init_object (json_node_alloc (), arguments);
  reply = run_qmp (c, "human-monitor-command", node, TRUE);
}

static void
cmd_execute (Console *c, char **words, const char *line)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) arguments = NULL;
  g_autofree char *command = ql_qmp_command_from_words ((const char *const *) words + 1, &arguments, &error);
  g_autoptr(JsonObject) reply = NULL;

  if (command == NULL)
    {
      printf ("error: %s (execute COMMAND [KEY=VALUE…])\n", error->message);
      return;
    }
  reply = run_qmp (c, command, arguments, TRUE);
}

static void
run_json (Console *c, const char *line)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) arguments = NULL;
  g_autofree char *command = ql_qmp_command_from_json (line, &arguments, &error);
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;

  if (command == NULL)
    {
      print_error (error);
      return;
    }
  reply = run_qmp (c, command, arguments, FALSE);
  if (reply == NULL)
    return;
  node = json_node_init_object (json_node_alloc (), json_object_ref (reply));
  text = json_to_string (node, TRUE);
  printf ("%s\n", text);
}

static void
cmd_devices (Console *c, char **words, const char *line)
{
  g_autoptr(JsonObject) reply = run_qmp (c, "qlaunch-devices", NULL, FALSE);
  g_autofree char *text = NULL;

  if (reply == NULL || json_object_has_member (reply, "error"))
    return;
  text = ql_cmd_hotplug_describe_devices (json_object_get_member (reply, "return"));
  printf ("%s", text);
}

static void
hotplug (Console *c, const char *command, char **words)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autofree char *text = NULL;
  guint64 timeout = 0;

  if (words[1] == NULL || (words[2] != NULL && !g_ascii_string_to_unsigned (words[2], 10, 1, 3600, &timeout, NULL)))
    {
      printf ("usage: %s DEVICE%s ('devices' lists them)\n", words[0],
              g_str_equal (words[0], "detach") ? " [TIMEOUT-SECONDS]" : "");
      return;
    }
  printf ("%s [pci %s]…\n", g_str_equal (words[0], "detach") ? "detaching" : "attaching", words[1]);
  fflush (stdout);
  reply = ql_cmd_hotplug_request (c->qmp, command, words[1], (guint) timeout, &error);
  if (reply == NULL)
    {
      print_error (error);
      return;
    }
  text = ql_cmd_hotplug_describe (reply);
  printf ("%s%s", text, g_str_has_suffix (text, "\n") ? "" : "\n");
}

static void
cmd_detach (Console *c, char **words, const char *line)
{
  hotplug (c, "qlaunch-detach", words);
}

static void
cmd_attach (Console *c, char **words, const char *line)
{
  hotplug (c, "qlaunch-attach", words);
}

/* A host USB device into the running guest, on the xhci controller */
static void
cmd_usb_add (Console *c, char **words, const char *line)
{
  g_autofree char *id = NULL, *message = NULL;
  g_autoptr(JsonNode) arguments = NULL;
  g_autoptr(JsonObject) reply = NULL;

  if (words[1] == NULL || words[2] != NULL)
    {
      printf ("usage: usb-add VENDOR:PRODUCT|BUS-PORT (like 046d:c52b or 1-4; 'lsusb' shows them)\n");
      return;
    }
  arguments = ql_qemu_usb_host_arguments (words[1], &id, &message);
  if (arguments == NULL)
    {
      printf ("error: %s\n", message);
      return;
    }
  reply = run_qmp (c, "device_add", arguments, FALSE);
  if (reply == NULL)
    return;
  if (json_object_has_member (reply, "error"))
    {
      printf ("hint: the VM needs a USB controller ([usb] tablet=true or host= in its profile), and a VM run as "
              "a user needs the device's /dev/bus/usb/BUS/DEVICE node to be that user's (a udev rule)\n");
      return;
    }
  printf ("%s added as '%s' (remove it with 'usb-del %s'); QEMU opens /dev/bus/usb/BUS/DEVICE when the device "
          "is there: a VM run as a user needs that node to be the user's (a udev rule with MODE=\"0660\" and its "
          "group)\n", words[1], id, id);
}

static void
cmd_usb_del (Console *c, char **words, const char *line)
{
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonObject) reply = NULL;

  if (words[1] == NULL || words[2] != NULL)
    {
      printf ("usage: usb-del ID (the id usb-add printed, like usb-046d-c52b)\n");
      return;
    }
  json_object_set_string_member (arguments, "id", words[1]);
  node = json_node_init_object (json_node_alloc (), arguments);
  reply = run_qmp (c, "device_del", node, FALSE);
  if (reply != NULL && !json_object_has_member (reply, "error"))
    printf ("%s removed from the guest\n", words[1]);
}

static void cmd_help (Console *c, char **words, const char *line);

static void
cmd_exit (Console *c, char **words, const char *line)
{
  g_main_loop_quit (c->loop);
}

static const ConsoleCommand commands[] = {
  { "status", cmd_status, "", "whether the guest runs, QEMU's and the supervisor's PIDs, uptime" },
  { "powerdown", cmd_powerdown, "", "press the ACPI power button once" },
  { "stop", cmd_stop, "", "shut the VM down with the stop ladder (power button, then quit after the timeout)" },
  { "reset", cmd_reset, "", "reset the guest (the reset button)" },
  { "pause", cmd_pause, "", "pause the guest's CPUs" },
  { "resume", cmd_resume, "", "let a paused guest run again" },
  { "quit", cmd_quit, "", "end QEMU at once, without a guest shutdown (asks twice)" },
  { "cpus", cmd_cpus, "", "each vCPU and iothread: its thread and the host CPUs it may run on" },
  { "pci", cmd_pci, "", "the guest's PCI tree, with device ids" },
  { "devices", cmd_devices, "", "each passed-through device: in the guest or not, its host driver, its power state" },
  { "detach", cmd_detach, "DEVICE [TIMEOUT]", "take a [pci] device out of the guest and give it back to the host" },
  { "attach", cmd_attach, "DEVICE", "put a detached device back, at the same guest address" },
  { "events", cmd_events, "[off]", "the last events, and follow them as they come (or stop)" },
  { "usb-add", cmd_usb_add, "VENDOR:PRODUCT|BUS-PORT", "plug a host USB device into the guest (046d:c52b, 1-4)" },
  { "usb-del", cmd_usb_del, "ID", "unplug a USB device usb-add put in (its id, like usb-046d-c52b)" },
  { "hmp", cmd_hmp, "COMMAND", "QEMU's human monitor, e.g. 'hmp info pci'" },
  { "execute", cmd_execute, "COMMAND [KEY=VALUE…]", "any QMP command; values read as JSON, else strings" },
  { "help", cmd_help, "", "this list; a line starting with '{' is sent as QMP JSON" },
  { "exit", cmd_exit, "", "leave the console; the VM keeps running (also Ctrl-D)" },
};

static void
cmd_help (Console *c, char **words, const char *line)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *usage = g_strdup_printf ("%s %s", commands[i].name, commands[i].args);
      printf ("  %-30s %s\n", usage, commands[i].help);
    }
  printf ("  %-30s %s\n", "{\"execute\": …}", "raw QMP; the reply is printed as JSON");
}

static const ConsoleCommand *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

static void
run_line (Console *c, const char *line)
{
  g_auto(GStrv) words = NULL;
  g_autoptr(GError) error = NULL;
  const ConsoleCommand *command;

  if (line[0] == '{')
    {
      run_json (c, line);
      return;
    }
  if (!g_shell_parse_argv (line, NULL, &words, &error))
    {
      print_error (error);
      return;
    }
  command = find_command (words[0]);
  if (command == NULL)
    {
      printf ("unknown command '%s'; 'help' lists them, 'execute %s' sends it to QMP\n", words[0], words[0]);
      return;
    }
  if (command->run != cmd_quit)
    c->quit_armed = FALSE;
  command->run (c, words, line);
}

/* ---- readline ---- */

static void
on_line (char *line)
{
  Console *c = console;
  g_autofree char *stripped = line ? g_strstrip (g_strdup (line)) : NULL;

  free (line);
  if (stripped == NULL)
    {
      printf ("\n");
      g_main_loop_quit (c->loop);
      return;
    }
  if (stripped[0] == '\0')
    return;
  add_history (stripped);
  c->in_command = TRUE;
  run_line (c, stripped);
  fflush (stdout);
  c->in_command = FALSE;
}

static char *
complete_from (const char *text, int state, const char *const *fixed, gsize n_fixed, GPtrArray *more)
{
  static gsize index;
  gsize len = strlen (text);

  if (state == 0)
    index = 0;
  while (index < n_fixed + (more ? more->len : 0))
    {
      const char *candidate = index < n_fixed ? fixed[index] : more->pdata[index - n_fixed];
      index++;
      if (strncmp (candidate, text, len) == 0)
        return strdup (candidate);
    }
  return NULL;
}

static char *
complete_console_command (const char *text, int state)
{
  static const char *names[G_N_ELEMENTS (commands)];

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    names[i] = commands[i].name;
  return complete_from (text, state, names, G_N_ELEMENTS (names), NULL);
}

static char *
complete_qmp_command (const char *text, int state)
{
  return complete_from (text, state, NULL, 0, console->qmp_commands);
}

static char *
complete_pci_name (const char *text, int state)
{
  return complete_from (text, state, NULL, 0, console->pci_names);
}

static char *
complete_device_id (const char *text, int state)
{
  return complete_from (text, state, NULL, 0, console->device_ids);
}

/* The first word: a console command; after 'execute': a QMP command;
 * later: a device id (for device_del id=…, qom paths, hmp). */
static char **
complete (const char *text, int start, int end)
{
  g_autofree char *before = g_strndup (rl_line_buffer, start);
  g_auto(GStrv) words = g_strsplit_set (g_strstrip (before), " \t", -1);
  guint n = before[0] ? g_strv_length (words) : 0;

  rl_attempted_completion_over = 1;
  if (n == 0)
    return rl_completion_matches (text, complete_console_command);
  if (n == 1 && g_str_equal (words[0], "execute"))
    return rl_completion_matches (text, complete_qmp_command);
  if (n == 1 && (g_str_equal (words[0], "detach") || g_str_equal (words[0], "attach")))
    return rl_completion_matches (text, complete_pci_name);
  if (g_str_has_prefix (text, "id="))
    {
      rl_completion_append_character = '\0';
      return NULL;
    }
  return rl_completion_matches (text, complete_device_id);
}

/* ---- the session ---- */

static void
on_event (QlQmpClient *client, const char *name, JsonNode *data, gint64 usec, gpointer user_data)
{
  Console *c = user_data;
  g_autofree char *text = ql_qmp_render_event (name, data, usec, FALSE);

  g_ptr_array_add (c->recent_events, g_strdup (text));
  if (c->recent_events->len > CONSOLE_RECENT_EVENTS)
    g_ptr_array_remove_index (c->recent_events, 0);
  if (c->follow_events)
    print_above_prompt (c, text);
}

static void
on_closed (QlQmpClient *client, GError *why, gpointer user_data)
{
  Console *c = user_data;

  c->vm_ended = TRUE;
  print_above_prompt (c, "the VM has ended (QMP closed); leaving the console");
  g_main_loop_quit (c->loop);
}

static gboolean
on_stdin (int fd, GIOCondition condition, gpointer user_data)
{
  rl_callback_read_char ();
  return G_SOURCE_CONTINUE;
}

/* Ctrl-C drops the line being typed, as in a shell; it never stops the VM. */
static gboolean
on_interrupt (gpointer user_data)
{
  Console *c = user_data;

  if (c->in_command)
    return G_SOURCE_CONTINUE;
  rl_replace_line ("", 0);
  printf ("^C\n");
  rl_on_new_line ();
  rl_redisplay ();
  return G_SOURCE_CONTINUE;
}

static void
learn_pci_names (Console *c)
{
  g_autoptr(JsonObject) reply = ql_qmp_client_forward_sync (c->qmp, "qlaunch-devices", NULL, CONSOLE_QMP_TIMEOUT_MS, NULL);
  JsonNode *ret = reply ? json_object_get_member (reply, "return") : NULL;
  JsonArray *list = ret && JSON_NODE_HOLDS_ARRAY (ret) ? json_node_get_array (ret) : NULL;

  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      if (JSON_NODE_HOLDS_OBJECT (node))
        g_ptr_array_add (c->pci_names,
                         g_strdup (json_object_get_string_member_with_default (json_node_get_object (node), "name", "")));
    }
}

static void
learn_qmp_commands (Console *c)
{
  g_autoptr(JsonObject) reply = ql_qmp_client_forward_sync (c->qmp, "query-commands", NULL, CONSOLE_QMP_TIMEOUT_MS, NULL);
  JsonNode *ret = reply ? json_object_get_member (reply, "return") : NULL;
  JsonArray *list = ret && JSON_NODE_HOLDS_ARRAY (ret) ? json_node_get_array (ret) : NULL;

  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      if (JSON_NODE_HOLDS_OBJECT (node))
        g_ptr_array_add (c->qmp_commands,
                         g_strdup (json_object_get_string_member_with_default (json_node_get_object (node), "name", "")));
    }
  g_ptr_array_sort (c->qmp_commands, ql_cmd_compare_strings);
}

/* The history is the VM owner's alone and may hold secrets (a set_password
 * typed in raw QMP): 0600, in the VM's own state dir, opened once without
 * following links and then only used through that fd.  Anything else and
 * the console keeps no history. */
static int
open_history (const char *name)
{
  g_autofree char *state_dir = ql_paths_state_dir (name);
  g_autofree char *path = g_build_filename (state_dir, "console-history", NULL);
  g_autoptr(GError) error = NULL;
  struct stat st;
  int fd;

  if (!ql_paths_check_own_dir (state_dir, &error))
    {
      g_message ("no console history: %s", error->message);
      return -1;
    }
  fd = open (path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid () || fchmod (fd, 0600) != 0)
    {
      g_message ("no console history: %s is not a file of yours", path);
      if (fd >= 0)
        close (fd);
      return -1;
    }
  return fd;
}

static void
load_history (int fd)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;
  char buf[8192];
  ssize_t n;

  while ((n = read (fd, buf, sizeof buf)) > 0 && text->len < CONSOLE_HISTORY_MAX_BYTES)
    g_string_append_len (text, buf, n);
  lines = g_strsplit (text->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0' && g_utf8_validate (lines[i], -1, NULL))
      add_history (lines[i]);
}

static void
save_history (int fd)
{
  HIST_ENTRY **entries = history_list ();
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; entries != NULL && entries[i] != NULL; i++)
    g_string_append_printf (text, "%s\n", entries[i]->line);
  if (ftruncate (fd, 0) != 0 || lseek (fd, 0, SEEK_SET) != 0 || write (fd, text->str, text->len) != (ssize_t) text->len)
    g_message ("the console history was not saved: %s", g_strerror (errno));
}

static void
console_begin (Console *c)
{
  using_history ();
  stifle_history (CONSOLE_HISTORY_LINES);
  c->history_fd = open_history (c->name);
  if (c->history_fd >= 0)
    load_history (c->history_fd);
  rl_readline_name = "qlaunch";
  rl_attempted_completion_function = complete;
  rl_catch_signals = 0;   /* Ctrl-C is the console's (on_interrupt) */
  learn_qmp_commands (c);
  learn_pci_names (c);
  json_node_unref (query_pci (c, TRUE) ?: json_node_new (JSON_NODE_NULL));   /* device ids for completion */
  printf ("qlaunch console on VM '%s' ('help' lists the commands; 'exit' or Ctrl-D leaves, the VM keeps running)\n",
          c->name);
  c->prompt = g_strdup_printf ("%s> ", c->name);
  rl_callback_handler_install (c->prompt, on_line);
}

static void
console_end (Console *c)
{
  rl_callback_handler_remove ();
  if (c->history_fd >= 0)
    {
      save_history (c->history_fd);
      close (c->history_fd);
    }
}

int
ql_cmd_console (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME");
  g_autoptr(GError) error = NULL;
  Console c = { .follow_events = TRUE, .history_fd = -1 };
  guint stdin_watch, sigint;

  g_option_context_set_summary (context, "An interactive QMP console on a running VM: shut it down, pause it,\n"
                                         "its CPUs and PCI tree, QEMU's human monitor, raw QMP; events as they come.");
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1) || !ql_cmd_check_vm_name (argv[1]))
    return 2;
  c.name = argv[1];
  c.qmp = ql_cmd_connect_vm (c.name, CONSOLE_QMP_TIMEOUT_MS, &c.state, &error);
  if (c.qmp == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  console = &c;
  c.loop = g_main_loop_new (NULL, FALSE);
  c.qmp_commands = g_ptr_array_new_with_free_func (g_free);
  c.device_ids = g_ptr_array_new_with_free_func (g_free);
  c.pci_names = g_ptr_array_new_with_free_func (g_free);
  c.recent_events = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (c.qmp, "event", G_CALLBACK (on_event), &c);
  g_signal_connect (c.qmp, "closed", G_CALLBACK (on_closed), &c);
  console_begin (&c);
  stdin_watch = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP, on_stdin, &c);
  sigint = g_unix_signal_add (SIGINT, on_interrupt, &c);
  g_main_loop_run (c.loop);
  g_source_remove (stdin_watch);
  g_source_remove (sigint);
  console_end (&c);
  g_signal_handlers_disconnect_by_data (c.qmp, &c);
  ql_qmp_client_close (c.qmp);
  g_object_unref (c.qmp);
  ql_runtime_state_free (c.state);
  g_main_loop_unref (c.loop);
  g_ptr_array_unref (c.qmp_commands);
  g_ptr_array_unref (c.device_ids);
  g_ptr_array_unref (c.pci_names);
  g_ptr_array_unref (c.recent_events);
  g_free (c.prompt);
  console = NULL;
  return 0;
}
