#include "ql-system-user.h"
#include "ql-error.h"

#include <errno.h>
#include <pwd.h>
#include <string.h>

#define USERADD "/usr/sbin/useradd"
#define USERDEL "/usr/sbin/userdel"

gboolean
ql_system_user_lookup (gboolean *ret_exists, GError **error)
{
  struct passwd *pw;

  errno = 0;
  pw = getpwnam (QL_SYSTEM_USER);
  *ret_exists = pw != NULL;
  if (pw == NULL || (pw->pw_uid > 0 && pw->pw_uid <= QL_SYSTEM_UID_MAX))
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST,
               "the user '%s' (uid %u) is not a system user: qlaunch will not run QEMU as it, nor remove it. "
               "Set [vm] run-as = USER in the profile instead", QL_SYSTEM_USER, (guint) pw->pw_uid);
  return FALSE;
}

static gboolean
run_tool (const char *const *argv, GError **error)
{
  g_autofree char *err = NULL;
  int status;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s failed: %s", argv[0], err && *err ? g_strstrip (err) : "no reason given");
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_system_user_create (gboolean dry_run, GString *out, GError **error)
{
  const char *const argv[] = { USERADD, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                               "--shell", "/usr/sbin/nologin", "--comment", "qlaunch, QEMU of VMs root starts",
                               QL_SYSTEM_USER, NULL };
  g_autoptr(GString) command = g_string_new (NULL);
  gboolean exists;

  if (!ql_system_user_lookup (&exists, error))
    return FALSE;
  if (exists)
    {
      g_string_append_printf (out, "system user '%s' exists already; left as it is\n", QL_SYSTEM_USER);
      return TRUE;
    }
  for (guint i = 0; argv[i] != NULL; i++)
    {
      g_autofree char *quoted = g_shell_quote (argv[i]);
      g_string_append_printf (command, "%s%s", i ? " " : "", strchr (argv[i], ' ') ? quoted : argv[i]);
    }
  g_string_append_printf (out, "%s %s\n", dry_run ? "would run:" : "run:", command->str);
  if (dry_run)
    return TRUE;
  if (!run_tool (argv, error))
    return FALSE;
  g_string_append_printf (out, "QEMU of a VM root starts without [vm] run-as now runs as '%s'\n", QL_SYSTEM_USER);
  return TRUE;
}

gboolean
ql_system_user_remove (GString *out, GError **error)
{
  const char *const argv[] = { USERDEL, QL_SYSTEM_USER, NULL };
  gboolean exists;

  if (!ql_system_user_lookup (&exists, error))
    return FALSE;
  if (!exists)
    {
      g_string_append_printf (out, "no system user '%s': nothing to remove\n", QL_SYSTEM_USER);
      return TRUE;
    }
  if (!run_tool (argv, error))
    return FALSE;
  g_string_append_printf (out, "system user '%s' removed\n", QL_SYSTEM_USER);
  return TRUE;
}
