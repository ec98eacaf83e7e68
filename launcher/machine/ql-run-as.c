#include "ql-run-as.h"
#include "ql-error.h"
#include "ql-host-step.h"

#include <string.h>
#include <sys/stat.h>

void
ql_run_as_free (QlRunAs *run_as)
{
  if (run_as == NULL)
    return;
  g_free (run_as->user);
  g_clear_pointer (&run_as->groups, g_array_unref);
  g_free (run_as->where);
  g_free (run_as);
}

QlRunAs *
ql_run_as_copy (const QlRunAs *r)
{
  QlRunAs *copy = g_new0 (QlRunAs, 1);

  copy->user = g_strdup (r->user);
  copy->uid = r->uid;
  copy->gid = r->gid;
  copy->where = g_strdup (r->where);
  copy->groups = g_array_new (FALSE, FALSE, sizeof (guint32));
  if (r->groups != NULL)
    g_array_append_vals (copy->groups, r->groups->data, r->groups->len);
  return copy;
}

void
ql_run_as_need_free (QlRunAsNeed *need)
{
  g_free (need->path);
  g_free (need->label);
  g_free (need);
}

static void
add_need (GPtrArray *needs, const char *path, QlRunAsKind kind, gboolean write, const char *label)
{
  QlRunAsNeed *need = g_new0 (QlRunAsNeed, 1);

  need->path = g_strdup (path);
  need->kind = kind;
  need->write = write;
  need->label = g_strdup (label);
  g_ptr_array_add (needs, need);
}

static void
add_profile_files (GPtrArray *needs, const QlMachine *m)
{
  const QlProfile *p = m->profile;

  if (m->uefi)
    add_need (needs, m->firmware_code, QL_RUN_AS_FILE, FALSE, "[vm] firmware");
  if (p->vm.kernel != NULL)
    add_need (needs, p->vm.kernel, QL_RUN_AS_FILE, FALSE, "[vm] kernel");
  if (p->vm.initrd != NULL)
    add_need (needs, p->vm.initrd, QL_RUN_AS_FILE, FALSE, "[vm] initrd");
  for (guint i = 0; i < p->disks->len; i++)
    {
      const QlDisk *disk = p->disks->pdata[i];
      g_autofree char *label = g_strdup_printf ("[disk %s] file", disk->id);
      add_need (needs, disk->file, QL_RUN_AS_FILE, !disk->readonly, label);
    }
  for (guint i = 0; i < p->cdroms->len; i++)
    {
      const QlCdrom *cdrom = p->cdroms->pdata[i];
      g_autofree char *label = g_strdup_printf ("[cdrom %s] file", cdrom->id);
      add_need (needs, cdrom->file, QL_RUN_AS_FILE, FALSE, label);
    }
  for (guint i = 0; i < p->pcis->len; i++)
    {
      const QlPci *pci = p->pcis->pdata[i];
      g_autofree char *label = g_strdup_printf ("[pci %s] rom", pci->id);
      if (pci->rom != NULL)
        add_need (needs, pci->rom, QL_RUN_AS_FILE, FALSE, label);
    }
  for (guint i = 0; p->acpi_tables != NULL && p->acpi_tables[i] != NULL; i++)
    add_need (needs, p->acpi_tables[i], QL_RUN_AS_FILE, FALSE, "[acpi] table");
  for (guint i = 0; i < p->fw_cfg->len; i++)
    add_need (needs, ((QlFwCfg *) p->fw_cfg->pdata[i])->file, QL_RUN_AS_FILE, FALSE, "[fw_cfg]");
  if (p->display.password_file != NULL)
    add_need (needs, p->display.password_file, QL_RUN_AS_FILE, FALSE, "[display] password-file");
}

