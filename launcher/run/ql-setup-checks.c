/* What host-setup refuses before anything changes, and what it notes
 * about other VMs' files, from the plan and the host as it is now. */
#include "ql-setup-checks.h"
#include "ql-error.h"
#include "ql-net-host.h"
#include "ql-paths.h"
#include "ql-setup-etc.h"
#include "ql-setup-host.h"

#include <pwd.h>
#include <string.h>

/* A file is host-setup's when the manifest has it as it is now, or when it
 * has the very text host-setup writes (a record lost). */
static gboolean
file_is_ours (const QlSetupManifest *previous, const char *rel, const char *now, const char *text)
{
  const QlManifestFile *record = previous ? ql_setup_manifest_find_file (previous, rel) : NULL;
  g_autofree char *sha = ql_setup_sha256 (now);

  return strcmp (now, text) == 0 || (record != NULL && strcmp (record->sha256, sha) == 0);
}

static gboolean
check_foreign (const QlSetupPlan *plan, const QlSetupManifest *previous, GError **error)
{
  g_autoptr(GString) problems = g_string_new (NULL);

  for (guint i = 0; i < plan->files->len; i++)
    {
      const QlSetupFile *f = plan->files->pdata[i];
      g_autofree char *now = NULL, *path = ql_setup_etc_path (f->path);
      g_autoptr(GError) read_error = NULL;

      if (!ql_setup_etc_read (f->path, &now, &read_error))
        g_string_append_printf (problems, "\n%s", read_error->message);
      else if (now != NULL && !file_is_ours (previous, f->path, now, f->text))
        g_string_append_printf (problems, "\n'%s' is there and host-setup did not write it (or it was changed "
                                "since). Fix: merge what it says into your own configuration and move it away "
                                "(mv '%s' '%s.orig'), then run host-setup again", path, path, path);
    }
  if (problems->len == 0)
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "host-setup for VM '%s' changed nothing:%s", plan->vm, problems->str);
  return FALSE;
}

/* What the plan refuses (risky devices without --force, bridges not
 * allowed, too much memory) stops host-setup before anything changes. */
static gboolean
check_refused (const QlSetupPlan *plan, GError **error)
{
  g_autoptr(GString) all = g_string_new (NULL);

  if (plan->refused->len == 0)
    return TRUE;
  for (guint i = 0; i < plan->refused->len; i++)
    g_string_append_printf (all, "\n%s", (const char *) plan->refused->pdata[i]);
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "host-setup for VM '%s' changed nothing:%s", plan->vm, all->str);
  return FALSE;
}

/* The user another host-setup's udev rule gives group to, or NULL. */
static char *
rule_owner (const char *text, int group)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *kernel = g_strdup_printf ("KERNEL==\"%d\"", group);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *owner = strstr (lines[i], "OWNER=\"");
      const char *end;

      if (lines[i][0] == '#' || strstr (lines[i], kernel) == NULL || owner == NULL)
        continue;
      owner += strlen ("OWNER=\"");
      if ((end = strchr (owner, '"')) != NULL)
        return g_strndup (owner, end - owner);
    }
  return NULL;
}

/* Another VM's rule that gives one of the plan's groups to another user. */
static void
check_rule_claims (const QlSetupPlan *plan, const char *rule, GString *problems)
{
  g_autofree char *rel = g_build_filename ("udev/rules.d", rule, NULL);
  g_autofree char *text = NULL;

  if (!ql_setup_etc_read (rel, &text, NULL) || text == NULL)
    return;
  for (guint i = 0; i < plan->vfio_groups->len; i++)
    {
      int group = g_array_index (plan->vfio_groups, int, i);
      g_autofree char *owner = rule_owner (text, group);

      if (owner != NULL && strcmp (owner, plan->user) != 0)
        g_string_append_printf (problems, "\nIOMMU group %d is %s's by %s/udev/rules.d/%s (another VM's host-setup). "
                                "Fix: undo that one first (qlaunch host-setup VM --undo --user %s)", group, owner,
                                ql_paths_etc (), rule, owner);
    }
}

/* A group is given to one user: none that another user's node or
 * another VM's udev rule has already. */
