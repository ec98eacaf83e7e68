/* Host PCI state (libpci over a fake sysfs tree), who holds a device open
 * (real processes in the real /proc), IOMMU group planning, sysfs writes
 * with timeouts, and the journal. */
#include "fake-sysfs.h"
#include "ql-error.h"
#include "ql-host-undo.h"
#include "ql-journal.h"
#include "ql-pci-host.h"
#include "ql-sysfs.h"
#include "ql-vfio.h"
#include "ql-vfio-plan.h"
#include "ql-pci-scan.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

typedef struct {
  char *sysfs;
  QlPciHost *host;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->sysfs = fake_sysfs_new ();
  f->host = ql_pci_host_scan (f->sysfs, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  ql_pci_host_free (f->host);
  fake_sysfs_remove (f->sysfs);
  g_free (f->sysfs);
}

static const QlPciDevice *
device (Fixture *f, const char *address)
{
  QlPciAddress addr;

  g_assert_true (ql_pci_address_parse (address, FALSE, &addr, NULL));
  return ql_pci_host_lookup (f->host, &addr);
}

static void
test_address (void)
{
  QlPciAddress a;
  gboolean has_fn;
  char text[QL_PCI_ADDRESS_LEN];

  g_assert_true (ql_pci_address_parse ("01:00.1", FALSE, &a, &has_fn));
  g_assert_true (has_fn);
  ql_pci_address_format (&a, text);
  g_assert_cmpstr (text, ==, "0000:01:00.1");
  g_assert_true (ql_pci_address_parse ("0001:af:1f.7", FALSE, &a, NULL));
  ql_pci_address_format (&a, text);
  g_assert_cmpstr (text, ==, "0001:af:1f.7");
  g_assert_true (ql_pci_address_parse ("01:00", TRUE, &a, &has_fn));
  g_assert_false (has_fn);
  g_assert_false (ql_pci_address_parse ("01:00", FALSE, &a, NULL));
  g_assert_false (ql_pci_address_parse ("01:20.0", FALSE, &a, NULL));   /* slot > 1f */
  g_assert_false (ql_pci_address_parse ("01:00.8", FALSE, &a, NULL));
  g_assert_false (ql_pci_address_parse ("1:00.0", FALSE, &a, NULL));
  g_assert_false (ql_pci_address_parse ("01:00.0x", FALSE, &a, NULL));
  g_assert_false (ql_pci_address_parse ("10de:1bb6", TRUE, &a, NULL));
}

static void
test_scan (Fixture *f, gconstpointer data)
{
  const QlPciDevice *gpu = device (f, "0000:01:00.0");
  const QlPciDevice *audio = device (f, "0000:01:00.1");
  const QlPciDevice *bridge = device (f, "0000:00:01.0");
  const QlPciDevice *desktop = device (f, "0000:02:00.0");
  const QlPciDevice *nic = device (f, "0000:04:00.0");
  g_autoptr(GPtrArray) group1 = ql_pci_host_group_members (f->host, 1);

  g_assert_cmpuint (f->host->devices->len, ==, 7);
  g_assert_nonnull (gpu);
  g_assert_cmphex (gpu->vendor, ==, 0x10de);
  g_assert_cmphex (gpu->device, ==, 0x1bb6);
  g_assert_cmphex (gpu->sub_vendor, ==, 0x1028);
  g_assert_cmphex (gpu->sub_device, ==, 0x07b1);
  g_assert_cmphex (gpu->class_code, ==, 0x030000);
  g_assert_cmpstr (gpu->vendor_name, ==, "NVIDIA Corporation");   /* pci.ids through libpci */
  g_assert_cmpstr (gpu->class_name, ==, "VGA compatible controller");
  g_assert_cmpstr (gpu->driver, ==, "nvidia");
  g_assert_null (gpu->driver_override);
  g_assert_cmpint (gpu->iommu_group, ==, 1);
  g_assert_false (gpu->boot_vga);
  g_assert_false (gpu->is_bridge);
  g_assert_true (ql_pci_device_is_display (gpu));
  g_assert_true (ql_pci_device_is_audio (audio));
  g_assert_true (bridge->is_bridge);
  g_assert_true (desktop->boot_vga);
  g_assert_cmpint (nic->iommu_group, ==, -1);
  g_assert_cmpuint (group1->len, ==, 3);
  g_assert_true (group1->pdata[0] == bridge && group1->pdata[1] == gpu && group1->pdata[2] == audio);
}

static void
test_scan_missing (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlPciHost) host = ql_pci_host_scan ("/nonexistent", &error);

  g_assert_null (host);
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "/nonexistent/bus/pci/devices"));
}