GPtrArray *
ql_run_as_needs (const QlMachine *m, const char *devfs, const GArray *vfio_groups)
{
  GPtrArray *needs = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_run_as_need_free);
  g_autofree char *runtime_base = g_path_get_dirname (m->runtime_dir);
  g_autofree char *state_base = g_path_get_dirname (m->state_dir);

  add_need (needs, runtime_base, QL_RUN_AS_BASE_DIR, FALSE, "runtime directories");
  add_need (needs, m->runtime_dir, QL_RUN_AS_OWN_DIR, FALSE, "runtime directory");
  add_need (needs, m->serial_log, QL_RUN_AS_OWN_FILE, TRUE, "serial log");
  ((QlRunAsNeed *) needs->pdata[needs->len - 1])->create = TRUE;
  if (m->spice_socket != NULL)
    {
      /* QEMU makes its socket there: a directory of its own, not root's runtime dir */
      g_autofree char *display_dir = g_path_get_dirname (m->spice_socket);
      add_need (needs, display_dir, QL_RUN_AS_OWN_FILE, TRUE, "[display] type=spice: the socket's directory");
    }
  if (m->ssdt != NULL)
    add_need (needs, m->ssdt, QL_RUN_AS_OWN_FILE, FALSE, "[acpi] qlaunch's SSDT");
  if (m->uefi)
    {
      add_need (needs, state_base, QL_RUN_AS_BASE_DIR, FALSE, "state directories");
      add_need (needs, m->state_dir, QL_RUN_AS_OWN_DIR, FALSE, "state directory");
      add_need (needs, m->firmware_vars, QL_RUN_AS_OWN_FILE, TRUE, "[vm] firmware: UEFI varstore");
    }
  add_profile_files (needs, m);
  if (m->hugetlbfs != NULL)
    add_need (needs, m->hugetlbfs, QL_RUN_AS_HUGETLBFS, TRUE, "[memory] hugepages");
  if (m->accel == QL_ACCEL_KVM)
    {
      g_autofree char *kvm = g_build_filename (devfs, "kvm", NULL);
      add_need (needs, kvm, QL_RUN_AS_DEVICE, TRUE, "[vm] accel");
    }
  if (m->profile->display.gl && m->profile->display.rendernode != NULL)
    add_need (needs, m->profile->display.rendernode, QL_RUN_AS_DEVICE, TRUE, "[display] rendernode");
  if (m->looking_glass_path != NULL && !m->looking_glass_shm)
    add_need (needs, m->looking_glass_path, QL_RUN_AS_DEVICE, TRUE, "[looking-glass] kvmfr");
  if (vfio_groups != NULL && vfio_groups->len > 0)
    {
      g_autofree char *container = g_build_filename (devfs, "vfio", "vfio", NULL);
      add_need (needs, container, QL_RUN_AS_DEVICE, TRUE, "[pci]");
    }
  for (guint i = 0; vfio_groups != NULL && i < vfio_groups->len; i++)
    {
      g_autofree char *name = g_strdup_printf ("%d", g_array_index (vfio_groups, int, i));
      g_autofree char *node = g_build_filename (devfs, "vfio", name, NULL);
      add_need (needs, node, QL_RUN_AS_VFIO_GROUP, TRUE, "[pci]");
    }
  return needs;
}

GArray *
ql_run_as_vfio_groups (const QlVfioPlan *vfio)
{
  GArray *groups = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; vfio != NULL && i < vfio->items->len; i++)
    {
      int group = ((QlVfioPlanItem *) vfio->items->pdata[i])->iommu_group;
      gboolean seen = group < 0;

      for (guint j = 0; j < groups->len && !seen; j++)
        seen = g_array_index (groups, int, j) == group;
      if (!seen)
        g_array_append_val (groups, group);
    }
  return groups;
}

GPtrArray *
ql_run_as_path_chain (const char *path)
{
  GPtrArray *chain = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *current = g_canonicalize_filename (path, "/");

  for (;;)
    {
      g_autofree char *parent = g_path_get_dirname (current);
      g_ptr_array_insert (chain, 0, g_strdup (current));
      if (strcmp (parent, current) == 0)
        break;
      g_free (current);
      current = g_steal_pointer (&parent);
    }
  return chain;
}

/* ---- who may do what ---- */

gboolean
ql_run_as_in_group (const QlRunAs *r, guint32 gid)
{
  if (gid == r->gid)
    return TRUE;
  for (guint i = 0; r->groups != NULL && i < r->groups->len; i++)
    if (g_array_index (r->groups, guint32, i) == gid)
      return TRUE;
  return FALSE;
}

/* The kernel's check (generic_permission ()) without ACLs: owner, else
 * group, else others; want is a mask of 4 (read), 2 (write), 1 (search). */
gboolean
ql_run_as_may (const QlRunAs *r, const QlPathInfo *info, guint want)
{
  guint bits;

  if (r->uid == 0)
    return TRUE;
  if (info->uid == r->uid)
    bits = (info->mode >> 6) & 7;
  else if (ql_run_as_in_group (r, info->gid))
    bits = (info->mode >> 3) & 7;
  else
    bits = info->mode & 7;
  return (bits & want) == want;
}

