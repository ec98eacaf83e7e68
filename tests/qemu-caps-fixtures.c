/* Hand-built caps of the two QEMUs the tests run (see tools/fetch-qemu.sh). */
#include "qemu-caps-fixtures.h"

static GStrv
strv (const char *const *names)
{
  return g_strdupv ((char **) names);
}

QlQemuCaps *
qemu_caps_fixture (guint version)
{
  QlQemuCaps *caps = ql_qemu_caps_new (version);
  static const char *const machine_72[] = { "accel", "hpet", "smm", "vmport", "pflash0", "pflash1",
                                            "memory-backend", NULL };
  static const char *const chardev_72[] = { "backend", "path", "server", "wait", "reconnect", NULL };
  static const char *const chardev_100[] = { "backend", "path", "server", "wait", "reconnect-ms", NULL };
  static const char *const run_with_100[] = { "async-teardown", "chroot", "user", NULL };
  static const char *const nohotplug[] = { "ramfb", NULL };
  static const char *const vfio_72[] = { "host", "sysfsdev", "x-vga", "rombar", "romfile", "display",
                                         "x-igd-opregion", "x-igd-gms", "xres", "yres", NULL };
  static const char *const vfio_100[] = { "host", "sysfsdev", "x-vga", "rombar", "romfile", "display",
                                          "use-legacy-x86-rom", "x-igd-opregion", "x-igd-gms",
                                          "x-igd-legacy-mode", "xres", "yres", NULL };

  g_assert_true (version == 702 || version == 1000);
  g_strfreev (caps->machine_props);
  caps->machine_props = strv (machine_72);
  g_strfreev (caps->chardev_props);
  caps->chardev_props = strv (version == 702 ? chardev_72 : chardev_100);
  g_strfreev (caps->vfio_pci_props);
  caps->vfio_pci_props = strv (version == 702 ? vfio_72 : vfio_100);
  g_strfreev (caps->vfio_nohotplug_props);
  caps->vfio_nohotplug_props = strv (nohotplug);
  if (version == 1000)
    {
      g_strfreev (caps->run_with_props);
      caps->run_with_props = strv (run_with_100);
      caps->micro = 2;
      ql_qemu_caps_add_machine_type (caps, "pc-i440fx-10.0", "pc", TRUE, FALSE);
      ql_qemu_caps_add_machine_type (caps, "pc-q35-10.0", "q35", FALSE, FALSE);
      ql_qemu_caps_add_machine_type (caps, "pc-q35-7.2", NULL, FALSE, FALSE);
      ql_qemu_caps_add_machine_type (caps, "pc-q35-7.1", NULL, FALSE, FALSE);
      ql_qemu_caps_add_machine_type (caps, "pc-q35-4.2", NULL, FALSE, TRUE);
    }
  else
    {
      caps->micro = 22;
      ql_qemu_caps_add_machine_type (caps, "pc-i440fx-7.2", "pc", TRUE, FALSE);
      ql_qemu_caps_add_machine_type (caps, "pc-q35-7.2", "q35", FALSE, FALSE);
      ql_qemu_caps_add_machine_type (caps, "pc-q35-7.1", NULL, FALSE, FALSE);
      ql_qemu_caps_add_machine_type (caps, "pc-q35-4.2", NULL, FALSE, FALSE);
    }
  return caps;
}
