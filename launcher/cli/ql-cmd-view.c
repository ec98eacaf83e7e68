/* view: the user's viewer on a running VM's display, as virt-viewer does
 * for libvirt: remote-viewer for SPICE (its unix socket or its port), a
 * VNC viewer for VNC.  Where the display listens is asked of QEMU, so the
 * viewer goes where QEMU really is; a user who cannot ask (a root VM whose
 * QEMU runs as that user) gets the SPICE socket of the runtime dir's layout. */
#include "ql-commands.h"
#include "ql-error.h"

#include "ql-paths.h"
#include "ql-runtime-files.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define QMP_CONNECT_TIMEOUT_MS 5000
#define QMP_QUERY_TIMEOUT_MS 5000

/* A viewer and the Debian package that has it. */
typedef struct {
  const char *program;
  const char *package;
} Viewer;

static const Viewer spice_viewers[] = { { "remote-viewer", "virt-viewer" }, { NULL } };
static const Viewer vnc_viewers[] = { { "remote-viewer", "virt-viewer" }, { "vncviewer", "tigervnc-viewer" }, { NULL } };

/* QEMU says "*", "0.0.0.0" or "::" for every address: the viewer goes to this host's loopback */
static const char *
connect_host (const char *host)
{
  if (host == NULL || strcmp (host, "*") == 0 || strcmp (host, "0.0.0.0") == 0 || strcmp (host, "") == 0)
    return "127.0.0.1";
  if (strcmp (host, "::") == 0)
    return "::1";
  return host;
}

static char *
bracket (const char *host)
{
  return strchr (host, ':') != NULL ? g_strdup_printf ("[%s]", host) : g_strdup (host);
}

/* spice+unix://PATH or spice://HOST:PORT; NULL when SPICE is off */
static char *
spice_uri (JsonObject *info)
{
  const char *host = json_object_get_string_member_with_default (info, "host", NULL);
  g_autofree char *h = NULL;

  if (!json_object_get_boolean_member_with_default (info, "enabled", FALSE))
    return NULL;
  if (!json_object_has_member (info, "port") && host != NULL && host[0] == '/')
    return g_strconcat ("spice+unix://", host, NULL);
  if (!json_object_has_member (info, "port"))
    return NULL;
  h = bracket (connect_host (host));
  return g_strdup_printf ("spice://%s:%" G_GINT64_FORMAT, h, json_object_get_int_member (info, "port"));
}

/* HOST and PORT of a VNC server; FALSE when VNC is off */
static gboolean
vnc_address (JsonObject *info, char **ret_host, char **ret_port)
{
  const char *service = json_object_get_string_member_with_default (info, "service", NULL);

  if (!json_object_get_boolean_member_with_default (info, "enabled", FALSE) || service == NULL)
    return FALSE;
  *ret_host = g_strdup (connect_host (json_object_get_string_member_with_default (info, "host", NULL)));
  *ret_port = g_strdup (service);
  return TRUE;
}

/* QEMU reports numbers; anything else is QEMU lying (a guest that took it
 * over), and would reach vncviewer as its own setting: it reads NAME=VALUE
 * and -NAME arguments, and via= runs a command. */
static gboolean
check_vnc_address (const char *name, const char *host, const char *port, GError **error)
{
  guint64 n;

  if (g_hostname_is_ip_address (host) && g_ascii_string_to_unsigned (port, 10, 1, 65535, &n, NULL))
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "QEMU of VM '%s' reports a VNC address that is not an address "
               "(host '%s', port '%s'); no viewer is run", name, host, port);
  return FALSE;
}

static JsonObject *
query (QlQmpClient *qmp, const char *command, GError **error)
{
  g_autoptr(JsonNode) reply = ql_qmp_client_execute_sync (qmp, command, NULL, QMP_QUERY_TIMEOUT_MS, error);

  if (reply == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (reply))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "QEMU's reply to %s is not an object", command);
      return NULL;
    }
  return json_object_ref (json_node_get_object (reply));
}

/* The first viewer of the list on PATH, or NULL with the packages to install */
static char *
find_viewer (const Viewer *viewers, const Viewer **ret_viewer, GError **error)
{
  g_autoptr(GString) wanted = g_string_new (NULL);

  for (const Viewer *v = viewers; v->program != NULL; v++)
    {
      char *path = g_find_program_in_path (v->program);
      if (path != NULL)
        {
          *ret_viewer = v;
          return path;
        }
      g_string_append_printf (wanted, "%s%s (package %s)", wanted->len ? " or " : "", v->program, v->package);
    }
  g_set_error (error, QL_ERROR, QL_ERROR_NOT_FOUND, "No viewer found: this needs %s.  Hint: apt install %s",
               wanted->str, viewers[0].package);
  return NULL;
}

