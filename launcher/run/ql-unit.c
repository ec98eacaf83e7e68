#include "ql-unit.h"
#include "ql-setup-plan.h"
#include "ql-error.h"

#include <string.h>

#define UNIT_NAME_MAX 255

static gboolean
unit_name_char_is_plain (char c)
{
  return g_ascii_isalnum (c) || c == ':' || c == '_' || c == '.' || c == '-';
}

char *
ql_unit_name (const char *vm_name, GError **error)
{
  g_autoptr(GString) name = g_string_new ("qlaunch-");

  for (const char *p = vm_name; *p; p++)
    if (unit_name_char_is_plain (*p))
      g_string_append_c (name, *p);
    else
      g_string_append_printf (name, "\\x%02x", (guchar) *p);
  g_string_append (name, ".service");
  if (name->len > UNIT_NAME_MAX)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                   "VM '%s': its unit name would be %" G_GSIZE_FORMAT " characters long, more than systemd's %d; "
                   "give the VM a shorter name (or one of plain letters and digits)", vm_name, name->len, UNIT_NAME_MAX);
      return NULL;
    }
  return g_string_free (g_steal_pointer (&name), FALSE);
}

guint
ql_unit_stop_timeout_s (const QlProfile *profile)
{
  return profile->shutdown.timeout + QL_UNIT_QUIT_GRACE_S + QL_UNIT_TERM_GRACE_S + QL_UNIT_TEARDOWN_S;
}

const char *
ql_unit_wanted_by (QlUnitScope scope)
{
  return scope == QL_UNIT_SCOPE_SYSTEM ? "multi-user.target" : "default.target";
}

/* '%' starts a specifier everywhere in a unit file; '$' an environment
 * variable in a command line. */
static void
append_unit_value (GString *out, const char *value, gboolean in_command)
{
  for (const char *p = value; *p; p++)
    {
      if (*p == '%')
        g_string_append (out, "%%");
      else if (in_command && *p == '$')
        g_string_append (out, "$$");
      else if (in_command && (*p == '\\' || *p == '"'))
        g_string_append_printf (out, "\\%c", *p);
      else
        g_string_append_c (out, *p);
    }
}

static gboolean
needs_no_quotes (const char *arg)
{
  if (arg[0] == '\0')
    return FALSE;
  for (const char *p = arg; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("/_.:@+,=-", *p) == NULL)
      return FALSE;
  return TRUE;
}

/* One word of ExecStart=: quoted and escaped as systemd.service(5) reads it. */
static void
append_command_word (GString *out, const char *arg)
{
  if (out->len > 0 && out->str[out->len - 1] != '=')
    g_string_append_c (out, ' ');
  if (needs_no_quotes (arg))
    {
      g_string_append (out, arg);
      return;
    }
  g_string_append_c (out, '"');
  append_unit_value (out, arg, TRUE);
  g_string_append_c (out, '"');
}

static void
append_command (GString *out, const char *key, const char *const *argv)
{
  g_string_append_printf (out, "%s=", key);
  for (guint i = 0; argv[i] != NULL; i++)
    append_command_word (out, argv[i]);
  g_string_append_c (out, '\n');
}

static void
append_units (GString *out, const char *key, const GStrv units)
{
  g_autofree char *list = NULL;

  if (units == NULL || units[0] == NULL)
    return;
  /* the profile layer accepted only valid unit names: nothing to escape */
  list = g_strjoinv (" ", units);
  g_string_append_printf (out, "%s=%s\n", key, list);
}

/* A line break or another control character cannot be written in a unit
 * file, in quotes or not. */
static gboolean
check_writable (const char *what, const char *value, GError **error)
{
  for (const char *p = value; *p; p++)
    if (g_ascii_iscntrl (*p))
      {
        g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s '%s' holds a control character; a unit file cannot say it",
                     what, value);
        return FALSE;
      }
  return TRUE;
}

static void
append_unit_section (GString *out, const QlProfile *p)
{
  g_string_append (out, "[Unit]\nDescription=qlaunch VM ");
  append_unit_value (out, p->vm.name, FALSE);
  g_string_append (out, "\nSourcePath=");
  append_unit_value (out, p->path, FALSE);
  g_string_append_c (out, '\n');
  append_units (out, "After", p->systemd.after);
  append_units (out, "Wants", p->systemd.wants);
  append_units (out, "Requires", p->systemd.requires);
}

static void
append_service_section (GString *out, const QlUnitOptions *options)
{
  const QlProfile *p = options->profile;
  const char *start[] = { options->qlaunch, "start", p->path, "--no-console", NULL };
  const char *stop[] = { options->qlaunch, "stop", p->vm.name, NULL };
  const char *recover[] = { options->qlaunch, "recover", p->vm.name, NULL };

  g_string_append (out, "\n[Service]\nType=notify\nNotifyAccess=main\n");
  append_command (out, "ExecStart", start);
  /* ExecStop= does not run when the supervisor was killed; ExecStopPost= always does */
  append_command (out, "ExecStop", stop);
  append_command (out, "ExecStopPost", recover);
  /* SIGTERM to the supervisor alone: it runs the ladder and gives the host back */
  g_string_append_printf (out, "KillMode=mixed\nTimeoutStopSec=%u\n", ql_unit_stop_timeout_s (p));
  /* VFIO locks all of guest memory.  A user's manager cannot raise its own
   * hard limit: ask for what host-setup's limits.d gives the user */
  if (options->scope == QL_UNIT_SCOPE_USER && p->pcis->len > 0)
    g_string_append_printf (out, "LimitMEMLOCK=%" G_GUINT64_FORMAT "\n", ql_setup_memlock_bytes (p));
  else
    g_string_append (out, "LimitMEMLOCK=infinity\n");
  g_string_append (out, "Restart=no\n");
}

char *
ql_unit_text (const QlUnitOptions *options, GError **error)
{
  const QlProfile *p = options->profile;
  g_autoptr(GString) out = g_string_new (options->header);

  if (!g_path_is_absolute (options->qlaunch))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "The path of qlaunch '%s' is not absolute; ExecStart= needs one",
                   options->qlaunch);
      return NULL;
    }
  if (!check_writable ("The path of qlaunch", options->qlaunch, error) ||
      !check_writable ("The profile path", p->path, error) || !check_writable ("The VM name", p->vm.name, error))
    return NULL;
  append_unit_section (out, p);
  append_service_section (out, options);
  g_string_append_printf (out, "\n[Install]\nWantedBy=%s\n", ql_unit_wanted_by (options->scope));
  return g_string_free (g_steal_pointer (&out), FALSE);
}
