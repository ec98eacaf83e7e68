/* qlaunch detach / attach: a passed-through device out of the running guest
 * and back to its host driver, and back again; the supervisor does it (it
 * holds the journal), asked through its QMP relay. */
#include "ql-commands.h"
#include "ql-hotplug-client.h"

#include <stdio.h>

static int
hotplug_verb (int argc, char **argv, const char *command, const char *summary)
{
  int timeout_s = 0;
  const GOptionEntry entries[] = {
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s,
      "detach: seconds to wait for the guest to let go (default 30)", "S" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME DEVICE");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQmpClient) qmp = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autofree char *text = NULL;

  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 2, 2) || !ql_cmd_check_vm_name (argv[1]))
    return 2;
  if (timeout_s < 0 || timeout_s > 3600)
    {
      g_printerr ("qlaunch: --timeout: seconds, 1 to 3600\n");
      return 2;
    }
  qmp = ql_cmd_connect_vm (argv[1], 5000, NULL, &error);
  if (qmp != NULL)
    reply = ql_cmd_hotplug_request (qmp, command, argv[2], (guint) timeout_s, &error);
  if (reply == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  text = ql_cmd_hotplug_describe (reply);
  if (json_object_has_member (reply, "error"))
    {
      g_printerr ("qlaunch: %s\n", text);
      return 1;
    }
  printf ("%s", text);
  return 0;
}

int
ql_cmd_detach (int argc, char **argv)
{
  return hotplug_verb (argc, argv, "qlaunch-detach",
                       "Take a [pci DEVICE] out of the running guest (QMP device_del, waiting for the guest to\n"
                       "let go) and give it back to its host driver.  'qlaunch attach' puts it back.");
}

int
ql_cmd_attach (int argc, char **argv)
{
  return hotplug_verb (argc, argv, "qlaunch-attach",
                       "Put a detached [pci DEVICE] back: bind it to vfio-pci again and add it to the guest at\n"
                       "the same address, with the same ids, overrides and ROM.");
}
