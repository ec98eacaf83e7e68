#include "ql-mdev.h"
#include "ql-error.h"
#include "ql-sysfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MDEV_DESCRIPTION_MAX 200   /* shown on one line; drivers write a few words */

static char *
read_attribute (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *text = ql_sysfs_read (path);

  if (text == NULL)
    return NULL;
  /* one line for the table and the messages, printable only */
  for (char *c = text; *c; c++)
    if (g_ascii_iscntrl (*c) || (guchar) *c >= 0x80)
      *c = ' ';
  if (strlen (text) > MDEV_DESCRIPTION_MAX)
    text[MDEV_DESCRIPTION_MAX] = '\0';
  return text;
}

static gint64
read_available (const char *dir)
{
  g_autofree char *text = read_attribute (dir, "available_instances");
  guint64 n;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT32, &n, NULL))
    return -1;
  return (gint64) n;
}

static int
type_compare (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(QlMdevType *const *) a)->name, (*(QlMdevType *const *) b)->name);
}

static void
read_types (QlMdevParent *parent, const char *device_dir)
{
  g_autofree char *types_dir = g_build_filename (device_dir, "mdev_supported_types", NULL);
  g_autoptr(GDir) dir = g_dir_open (types_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *type_dir = NULL;
      QlMdevType *type;

      if (!ql_profile_mdev_type_is_valid (name))
        {
          g_debug ("%s: mdev type '%s' has a name qlaunch does not use, ignoring", parent->name, name);
          continue;
        }
      type_dir = g_build_filename (types_dir, name, NULL);
      type = g_new0 (QlMdevType, 1);
      type->name = g_strdup (name);
      type->pretty_name = read_attribute (type_dir, "name");
      type->description = read_attribute (type_dir, "description");
      type->device_api = read_attribute (type_dir, "device_api");
      type->available = read_available (type_dir);
      g_ptr_array_add (parent->types, type);
    }
  g_ptr_array_sort (parent->types, type_compare);
}

/* class/mdev_bus/NAME: every device that makes mdevs, PCI or not, links
 * there (mdevctl looks there too). */
QlMdevParent *
ql_mdev_read_parent (const char *sysfs, const char *name)
{
  QlMdevParent *parent = ql_mdev_parent_new (name);
  g_autofree char *bus_dir = g_build_filename (sysfs, "class", "mdev_bus", name, NULL);
  g_autofree char *pci_dir = g_build_filename (sysfs, "bus", "pci", "devices", name, NULL);
  gboolean in_bus = ql_profile_mdev_parent_is_valid (name) && g_file_test (bus_dir, G_FILE_TEST_IS_DIR);
  const char *device_dir = in_bus ? bus_dir : pci_dir;
  g_autofree char *driver_link = g_build_filename (device_dir, "driver", NULL);
  g_autofree char *driver = g_file_read_link (driver_link, NULL);

  parent->exists = in_bus || (strchr (name, ':') != NULL && g_file_test (pci_dir, G_FILE_TEST_IS_DIR));
  parent->driver = driver != NULL ? g_path_get_basename (driver) : NULL;
  if (in_bus)
    read_types (parent, bus_dir);
  return parent;
}

static int
parent_compare (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(QlMdevParent *const *) a)->name, (*(QlMdevParent *const *) b)->name);
}

GPtrArray *
ql_mdev_read_parents (const char *sysfs)
{
  g_autofree char *bus_dir = g_build_filename (sysfs, "class", "mdev_bus", NULL);
  g_autoptr(GDir) dir = g_dir_open (bus_dir, 0, NULL);
  GPtrArray *parents = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_mdev_parent_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      if (!ql_profile_mdev_parent_is_valid (name))
        {
          g_debug ("mdev parent '%s' has a name qlaunch does not use, ignoring", name);
          continue;
        }
      g_ptr_array_add (parents, ql_mdev_read_parent (sysfs, name));
    }
  g_ptr_array_sort (parents, parent_compare);
  return parents;
}

static void
read_existing (GPtrArray *existing, const char *sysfs)
{
  g_autofree char *mdevs_dir = g_build_filename (sysfs, "bus", "mdev", "devices", NULL);
  g_autoptr(GDir) dir = g_dir_open (mdevs_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_uuid_string_is_valid (name))
      g_ptr_array_add (existing, g_ascii_strdown (name, -1));
}

QlMdevHost *
ql_mdev_host_read (const char *sysfs, const QlProfile *profile)
{
  QlMdevHost *host = ql_mdev_host_new ();

  for (guint i = 0; i < ql_profile_n_mdevs (profile); i++)
    {
      const QlMdev *mdev = profile->mdevs->pdata[i];
      gboolean seen = FALSE;

      for (guint j = 0; j < host->parents->len; j++)
        seen |= strcmp (((QlMdevParent *) host->parents->pdata[j])->name, mdev->parent) == 0;
      if (!seen)
        g_ptr_array_add (host->parents, ql_mdev_read_parent (sysfs, mdev->parent));
    }
  read_existing (host->existing, sysfs);
  return host;
}

