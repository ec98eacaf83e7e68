#include "ql-host-setup.h"
#include "ql-error.h"
#include "ql-net-host.h"
#include "ql-paths.h"
#include "ql-pci-scan.h"
#include "ql-prepare.h"
#include "ql-setup-host.h"
#include "ql-setup-manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SETUP_FILE_MAX (64 << 10)   /* more than any file host-setup writes */

static char *
etc_path (const char *rel)
{
  return g_build_filename (ql_paths_etc (), rel, NULL);
}

/* The directory a file goes in (*ret_fd), made (0755) when create and
 * missing; else *ret_fd is -1 when it is missing. */
static gboolean
open_parent (const char *rel, gboolean create, int *ret_fd, GError **error)
{
  g_autofree char *path = etc_path (rel);
  g_autofree char *dir = g_path_get_dirname (path);

  *ret_fd = -1;
  if (create && g_mkdir_with_parents (dir, 0755) != 0)
    return ql_error_set_errno (error, errno, "Cannot make '%s'", dir);
  *ret_fd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (*ret_fd < 0 && (create || errno != ENOENT))
    return ql_error_set_errno (error, errno, "Cannot open '%s'", dir);
  return TRUE;
}

/* *ret_text NULL: no such file.  A link, or anything but a regular file, is
 * an error: it is not host-setup's. */
static gboolean
read_etc_file (const char *rel, char **ret_text, GError **error)
{
  g_autofree char *path = etc_path (rel);
  g_autofree char *name = g_path_get_basename (rel);
  g_autofree char *text = NULL;
  int dir, fd;
  struct stat st;
  gssize n = 0;

  *ret_text = NULL;
  if (!open_parent (rel, FALSE, &dir, error))
    return FALSE;
  if (dir < 0)
    return TRUE;
  fd = openat (dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  close (dir);
  if (fd < 0)
    return errno == ENOENT ? TRUE : ql_error_set_errno (error, errno, "Cannot open '%s'", path);
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > SETUP_FILE_MAX)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "'%s' is not a file host-setup wrote (not a regular file, or "
                   "too large)", path);
      close (fd);
      return FALSE;
    }
  text = g_malloc0 (st.st_size + 1);
  while (n < st.st_size)
    {
      gssize got = read (fd, text + n, st.st_size - n);
      if (got <= 0)
        break;
      n += got;
    }
  close (fd);
  *ret_text = g_steal_pointer (&text);
  return TRUE;
}