/* A real process holding a real character device, mapped by the fake
 * sysfs to a device's DRM node: the /proc scan must find it. */
static void
test_holders (Fixture *f, gconstpointer data)
{
  struct stat st;
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GSubprocess) holder = NULL;
  g_autoptr(GError) error = NULL;
  const QlPciDevice *gpu = device (f, "0000:01:00.0");
  gboolean found = FALSE;

  g_assert_cmpint (stat ("/dev/null", &st), ==, 0);
  fake_sysfs_add_drm_node (f->sysfs, "0000:01:00.0", major (st.st_rdev), minor (st.st_rdev));
  g_subprocess_launcher_take_stdin_fd (launcher, open ("/dev/null", O_RDONLY | O_CLOEXEC));
  holder = g_subprocess_launcher_spawn (launcher, &error, "sleep", "30", NULL);
  g_assert_no_error (error);
  g_usleep (100000);   /* let it exec */

  ql_pci_host_find_holders (f->host, "/proc", "/dev", NULL, NULL);
  for (guint i = 0; i < gpu->holders->len; i++)
    {
      const QlPciHolder *h = gpu->holders->pdata[i];
      if (h->pid == (int) g_ascii_strtoll (g_subprocess_get_identifier (holder), NULL, 10))
        {
          g_assert_cmpstr (h->comm, ==, "sleep");
          g_assert_cmpstr (h->node, ==, "/dev/null");
          found = TRUE;
        }
    }
  g_assert_true (found);
  g_assert_cmpuint (device (f, "0000:02:00.0")->holders->len, ==, 0);
  g_subprocess_force_exit (holder);
  g_subprocess_wait (holder, NULL, NULL);
}

static QlVfioPlan *
plan_for (Fixture *f, GError **error, ...)
{
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_vfio_request_free);
  va_list ap;
  const char *address;

  va_start (ap, error);
  while ((address = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (requests, ql_vfio_request_new (address, "[pci gpu]"));
  va_end (ap);
  return ql_vfio_plan_build (f->host, requests, error);
}

static gboolean
notes_contain (const QlVfioPlan *plan, const char *text)
{
  for (guint i = 0; i < plan->notes->len; i++)
    if (strstr (plan->notes->pdata[i], text) != NULL)
      return TRUE;
  return FALSE;
}

static void
test_plan_group_not_viable (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVfioPlan) plan = plan_for (f, &error, "0000:01:00.0", NULL);

  g_assert_null (plan);
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_cmpstr (error->message, ==,
                   "Cannot pass the devices through:\n"
                   "[pci gpu]: IOMMU group 1 is not viable: it also holds 0000:01:00.1 (NVIDIA Corporation GP104 "
                   "High Definition Audio Controller, driver snd_hda_intel), which is not passed through. Fix: pass "
                   "it through as well (functions=all), or give it to vfio-pci with 'qlaunch bind 0000:01:00.1'");
}

static void
test_plan_whole_group (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVfioPlan) plan = plan_for (f, &error, "0000:01:00.0", "0000:01:00.1", NULL);
  const QlVfioPlanItem *gpu, *audio;

  g_assert_no_error (error);
  g_assert_cmpuint (plan->items->len, ==, 2);
  gpu = plan->items->pdata[0];
  audio = plan->items->pdata[1];
  g_assert_cmpstr (gpu->address, ==, "0000:01:00.0");
  g_assert_true (gpu->bind);
  g_assert_cmpstr (gpu->driver, ==, "nvidia");
  g_assert_cmpint (gpu->iommu_group, ==, 1);
  g_assert_cmpstr (audio->driver, ==, "snd_hda_intel");
  /* the root port shares the group and stays with the host */
  g_assert_true (notes_contain (plan, "IOMMU group 1: 0000:00:01.0"));
  g_assert_true (notes_contain (plan, "(a bridge)"));
}

