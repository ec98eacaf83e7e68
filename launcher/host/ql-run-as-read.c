#include "ql-run-as-read.h"
#include "ql-error.h"
#include "ql-system-user.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The user who ran sudo, when sudo says so consistently and it is not root. */
static struct passwd *
sudo_user (void)
{
  const char *name = g_getenv ("SUDO_USER");
  const char *uid_text = g_getenv ("SUDO_UID");
  struct passwd *pw;
  guint64 uid;

  if (name == NULL || uid_text == NULL || !g_ascii_string_to_unsigned (uid_text, 10, 1, G_MAXUINT32, &uid, NULL))
    return NULL;
  pw = getpwnam (name);
  return pw != NULL && pw->pw_uid == uid && pw->pw_uid != 0 ? pw : NULL;
}

/* qlaunch's own system user, when host-setup --system-user made it */
static struct passwd *
system_user (GError **error)
{
  gboolean exists;

  if (!ql_system_user_lookup (&exists, error) || !exists)
    return NULL;
  return getpwnam (QL_SYSTEM_USER);
}

/* A user's own start: QEMU runs as that user; naming anyone else is an error. */
static gboolean
check_user_start (const QlProfile *p, GError **error)
{
  struct passwd *self = getpwuid (geteuid ());

  if (p->vm.run_as == NULL || (self != NULL && strcmp (self->pw_name, p->vm.run_as) == 0))
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_PROFILE,
               "%s: QEMU runs as whoever starts the VM unless root starts it; this start is by %s, not %s. "
               "Fix: start it as root (sudo qlaunch start %s), or remove run-as", p->vm.run_as_where,
               self != NULL ? self->pw_name : "another user", p->vm.run_as, p->vm.name);
  return FALSE;
}

void
ql_run_as_read_path (GHashTable *paths, const char *path)
{
  struct stat st;
  QlPathInfo *info;

  if (g_hash_table_contains (paths, path))
    return;
  info = g_new0 (QlPathInfo, 1);
  if (stat (path, &st) == 0)
    {
      info->exists = TRUE;
      info->uid = st.st_uid;
      info->gid = st.st_gid;
      info->mode = st.st_mode;
    }
  g_hash_table_insert (paths, g_strdup (path), info);
}

static void
read_paths (const QlMachine *m, const char *devfs, QlHostState *state)
{
  g_autoptr(GArray) groups = ql_run_as_vfio_groups (state->vfio);
  g_autoptr(GPtrArray) needs = ql_run_as_needs (m, devfs, groups);

  state->run_as_paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < needs->len; i++)
    {
      g_autoptr(GPtrArray) chain = ql_run_as_path_chain (((QlRunAsNeed *) needs->pdata[i])->path);
      for (guint j = 0; j < chain->len; j++)
        ql_run_as_read_path (state->run_as_paths, chain->pdata[j]);
    }
}

gboolean
ql_run_as_read (const QlMachine *m, const char *devfs, QlHostState *state, GError **error)
{
  const QlProfile *p = m->profile;
  g_autofree char *where = NULL;
  g_autoptr(GError) local_error = NULL;
  struct passwd *pw;

  if (geteuid () != 0)
    return check_user_start (p, error);
  if (p->vm.run_as == NULL)
    {
      pw = sudo_user ();
      if (pw != NULL)
        where = g_strdup_printf ("%s: [vm] run-as (not set: the user who ran sudo, %s)", p->path, pw->pw_name);
      else if ((pw = system_user (&local_error)) != NULL)
        where = g_strdup_printf ("%s: [vm] run-as (not set: qlaunch's system user, %s)", p->path, pw->pw_name);
      else if (local_error != NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "%s: [vm] run-as is not set, and ",
                                      p->path);
          return FALSE;
        }
      else
        {
          state->run_as_note = g_strdup_printf ("QEMU runs as root, with only its -sandbox between the guest and the "
                                                "host: make qlaunch's own system user once (qlaunch host-setup "
                                                "--system-user), or set run-as = USER in [vm] of %s", p->path);
          return TRUE;
        }
    }
  else
    {
      errno = 0;
      pw = getpwnam (p->vm.run_as);
      if (pw == NULL)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_PROFILE,
                       "%s: there is no user '%s' on this host%s%s; create it (useradd --system --no-create-home "
                       "--shell /usr/sbin/nologin %s) or name another", p->vm.run_as_where, p->vm.run_as,
                       errno != 0 ? ": " : "", errno != 0 ? g_strerror (errno) : "", p->vm.run_as);
          return FALSE;
        }
      where = g_strdup (p->vm.run_as_where);
    }
  if (pw->pw_uid == 0)
    {
      state->run_as_note = g_strdup_printf ("%s = %s: QEMU runs as root, with only its -sandbox between the guest "
                                            "and the host", where, pw->pw_name);
      return TRUE;
    }
  state->run_as = g_new0 (QlRunAs, 1);
  state->run_as->user = g_strdup (pw->pw_name);
  state->run_as->uid = pw->pw_uid;
  state->run_as->gid = pw->pw_gid;
  state->run_as->groups = g_array_new (FALSE, FALSE, sizeof (guint32));
  state->run_as->where = g_steal_pointer (&where);
  read_paths (m, devfs, state);
  return TRUE;
}