static gboolean
write_all (int fd, const char *text)
{
  gsize left = strlen (text);

  while (left > 0)
    {
      gssize n = write (fd, text, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      text += n;
      left -= n;
    }
  return fsync (fd) == 0;
}

/* Whole or not at all: a temporary file beside it (a name modprobe, udev,
 * sysctl and pam_limits all skip), renamed over it. */
static gboolean
write_etc_file (const char *rel, const char *text, GError **error)
{
  g_autofree char *path = etc_path (rel);
  g_autofree char *name = g_path_get_basename (rel);
  g_autofree char *tmp = g_strdup_printf (".%s.qlaunch-tmp", name);
  int dir, fd;
  gboolean ok;

  if (!open_parent (rel, TRUE, &dir, error))
    return FALSE;
  unlinkat (dir, tmp, 0);
  fd = openat (dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  ok = fd >= 0 && fchmod (fd, 0644) == 0 && write_all (fd, text);
  if (fd >= 0)
    close (fd);
  ok = ok && renameat (dir, tmp, dir, name) == 0;
  if (!ok)
    {
      ql_error_set_errno (error, errno, "Cannot write '%s'", path);
      unlinkat (dir, tmp, 0);
    }
  close (dir);
  return ok;
}

static gboolean
remove_etc_file (const char *rel, GError **error)
{
  g_autofree char *path = etc_path (rel);
  g_autofree char *name = g_path_get_basename (rel);
  int dir;
  gboolean ok;

  if (!open_parent (rel, FALSE, &dir, error))
    return FALSE;
  if (dir < 0)
    return TRUE;
  ok = unlinkat (dir, name, 0) == 0 || errno == ENOENT;
  if (!ok)
    ql_error_set_errno (error, errno, "Cannot remove '%s'", path);
  close (dir);
  return ok;
}

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
      g_autofree char *now = NULL, *path = etc_path (f->path);
      g_autoptr(GError) read_error = NULL;

      if (!read_etc_file (f->path, &now, &read_error))
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

static void
append_devices (const QlSetupPlan *plan, GString *out)
{
  if (plan->devices->len > 0)
    g_string_append_printf (out, "devices %s gets (through their IOMMU groups):\n", plan->user);
  for (guint i = 0; i < plan->devices->len; i++)
    g_string_append_printf (out, "    %s\n", (const char *) plan->devices->pdata[i]);
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

  if (!read_etc_file (rel, &text, NULL) || text == NULL)
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
  g_autofree char *dir_path = etc_path ("udev/rules.d");
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
static gboolean
check_plan (const QlSetupPlan *plan, const QlSetupManifest *previous, GError **error)
{
  return check_refused (plan, error) && check_same_user (plan, previous, error) &&
         check_groups_free (plan, error) && check_taps (plan, error) && check_foreign (plan, previous, error);
}

/* modprobe gives vfio-pci the ids= of the last 'options vfio-pci' line it
 * reads: another VM's file and this one's do not add up. */
static void
note_other_ids (QlSetupPlan *plan)
{
  g_autofree char *dir_path = etc_path ("modprobe.d");
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
          read_etc_file (rel, &text, NULL) && text != NULL && strstr (text, "\noptions vfio-pci ids=") != NULL)
        g_string_append_printf (others, " %s/%s", dir_path, name);
    }
  if (others->len > 0)
    g_ptr_array_add (plan->notes,
                     g_strdup_printf ("other VMs' files set vfio-pci ids= too (%s): modprobe keeps only the last "
                                      "'options vfio-pci ids=' it reads, so vfio-pci takes only one file's devices "
                                      "at boot. Fix: one 'options vfio-pci ids=' line in one file with every VM's "
                                      "ids, and none in the others", others->str + 1));
}

/* The plan for user, from the host as it is and the softdep modules an
 * earlier run recorded (the devices may be on vfio-pci by now). */
QlSetupPlan *
ql_host_setup_plan (const QlPrepared *prepared, const char *user, gboolean force, const char *const *bridges,
                    GError **error)
{
  g_autoptr(QlSetupManifest) previous = NULL;
  g_autoptr(GHashTable) modules = ql_setup_read_driver_modules (ql_paths_sysfs (), prepared->host->pci);
  g_autoptr(GPtrArray) previous_modules = g_ptr_array_new ();
  QlSetupPlan *plan;
  QlSetupFacts facts = { .user = user, .pci = prepared->host->pci, .pci_error = prepared->host->pci_error,
                         .driver_modules = modules, .force = force,
                         .bridges = bridges, .mem_total = prepared->host->mem_total };
  gboolean exists;

  previous = ql_setup_manifest_load (prepared->profile->vm.name, &exists, error);
  if (previous == NULL && exists)
    return NULL;
  for (guint i = 0; previous != NULL && i < previous->softdep_modules->len; i++)
    g_ptr_array_add (previous_modules, previous->softdep_modules->pdata[i]);
  g_ptr_array_add (previous_modules, NULL);
  facts.previous_modules = (const char *const *) previous_modules->pdata;
  facts.initramfs_command = ql_setup_initramfs_command (ql_paths_etc ());
  /* a device the host uses now is one it needs */
  if (prepared->host->pci != NULL)
    ql_pci_host_find_holders (prepared->host->pci, ql_paths_procfs (), ql_paths_devfs (), NULL, NULL);
  plan = ql_setup_plan_build (prepared->machine, &facts, error);
  if (plan != NULL)
    note_other_ids (plan);
  return plan;
}

static void
append_afterwards (const QlSetupPlan *plan, GString *out)
{
  if (plan->commands->len > 0)
    g_string_append (out, "then, as root:\n");
  for (guint i = 0; i < plan->commands->len; i++)
    g_string_append_printf (out, "    %s\n", (const char *) plan->commands->pdata[i]);
  for (guint i = 0; i < plan->notes->len; i++)
    g_string_append_printf (out, "note: %s\n", (const char *) plan->notes->pdata[i]);
}

/* What the dry run shows after the devices: every change, then what root
 * runs by hand. */
static void
append_changes (const QlSetupPlan *plan, GString *out)
{
  g_autofree char *manifest = ql_setup_manifest_path (plan->vm);

  g_string_append_printf (out, "host-setup for VM '%s' and user %s would (a dry run: nothing is changed):\n",
                          plan->vm, plan->user);
  for (guint i = 0; i < plan->files->len; i++)
    {
      const QlSetupFile *f = plan->files->pdata[i];
      g_autofree char *path = etc_path (f->path);
      g_auto(GStrv) lines = g_strsplit (f->text, "\n", -1);

      g_string_append_printf (out, "write %s:\n", path);
      for (guint j = 0; lines[j] != NULL && lines[j + 1] != NULL; j++)
        g_string_append_printf (out, "    %s\n", lines[j]);
    }
  for (guint i = 0; i < plan->vfio_groups->len; i++)
    g_string_append_printf (out, "give %s/vfio/%d to %s now, if it exists (the udev rule does from the next boot)\n",
                            ql_paths_devfs (), g_array_index (plan->vfio_groups, int, i), plan->user);
  for (guint i = 0; i < plan->taps->len; i++)
    {
      const QlNet *net = plan->taps->pdata[i];
      g_autofree char *what = ql_net_host_describe (net);
      g_autofree char *mtu = net->mtu ? g_strdup_printf ("MTU %u", net->mtu)
                                      : g_strdup (net->bridge ? "the bridge's MTU" : "the kernel's MTU");

      g_string_append_printf (out, "make tap %s persistent, owned by %s (unless it is %s's already; then it is left "
                              "and not recorded): %s, %s\n", net->ifname, plan->user, plan->user, what, mtu);
    }
  g_string_append_printf (out, "record it in %s\n", manifest);
  append_afterwards (plan, out);
}

/* The SHA-256 of the dry run's text: the plan root reviewed. */
static char *
plan_digest (const QlSetupPlan *plan)
{
  g_autoptr(GString) text = g_string_new (NULL);

  append_devices (plan, text);
  append_changes (plan, text);
  return ql_setup_sha256 (text->str);
}

gboolean
ql_host_setup_describe (const QlSetupPlan *plan, GString *out, GError **error)
{
  g_autoptr(QlSetupManifest) previous = NULL;
  g_autofree char *digest = plan_digest (plan);
  gboolean exists;

  append_devices (plan, out);
  previous = ql_setup_manifest_load (plan->vm, &exists, error);
  if ((previous == NULL && exists) || !check_plan (plan, previous, error))
    return FALSE;
  append_changes (plan, out);
  g_string_append_printf (out, "plan %s: to apply exactly this plan, run host-setup again with --expect %s\n",
                          digest, digest);
  return TRUE;
}

/* The plan is the one root reviewed: the profile and the host are read
 * again at apply, and the profile's user can change it in between. */
static gboolean
check_expected (const QlSetupPlan *plan, const char *expect, GError **error)
{
  g_autofree char *digest = expect ? plan_digest (plan) : NULL;

  if (expect == NULL || g_ascii_strcasecmp (digest, expect) == 0)
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "host-setup for VM '%s' changed nothing: the plan is not the one "
               "--expect names (%s is %s now): the profile or the host changed since the dry run. Fix: review it "
               "again with --dry-run", plan->vm, expect, digest);
  return FALSE;
}

