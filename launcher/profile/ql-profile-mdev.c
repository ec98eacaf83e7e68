/* [mdev NAME]: the names an mdev section produces, pure. */
#include "ql-profile.h"

#include <string.h>

#define MDEV_TYPE_MAX_LEN 64

/* qlaunch's namespace for name-based mdev UUIDs (RFC 4122 §4.3); any fixed
 * UUID would do, this one is qlaunch's and never changes: a change would
 * give every VM's vGPU a new identity in its guest. */
static const guint8 mdev_namespace[16] = {
  0x6b, 0x1c, 0x2e, 0x4a, 0x93, 0x0d, 0x4f, 0x6e, 0xa5, 0x57, 0x3c, 0x71, 0x0b, 0x8e, 0xd2, 0x19,
};

char *
ql_profile_default_mdev_uuid (const char *vm_name, const char *mdev_id)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA1);
  g_autofree char *name = g_strdup_printf ("%s\n%s", vm_name, mdev_id);
  guint8 digest[20];
  gsize len = sizeof digest;
  guint8 *u = digest;

  g_checksum_update (sum, mdev_namespace, sizeof mdev_namespace);
  g_checksum_update (sum, (const guchar *) name, -1);
  g_checksum_get_digest (sum, digest, &len);
  u[6] = (u[6] & 0x0f) | 0x50;   /* version 5: SHA-1, name-based */
  u[8] = (u[8] & 0x3f) | 0x80;   /* the RFC 4122 variant */
  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
                          u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static gboolean
is_device_name (const char *name)
{
  gsize len = name != NULL ? strlen (name) : 0;

  if (len == 0 || len > MDEV_TYPE_MAX_LEN || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return FALSE;
  for (const char *c = name; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '-' && *c != '_' && *c != '.')
      return FALSE;
  return TRUE;
}

gboolean
ql_profile_mdev_parent_is_valid (const char *parent)
{
  QlPciAddress addr;

  if (parent != NULL && strchr (parent, ':') != NULL)
    return ql_pci_address_parse (parent, FALSE, &addr, NULL) && strlen (parent) == QL_PCI_ADDRESS_LEN - 1;
  return is_device_name (parent);
}

guint
ql_profile_n_mdevs (const QlProfile *profile)
{
  return profile->mdevs != NULL ? profile->mdevs->len : 0;
}

gboolean
ql_profile_mdev_type_is_valid (const char *type)
{
  return is_device_name (type);
}