typedef struct {
  const QlMachine *m;
  const QlRunAs *run_as;
  GHashTable *paths;
  GPtrArray *steps;
  GString *problems;
  GHashTable *planned;       /* path -> QlHostStep*: one step per path */
  GHashTable *closed;        /* directories already reported as closed to the user */
} Planner;

static const QlPathInfo *
info_of (Planner *pl, const char *path)
{
  static const QlPathInfo missing = { FALSE, 0, 0, 0 };
  const QlPathInfo *info = g_hash_table_lookup (pl->paths, path);
  return info != NULL ? info : &missing;
}

static QlHostStep *
chown_step (Planner *pl, const char *path, const char *label)
{
  QlHostStep *step = g_hash_table_lookup (pl->planned, path);

  if (step != NULL)
    return step;
  step = ql_host_step_new (QL_HOST_STEP_CHOWN, label);
  step->path = g_strdup (path);
  g_ptr_array_add (pl->steps, step);
  g_hash_table_insert (pl->planned, step->path, step);
  return step;
}

/* The VM's own directories: QEMU passes through them as a member of their
 * group, mode g+x; it can neither list nor create (the journal, the lock
 * and the QMP socket stay root's).  Their bases hold every VM's: those are
 * passable by all (o+x; each VM's own stays closed), so that VMs of
 * different run-as users never take the group from one another. */
static void
plan_own_dir (Planner *pl, const QlRunAsNeed *need)
{
  const QlPathInfo *info = info_of (pl, need->path);
  QlHostStep *step;

  if (info->exists && ql_run_as_may (pl->run_as, info, 1))
    return;
  step = chown_step (pl, need->path, need->label);
  if (need->kind == QL_RUN_AS_BASE_DIR)
    {
      step->run_mode_add = 0001;
      return;
    }
  step->run_gid = pl->run_as->gid;
  step->run_mode_add = 0010;
}

/* Ancestors that are not the VM's own must already let the user pass. */
static gboolean
check_chain (Planner *pl, const QlRunAsNeed *need)
{
  g_autoptr(GPtrArray) chain = ql_run_as_path_chain (need->path);

  for (guint i = 0; i + 1 < chain->len; i++)
    {
      const char *dir = chain->pdata[i];
      const QlPathInfo *info = info_of (pl, dir);

      if (!info->exists || g_hash_table_contains (pl->planned, dir) || ql_run_as_may (pl->run_as, info, 1))
        continue;
      if (!g_hash_table_add (pl->closed, g_strdup (dir)))
        return FALSE;
      g_string_append_printf (pl->problems, "\n%s '%s': %s cannot pass through '%s' (owner %u, mode %04o); "
                              "fix: chmod o+x '%s'%s", need->label, need->path, pl->run_as->user, dir, info->uid,
                              info->mode & 07777, dir, need->kind == QL_RUN_AS_FILE ? ", or keep the file elsewhere"
                                                                                   : "");
      return FALSE;
    }
  return TRUE;
}

static void
plan_own_file (Planner *pl, const QlRunAsNeed *need)
{
  const QlPathInfo *info = info_of (pl, need->path);
  QlHostStep *step;

  /* made by an earlier step of this start (SSDT, varstore): root's, 0600 */
  if (info->exists && info->uid == pl->run_as->uid)
    return;
  step = chown_step (pl, need->path, need->label);
  step->run_uid = pl->run_as->uid;
  step->run_gid = pl->run_as->gid;
  step->create = need->create;
}

static gboolean
under_usr (const char *path)
{
  return g_str_has_prefix (path, "/usr/") || strcmp (path, "/usr") == 0;
}

gboolean
ql_run_as_hands_over (const QlRunAsNeed *need, const QlPathInfo *info)
{
  return need->kind == QL_RUN_AS_FILE && info->exists && info->uid == 0 && !under_usr (need->path) &&
         S_ISREG (info->mode);
}

/* A file the profile names: used as it is when the user may; handed over
 * for the run only when root owns it and it is not part of the system. */
static void
plan_file (Planner *pl, const QlRunAsNeed *need)
{
  const QlPathInfo *info = info_of (pl, need->path);
  guint want = need->write ? 6 : 4;
  QlHostStep *step;

  if (!info->exists || ql_run_as_may (pl->run_as, info, want))
    return;
  if (!ql_run_as_hands_over (need, info))
    {
      g_string_append_printf (pl->problems, "\n%s '%s': %s may not %s it (owner %u, mode %04o)%s; fix: %s",
                              need->label, need->path, pl->run_as->user, need->write ? "write" : "read",
                              info->uid, info->mode & 07777,
                              info->uid != 0 ? ", and qlaunch hands over only root's files" : "",
                              need->write ? "chown it to the run-as user" : "chmod o+r it");
      return;
    }
  step = chown_step (pl, need->path, need->label);
  if (need->write)
    step->run_uid = pl->run_as->uid;
  step->run_gid = pl->run_as->gid;
  step->run_mode_add = need->write ? 0 : 0040;
}