/* The record of a file as written now replaces the one before. */
static void
record_file (QlSetupManifest *m, const QlSetupFile *f)
{
  QlManifestFile *record = (QlManifestFile *) ql_setup_manifest_find_file (m, f->path);

  if (record == NULL)
    {
      record = g_new0 (QlManifestFile, 1);
      record->kind = f->kind;
      record->path = g_strdup (f->path);
      g_ptr_array_add (m->files, record);
    }
  g_free (record->sha256);
  record->sha256 = ql_setup_sha256 (f->text);
}

static gboolean
apply_files (const QlSetupPlan *plan, QlSetupManifest *m, GString *out, GError **error)
{
  for (guint i = 0; i < plan->files->len; i++)
    {
      const QlSetupFile *f = plan->files->pdata[i];
      g_autofree char *now = NULL, *path = etc_path (f->path);

      if (!read_etc_file (f->path, &now, error))
        return FALSE;
      if (g_strcmp0 (now, f->text) != 0 && !write_etc_file (f->path, f->text, error))
        return FALSE;
      record_file (m, f);
      g_string_append_printf (out, "%s %s\n", g_strcmp0 (now, f->text) == 0 ? "unchanged" : "wrote", path);
    }
  return TRUE;
}

static gboolean
apply_nodes (const QlSetupPlan *plan, uid_t uid, QlSetupManifest *m, GString *out, GError **error)
{
  for (guint i = 0; i < plan->vfio_groups->len; i++)
    {
      int group = g_array_index (plan->vfio_groups, int, i);
      QlVfioNodeOwner before = { 0 };
      gboolean exists;

      if (!ql_setup_vfio_node_give (ql_paths_devfs (), group, uid, &before, &exists, error))
        return FALSE;
      if (!exists)
        {
          g_string_append_printf (out, "no %s/vfio/%d now (the group is not on vfio-pci): the udev rule gives it "
                                  "to %s when it is\n", ql_paths_devfs (), group, plan->user);
          continue;
        }
      /* a node the rule gave the user at boot was the kernel's root:root 0600 before */
      if (before.uid == uid)
        before = (QlVfioNodeOwner) { .group = group, .uid = 0, .gid = 0, .mode = 0600 };
      /* a rerun keeps the owner from before the first */
      if (ql_setup_manifest_find_node (m, group) == NULL)
        g_array_append_val (m->nodes, before);
      g_string_append_printf (out, "gave %s/vfio/%d to %s for this boot\n", ql_paths_devfs (), group, plan->user);
    }
  return TRUE;
}

