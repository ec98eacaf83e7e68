/* The interactive console: readline, with the terminfo library behind it,
 * which the other commands are better off without (see ql-verbs.h).
 * qlaunch runs this for 'qlaunch console'. */
#include "ql-commands.h"
#include "ql-verbs.h"

static const QlVerb verbs[] = {
  { "console", ql_cmd_console, "Talk to a running VM: shut it down, pause, its CPUs, PCI tree, raw QMP" },
};

int
main (int argc, char **argv)
{
  ql_verbs_take_qlaunch_binary ();
  return ql_verbs_dispatch (verbs, G_N_ELEMENTS (verbs), argc, argv);
}
