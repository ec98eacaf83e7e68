#include "ql-generator.h"
#include "ql-commands.h"
#include "ql-error.h"
#include "ql-paths.h"
#include "ql-profile.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

QlUnitScope
ql_generator_scope (const char *argv0)
{
  const char *scope = g_getenv ("SYSTEMD_SCOPE");

  if (g_strcmp0 (scope, "system") == 0)
    return QL_UNIT_SCOPE_SYSTEM;
  if (g_strcmp0 (scope, "user") == 0)
    return QL_UNIT_SCOPE_USER;
  if (argv0 != NULL && strstr (argv0, "/user-generators/") != NULL)
    return QL_UNIT_SCOPE_USER;
  if (argv0 != NULL && strstr (argv0, "/system-generators/") != NULL)
    return QL_UNIT_SCOPE_SYSTEM;
  return geteuid () == 0 ? QL_UNIT_SCOPE_SYSTEM : QL_UNIT_SCOPE_USER;
}

typedef struct {
  const QlGeneratorOptions *options;
  GHashTable *vm_sources;   /* VM name -> the profile that made its unit */
  guint written;
  guint refused;
} Generator;

static gboolean
link_wanted (const Generator *g, const char *unit_name, GError **error)
{
  g_autofree char *wants = g_strconcat (ql_unit_wanted_by (g->options->scope), ".wants", NULL);
  g_autofree char *dir = g_build_filename (g->options->output_dir, wants, NULL);
  g_autofree char *link = g_build_filename (dir, unit_name, NULL);
  g_autofree char *target = g_strconcat ("../", unit_name, NULL);

  if (g_mkdir_with_parents (dir, 0755) != 0)
    return ql_error_set_errno (error, errno, "Cannot create '%s'", dir);
  if (symlink (target, link) != 0 && errno != EEXIST)
    return ql_error_set_errno (error, errno, "Cannot link '%s'", link);
  return TRUE;
}

static gboolean
write_unit (Generator *g, const QlProfile *profile, const char *unit_name, const char *text, GError **error)
{
  g_autofree char *path = g_build_filename (g->options->output_dir, unit_name, NULL);

  if (!g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error))
    return FALSE;
  if (!link_wanted (g, unit_name, error))
    return FALSE;
  g_hash_table_insert (g->vm_sources, g_strdup (profile->vm.name), g_strdup (profile->path));
  g->written++;
  g_debug ("%s: %s from %s", profile->vm.name, unit_name, profile->path);
  return TRUE;
}

/* The unit of one profile, or NULL and why when the profile cannot have one. */
static char *
unit_for (Generator *g, const QlProfile *profile, char **ret_unit_name, GError **error)
{
  g_autofree char *header = g_strdup_printf ("# qlaunch-generator: from %s ([vm] autostart = true)\n", profile->path);
  QlUnitOptions unit = { profile, g->options->qlaunch, g->options->scope, header };
  const char *earlier = g_hash_table_lookup (g->vm_sources, profile->vm.name);
  g_autofree char *unit_name = NULL;
  char *text;

  if (earlier != NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_BUSY, "VM '%s' already has a unit, from '%s'", profile->vm.name, earlier);
      return NULL;
    }
  unit_name = ql_unit_name (profile->vm.name, error);
  if (unit_name == NULL)
    return NULL;
  text = ql_unit_text (&unit, error);
  if (text != NULL)
    *ret_unit_name = g_steal_pointer (&unit_name);
  return text;
}

/* FALSE only when the output cannot be written; a bad profile is logged. */
static gboolean
generate_one (Generator *g, const char *path, GError **error)
{
  g_autoptr(GError) profile_error = NULL;
  g_autoptr(QlProfile) profile = ql_profile_load_for_unit (path, &profile_error);
  g_autofree char *unit_name = NULL;
  g_autofree char *text = NULL;

  if (profile != NULL && !profile->vm.autostart)
    {
      g_debug ("%s: autostart is off; no unit", path);
      return TRUE;
    }
  if (profile != NULL)
    text = unit_for (g, profile, &unit_name, &profile_error);
  if (text == NULL)
    {
      g_warning ("No unit for '%s': %s", path, profile_error->message);
      g->refused++;
      return TRUE;
    }
  return write_unit (g, profile, unit_name, text, error);
}

static GPtrArray *
profiles_in (const char *dir_path)
{
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  const char *entry;

  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (entry, ".ini"))
      g_ptr_array_add (files, g_build_filename (dir_path, entry, NULL));
  g_ptr_array_sort (files, ql_cmd_compare_strings);
  return files;
}

gboolean
ql_generator_run (const QlGeneratorOptions *options, guint *ret_written, guint *ret_refused, GError **error)
{
  g_autoptr(GHashTable) vm_sources = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto(GStrv) dirs = ql_paths_profile_dirs ();
  Generator g = { options, vm_sources, 0, 0 };

  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autoptr(GPtrArray) files = profiles_in (dirs[i]);

      for (guint j = 0; j < files->len; j++)
        if (!generate_one (&g, files->pdata[j], error))
          return FALSE;
    }
  *ret_written = g.written;
  *ret_refused = g.refused;
  return TRUE;
}