static gboolean
apply_taps (const QlSetupPlan *plan, uid_t uid, QlSetupManifest *m, GString *out, GError **error)
{
  for (guint i = 0; i < plan->taps->len; i++)
    {
      const QlNet *net = plan->taps->pdata[i];
      g_autofree char *done = NULL;
      gboolean created;

      if (!ql_net_host_make_persistent (net, uid, &created, &done, error))
        return FALSE;
      /* only a tap it made is host-setup's to remove; a rerun keeps the first run's */
      if (created && !g_ptr_array_find_with_equal_func (m->taps, net->ifname, g_str_equal, NULL))
        g_ptr_array_add (m->taps, g_strdup (net->ifname));
      g_string_append_printf (out, "%s\n", done);
    }
  return TRUE;
}

gboolean
ql_host_setup_apply (const QlSetupPlan *plan, uid_t uid, const char *expect, GString *out, GError **error)
{
  g_autoptr(QlSetupManifest) m = NULL;
  g_autoptr(GError) save_error = NULL;
  gboolean exists, ok;

  if (!check_expected (plan, expect, error))
    return FALSE;
  append_devices (plan, out);
  m = ql_setup_manifest_load (plan->vm, &exists, error);
  if ((m == NULL && exists) || !check_plan (plan, m, error))
    return FALSE;
  if (m == NULL)
    m = ql_setup_manifest_new (plan->vm, plan->user);
  g_free (m->profile);
  /* a path the record cannot hold is left out: the record still undoes */
  m->profile = strpbrk (plan->profile, "\n\r") == NULL ? g_strdup (plan->profile) : NULL;
  g_ptr_array_set_size (m->softdep_modules, 0);
  for (guint i = 0; i < plan->softdep_modules->len; i++)
    g_ptr_array_add (m->softdep_modules, g_strdup (plan->softdep_modules->pdata[i]));
  ok = apply_files (plan, m, out, error) && apply_nodes (plan, uid, m, out, error) &&
       apply_taps (plan, uid, m, out, error);
  /* what was done is recorded even when a later part failed, for --undo */
  if (!ql_setup_manifest_save (m, ok ? error : &save_error))
    return FALSE;
  if (save_error != NULL)
    g_prefix_error (error, "(and host-setup's record could not be written: %s) ", save_error->message);
  if (ok)
    append_afterwards (plan, out);
  return ok;
}

