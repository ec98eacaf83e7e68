/* The files findings of qlaunch check: what QEMU's user may open. */
#include "ql-check-files.h"

#include <string.h>
#include <sys/stat.h>

void
ql_check_file_facts_free (QlCheckFileFacts *f)
{
  if (f == NULL)
    return;
  ql_run_as_free (f->run_as);
  g_free (f->group_name);
  g_free (f->error);
  g_clear_pointer (&f->paths, g_hash_table_unref);
  g_clear_pointer (&f->acls, g_hash_table_unref);
  g_free (f);
}

GPtrArray *
ql_check_file_needs (const QlMachine *m, gboolean root_start)
{
  g_autoptr(GPtrArray) all = ql_run_as_needs (m, "/dev", NULL);
  GPtrArray *files = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_run_as_need_free);

  while (all->len > 0)
    {
      QlRunAsNeed *need = g_ptr_array_steal_index (all, 0);
      if (need->kind == QL_RUN_AS_FILE)
        g_ptr_array_add (files, need);
      else
        ql_run_as_need_free (need);
    }
  /* root reads it whatever its mode; a user's start reads it as QEMU's user */
  if (m->uefi && !root_start && m->firmware_vars_template != NULL)
    {
      QlRunAsNeed *need = g_new0 (QlRunAsNeed, 1);
      need->path = g_strdup (m->firmware_vars_template);
      need->kind = QL_RUN_AS_FILE;
      need->label = g_strdup ("[vm] firmware: UEFI varstore template");
      g_ptr_array_add (files, need);
    }
  return files;
}

static const QlPathInfo *
info_of (const QlCheckFileFacts *f, const char *path)
{
  static const QlPathInfo missing = { FALSE, 0, 0, 0 };
  const QlPathInfo *info = f->paths ? g_hash_table_lookup (f->paths, path) : NULL;
  return info != NULL ? info : &missing;
}

/* The path on the way to need (the file included) that carries an ACL, or NULL. */
static const char *
acl_on_the_way (const QlCheckFileFacts *f, GPtrArray *chain)
{
  for (guint i = 0; f->acls != NULL && i < chain->len; i++)
    if (g_hash_table_contains (f->acls, chain->pdata[i]))
      return chain->pdata[i];
  return NULL;
}

/* The first directory above the file that QEMU's user may not pass, or NULL. */
static const char *
closed_dir (const QlCheckFileFacts *f, GPtrArray *chain)
{
  for (guint i = 0; i + 1 < chain->len; i++)
    {
      const QlPathInfo *info = info_of (f, chain->pdata[i]);
      if (info->exists && !ql_run_as_may (f->run_as, info, 1))
        return chain->pdata[i];
    }
  return NULL;
}

/* chmod/chgrp (or, for a user's own start, setfacl) that lets QEMU's user
 * have bits ("r", "rw", "x") on path. */
static char *
grant_fix (const QlCheckFileFacts *f, const char *path, const QlPathInfo *info, const char *bits)
{
  g_autofree char *quoted = g_shell_quote (path);
  const char *user = f->run_as->user;

  if (ql_run_as_in_group (f->run_as, info->gid))
    return g_strdup_printf ("chmod g+%s %s", bits, quoted);
  if (!f->root_start)
    return g_strdup_printf ("as its owner or root: setfacl -m u:%s:%s %s, or chgrp %s %s && chmod g+%s %s", user,
                            bits, quoted, f->group_name, quoted, bits, quoted);
  if (S_ISDIR (info->mode))
    return g_strdup_printf ("chmod o+x %s", quoted);
  /* root's start plans from the mode bits alone: an ACL would not do */
  if (info->uid == 0)
    return g_strdup_printf ("chgrp %s %s && chmod g+%s %s", f->group_name, quoted, bits, quoted);
  return g_strdup_printf ("chgrp %s %s && chmod g+%s %s, or set [vm] run-as to its owner (uid %u)", f->group_name,
                          quoted, bits, quoted, info->uid);
}

static void
add_failed (GPtrArray *failed, const QlRunAsNeed *need)
{
  if (failed != NULL)
    g_ptr_array_add (failed, g_strdup_printf ("%s '%s'", need->label, need->path));
}

