/* host-setup's plan from the host as it is, shown (--dry-run), applied
 * and recorded, or undone from the record alone. */
#include "ql-host-setup.h"
#include "ql-error.h"
#include "ql-net-host.h"
#include "ql-paths.h"
#include "ql-pci-scan.h"
#include "ql-prepare.h"
#include "ql-setup-checks.h"
#include "ql-setup-etc.h"
#include "ql-setup-host.h"
#include "ql-setup-manifest.h"

#include <pwd.h>
#include <string.h>

static void
append_devices (const QlSetupPlan *plan, GString *out)
{
  if (plan->devices->len > 0)
    g_string_append_printf (out, "devices %s gets (through their IOMMU groups):\n", plan->user);
  for (guint i = 0; i < plan->devices->len; i++)
    g_string_append_printf (out, "    %s\n", (const char *) plan->devices->pdata[i]);
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
    ql_setup_note_other_ids (plan);
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
      g_autofree char *path = ql_setup_etc_path (f->path);
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
  if ((previous == NULL && exists) || !ql_setup_check_plan (plan, previous, error))
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
      g_autofree char *now = NULL, *path = ql_setup_etc_path (f->path);

      if (!ql_setup_etc_read (f->path, &now, error))
        return FALSE;
      if (g_strcmp0 (now, f->text) != 0 && !ql_setup_etc_write (f->path, f->text, error))
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
  if ((m == NULL && exists) || !ql_setup_check_plan (plan, m, error))
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
      g_autofree char *now = NULL, *sha = NULL, *path = ql_setup_etc_path (f->path);
      g_autoptr(GError) error = NULL;

      if (!ql_setup_etc_read (f->path, &now, &error))
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
      if (now != NULL && !ql_setup_etc_remove (f->path, &error))
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
