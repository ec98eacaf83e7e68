#include "ql-paths.h"
#include "ql-error.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
base_dir (const char *env, const char *root_dir, const char *user_parent)
{
  const char *override = g_getenv (env);

  /* canonical, so that the paths journaled under it read back the same */
  if (override != NULL && override[0] != '\0')
    return g_canonicalize_filename (override, NULL);
  if (geteuid () == 0)
    return g_strdup (root_dir);
  return g_build_filename (user_parent, "qlaunch", NULL);
}

char *
ql_paths_runtime_base (void)
{
  return base_dir ("QLAUNCH_RUNTIME_DIR", "/run/qlaunch", g_get_user_runtime_dir ());
}

char *
ql_paths_state_base (void)
{
  return base_dir ("QLAUNCH_STATE_DIR", "/var/lib/qlaunch", g_get_user_state_dir ());
}

char *
ql_paths_cache_base (void)
{
  return base_dir ("QLAUNCH_CACHE_DIR", "/var/cache/qlaunch", g_get_user_cache_dir ());
}

char *
ql_paths_runtime_dir (const char *vm_name)
{
  g_autofree char *base = ql_paths_runtime_base ();

  return g_build_filename (base, vm_name, NULL);
}

char *
ql_paths_system_runtime_dir (const char *vm_name)
{
  const char *override = g_getenv ("QLAUNCH_RUNTIME_DIR");
  g_autofree char *base = override != NULL && override[0] != '\0' ? g_canonicalize_filename (override, NULL)
                                                                   : g_strdup ("/run/qlaunch");

  return g_build_filename (base, vm_name, NULL);
}

char *
ql_paths_state_dir (const char *vm_name)
{
  g_autofree char *base = ql_paths_state_base ();

  return g_build_filename (base, vm_name, NULL);
}

GStrv
ql_paths_profile_dirs (void)
{
  const char *override = g_getenv ("QLAUNCH_PROFILE_PATH");
  g_autofree char *user = g_build_filename (g_get_user_config_dir (), "qlaunch", NULL);

  if (override != NULL && override[0] != '\0')
    return g_strsplit (override, ":", -1);
  if (geteuid () == 0)
    return g_strdupv ((char *[]) { "/etc/qlaunch", user, NULL });
  return g_strdupv ((char *[]) { user, NULL });
}

char *
ql_paths_find_profile (const char *name_or_path, GError **error)
{
  g_auto(GStrv) dirs = NULL;
  g_autofree char *file = NULL;
  g_autofree char *searched = NULL;

  if (g_str_has_suffix (name_or_path, ".ini") || strchr (name_or_path, '/') != NULL)
    {
      if (!g_file_test (name_or_path, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, QL_ERROR, QL_ERROR_NOT_FOUND, "Profile file '%s' does not exist", name_or_path);
          return NULL;
        }
      return g_strdup (name_or_path);
    }

  dirs = ql_paths_profile_dirs ();
  file = g_strconcat (name_or_path, ".ini", NULL);
  for (guint i = 0; dirs[i]; i++)
    {
      g_autofree char *path = g_build_filename (dirs[i], file, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&path);
    }
  searched = g_strjoinv (", ", dirs);
  g_set_error (error, QL_ERROR, QL_ERROR_NOT_FOUND,
               "No profile '%s' (looked for %s in %s); give a path to an .ini file or see 'qlaunch list'",
               name_or_path, file, searched);
  return NULL;
}

static const char *
env_or (const char *name, const char *fallback)
{
  const char *value = g_getenv (name);
  return value && value[0] ? value : fallback;
}

const char *
ql_paths_sysfs (void)
{
  return env_or ("QLAUNCH_SYSFS", "/sys");
}

const char *
ql_paths_procfs (void)
{
  return env_or ("QLAUNCH_PROCFS", "/proc");
}

const char *
ql_paths_devfs (void)
{
  return env_or ("QLAUNCH_DEVFS", "/dev");
}

const char *
ql_paths_modules (void)
{
  return env_or ("QLAUNCH_MODULES", "/lib/modules");
}

const char *
ql_paths_etc (void)
{
  return env_or ("QLAUNCH_ETC", "/etc");
}

gboolean
ql_paths_check_own_dir (const char *path, GError **error)
{
  struct stat st;

  if (lstat (path, &st) != 0)
    return ql_error_set_errno (error, errno, "Cannot use '%s'", path);
  if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "'%s' is %s; qlaunch keeps its files only in directories of its own user that no one else can "
                   "write.  Remove it (qlaunch makes it again)", path,
                   S_ISLNK (st.st_mode) ? "a symbolic link" : !S_ISDIR (st.st_mode) ? "not a directory"
                   : st.st_uid != geteuid () ? "owned by another user" : "writable by others");
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_paths_make_own_dir (const char *path, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (path);

  if (g_mkdir_with_parents (path, 0700) != 0)
    return ql_error_set_errno (error, errno, "Cannot create directory '%s'", path);
  return ql_paths_check_own_dir (parent, error) && ql_paths_check_own_dir (path, error);
}
