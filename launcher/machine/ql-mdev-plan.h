#pragma once

#include <glib.h>
#include "ql-pci-address.h"
#include "ql-profile.h"

/* [mdev NAME] sections against the host's mediated device types: the
 * host as read (host/ql-mdev.c), and the steps that create the mdevs.
 * Pure. */

/* A directory of PARENT/mdev_supported_types/. */
typedef struct {
  char *name;                /* the directory's name: "i915-GVTg_V5_4", "mbochs-1" */
  char *pretty_name;         /* its "name" file; NULL: none */
  char *description;         /* its "description" file, on one line; NULL: none */
  char *device_api;          /* "vfio-pci"; NULL: none */
  gint64 available;          /* available_instances; -1: unreadable */
} QlMdevType;

/* A device that makes mdevs, an entry of /sys/class/mdev_bus (or one that
 * a profile names as a parent). */
typedef struct {
  char *name;                /* "0000:00:02.0", "mbochs" */
  gboolean exists;           /* the device is there (in class/mdev_bus, or as a PCI device) */
  char *driver;              /* its driver; NULL: none */
  GPtrArray *types;          /* QlMdevType*, by name; empty: it makes no mdevs */
} QlMdevParent;

typedef struct {
  GPtrArray *parents;        /* QlMdevParent*: the profile's parents, in its order */
  GPtrArray *existing;       /* char*: the UUIDs under bus/mdev/devices */
} QlMdevHost;

void ql_mdev_type_free (QlMdevType *type);
void ql_mdev_parent_free (QlMdevParent *parent);
QlMdevParent *ql_mdev_parent_new (const char *name);
void ql_mdev_host_free (QlMdevHost *host);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlMdevHost, ql_mdev_host_free)
QlMdevHost *ql_mdev_host_new (void);

/* "i915-GVTg_V5_4 (2 free), i915-GVTg_V5_8 (0 free)" */
char *ql_mdev_parent_describe_types (const QlMdevParent *parent);

/* Whether the host can make mdev, after the creations already in steps:
 * the failures ql_mdev_plan_add_steps () reports, for one section. */
gboolean ql_mdev_plan_check (const GPtrArray *steps, const QlMdev *mdev, const QlMdevHost *host, GError **error);

/* Appends one QL_HOST_STEP_MDEV_CREATE per [mdev] to steps, in profile
 * order.  Fails with QL_ERROR_HOST, naming the section and the fix, when a
 * parent is missing or makes no mdevs, a type is not one of the parent's
 * (the error lists its types with their free instances), too few instances
 * are free for the sections that ask for a type, or an mdev with the uuid
 * exists already. */
gboolean ql_mdev_plan_add_steps (GPtrArray *steps, const QlProfile *profile, const QlMdevHost *host, GError **error);