static void
test_plan_boot_vga_and_vfio (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVfioPlan) plan = plan_for (f, &error, "0000:02:00.0", "0000:02:00.1", "0000:03:00.0", NULL);

  g_assert_no_error (error);
  g_assert_true (notes_contain (plan, "0000:02:00.0 is the host's boot VGA"));
  g_assert_true (((QlVfioPlanItem *) plan->items->pdata[0])->bind);
  g_assert_false (((QlVfioPlanItem *) plan->items->pdata[2])->bind);   /* already on vfio-pci */
}

static void
test_plan_every_problem (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVfioPlan) plan = NULL;
  struct stat st;

  g_assert_cmpint (stat ("/dev/null", &st), ==, 0);
  fake_sysfs_add_drm_node (f->sysfs, "0000:02:00.0", major (st.st_rdev), minor (st.st_rdev));
  {
    /* this process holds /dev/null, but the scan skips itself: use a child */
    g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
    g_autoptr(GSubprocess) holder = NULL;

    g_subprocess_launcher_take_stdin_fd (launcher, open ("/dev/null", O_RDONLY | O_CLOEXEC));
    holder = g_subprocess_launcher_spawn (launcher, &error, "sleep", "30", NULL);
    g_assert_no_error (error);
    g_usleep (100000);
    ql_pci_host_find_holders (f->host, "/proc", "/dev", NULL, NULL);
    g_subprocess_force_exit (holder);
    g_subprocess_wait (holder, NULL, NULL);
  }
  plan = plan_for (f, &error, "0000:04:00.0", "0000:02:00.0", "0000:02:00.1", "0000:00:01.0", "0000:09:00.0", NULL);
  g_assert_null (plan);
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "0000:04:00.0 is in no IOMMU group: the IOMMU is off. Fix: enable VT-d"));
  g_assert_nonnull (strstr (error->message, "intel_iommu=on"));
  g_assert_nonnull (strstr (error->message, "0000:02:00.0 (nouveau) is in use on the host by PID "));
  g_assert_nonnull (strstr (error->message, "(sleep) through /dev/null"));
  g_assert_nonnull (strstr (error->message, "0000:00:01.0 is a PCI bridge"));
  g_assert_nonnull (strstr (error->message, "no PCI device 0000:09:00.0"));
}

static void
test_sysfs_write (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-sysfs-w-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "driver_override", NULL);
  g_autofree char *missing = g_build_filename (dir, "nope", "unbind", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (file, "", 0, NULL));
  g_assert_true (ql_sysfs_write (file, "vfio-pci", 1000, &error));
  g_assert_no_error (error);
  text = ql_sysfs_read (file);
  g_assert_cmpstr (text, ==, "vfio-pci");

  g_assert_false (ql_sysfs_write (missing, "0000:01:00.0", 1000, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "No such file or directory"));
  g_unlink (file);
  g_rmdir (dir);
}

/* A write that blocks forever (a FIFO nobody reads, like an unbind stuck in
 * the kernel) ends as a timeout, not a hang. */
static void
test_sysfs_timeout (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-sysfs-t-XXXXXX", NULL);
  g_autofree char *fifo = g_build_filename (dir, "unbind", NULL);
  g_autoptr(GError) error = NULL;
  gint64 start;

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  start = g_get_monotonic_time ();
  g_assert_false (ql_sysfs_write (fifo, "0000:01:00.0", 300, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "did not finish within 300 ms"));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_unlink (fifo);
  g_rmdir (dir);
}

static gboolean
record_vfio (QlJournal *journal, const char *device, const char *driver, const char *driver_override,
             GError **error)
{
  g_autoptr(QlHostStep) step = ql_host_step_new (QL_HOST_STEP_VFIO_BIND, "[pci test]");

  g_strlcpy (step->device, device, sizeof step->device);
  step->driver = g_strdup (driver);
  step->driver_override = g_strdup (driver_override);
  return ql_journal_record (journal, step, error);
}

