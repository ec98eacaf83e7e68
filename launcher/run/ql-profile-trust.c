#include "ql-profile-trust.h"
#include "ql-error.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *
owner_name (uid_t uid)
{
  struct passwd *pw = getpwuid (uid);

  return pw != NULL ? g_strdup_printf ("%s (uid %u)", pw->pw_name, (guint) uid) : g_strdup_printf ("uid %u", (guint) uid);
}

/* NULL when path is root's alone; else what is wrong with it */
static char *
untrusted_because (const char *path, const struct stat *st, gboolean is_dir)
{
  gboolean others_write = (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
  g_autofree char *owner = owner_name (st->st_uid);

  if (st->st_uid != 0)
    return g_strdup_printf ("%s '%s' is owned by %s, not root (mode %04o); fix: chown root: '%s'",
                            is_dir ? "its directory" : "it", path, owner, st->st_mode & 07777, path);
  if (others_write && !(is_dir && (st->st_mode & S_ISVTX)))
    return g_strdup_printf ("%s '%s' is owned by %s with mode %04o: others can write it; fix: chmod go-w '%s'",
                            is_dir ? "its directory" : "it", path, owner, st->st_mode & 07777, path);
  return NULL;
}

gboolean
ql_profile_trust_check (const char *path, GError **error)
{
  g_autofree char *real = realpath (path, NULL);
  g_autofree char *dir = NULL;
  struct stat st;

  if (real == NULL)
    return ql_error_set_errno (error, errno, "Cannot check the profile '%s'", path);
  /* the file, then each directory up to / */
  for (dir = g_strdup (real);; )
    {
      gboolean is_dir = strcmp (dir, real) != 0;
      g_autofree char *why = NULL;
      char *parent;

      if (stat (dir, &st) != 0)
        return ql_error_set_errno (error, errno, "Cannot check '%s' of the profile '%s'", dir, path);
      why = untrusted_because (dir, &st, is_dir);
      if (why != NULL)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_PROFILE,
                       "Profile '%s' refused: run as root, a profile must be owned by root and writable by nobody "
                       "else, nor its directories; %s", path, why);
          return FALSE;
        }
      if (strcmp (dir, "/") == 0)
        return TRUE;
      parent = g_path_get_dirname (dir);
      g_free (dir);
      dir = parent;
    }
}
