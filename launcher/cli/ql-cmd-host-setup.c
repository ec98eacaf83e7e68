/* qlaunch host-setup: the one-time, root-only part of running a VM as a
 * user.  For now, the VM's taps: made persistent and owned by the user. */
#include "ql-commands.h"
#include "ql-net-host.h"
#include "ql-prepare.h"

#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

static gboolean
resolve_user (const char *name, uid_t *ret_uid, GError **error)
{
  struct passwd *pw;

  if (name == NULL)
    name = g_getenv ("SUDO_USER");
  if (name == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                   "whose VM is it? Pass --user USER (or run through sudo)");
      return FALSE;
    }
  pw = getpwnam (name);
  if (pw == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "no user '%s' on this host", name);
      return FALSE;
    }
  *ret_uid = pw->pw_uid;
  return TRUE;
}

int
ql_cmd_host_setup (int argc, char **argv)
{
  g_autofree char *user = NULL;
  gboolean undo = FALSE;
  const GOptionEntry entries[] = {
    { "user", 'u', 0, G_OPTION_ARG_STRING, &user, "The user who starts the VM (default: $SUDO_USER)", "USER" },
    { "undo", 0, 0, G_OPTION_ARG_NONE, &undo, "Take away what host-setup made", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME|FILE.ini");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlPrepared) prepared = NULL;
  const QlMachine *m;
  uid_t owner = 0;
  int status = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
                                "Prepare the host once, as root, so that a user can start the VM without\n"
                                "privileges: each mode=tap NIC's tap is made persistent, owned by the user,\n"
                                "and a port of its bridge.");
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1))
    return 1;
  prepared = ql_prepare (argv[1], &error);
  if (prepared == NULL || (!undo && !resolve_user (user, &owner, &error)))
    {
      ql_cmd_print_error (error);
      return 1;
    }
  m = prepared->machine;
  if (m->taps->len == 0)
    {
      printf ("VM '%s' has no mode=tap NIC; nothing to set up\n", prepared->profile->vm.name);
      return 0;
    }
  for (guint i = 0; i < m->taps->len; i++)
    {
      const QlNet *net = g_array_index (m->taps, QlMachineTap, i).net;
      g_autofree char *done = NULL;
      g_autoptr(GError) net_error = NULL;

      if (undo ? ql_net_host_remove_persistent (net, &done, &net_error)
               : ql_net_host_make_persistent (net, owner, &done, &net_error))
        printf ("%s\n", done);
      else
        {
          ql_cmd_print_error (net_error);
          status = 1;
        }
    }
  return status;
}