static void
test_journal_roundtrip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-journal-XXXXXX", NULL);
  g_autoptr(QlJournal) journal = ql_journal_new (dir);
  g_autoptr(QlJournal) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_false (ql_journal_exists (dir));
  g_assert_true (ql_journal_set_qemu (journal, &(QlProcessId) { 4242, 77 }, &error));
  g_assert_false (ql_journal_exists (dir));   /* nothing to undo, nothing written */
  g_assert_true (record_vfio (journal, "0000:01:00.0", "nvidia", NULL, &error));
  g_assert_true (record_vfio (journal, "0000:01:00.1", NULL, "pci-stub", &error));
  g_assert_no_error (error);
  g_assert_true (ql_journal_exists (dir));

  loaded = ql_journal_load (dir, "/nonexistent", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ql_journal_length (loaded), ==, 2);
  g_assert_cmpint (ql_journal_get_qemu (loaded).pid, ==, 4242);
  g_assert_cmpuint (ql_journal_get_qemu (loaded).start_time, ==, 77);
  g_assert_true (g_file_get_contents (ql_journal_path (loaded), &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"driver\" : \"nvidia\""));
  g_assert_nonnull (strstr (text, "\"driver-override\" : \"pci-stub\""));
  g_unlink (ql_journal_path (loaded));
  g_rmdir (dir);
}