/* The viewer's argv for the VM's display; QL_ERROR_NOT_FOUND when there is none to view */
static GStrv
viewer_argv (const char *name, QlQmpClient *qmp, char **ret_path, GError **error)
{
  g_autoptr(JsonObject) spice = query (qmp, "query-spice", NULL);
  g_autoptr(JsonObject) vnc = NULL;
  g_autofree char *uri = spice != NULL ? spice_uri (spice) : NULL;
  g_autofree char *host = NULL, *port = NULL, *h = NULL;
  const Viewer *viewer = NULL;
  char *path;

  if (uri != NULL)
    {
      if ((path = find_viewer (spice_viewers, &viewer, error)) == NULL)
        return NULL;
      *ret_path = path;
      return g_strdupv ((char *[]) { (char *) viewer->program, uri, NULL });
    }
  vnc = query (qmp, "query-vnc", NULL);
  if (vnc == NULL || !vnc_address (vnc, &host, &port))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_NOT_FOUND, "VM '%s' has no SPICE or VNC display to view; set "
                   "[display] type=spice (or vnc) in its profile", name);
      return NULL;
    }
  if (!check_vnc_address (name, host, port, error) || (path = find_viewer (vnc_viewers, &viewer, error)) == NULL)
    return NULL;
  *ret_path = path;
  h = bracket (host);
  if (strcmp (viewer->program, "remote-viewer") == 0)
    uri = g_strdup_printf ("vnc://%s:%s", h, port);
  else
    uri = g_strdup_printf ("%s::%s", h, port);   /* vncviewer's HOST::PORT */
  return g_strdupv ((char *[]) { (char *) viewer->program, uri, NULL });
}

/* A caller who is not root cannot reach a root VM's QMP relay; QEMU's
 * user (the one who ran sudo, or [vm] run-as) can reach the SPICE socket
 * in the VM's display dir, which is its own.  NULL without an error when
 * there is no such socket. */
static GStrv
socket_viewer_argv (const char *name, char **ret_path, GError **error)
{
  g_autofree char *runtime_dir = ql_paths_system_runtime_dir (name);
  g_autofree char *socket = g_build_filename (runtime_dir, QL_RUNTIME_SPICE_SOCKET, NULL);
  g_autofree char *uri = NULL;
  const Viewer *viewer = NULL;
  struct stat st;
  int e = 0;

  if (stat (socket, &st) != 0)
    e = errno;
  else if (!S_ISSOCK (st.st_mode))
    return NULL;
  else if (access (socket, R_OK | W_OK) != 0)
    e = errno;
  if (e == EACCES || e == EPERM)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "VM '%s' was started by root, and the socket of its "
                   "display '%s' is its QEMU's user's: run 'qlaunch view %s' as that user (the one who ran "
                   "'sudo qlaunch start', or the profile's [vm] run-as)", name, socket, name);
      return NULL;
    }
  if (e != 0)
    return NULL;
  if ((*ret_path = find_viewer (spice_viewers, &viewer, error)) == NULL)
    return NULL;
  uri = g_strconcat ("spice+unix://", socket, NULL);
  return g_strdupv ((char *[]) { (char *) viewer->program, uri, NULL });
}

int
ql_cmd_view (int argc, char **argv)
{
  gboolean print = FALSE;
  const GOptionEntry entries[] = {
    { "print", 'p', 0, G_OPTION_ARG_NONE, &print, "Print the viewer's command instead of running it", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQmpClient) qmp = NULL;
  g_auto(GStrv) viewer = NULL;
  g_autofree char *path = NULL;

  g_option_context_set_summary (context, "Open a viewer on a running VM's display: remote-viewer (virt-viewer) for\n"
                                         "SPICE, on its unix socket or port; remote-viewer or vncviewer for VNC.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1) || !ql_cmd_check_vm_name (argv[1]))
    return 2;
  qmp = ql_cmd_connect_vm (argv[1], QMP_CONNECT_TIMEOUT_MS, NULL, &error);
  if (qmp != NULL)
    viewer = viewer_argv (argv[1], qmp, &path, &error);
  else if (geteuid () != 0)
    {
      g_autoptr(GError) socket_error = NULL;

      viewer = socket_viewer_argv (argv[1], &path, &socket_error);
      if (socket_error != NULL)
        {
          g_clear_error (&error);
          g_propagate_error (&error, g_steal_pointer (&socket_error));
        }
    }
  if (viewer == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  if (qmp != NULL)
    ql_qmp_client_close (qmp);
  if (print)
    {
      g_autofree char *line = g_strjoinv (" ", viewer);
      printf ("%s\n", line);
      return 0;
    }
  fflush (stdout);
  execv (path, viewer);
  g_printerr ("qlaunch: cannot run '%s': %s\n", path, g_strerror (errno));
  return 1;
}