/* One file: TRUE when it is fine (ok_handed: start hands it over). */
static gboolean
check_one (const QlCheckFileFacts *f, const QlRunAsNeed *need, GPtrArray *out, GPtrArray *failed,
           gboolean *ok_handed)
{
  g_autoptr(GPtrArray) chain = ql_run_as_path_chain (need->path);
  const QlPathInfo *info = info_of (f, need->path);
  const char *acl = acl_on_the_way (f, chain);
  const char *dir = NULL;

  *ok_handed = FALSE;
  if (!info->exists)
    {
      ql_findings_add (out, "files", QL_CHECK_FAIL, g_strdup_printf ("%s %s does not exist", need->label, need->path),
                       g_strdup ("fix the path in the profile"));
      return FALSE;
    }
  if (f->run_as == NULL)
    return TRUE;
  if (acl != NULL)
    {
      g_autofree char *quoted = g_shell_quote (acl);
      ql_findings_add (out, "files", QL_CHECK_WARN,
                       g_strdup_printf ("%s %s: %s has an ACL: not checked (QEMU runs as %s)", need->label,
                                        need->path, acl, f->run_as->user),
                       g_strdup_printf ("getfacl %s shows whether %s may %s it", quoted, f->run_as->user,
                                        strcmp (acl, need->path) != 0 ? "pass through"
                                        : need->write ? "read and write" : "read"));
      return FALSE;
    }
  if ((dir = closed_dir (f, chain)) != NULL)
    {
      const QlPathInfo *dinfo = info_of (f, dir);
      ql_findings_add (out, "files", QL_CHECK_FAIL,
                       g_strdup_printf ("%s %s: %s (QEMU's user) cannot pass through %s (owner %u:%u, mode %04o)",
                                        need->label, need->path, f->run_as->user, dir, dinfo->uid, dinfo->gid,
                                        dinfo->mode & 07777),
                       grant_fix (f, dir, dinfo, "x"));
      add_failed (failed, need);
      return FALSE;
    }
  if (ql_run_as_may (f->run_as, info, need->write ? 6 : 4))
    return TRUE;
  if (f->root_start && ql_run_as_hands_over (need, info))
    return *ok_handed = TRUE;
  ql_findings_add (out, "files", QL_CHECK_FAIL,
                   g_strdup_printf ("%s %s: %s (QEMU's user) may not %s it (owner %u:%u, mode %04o)", need->label,
                                    need->path, f->run_as->user, need->write ? "read and write" : "read", info->uid,
                                    info->gid, info->mode & 07777),
                   grant_fix (f, need->path, info, need->write ? "rw" : "r"));
  add_failed (failed, need);
  return FALSE;
}

void
ql_check_files (const QlMachine *m, const QlCheckFileFacts *f, GPtrArray *out, GPtrArray *failed)
{
  g_autoptr(GPtrArray) needs = NULL;
  guint fine = 0, handed = 0;

  if (f->error != NULL)
    {
      ql_findings_add (out, "files", QL_CHECK_WARN,
                       g_strdup_printf ("not checked: who QEMU runs as is not decided: %s", f->error),
                       g_strdup ("see the host-plan finding"));
      return;
    }
  needs = ql_check_file_needs (m, f->root_start);
  for (guint i = 0; i < needs->len; i++)
    {
      gboolean by_start = FALSE;
      if (check_one (f, needs->pdata[i], out, failed, &by_start))
        {
          fine++;
          handed += by_start;
        }
    }
  if (fine < needs->len)
    return;
  if (needs->len == 0)
    ql_findings_add (out, "files", QL_CHECK_OK, g_strdup ("the profile names no file for QEMU to open"), NULL);
  else if (f->run_as == NULL)
    ql_findings_add (out, "files", QL_CHECK_OK,
                     g_strdup_printf ("%u file(s) the VM uses, all there; QEMU runs as root", fine), NULL);
  else if (handed > 0)
    ql_findings_add (out, "files", QL_CHECK_OK,
                     g_strdup_printf ("%u file(s) the VM uses, all usable by %s (QEMU's user); start hands %u of "
                                      "them, root's, to %s for the run", fine, f->run_as->user, handed,
                                      f->run_as->user), NULL);
  else
    ql_findings_add (out, "files", QL_CHECK_OK,
                     g_strdup_printf ("%u file(s) the VM uses, all usable by %s (QEMU's user)", fine,
                                      f->run_as->user), NULL);
}