/* /dev/kvm is 0660 root:kvm on most hosts: QEMU keeps the kvm group, its
 * only supplementary group, rather than a node everyone shares changing
 * hands for one VM. */
static void
plan_device (Planner *pl, const QlRunAsNeed *need, GArray *groups)
{
  const QlPathInfo *info = info_of (pl, need->path);
  QlHostStep *step;

  if (!info->exists || ql_run_as_may (pl->run_as, info, 6))
    return;
  if (info->gid != 0 && ((info->mode >> 3) & 6) == 6)
    {
      g_array_append_val (groups, info->gid);
      return;
    }
  step = chown_step (pl, need->path, need->label);
  step->run_gid = pl->run_as->gid;
  step->run_mode_add = 0060;
}

static void
plan_need (Planner *pl, const QlRunAsNeed *need, GArray *groups)
{
  switch (need->kind)
    {
    case QL_RUN_AS_BASE_DIR:
    case QL_RUN_AS_OWN_DIR:
      if (check_chain (pl, need))
        plan_own_dir (pl, need);
      break;
    case QL_RUN_AS_OWN_FILE:
      if (check_chain (pl, need))
        plan_own_file (pl, need);
      break;
    case QL_RUN_AS_FILE:
      if (check_chain (pl, need))
        plan_file (pl, need);
      break;
    case QL_RUN_AS_VFIO_GROUP:
      {
        QlHostStep *step = chown_step (pl, need->path, need->label);
        step->run_uid = pl->run_as->uid;
      }
      break;
    case QL_RUN_AS_DEVICE:
      plan_device (pl, need, groups);
      break;
    case QL_RUN_AS_HUGETLBFS:
      {
        const QlPathInfo *info = info_of (pl, need->path);
        if (!ql_run_as_may (pl->run_as, info, 3))
          {
            QlHostStep *step = chown_step (pl, need->path, need->label);
            step->run_gid = pl->run_as->gid;
            step->run_mode_add = 0030;
          }
      }
      break;
    default:
      g_assert_not_reached ();
    }
}

QlRunAs *
ql_run_as_plan (const QlMachine *m, const QlRunAs *run_as, GHashTable *paths, const char *devfs,
                const GArray *vfio_groups, GPtrArray *steps, GError **error)
{
  g_autoptr(GPtrArray) needs = ql_run_as_needs (m, devfs, vfio_groups);
  g_autoptr(QlRunAs) result = ql_run_as_copy (run_as);
  g_autoptr(GHashTable) planned = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) closed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GString) problems = g_string_new (NULL);
  Planner pl = { m, result, paths, steps, problems, planned, closed };

  if (run_as->uid == 0)
    return g_steal_pointer (&result);
  /* devices first: the kvm group, once kept, counts for the files */
  for (guint i = 0; i < needs->len; i++)
    if (((QlRunAsNeed *) needs->pdata[i])->kind == QL_RUN_AS_DEVICE)
      plan_need (&pl, needs->pdata[i], result->groups);
  for (guint i = 0; i < needs->len; i++)
    if (((QlRunAsNeed *) needs->pdata[i])->kind != QL_RUN_AS_DEVICE)
      plan_need (&pl, needs->pdata[i], result->groups);
  if (problems->len == 0)
    return g_steal_pointer (&result);
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: QEMU is to run as %s, who cannot use what the VM needs:%s",
               run_as->where, run_as->user, problems->str);
  return NULL;
}

GArray *
ql_run_as_kept_groups (const QlMachine *m, const QlRunAs *run_as, GHashTable *paths, const char *devfs)
{
  g_autoptr(GPtrArray) needs = ql_run_as_needs (m, devfs, NULL);
  g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
  g_autoptr(GHashTable) planned = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GString) problems = g_string_new (NULL);
  GArray *groups = g_array_new (FALSE, FALSE, sizeof (guint32));
  Planner pl = { m, run_as, paths, steps, problems, planned, NULL };

  for (guint i = 0; run_as->uid != 0 && i < needs->len; i++)
    if (((QlRunAsNeed *) needs->pdata[i])->kind == QL_RUN_AS_DEVICE)
      plan_device (&pl, needs->pdata[i], groups);
  return groups;
}