static gboolean
undo_files (QlSetupManifest *m, GString *out, GString *problems)
{
  for (guint i = m->files->len; i-- > 0;)
    {
      const QlManifestFile *f = m->files->pdata[i];
      g_autofree char *now = NULL, *sha = NULL, *path = etc_path (f->path);
      g_autoptr(GError) error = NULL;

      if (!read_etc_file (f->path, &now, &error))
        {
          g_string_append_printf (problems, "\n%s", error->message);
          continue;
        }
      if (now != NULL && strcmp ((sha = ql_setup_sha256 (now)), f->sha256) != 0)
        {
          g_string_append_printf (problems, "\n'%s' was changed since host-setup wrote it; left alone. Fix: remove "
                                  "it by hand (rm '%s')", path, path);
          continue;
        }
      if (now != NULL && !remove_etc_file (f->path, &error))
        {
          g_string_append_printf (problems, "\n%s", error->message);
          continue;
        }
      g_string_append_printf (out, "%s %s\n", now != NULL ? "removed" : "already gone:", path);
      g_ptr_array_remove_index (m->files, i);
    }
  return problems->len == 0;
}

static void
undo_nodes (QlSetupManifest *m, GString *out, GString *problems)
{
  struct passwd *pw = getpwnam (m->user);
  uid_t uid = pw != NULL ? pw->pw_uid : (uid_t) -1;

  for (guint i = m->nodes->len; i-- > 0;)
    {
      g_autofree char *done = NULL;
      g_autoptr(GError) error = NULL;

      if (!ql_setup_vfio_node_restore (ql_paths_devfs (), &g_array_index (m->nodes, QlVfioNodeOwner, i), uid, &done,
                                       &error))
        {
          g_string_append_printf (problems, "\n%s", error->message);
          continue;
        }
      g_string_append_printf (out, "%s\n", done);
      g_array_remove_index (m->nodes, i);
    }
}

static void
undo_taps (QlSetupManifest *m, GString *out, GString *problems)
{
  for (guint i = m->taps->len; i-- > 0;)
    {
      QlNet net = { .ifname = m->taps->pdata[i], .where = (char *) "host-setup" };
      g_autofree char *done = NULL;
      g_autoptr(GError) error = NULL;

      if (!ql_net_host_remove_persistent (&net, &done, &error))
        {
          g_string_append_printf (problems, "\n%s", error->message);
          continue;
        }
      g_string_append_printf (out, "%s\n", done);
      g_ptr_array_remove_index (m->taps, i);
    }
}

gboolean
ql_host_setup_undo (const char *vm, const char *user, GString *out, GError **error)
{
  g_autoptr(QlSetupManifest) m = NULL;
  g_autoptr(GString) problems = g_string_new (NULL);
  gboolean exists;

  m = ql_setup_manifest_load (vm, &exists, error);
  if (m == NULL)
    {
      if (!exists)
        g_string_append_printf (out, "host-setup has no record for VM '%s': nothing to undo\n", vm);
      return !exists;
    }
  if (strcmp (m->user, user) != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "host-setup --undo for VM '%s' changed nothing: the VM is set up "
                   "for %s, not %s (is the VM's name in the profile the one you mean?)", vm, m->user, user);
      return FALSE;
    }
  g_string_append_printf (out, "host-setup --undo for VM '%s', set up for %s%s%s:\n", vm, m->user,
                          m->profile ? " from " : "", m->profile ? m->profile : "");
  undo_files (m, out, problems);
  undo_nodes (m, out, problems);
  undo_taps (m, out, problems);
  if (!ql_setup_manifest_save (m, error))
    return FALSE;
  if (problems->len == 0)
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "host-setup --undo for VM '%s' left some of it:%s", vm, problems->str);
  return FALSE;
}
