/* The AMD reset bug: GPUs that do not come back from a guest without the
 * vendor-reset module (github.com/gnif/vendor-reset), as its device table
 * lists them. */
#include "ql-check-profile.h"

const char *
ql_check_reset_bug_name (guint16 vendor, guint16 device)
{
  static const struct {
    guint16 first, last;
    const char *name;
  } ranges[] = {
    { 0x67c0, 0x67df, "Polaris 10" },
    { 0x67e0, 0x67ff, "Polaris 11" },
    { 0x6980, 0x699f, "Polaris 12" },
    { 0x6860, 0x687f, "Vega 10" },
    { 0x66a0, 0x66af, "Vega 20" },
    { 0x7310, 0x731f, "Navi 10" },
    { 0x7340, 0x734f, "Navi 14" },
    { 0x7360, 0x736f, "Navi 12" },
  };

  if (vendor != 0x1002)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (ranges); i++)
    if (device >= ranges[i].first && device <= ranges[i].last)
      return ranges[i].name;
  return NULL;
}

void
ql_check_reset_bug (GPtrArray *devices, gboolean vendor_reset_loaded, GHashTable *reset_methods,
                    const QlBootConfig *boot, GPtrArray *findings)
{
  for (guint i = 0; i < devices->len; i++)
    {
      const QlPciDevice *d = devices->pdata[i];
      const char *name = ql_check_reset_bug_name (d->vendor, d->device);
      const char *method = reset_methods ? g_hash_table_lookup (reset_methods, d->address) : NULL;
      g_autofree char *check = NULL;
      g_autofree char *echo = NULL;

      if (name == NULL)
        continue;
      check = g_strdup_printf ("reset %s", d->address);
      echo = g_strdup_printf ("echo device_specific > /sys/bus/pci/devices/%s/reset_method", d->address);
      if (!vendor_reset_loaded)
        ql_findings_add (findings, check, QL_CHECK_WARN,
                         g_strdup_printf ("%s is an AMD %s (1002:%04x): it does not reset, so it fails after the "
                                          "first guest ends, until the host reboots; vendor_reset is not loaded",
                                          d->address, name, d->device),
                         g_strdup_printf ("install vendor-reset (DKMS, github.com/gnif/vendor-reset); echo "
                                          "vendor-reset > /etc/modules-load.d/vendor-reset.conf ; %s; reboot; "
                                          "then, as root: %s",
                                          ql_check_initramfs_command (boot), echo));
      else if (method != NULL && !g_str_has_prefix (method, "device_specific"))
        ql_findings_add (findings, check, QL_CHECK_WARN,
                         g_strdup_printf ("%s is an AMD %s: vendor_reset is loaded but reset_method is '%s', so the "
                                          "kernel does not use it", d->address, name, method),
                         g_strdup_printf ("as root, after each boot (a udev rule can do it): %s", echo));
      else
        ql_findings_add (findings, check, QL_CHECK_OK,
                         g_strdup_printf ("%s is an AMD %s; vendor_reset is loaded%s", d->address, name,
                                          method ? " and reset_method is device_specific" : ""), NULL);
    }
}
