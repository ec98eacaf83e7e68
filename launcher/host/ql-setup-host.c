#include "ql-setup-host.h"
#include "ql-error.h"
#include "ql-value.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

GHashTable *
ql_setup_read_driver_modules (const char *sysfs, const QlPciHost *pci)
{
  GHashTable *modules = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; pci != NULL && i < pci->devices->len; i++)
    {
      const QlPciDevice *d = pci->devices->pdata[i];
      g_autofree char *link = NULL, *target = NULL, *module = NULL, *message = NULL;

      if (d->driver == NULL || g_hash_table_contains (modules, d->driver))
        continue;
      link = g_build_filename (sysfs, "bus", "pci", "drivers", d->driver, "module", NULL);
      target = g_file_read_link (link, NULL);
      if (target == NULL)
        continue;
      module = g_path_get_basename (target);
      if (ql_value_module_name_is_valid (module, &message))
        g_hash_table_insert (modules, g_strdup (d->driver), g_steal_pointer (&module));
    }
  return modules;
}

const char *
ql_setup_initramfs_command (const char *etc)
{
  static const struct {
    const char *config;
    const char *command;
  } tools[] = {
    { "initramfs-tools", "update-initramfs -u -k all" },
    { "dracut.conf.d", "dracut -f --regenerate-all" },
    { "mkinitcpio.conf", "mkinitcpio -P" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (tools); i++)
    {
      g_autofree char *path = g_build_filename (etc, tools[i].config, NULL);
      if (g_file_test (path, G_FILE_TEST_EXISTS))
        return tools[i].command;
    }
  return NULL;
}

static char *
node_path (const char *devfs, int group)
{
  g_autofree char *name = g_strdup_printf ("%d", group);
  return g_build_filename (devfs, "vfio", name, NULL);
}

/* lstat: a link is never followed, and only a character device is touched */
static gboolean
stat_node (const char *path, struct stat *st, gboolean *ret_exists, GError **error)
{
  if (lstat (path, st) != 0)
    {
      if (errno == ENOENT)
        {
          *ret_exists = FALSE;
          return TRUE;
        }
      return ql_error_set_errno (error, errno, "Cannot look at '%s'", path);
    }
  *ret_exists = TRUE;
  if (!S_ISCHR (st->st_mode))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "'%s' is not a character device; left alone", path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
set_owner (const char *path, uid_t uid, gid_t gid, mode_t mode, GError **error)
{
  if (lchown (path, uid, gid) != 0 || chmod (path, mode) != 0)
    return ql_error_set_errno (error, errno, "Cannot give '%s' to uid %u", path, (guint) uid);
  return TRUE;
}

gboolean
ql_setup_vfio_node_check (const char *devfs, int group, uid_t uid, GError **error)
{
  g_autofree char *path = node_path (devfs, group);
  gboolean exists;
  struct stat st;

  if (!stat_node (path, &st, &exists, error))
    return FALSE;
  if (!exists || st.st_uid == 0 || st.st_uid == uid)
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "'%s' belongs to uid %u: that user has IOMMU group %d now. Fix: "
               "undo that user's host-setup first (qlaunch host-setup VM --undo --user USER)", path,
               (guint) st.st_uid, group);
  return FALSE;
}

gboolean
ql_setup_vfio_node_give (const char *devfs, int group, uid_t uid, QlVfioNodeOwner *ret_before,
                         gboolean *ret_exists, GError **error)
{
  g_autofree char *path = node_path (devfs, group);
  struct stat st;

  if (!stat_node (path, &st, ret_exists, error) || !*ret_exists)
    return *ret_exists ? FALSE : TRUE;
  ret_before->group = group;
  ret_before->uid = st.st_uid;
  ret_before->gid = st.st_gid;
  ret_before->mode = st.st_mode & 07777;
  return set_owner (path, uid, st.st_gid, 0600, error);
}

gboolean
ql_setup_vfio_node_restore (const char *devfs, const QlVfioNodeOwner *before, uid_t uid, char **ret_done,
                            GError **error)
{
  g_autofree char *path = node_path (devfs, before->group);
  gboolean exists;
  struct stat st;

  if (!stat_node (path, &st, &exists, error))
    return FALSE;
  if (!exists)
    *ret_done = g_strdup_printf ("%s is gone (the group is off vfio-pci)", path);
  else if (st.st_uid != uid)
    *ret_done = g_strdup_printf ("%s belongs to uid %u now, not to the user; left alone", path, (guint) st.st_uid);
  else if (!set_owner (path, before->uid, before->gid, before->mode, error))
    return FALSE;
  else
    *ret_done = g_strdup_printf ("%s given back to uid %u, mode %04o", path, before->uid, before->mode);
  return TRUE;
}