static gboolean
check_groups_free (const QlSetupPlan *plan, GError **error)
{
  g_autofree char *dir_path = ql_setup_etc_path ("udev/rules.d");
  g_autofree char *own = ql_setup_file_path (QL_SETUP_FILE_UDEV, plan->vm);
  g_autofree char *own_name = g_path_get_basename (own);
  g_autoptr(GDir) dir = plan->vfio_groups->len > 0 ? g_dir_open (dir_path, 0, NULL) : NULL;
  g_autoptr(GString) problems = g_string_new (NULL);
  struct passwd *pw = getpwnam (plan->user);
  const char *name;

  for (guint i = 0; i < plan->vfio_groups->len; i++)
    {
      g_autoptr(GError) node_error = NULL;
      if (pw == NULL || !ql_setup_vfio_node_check (ql_paths_devfs (), g_array_index (plan->vfio_groups, int, i),
                                                   pw->pw_uid, &node_error))
        g_string_append_printf (problems, "\n%s", node_error ? node_error->message : "no such user");
    }
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "70-qlaunch-") && g_str_has_suffix (name, ".rules") && strcmp (name, own_name) != 0)
      check_rule_claims (plan, name, problems);
  if (problems->len == 0)
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "host-setup for VM '%s' changed nothing:%s", plan->vm, problems->str);
  return FALSE;
}

/* A VM set up for one user is not taken over by another's run: the
 * record's user undoes it first. */
static gboolean
check_same_user (const QlSetupPlan *plan, const QlSetupManifest *previous, GError **error)
{
  if (previous == NULL || strcmp (previous->user, plan->user) == 0)
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "host-setup for VM '%s' changed nothing: the VM is set up for %s, "
               "not %s. Fix: if %s is to have it, first: qlaunch host-setup %s --undo --user %s", plan->vm,
               previous->user, plan->user, plan->user, plan->vm, previous->user);
  return FALSE;
}

/* Each tap: one host-setup makes (or the user's already), on a bridge
 * that is there, with an MTU that does not narrow it. */
static gboolean
check_taps (const QlSetupPlan *plan, GError **error)
{
  struct passwd *pw = plan->taps->len > 0 ? getpwnam (plan->user) : NULL;
  g_autoptr(GString) problems = g_string_new (NULL);

  for (guint i = 0; pw != NULL && i < plan->taps->len; i++)
    {
      g_autoptr(GError) tap_error = NULL;
      gboolean exists;

      if (!ql_net_host_check_persistent (plan->taps->pdata[i], pw->pw_uid, &exists, &tap_error))
        g_string_append_printf (problems, "\n%s", tap_error->message);
    }
  if (problems->len == 0)
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "host-setup for VM '%s' changed nothing:%s", plan->vm, problems->str);
  return FALSE;
}

/* Everything apply refuses, before anything changes. */
gboolean
ql_setup_check_plan (const QlSetupPlan *plan, const QlSetupManifest *previous, GError **error)
{
  return check_refused (plan, error) && check_same_user (plan, previous, error) &&
         check_groups_free (plan, error) && check_taps (plan, error) && check_foreign (plan, previous, error);
}

/* modprobe gives vfio-pci the ids= of the last 'options vfio-pci' line it
 * reads: another VM's file and this one's do not add up. */
void
ql_setup_note_other_ids (QlSetupPlan *plan)
{
  g_autofree char *dir_path = ql_setup_etc_path ("modprobe.d");
  g_autofree char *own = ql_setup_file_path (QL_SETUP_FILE_MODPROBE, plan->vm);
  g_autofree char *own_name = g_path_get_basename (own);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GString) others = g_string_new (NULL);
  gboolean writes_ids = FALSE;
  const char *name;

  for (guint i = 0; i < plan->files->len; i++)
    writes_ids |= ((const QlSetupFile *) plan->files->pdata[i])->kind == QL_SETUP_FILE_MODPROBE;
  dir = writes_ids ? g_dir_open (dir_path, 0, NULL) : NULL;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *rel = g_build_filename ("modprobe.d", name, NULL);
      g_autofree char *text = NULL;

      if (g_str_has_prefix (name, "qlaunch-") && g_str_has_suffix (name, ".conf") && strcmp (name, own_name) != 0 &&
          ql_setup_etc_read (rel, &text, NULL) && text != NULL && strstr (text, "\noptions vfio-pci ids=") != NULL)
        g_string_append_printf (others, " %s/%s", dir_path, name);
    }
  if (others->len > 0)
    g_ptr_array_add (plan->notes,
                     g_strdup_printf ("other VMs' files set vfio-pci ids= too (%s): modprobe keeps only the last "
                                      "'options vfio-pci ids=' it reads, so vfio-pci takes only one file's devices "
                                      "at boot. Fix: one 'options vfio-pci ids=' line in one file with every VM's "
                                      "ids, and none in the others", others->str + 1));
}