/* A journal is input too: the names are checked again here, where they
 * become a path. */
static gboolean
names_valid (const char *parent, const char *type, const char *uuid, GError **error)
{
  if ((parent != NULL && !ql_profile_mdev_parent_is_valid (parent)) ||
      (type != NULL && !ql_profile_mdev_type_is_valid (type)) || !g_uuid_string_is_valid (uuid))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "Refusing mdev '%s' of '%s' on '%s': not a UUID, type name and "
                   "parent device", uuid, type ? type : "", parent ? parent : "");
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_mdev_create (const char *sysfs, const char *parent, const char *type, const char *uuid, GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!names_valid (parent, type, uuid, error))
    return FALSE;
  path = g_build_filename (sysfs, "class", "mdev_bus", parent, "mdev_supported_types", type, "create", NULL);
  if (ql_sysfs_write (path, uuid, ql_sysfs_timeout_ms (), &local_error))
    return TRUE;
  g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                              "Cannot create mdev %s of %s on %s (the parent's driver refused it: no free instance, "
                              "or the uuid is taken; its reason is in the kernel log, dmesg): ", uuid, type, parent);
  return FALSE;
}

/* Its mdev_type link and the parent's type directory are one directory:
 * the uuid is the journal's, not whatever mdev has it now. */
static gboolean
is_of_type (const char *sysfs, const char *dir, const char *parent, const char *type)
{
  g_autofree char *link = g_build_filename (dir, "mdev_type", NULL);
  g_autofree char *type_dir = g_build_filename (sysfs, "class", "mdev_bus", parent, "mdev_supported_types", type, NULL);
  g_autofree char *real_link = realpath (link, NULL);
  g_autofree char *real_type_dir = realpath (type_dir, NULL);

  return real_link != NULL && real_type_dir != NULL && strcmp (real_link, real_type_dir) == 0;
}

gboolean
ql_mdev_remove (const char *sysfs, const char *parent, const char *type, const char *uuid, char **ret_done,
                GError **error)
{
  g_autofree char *dir = NULL, *path = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!names_valid (parent, type, uuid, error))
    return FALSE;
  dir = g_build_filename (sysfs, "bus", "mdev", "devices", uuid, NULL);
  if (!g_file_test (dir, G_FILE_TEST_EXISTS))
    {
      *ret_done = g_strdup_printf ("mdev %s is gone already", uuid);
      return TRUE;
    }
  if (!is_of_type (sysfs, dir, parent, type))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "mdev %s is not the one qlaunch made (of %s on %s): another's, "
                   "made under that uuid since; left alone.  Check it (ls -l %s/mdev_type) and remove it by hand if "
                   "it is this VM's", uuid, type, parent, dir);
      return FALSE;
    }
  path = g_build_filename (dir, "remove", NULL);
  if (!ql_sysfs_write (path, "1", ql_sysfs_timeout_ms (), &local_error))
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local_error), "Cannot remove mdev %s (still open: a QEMU "
                                  "uses it?): ", uuid);
      return FALSE;
    }
  *ret_done = g_strdup_printf ("mdev %s removed", uuid);
  return TRUE;
}

/* The kernel gives each mdev a group of its own; the node handed to
 * QEMU's user opens every member, so anything else is refused. */
static gboolean
group_is_its_alone (const char *link, const char *uuid)
{
  g_autofree char *devices = g_build_filename (link, "devices", NULL);
  g_autoptr(GDir) dir = g_dir_open (devices, 0, NULL);
  const char *name;
  guint members = 0;
  gboolean own = FALSE;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      members++;
      own |= strcmp (name, uuid) == 0;
    }
  return members == 1 && own;
}

int
ql_mdev_iommu_group (const char *sysfs, const char *uuid, GError **error)
{
  g_autofree char *link = NULL, *target = NULL, *name = NULL;
  g_autoptr(GError) local_error = NULL;
  guint64 group;

  if (!names_valid (NULL, NULL, uuid, error))
    return -1;
  link = g_build_filename (sysfs, "bus", "mdev", "devices", uuid, "iommu_group", NULL);
  target = g_file_read_link (link, &local_error);
  if (target == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "mdev %s has no IOMMU group: %s", uuid, local_error->message);
      return -1;
    }
  name = g_path_get_basename (target);
  if (!g_ascii_string_to_unsigned (name, 10, 0, G_MAXINT32, &group, NULL))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "mdev %s: its IOMMU group '%s' is not a number", uuid, name);
      return -1;
    }
  if (!group_is_its_alone (link, uuid))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "mdev %s: its IOMMU group %s is not the mdev's alone (%s/devices "
                   "lists other devices, or cannot be read); qlaunch hands QEMU's user the group of an mdev only",
                   uuid, name, link);
      return -1;
    }
  return (int) group;
}