static void
test_journal_undo (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-journal-XXXXXX", NULL);
  g_autoptr(QlJournal) journal = ql_journal_new (dir);
  g_autoptr(QlJournal) left = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *override_path = g_build_filename (f->sysfs, "bus/pci/devices/0000:01:00.0/driver_override", NULL);
  g_autofree char *override = NULL;

  /* 01:00.0 is still on nvidia: only its driver_override needs restoring.
   * 03:00.0 is on vfio-pci and should go back to e1000e, but this tree's
   * driver link never changes, so that undo times out and stays journaled. */
  g_setenv ("QLAUNCH_SYSFS_TIMEOUT_MS", "200", TRUE);
  g_assert_true (record_vfio (journal, "0000:01:00.0", "nvidia", NULL, &error));
  g_assert_true (record_vfio (journal, "0000:03:00.0", "e1000e", NULL, &error));
  g_assert_false (ql_host_undo (journal, f->sysfs, FALSE, NULL, NULL, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "Cannot give 0000:03:00.0 back to e1000e"));
  g_assert_nonnull (strstr (error->message, "kept in"));
  override = ql_sysfs_read (override_path);
  g_assert_cmpstr (override, ==, "");          /* cleared with a newline */

  left = ql_journal_load (dir, "/nonexistent", NULL);
  g_assert_nonnull (left);
  g_assert_cmpuint (ql_journal_length (left), ==, 1);
  g_clear_error (&error);

  /* once it can be undone, the journal goes */
  {
    g_autofree char *link = g_build_filename (f->sysfs, "bus/pci/devices/0000:03:00.0/driver", NULL);
    g_autofree char *e1000e = g_build_filename (f->sysfs, "bus/pci/drivers/e1000e", NULL);
    g_unlink (link);
    g_assert_cmpint (symlink (e1000e, link), ==, 0);
  }
  g_assert_true (ql_host_undo (left, f->sysfs, FALSE, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (ql_journal_exists (dir));
  g_unsetenv ("QLAUNCH_SYSFS_TIMEOUT_MS");
  g_rmdir (dir);
}

static void
collect_line (const char *line, gpointer data)
{
  g_ptr_array_add (data, g_strdup (line));
}

/* release=vfio leaves the device on vfio-pci (driver_override too), and
 * power=auto hands it to the kernel's runtime PM; both survive the journal. */
static void
test_release_vfio_power_auto (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-journal-XXXXXX", NULL);
  g_autofree char *power = g_build_filename (f->sysfs, "bus/pci/devices/0000:03:00.0/power", NULL);
  g_autofree char *control_path = g_build_filename (power, "control", NULL);
  g_autofree char *status_path = g_build_filename (power, "runtime_status", NULL);
  g_autofree char *control = NULL, *driver = NULL;
  g_autoptr(QlJournal) journal = ql_journal_new (dir);
  g_autoptr(QlJournal) loaded = NULL;
  g_autoptr(QlHostStep) step = ql_host_step_new (QL_HOST_STEP_VFIO_BIND, "[pci nic]");
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *described = NULL;

  g_assert_cmpint (g_mkdir_with_parents (power, 0755), ==, 0);
  g_assert_true (g_file_set_contents (control_path, "on\n", -1, NULL));
  g_assert_true (g_file_set_contents (status_path, "suspended\n", -1, NULL));
  g_strlcpy (step->device, "0000:03:00.0", sizeof step->device);
  step->driver = g_strdup ("e1000e");
  step->release = QL_PCI_RELEASE_VFIO;
  step->power = QL_PCI_POWER_AUTO;
  described = ql_host_step_describe (step);
  g_assert_nonnull (strstr (described, "stays on vfio-pci after the VM; then power/control=auto"));
  g_assert_true (ql_journal_record (journal, step, &error));
  g_assert_no_error (error);

  loaded = ql_journal_load (dir, "/nonexistent", &error);
  g_assert_no_error (error);
  g_assert_true (ql_host_undo (loaded, f->sysfs, FALSE, collect_line, lines, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (lines->len, ==, 1);
  g_assert_cmpstr (lines->pdata[0], ==, "0000:03:00.0 stays on vfio-pci (release=vfio; 'qlaunch unbind 0000:03:00.0' "
                                        "gives it back); power/control=auto (runtime status: suspended)");
  driver = ql_vfio_current_driver (f->sysfs, "0000:03:00.0");
  g_assert_cmpstr (driver, ==, "vfio-pci");
  control = ql_sysfs_read (control_path);
  g_assert_cmpstr (control, ==, "auto");
  g_assert_false (ql_journal_exists (dir));
  g_rmdir (dir);
}

/* The members are optional (journals of earlier versions), and checked. */
static void
test_step_release_power_json (void)
{
  static const char *const refused[] = {
    "{\"kind\": \"vfio-bind\", \"device\": \"0000:01:00.0\", \"driver\": null, \"driver-override\": null, \"release\": \"guest\"}",
    "{\"kind\": \"vfio-bind\", \"device\": \"0000:01:00.0\", \"driver\": null, \"driver-override\": null, \"power\": \"off\"}",
    "{\"kind\": \"vfio-bind\", \"device\": \"0000:01:00.0\", \"driver\": null, \"driver-override\": null, \"power\": 1}",
  };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(QlHostStep) old = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, "{\"kind\": \"vfio-bind\", \"device\": \"0000:01:00.0\", "
                                                     "\"driver\": \"nvidia\", \"driver-override\": null}", -1, NULL));
  old = ql_host_step_from_json (json_node_get_object (json_parser_get_root (parser)), &error);
  g_assert_no_error (error);
  g_assert_cmpint (old->release, ==, QL_PCI_RELEASE_HOST);
  g_assert_cmpint (old->power, ==, QL_PCI_POWER_UNCHANGED);
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(QlHostStep) step = NULL;
      g_autoptr(GError) e = NULL;
      g_assert_true (json_parser_load_from_data (parser, refused[i], -1, NULL));
      step = ql_host_step_from_json (json_node_get_object (json_parser_get_root (parser)), &e);
      g_assert_null (step);
      g_assert_error (e, QL_ERROR, QL_ERROR_FAILED);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pci/address", test_address);
  g_test_add ("/pci/scan", Fixture, NULL, fixture_set_up, test_scan, fixture_tear_down);
  g_test_add_func ("/pci/scan-missing", test_scan_missing);
  g_test_add ("/pci/holders", Fixture, NULL, fixture_set_up, test_holders, fixture_tear_down);
  g_test_add ("/plan/group-not-viable", Fixture, NULL, fixture_set_up, test_plan_group_not_viable, fixture_tear_down);
  g_test_add ("/plan/whole-group", Fixture, NULL, fixture_set_up, test_plan_whole_group, fixture_tear_down);
  g_test_add ("/plan/boot-vga-and-vfio", Fixture, NULL, fixture_set_up, test_plan_boot_vga_and_vfio, fixture_tear_down);
  g_test_add ("/plan/every-problem", Fixture, NULL, fixture_set_up, test_plan_every_problem, fixture_tear_down);
  g_test_add_func ("/sysfs/write", test_sysfs_write);
  g_test_add_func ("/sysfs/timeout", test_sysfs_timeout);
  g_test_add_func ("/journal/roundtrip", test_journal_roundtrip);
  g_test_add ("/journal/undo", Fixture, NULL, fixture_set_up, test_journal_undo, fixture_tear_down);
  g_test_add ("/journal/release-vfio-power-auto", Fixture, NULL, fixture_set_up, test_release_vfio_power_auto,
              fixture_tear_down);
  g_test_add_func ("/journal/step-release-power-json", test_step_release_power_json);
  return g_test_run ();
}
