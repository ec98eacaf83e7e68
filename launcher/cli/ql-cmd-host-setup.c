/* qlaunch host-setup: the one-time, root-only part of running a VM as a
 * user: the plan (machine/ql-setup-plan.c) from the profile and the host,
 * printed with --dry-run, applied and recorded (run/ql-host-setup.c), or
 * undone from that record with --undo. */
#include "ql-commands.h"
#include "ql-host-setup.h"
#include "ql-paths.h"
#include "ql-prepare.h"
#include "ql-system-user.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static gboolean
resolve_user (const char *name, char **ret_name, uid_t *ret_uid, GError **error)
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
  *ret_name = g_strdup (pw->pw_name);
  *ret_uid = pw->pw_uid;
  return TRUE;
}

/* --undo needs only the VM's name: its profile's, or, once the profile is
 * gone, the name given. */
static char *
vm_name_of (const char *arg, GError **error)
{
  g_autofree char *path = ql_paths_find_profile (arg, NULL);
  g_autoptr(QlProfile) profile = NULL;

  if (path == NULL && !strchr (arg, '/') && !g_str_has_suffix (arg, ".ini") && ql_cmd_check_vm_name (arg))
    return g_strdup (arg);
  if (path == NULL)
    path = ql_paths_find_profile (arg, error);
  if (path == NULL || (profile = ql_profile_load_for_setup (path, error)) == NULL)
    return NULL;
  return g_strdup (profile->vm.name);
}

static int
set_up (const char *profile, const char *user_arg, gboolean dry_run, gboolean force, const char *const *bridges,
        const char *expect)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlPrepared) prepared = NULL;
  g_autoptr(QlSetupPlan) plan = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *user = NULL;
  uid_t uid = 0;
  gboolean ok;

  if ((prepared = ql_prepare_for_setup (profile, &error)) == NULL || !resolve_user (user_arg, &user, &uid, &error) ||
      (plan = ql_host_setup_plan (prepared, user, force, bridges, &error)) == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  ok = dry_run ? ql_host_setup_describe (plan, out, &error) : ql_host_setup_apply (plan, uid, expect, out, &error);
  fputs (out->str, stdout);
  fflush (stdout);
  if (!ok)
    ql_cmd_print_error (error);
  return ok ? 0 : 1;
}

/* --system-user: the user QEMU runs as when root starts a VM without run-as */
static int
system_user (gboolean undo, gboolean dry_run)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (undo && dry_run)
    {
      g_printerr ("qlaunch: --undo does not take --dry-run\n");
      return 1;
    }
  ok = undo ? ql_system_user_remove (out, &error) : ql_system_user_create (dry_run, out, &error);
  fputs (out->str, stdout);
  if (!ok)
    ql_cmd_print_error (error);
  return ok ? 0 : 1;
}

int
ql_cmd_host_setup (int argc, char **argv)
{
  g_autofree char *user = NULL;
  g_auto(GStrv) bridges = NULL;
  g_autofree char *expect = NULL;
  gboolean undo = FALSE, dry_run = FALSE, force = FALSE, make_system_user = FALSE;
  const GOptionEntry entries[] = {
    { "user", 'u', 0, G_OPTION_ARG_STRING, &user, "The user who starts the VM (default: $SUDO_USER)", "USER" },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Print every file and line it would write; change nothing", NULL },
    { "bridge", 0, 0, G_OPTION_ARG_STRING_ARRAY, &bridges, "Let the VM's taps join this bridge (once per bridge; "
      "a tap on a bridge not named is refused)", "BRIDGE" },
    { "expect", 0, 0, G_OPTION_ARG_STRING, &expect, "Apply only the plan --dry-run showed with this digest", "DIGEST" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Give the user storage, network or bridge functions, the boot VGA, "
      "devices in use, or devices whose ids other host devices share (refused without it)", NULL },
    { "system-user", 0, 0, G_OPTION_ARG_NONE, &make_system_user, "Instead of a VM: make qlaunch's own system user "
      "'" QL_SYSTEM_USER "', whom QEMU runs as when root starts a VM whose profile has no run-as (with --undo: "
      "remove it)", NULL },
    { "undo", 0, 0, G_OPTION_ARG_NONE, &undo, "Remove what host-setup made for the VM and --user (its record "
      "says what)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME|FILE.ini | --system-user");
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *vm = NULL;
  gboolean ok;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
                                "Prepare the host once, as root, so that USER starts the VM without privileges:\n"
                                "vfio-pci takes the [pci] devices at boot (modprobe.d, modules-load.d), USER owns\n"
                                "their /dev/vfio group nodes (udev), may lock the guest's RAM (limits.d), the\n"
                                "hugepage pool is set (sysctl.d), and each mode=tap NIC's tap is persistent and\n"
                                "USER's.  What it wrote is recorded in the VM's state dir; --undo removes that.\n"
                                "Storage, network and bridge functions, the boot VGA, devices in use and devices\n"
                                "whose ids others share need --force; a tap's bridge needs --bridge.  Review the\n"
                                "plan with --dry-run, apply it with the --expect it prints.  Run it as root\n"
                                "yourself: never let a user run it through sudo.");
  if (!ql_cmd_parse (context, &argc, &argv, 0, 1))
    return 1;
  if (make_system_user != (argc == 1))
    {
      g_printerr ("qlaunch host-setup: name a VM (NAME or FILE.ini), or give --system-user alone\n");
      return 1;
    }
  if (make_system_user)
    return system_user (undo, dry_run);
  if (!undo)
    return set_up (argv[1], user, dry_run, force, (const char *const *) bridges, expect);
  if (dry_run)
    {
      g_printerr ("qlaunch: --undo does not take --dry-run; what it removes is in the VM's record "
                  "(STATE/NAME/host-setup.json)\n");
      return 1;
    }
  /* the VM's name may come from a profile its user can edit: the record's user must be named */
  if (user == NULL)
    {
      g_printerr ("qlaunch: --undo needs --user USER, the user the VM was set up for (its record says whom)\n");
      return 1;
    }
  if ((vm = vm_name_of (argv[1], &error)) == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  ok = ql_host_setup_undo (vm, user, out, &error);
  fputs (out->str, stdout);
  if (!ok)
    ql_cmd_print_error (error);
  return ok ? 0 : 1;
}
