/* The commands that read or write XML: libvirt's domain XML needs libxml2,
 * which the other commands are better off without (see ql-verbs.h).
 * qlaunch runs this for 'qlaunch import' and 'qlaunch export'. */
#include "ql-commands.h"
#include "ql-verbs.h"

static const QlVerb verbs[] = {
  { "import", ql_cmd_import, "Write a profile from a libvirt domain XML or a Proxmox VM configuration" },
  { "export", ql_cmd_export, "Write a VM as a libvirt domain XML" },
};

int
main (int argc, char **argv)
{
  ql_verbs_take_qlaunch_binary ();
  return ql_verbs_dispatch (verbs, G_N_ELEMENTS (verbs), argc, argv);
}
