/* qlaunch unit: a VM's systemd unit, printed or installed (and enabled). */
#include "ql-commands.h"
#include "ql-error.h"
#include "ql-log.h"
#include "ql-paths.h"
#include "ql-profile.h"
#include "ql-unit.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  gboolean system;
  gboolean install;
  gboolean enable;
  gboolean now;
} UnitArgs;

/* The qlaunch the unit runs: this one (QLAUNCH_EXECUTABLE overrides it). */
static char *
own_executable (GError **error)
{
  const char *override = g_getenv ("QLAUNCH_EXECUTABLE");

  if (override != NULL && override[0] != '\0')
    return g_strdup (override);
  return g_file_read_link ("/proc/self/exe", error);
}

static char *
unit_dir (gboolean system)
{
  if (system)
    return g_strdup ("/etc/systemd/system");
  return g_build_filename (g_get_user_config_dir (), "systemd", "user", NULL);
}

static char *
build_unit (const UnitArgs *args, const QlProfile *profile, GError **error)
{
  g_autofree char *qlaunch = own_executable (error);
  g_autofree char *header = NULL;
  QlUnitOptions options = { profile, qlaunch, args->system ? QL_UNIT_SCOPE_SYSTEM : QL_UNIT_SCOPE_USER, NULL };

  if (qlaunch == NULL)
    return NULL;
  header = g_strdup_printf (QL_UNIT_MARKER " written by 'qlaunch unit' from %s;\n"
                            "# change the profile and run 'qlaunch unit%s %s --install' again, or add a drop-in\n",
                            profile->path, args->system ? " --system" : "", profile->vm.name);
  options.header = header;
  return ql_unit_text (&options, error);
}

/* A file there that qlaunch did not write (or a link: a masked unit) is left alone. */
static gboolean
check_replaceable (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  struct stat st;

  if (lstat (path, &st) != 0)
    return errno == ENOENT ? TRUE : ql_error_set_errno (error, errno, "Cannot look at '%s'", path);
  if (S_ISREG (st.st_mode) && g_file_get_contents (path, &text, NULL, NULL) && g_str_has_prefix (text, QL_UNIT_MARKER))
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_BUSY,
               "'%s' exists and was not written by 'qlaunch unit'%s; it is left as it is (move it away to replace it)",
               path, S_ISLNK (st.st_mode) ? " (a symbolic link: a masked or linked unit)" : "");
  return FALSE;
}

static char *
install_unit (const UnitArgs *args, const char *unit_name, const char *text, GError **error)
{
  g_autofree char *dir = unit_dir (args->system);
  g_autofree char *path = g_build_filename (dir, unit_name, NULL);

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      ql_error_set_errno (error, errno, "Cannot create '%s'", dir);
      return NULL;
    }
  if (!check_replaceable (path, error))
    return NULL;
  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644,
                                 error))
    return NULL;
  return g_steal_pointer (&path);
}

static gboolean
run_systemctl (gboolean system, const char *const *args, GError **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;

  g_ptr_array_add (argv, (char *) "systemctl");
  if (!system)
    g_ptr_array_add (argv, (char *) "--user");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const char *const *) argv->pdata, G_SUBPROCESS_FLAGS_NONE, error);
  if (proc == NULL || !g_subprocess_wait_check (proc, NULL, error))
    {
      g_autofree char *line = g_strjoinv (" ", (char **) argv->pdata);
      g_prefix_error (error, "'%s' failed: ", line);
      return FALSE;
    }
  return TRUE;
}

static gboolean
enable_unit (const UnitArgs *args, const char *unit_name, GError **error)
{
  const char *reload[] = { "daemon-reload", NULL };
  const char *enable[] = { "enable", unit_name, NULL };
  const char *enable_now[] = { "enable", "--now", unit_name, NULL };

  return run_systemctl (args->system, reload, error) &&
         run_systemctl (args->system, args->now ? enable_now : enable, error);
}

static gboolean
unit_run (const UnitArgs *args, const char *name_or_path, GError **error)
{
  g_autofree char *path = ql_paths_find_profile (name_or_path, error);
  g_autoptr(QlProfile) profile = path ? ql_profile_load (path, error) : NULL;
  g_autofree char *unit_name = profile ? ql_unit_name (profile->vm.name, error) : NULL;
  g_autofree char *text = unit_name ? build_unit (args, profile, error) : NULL;
  g_autofree char *installed = NULL;

  if (text == NULL)
    return FALSE;
  if (!args->install)
    {
      fputs (text, stdout);
      return TRUE;
    }
  installed = install_unit (args, unit_name, text, error);
  if (installed == NULL)
    return FALSE;
  g_print ("Wrote %s\n", installed);
  return !args->enable || enable_unit (args, unit_name, error);
}

int
ql_cmd_unit (int argc, char **argv)
{
  UnitArgs args = { 0 };
  const GOptionEntry entries[] = {
    { "system", 0, 0, G_OPTION_ARG_NONE, &args.system, "A unit for the system's manager (default: the user's)", NULL },
    { "install", 0, 0, G_OPTION_ARG_NONE, &args.install,
      "Write it to ~/.config/systemd/user (or /etc/systemd/system with --system)", NULL },
    { "enable", 0, 0, G_OPTION_ARG_NONE, &args.enable, "Also systemctl daemon-reload and enable it (implies --install)", NULL },
    { "now", 0, 0, G_OPTION_ARG_NONE, &args.now, "Also start it (implies --enable)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME|FILE.ini");
  g_autoptr(GError) error = NULL;

  g_option_context_set_summary (context,
                                "Print the systemd unit qlaunch-NAME.service that runs the VM, or install it.\n"
                                "A unit file qlaunch did not write is never overwritten.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1))
    return 1;
  args.enable = args.enable || args.now;
  args.install = args.install || args.enable;
  if (!unit_run (&args, argv[1], &error))
    {
      ql_cmd_print_error (error);
      return 1;
    }
  return 0;
}
