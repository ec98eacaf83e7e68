#include "ql-mdev-plan.h"
#include "ql-error.h"
#include "ql-host-step.h"

#include <string.h>

void
ql_mdev_type_free (QlMdevType *type)
{
  if (type == NULL)
    return;
  g_free (type->name);
  g_free (type->pretty_name);
  g_free (type->description);
  g_free (type->device_api);
  g_free (type);
}

void
ql_mdev_parent_free (QlMdevParent *parent)
{
  if (parent == NULL)
    return;
  g_free (parent->name);
  g_free (parent->driver);
  g_clear_pointer (&parent->types, g_ptr_array_unref);
  g_free (parent);
}

QlMdevParent *
ql_mdev_parent_new (const char *name)
{
  QlMdevParent *parent = g_new0 (QlMdevParent, 1);

  parent->name = g_strdup (name);
  parent->types = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_mdev_type_free);
  return parent;
}

void
ql_mdev_host_free (QlMdevHost *host)
{
  if (host == NULL)
    return;
  g_clear_pointer (&host->parents, g_ptr_array_unref);
  g_clear_pointer (&host->existing, g_ptr_array_unref);
  g_free (host);
}

QlMdevHost *
ql_mdev_host_new (void)
{
  QlMdevHost *host = g_new0 (QlMdevHost, 1);

  host->parents = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_mdev_parent_free);
  host->existing = g_ptr_array_new_with_free_func (g_free);
  return host;
}

static char *
describe_free (gint64 available)
{
  return available < 0 ? g_strdup ("free instances unknown") : g_strdup_printf ("%" G_GINT64_FORMAT " free", available);
}

char *
ql_mdev_parent_describe_types (const QlMdevParent *parent)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < parent->types->len; i++)
    {
      const QlMdevType *type = parent->types->pdata[i];
      g_autofree char *free_text = describe_free (type->available);

      g_string_append_printf (text, "%s%s (%s)", i > 0 ? ", " : "", type->name, free_text);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static const QlMdevParent *
find_parent (const QlMdevHost *host, const char *name)
{
  for (guint i = 0; i < host->parents->len; i++)
    if (strcmp (((QlMdevParent *) host->parents->pdata[i])->name, name) == 0)
      return host->parents->pdata[i];
  return NULL;
}

static const QlMdevType *
find_type (const QlMdevParent *parent, const char *name)
{
  for (guint i = 0; i < parent->types->len; i++)
    if (strcmp (((QlMdevType *) parent->types->pdata[i])->name, name) == 0)
      return parent->types->pdata[i];
  return NULL;
}

/* How many of the steps so far create an mdev of type on parent. */
static gint64
planned (const GPtrArray *steps, const char *parent, const char *type)
{
  gint64 n = 0;

  for (guint i = 0; i < steps->len; i++)
    {
      const QlHostStep *step = steps->pdata[i];
      n += step->kind == QL_HOST_STEP_MDEV_CREATE && strcmp (step->parent, parent) == 0 &&
           strcmp (step->name, type) == 0;
    }
  return n;
}

static const QlMdevType *
check_type (const QlMdev *mdev, const QlMdevParent *parent, GError **error)
{
  g_autofree char *types = NULL;
  const QlMdevType *type;

  if (parent == NULL || !parent->exists)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s parent: there is no %s %s on this host (see "
                   "'qlaunch devices')", mdev->where, mdev->parent_is_pci ? "PCI device" : "mdev parent device",
                   mdev->parent);
      return NULL;
    }
  if (parent->types->len == 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s parent: %s (%s) makes no mediated devices: it has no "
                   "mdev_supported_types.  For an Intel GPU (GVT-g): i915.enable_gvt=1 on the kernel command line "
                   "and the kvmgt module loaded (modprobe kvmgt)", mdev->where, mdev->parent,
                   parent->driver ? parent->driver : "no driver");
      return NULL;
    }
  type = find_type (parent, mdev->type);
  if (type == NULL)
    {
      types = ql_mdev_parent_describe_types (parent);
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s type: '%s' is not an mdev type of %s; it has: %s", mdev->where,
                   mdev->type, mdev->parent, types);
    }
  return type;
}

gboolean
ql_mdev_plan_check (const GPtrArray *steps, const QlMdev *mdev, const QlMdevHost *host, GError **error)
{
  const QlMdevType *type = check_type (mdev, find_parent (host, mdev->parent), error);
  gint64 wanted;

  if (type == NULL)
    return FALSE;
  wanted = planned (steps, mdev->parent, mdev->type) + 1;
  if (type->available >= 0 && type->available < wanted)
    {
      g_autofree char *types = ql_mdev_parent_describe_types (find_parent (host, mdev->parent));
      g_autofree char *asked = wanted > 1 ? g_strdup_printf (", and this profile asks for %" G_GINT64_FORMAT, wanted)
                                          : g_strdup ("");
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s type: %s has no free instance of %s left (available_instances "
                   "is %" G_GINT64_FORMAT "%s); its types: %s.  Another VM may hold them: 'ls /sys/bus/mdev/devices' "
                   "lists the mdevs there are; or choose a type with free instances", mdev->where, mdev->parent,
                   mdev->type, type->available, asked, types);
      return FALSE;
    }
  for (guint i = 0; i < host->existing->len; i++)
    if (g_ascii_strcasecmp (host->existing->pdata[i], mdev->uuid) == 0)
      {
        g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s uuid: an mdev %s exists already (another VM's, or one "
                     "left behind: 'qlaunch recover' removes this VM's; as root, 'echo 1 > "
                     "/sys/bus/mdev/devices/%s/remove' removes any); set uuid= to another, or remove it",
                     mdev->where, mdev->uuid, mdev->uuid);
        return FALSE;
      }
  return TRUE;
}

gboolean
ql_mdev_plan_add_steps (GPtrArray *steps, const QlProfile *profile, const QlMdevHost *host, GError **error)
{
  for (guint i = 0; i < ql_profile_n_mdevs (profile); i++)
    {
      const QlMdev *mdev = profile->mdevs->pdata[i];
      g_autofree char *label = g_strdup_printf ("[mdev %s]", mdev->id);
      QlHostStep *step;

      if (!ql_mdev_plan_check (steps, mdev, host, error))
        return FALSE;
      step = ql_host_step_new (QL_HOST_STEP_MDEV_CREATE, label);
      step->parent = g_strdup (mdev->parent);
      step->name = g_strdup (mdev->type);
      step->uuid = g_strdup (mdev->uuid);
      g_ptr_array_add (steps, step);
    }
  return TRUE;
}
