/* The AMD reset bug: GPUs that do not come back from a guest without the
 * vendor-reset module (github.com/gnif/vendor-reset). */
#include "ql-check-profile.h"

/* The ids vendor-reset's device-db.h lists (gnif/vendor-reset, src/device-db.h
 * at 03e525d), named by the family it files each under; 0x164c is listed
 * under both Vega 20 and Navi 10, and vendor-reset takes the first match. */
static const struct {
  guint16 device;
  const char *name;
} reset_bug_ids[] = {
  { 0x67c0, "Polaris 10" }, { 0x67c1, "Polaris 10" }, { 0x67c2, "Polaris 10" }, { 0x67c4, "Polaris 10" },
  { 0x67c7, "Polaris 10" }, { 0x67d0, "Polaris 10" }, { 0x67df, "Polaris 10" }, { 0x67c8, "Polaris 10" },
  { 0x67c9, "Polaris 10" }, { 0x67ca, "Polaris 10" }, { 0x67cc, "Polaris 10" }, { 0x67cf, "Polaris 10" },
  { 0x6fdf, "Polaris 10" },
  { 0x67e0, "Polaris 11" }, { 0x67e3, "Polaris 11" }, { 0x67e8, "Polaris 11" }, { 0x67eb, "Polaris 11" },
  { 0x67ef, "Polaris 11" }, { 0x67ff, "Polaris 11" }, { 0x67e1, "Polaris 11" }, { 0x67e7, "Polaris 11" },
  { 0x67e9, "Polaris 11" },
  { 0x6980, "Polaris 12" }, { 0x6981, "Polaris 12" }, { 0x6985, "Polaris 12" }, { 0x6986, "Polaris 12" },
  { 0x6987, "Polaris 12" }, { 0x6995, "Polaris 12" }, { 0x6997, "Polaris 12" }, { 0x699f, "Polaris 12" },
  { 0x6860, "Vega 10" }, { 0x6861, "Vega 10" }, { 0x6862, "Vega 10" }, { 0x6863, "Vega 10" },
  { 0x6864, "Vega 10" }, { 0x6867, "Vega 10" }, { 0x6868, "Vega 10" }, { 0x6869, "Vega 10" },
  { 0x686a, "Vega 10" }, { 0x686b, "Vega 10" }, { 0x686c, "Vega 10" }, { 0x686d, "Vega 10" },
  { 0x686e, "Vega 10" }, { 0x686f, "Vega 10" }, { 0x687f, "Vega 10" },
  { 0x66a0, "Vega 20" }, { 0x66a1, "Vega 20" }, { 0x66a2, "Vega 20" }, { 0x66a3, "Vega 20" },
  { 0x66a4, "Vega 20" }, { 0x66a7, "Vega 20" }, { 0x66af, "Vega 20" }, { 0x164c, "Vega 20" },
  { 0x7310, "Navi 10" }, { 0x7312, "Navi 10" }, { 0x7318, "Navi 10" }, { 0x7319, "Navi 10" },
  { 0x731a, "Navi 10" }, { 0x731b, "Navi 10" }, { 0x731e, "Navi 10" }, { 0x731f, "Navi 10" },
  { 0x15bf, "Navi 10" }, { 0x15dd, "Navi 10" }, { 0x15de, "Navi 10" }, { 0x15e7, "Navi 10" },
  { 0x1636, "Navi 10" }, { 0x1638, "Navi 10" },
  { 0x7340, "Navi 14" }, { 0x7341, "Navi 14" }, { 0x7347, "Navi 14" }, { 0x734f, "Navi 14" },
  { 0x7360, "Navi 12" }, { 0x7362, "Navi 12" },
  { 0x73ff, "Navi 23" },
  { 0x738c, "Arcturus (Instinct MI100)" },
};

const char *
ql_check_reset_bug_name (guint16 vendor, guint16 device)
{
  if (vendor != 0x1002)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (reset_bug_ids); i++)
    if (reset_bug_ids[i].device == device)
      return reset_bug_ids[i].name;
  return NULL;
}

/* "reset_method is 'flr bus'", or why there is none */
static char *
describe_method (const char *method)
{
  if (method == NULL)
    return g_strdup ("the kernel shows no reset_method (before 5.15: vendor-reset's hook needs none)");
  return g_strdup_printf ("reset_method is '%s'", method);
}

static void
reset_not_loaded (const QlPciDevice *d, const char *name, const char *method, const char *echo,
                  const QlBootConfig *boot, const char *check, GPtrArray *findings)
{
  g_autofree char *how = describe_method (method);

  ql_findings_add (findings, check, QL_CHECK_WARN,
                   g_strdup_printf ("%s is an AMD %s (1002:%04x): it does not reset, so it fails after the first "
                                    "guest ends, until the host reboots; vendor_reset is not loaded; %s",
                                    d->address, name, d->device, how),
                   g_strdup_printf ("install vendor-reset (github.com/gnif/vendor-reset: dkms install . in its "
                                    "source) and load it early: echo vendor-reset > "
                                    "/etc/modules-load.d/vendor-reset.conf ; %s; reboot; then, as root: %s "
                                    "(its udev/99-vendor-reset.rules in /etc/udev/rules.d does both at each boot)",
                                    ql_check_initramfs_command (boot), echo));
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
      g_autofree char *check = NULL, *echo = NULL, *how = NULL;

      if (name == NULL)
        continue;
      check = g_strdup_printf ("reset %s", d->address);
      echo = g_strdup_printf ("echo device_specific > /sys/bus/pci/devices/%s/reset_method", d->address);
      how = describe_method (method);
      if (!vendor_reset_loaded)
        reset_not_loaded (d, name, method, echo, boot, check, findings);
      /* the kernel tries the methods in the order the file lists them */
      else if (method != NULL && !g_str_has_prefix (method, "device_specific"))
        ql_findings_add (findings, check, QL_CHECK_WARN,
                         g_strdup_printf ("%s is an AMD %s: vendor_reset is loaded but %s, so the kernel does not "
                                          "use it", d->address, name, how),
                         g_strdup_printf ("as root, after each boot (vendor-reset's udev/99-vendor-reset.rules does "
                                          "it): %s", echo));
      else
        ql_findings_add (findings, check, QL_CHECK_OK,
                         g_strdup_printf ("%s is an AMD %s; vendor_reset is loaded and %s", d->address, name, how),
                         NULL);
    }
}
