/* qlaunch check: one finding per [mdev], from the planner's own checks. */
#include "ql-check-profile.h"
#include "ql-host-step.h"

#include <string.h>

static gint64
free_instances (const QlMdevHost *host, const QlMdev *mdev)
{
  for (guint i = 0; i < host->parents->len; i++)
    {
      const QlMdevParent *parent = host->parents->pdata[i];
      for (guint j = 0; strcmp (parent->name, mdev->parent) == 0 && j < parent->types->len; j++)
        if (strcmp (((QlMdevType *) parent->types->pdata[j])->name, mdev->type) == 0)
          return ((QlMdevType *) parent->types->pdata[j])->available;
    }
  return -1;
}

void
ql_check_mdevs (const QlProfile *p, const QlMdevHost *host, GPtrArray *out)
{
  g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);

  for (guint i = 0; i < ql_profile_n_mdevs (p); i++)
    {
      const QlMdev *mdev = p->mdevs->pdata[i];
      g_autofree char *check = g_strdup_printf ("mdev %s", mdev->id);
      g_autoptr(GError) error = NULL;
      QlHostStep *step;

      if (!ql_mdev_plan_check (steps, mdev, host, &error))
        {
          ql_findings_add (out, check, QL_CHECK_FAIL, g_strdup (error->message),
                           g_strdup ("see 'qlaunch devices' for the host's mdev types and their free instances"));
          continue;
        }
      ql_findings_add (out, check, QL_CHECK_OK,
                       g_strdup_printf ("%s offers %s (%" G_GINT64_FORMAT " free); start creates mdev %s", mdev->parent,
                                        mdev->type, free_instances (host, mdev), mdev->uuid), NULL);
      /* counted by the next sections' checks of the same type */
      step = ql_host_step_new (QL_HOST_STEP_MDEV_CREATE, check);
      step->parent = g_strdup (mdev->parent);
      step->name = g_strdup (mdev->type);
      step->uuid = g_strdup (mdev->uuid);
      g_ptr_array_add (steps, step);
    }
}
