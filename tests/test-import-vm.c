/* An imported VM boots: the test guest described as libvirt would hold it
 * (a domain XML with a direct kernel boot, a user-mode NIC, a device from
 * <qemu:commandline>), imported, exported, imported again and started with
 * the real QEMU (TCG).  The guest prints what it sees: the NIC with the MAC
 * of the XML, the device kept in [qemu] args, the vCPUs of <topology>. */
#include "vm-harness.h"

#include <glib/gstdio.h>
#include <string.h>

static char *
guest_domain_xml (const char *name)
{
  g_autofree char *guest = g_build_filename (source_root, "build", "guest", NULL);
  g_autofree char *path = g_strdup_printf ("%s/%s.xml", tmp_root, name);
  g_autofree char *xml = g_strdup_printf (
    "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
    "  <name>%s</name>\n"
    "  <memory unit='MiB'>256</memory>\n"
    "  <vcpu placement='static'>2</vcpu>\n"
    "  <os>\n"
    "    <type arch='x86_64' machine='q35'>hvm</type>\n"
    "    <kernel>%s/vmlinuz</kernel>\n"
    "    <initrd>%s/initrd.img</initrd>\n"
    "    <cmdline>console=ttyS0 quiet panic=-1 ql.mode=demo ql.ip=10.0.2.15/24</cmdline>\n"
    "  </os>\n"
    "  <cpu mode='maximum'><topology sockets='1' dies='1' cores='2' threads='1'/></cpu>\n"
    "  <devices>\n"
    "    <interface type='user'>\n"
    "      <mac address='52:54:00:12:34:99'/>\n"
    "      <model type='virtio'/>\n"
    "    </interface>\n"
    "    <serial type='pty'/>\n"
    "  </devices>\n"
    "  <qemu:commandline>\n"
    "    <qemu:arg value='-device'/>\n"
    "    <qemu:arg value='pci-testdev'/>\n"
    "  </qemu:commandline>\n"
    "</domain>\n", name, guest, guest);

  g_assert_true (g_file_set_contents (path, xml, -1, NULL));
  return g_steal_pointer (&path);
}

static void
test_imported_guest_boots (void)
{
  const char *name = "imported-guest";
  g_autofree char *xml = NULL, *profile = NULL, *exported = NULL, *back = NULL, *console = NULL;
  g_autoptr(GSubprocess) proc = NULL;

  if (skip_if_unavailable ())
    return;
  xml = guest_domain_xml (name);
  profile = g_strdup_printf ("%s/%s-first.ini", tmp_root, name);
  exported = g_strdup_printf ("%s/%s-exported.xml", tmp_root, name);
  back = g_strdup_printf ("%s/%s.ini", tmp_root, name);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "import", "libvirt", xml, "-o", profile, NULL), ==, 0);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "export", "libvirt", profile, "-o", exported, NULL), ==, 0);
  g_assert_cmpint (run_qlaunch (NULL, NULL, "import", "libvirt", exported, "-o", back, NULL), ==, 0);

  proc = start_foreground (back);
  g_assert_cmpint (wait_exit (proc, &console), ==, 0);
  g_test_message ("console:\n%s", console);
  g_assert_nonnull (strstr (console, "QL: guest up (mode=demo"));
  g_assert_nonnull (strstr (console, " 2 cpus, "));
  /* pci-testdev (1b36:0005), kept in [qemu] args */
  g_assert_nonnull (strstr (console, " 1b36:0005 "));
  g_assert_nonnull (strstr (console, "QL: net eth0 52:54:00:12:34:99 "));
  g_assert_nonnull (strstr (console, "QL: demo done, powering off"));
  assert_nothing_left (name);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  vm_harness_init ();
  g_test_add_func ("/import-vm/libvirt-guest-boots", test_imported_guest_boots);
  return g_test_run ();
}
