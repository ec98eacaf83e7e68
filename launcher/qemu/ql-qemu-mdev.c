#include "ql-qemu-mdev.h"
#include "ql-qemu-opts.h"

char *
ql_qemu_mdev_sysfsdev (const char *uuid)
{
  return g_strdup_printf ("/sys/bus/mdev/devices/%s", uuid);
}

/* vfio-pci-nohotplug for a display: QEMU 7.2 has ramfb only there, and a
 * device that is the guest's screen is not to be unplugged; plain vfio-pci
 * otherwise.  QEMU's defaults (display=off, no EDID resolution, no
 * OpRegion) are left unwritten. */
static char *
mdev_device (const QlMdev *mdev, guint slot)
{
  QlQemuOpts *opts = ql_qemu_opts_new (mdev->display || mdev->ramfb ? "vfio-pci-nohotplug" : "vfio-pci");
  g_autofree char *sysfsdev = ql_qemu_mdev_sysfsdev (mdev->uuid);
  g_autofree char *id = g_strdup_printf ("mdev-%s", mdev->id);

  ql_qemu_opts_add (opts, "sysfsdev", sysfsdev);
  ql_qemu_opts_add (opts, "id", id);
  ql_qemu_opts_add (opts, "bus", "pcie.0");
  ql_qemu_opts_addf (opts, "addr", "%02x.0", slot);
  if (mdev->display)
    ql_qemu_opts_add (opts, "display", "on");
  if (mdev->ramfb)
    ql_qemu_opts_add_bool (opts, "ramfb", TRUE);
  if (mdev->igd_opregion)
    ql_qemu_opts_add_bool (opts, "x-igd-opregion", TRUE);
  if (mdev->xres != 0)
    ql_qemu_opts_addf (opts, "xres", "%u", mdev->xres);
  if (mdev->yres != 0)
    ql_qemu_opts_addf (opts, "yres", "%u", mdev->yres);
  if (mdev->rom != NULL)
    ql_qemu_opts_add (opts, "romfile", mdev->rom);
  return ql_qemu_opts_finish (opts);
}

void
ql_qemu_mdev_add_args (GPtrArray *args, const QlMachine *m)
{
  const QlProfile *p = m->profile;

  for (guint i = 0; i < ql_profile_n_mdevs (p); i++)
    {
      g_ptr_array_add (args, g_strdup ("-device"));
      g_ptr_array_add (args, mdev_device (p->mdevs->pdata[i], g_array_index (m->mdev_slots, guint, i)));
    }
}
