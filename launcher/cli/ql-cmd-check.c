/* qlaunch check: is this host (and a VM's profile) ready for passthrough,
 * and if not, the exact fix.  Changes nothing. */
#include "ql-commands.h"
#include "ql-check-profile.h"
#include "ql-check-read.h"
#include "ql-host-apply.h"
#include "ql-hugepages.h"
#include "ql-mdev.h"
#include "ql-paths.h"
#include "ql-pci-scan.h"
#include "ql-prepare.h"
#include "ql-rom-check.h"
#include "ql-setup-host.h"

#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

/* The same for every device the host has: the reset bug is the host's. */
static void
check_host_reset (const QlCheckHostFacts *host, GPtrArray *findings)
{
  g_autoptr(QlPciHost) pci = ql_pci_host_scan (ql_paths_sysfs (), NULL);
  g_autoptr(GHashTable) methods = NULL;

  if (pci == NULL)
    return;
  methods = ql_check_read_reset_methods (ql_paths_sysfs (), pci->devices);
  ql_check_reset_bug (pci->devices, ql_check_vendor_reset_loaded (ql_paths_sysfs ()), methods, &host->boot,
                      findings);
}

static guint64
memlock_now (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_MEMLOCK, &limit) != 0)
    return 0;
  return limit.rlim_cur == RLIM_INFINITY ? G_MAXUINT64 : (guint64) limit.rlim_cur;
}

static void
check_profile (QlPrepared *prepared, const char *prepare_error, const char *path, const QlCheckHostFacts *host,
               GPtrArray *findings)
{
  QlCheckProfileFacts f = { .boot = &host->boot, .profile_path = path, .machine_error = prepare_error };
  g_autoptr(GError) plan_error = NULL, rom_error = NULL, pages_error = NULL;
  g_autoptr(QlHostPlan) plan = NULL;
  g_autoptr(GPtrArray) rom_notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(QlCheckFileFacts) files = NULL;
  g_autoptr(QlHugepagePool) pool = NULL;
  g_autoptr(GHashTable) modules = NULL, methods = NULL;
  g_autoptr(QlMdevHost) mdev = NULL;
  const QlProfile *p;

  if (prepared == NULL)
    {
      ql_check_profile (&f, findings);
      return;
    }
  p = prepared->profile;
  f.profile_path = p->path;
  f.machine = prepared->machine;
  f.qemu_caps = prepared->host->qemu_caps;
  f.pinned_machine = prepared->host->pinned_machine;
  f.pci = prepared->host->pci;
  f.pci_error = prepared->host->pci_error;
  if (prepared->host->pci != NULL)
    {
      ql_pci_host_find_holders (prepared->host->pci, ql_paths_procfs (), ql_paths_devfs (), NULL, NULL);
      modules = ql_setup_read_driver_modules (ql_paths_sysfs (), prepared->host->pci);
      methods = ql_check_read_reset_methods (ql_paths_sysfs (), prepared->host->pci->devices);
    }
  f.driver_modules = modules;
  f.reset_methods = methods;
  f.vendor_reset_loaded = ql_check_vendor_reset_loaded (ql_paths_sysfs ());
  if (ql_profile_n_mdevs (p) > 0)
    mdev = ql_mdev_host_read (ql_paths_sysfs (), p);
  f.mdev = mdev;
  plan = ql_host_plan_for_machine (prepared->machine, &plan_error);
  f.plan_error = plan_error ? plan_error->message : NULL;
  f.plan_steps = plan ? plan->steps->len : 0;
  if (!ql_rom_check_for_machine (prepared->machine, rom_notes, &rom_error))
    f.rom_error = rom_error->message;
  f.rom_notes = rom_notes;
  files = ql_check_read_files (prepared->machine, ql_paths_devfs ());
  f.files = files;
  if (p->memory.hugepages != QL_HUGEPAGES_NONE)
    {
      pool = ql_hugepages_read (ql_paths_sysfs (), p->memory.hugepages == QL_HUGEPAGES_1G ? 1048576 : 2048,
                                &pages_error);
      f.hugepages = pool;
      f.hugepages_error = pages_error ? pages_error->message : NULL;
    }
  f.cpus = prepared->host->cpus;
  f.as_root = geteuid () == 0;
  f.user = g_get_user_name ();
  f.memlock = memlock_now ();
  ql_check_profile (&f, findings);
}

/* The profile's [vm] accel even when start would refuse the profile (accel=kvm without KVM). */
static gboolean
profile_accel (const char *name_or_path, QlAccel *accel)
{
  g_autofree char *path = ql_paths_find_profile (name_or_path, NULL);
  g_autoptr(QlProfile) profile = path ? ql_profile_load (path, NULL) : NULL;

  if (profile == NULL)
    return FALSE;
  *accel = profile->vm.accel;
  return TRUE;
}

static void
print_findings (const GPtrArray *findings)
{
  guint counts[3] = { 0 };

  for (guint i = 0; i < findings->len; i++)
    {
      const QlFinding *f = findings->pdata[i];
      printf ("%-4s  %-20s %s\n", ql_check_status_to_string (f->status), f->check, f->message);
      if (f->fix != NULL)
        printf ("      %-20s fix: %s\n", "", f->fix);
      counts[f->status]++;
    }
  printf ("%u ok, %u warn, %u fail\n", counts[QL_CHECK_OK], counts[QL_CHECK_WARN], counts[QL_CHECK_FAIL]);
}

int
ql_cmd_check (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("[NAME|FILE.ini]");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlPrepared) prepared = NULL;
  g_autoptr(QlCheckHostFacts) host = NULL;
  g_autoptr(GPtrArray) findings = ql_findings_new ();
  QlCheckRoots roots = { ql_paths_sysfs (), ql_paths_procfs (), ql_paths_devfs (), ql_paths_etc (),
                         ql_paths_modules () };
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "The findings as a JSON array of {check, status, message, fix}", NULL },
    { NULL },
  };

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
                                "Check that this host is ready for PCI passthrough (KVM, IOMMU, interrupt\n"
                                "remapping, vfio, kernel command line, QEMU, firmware) and, with a profile,\n"
                                "what 'start' would refuse for it.  Each warn or fail comes with the fix for\n"
                                "this distribution.  Changes nothing.  Exit 0: all ok, 1: a warn, 2: a fail.");
  if (!ql_cmd_parse (context, &argc, &argv, 0, 1))
    return 2;
  if (argc == 2)
    prepared = ql_prepare (argv[1], &error);
  host = ql_check_host_read (&roots, prepared ? prepared->profile->qemu.binary : NULL);
  if (prepared != NULL)
    {
      host->accel = prepared->profile->vm.accel;
      host->has_profile = TRUE;
    }
  else if (argc == 2)
    host->has_profile = profile_accel (argv[1], &host->accel);
  ql_check_host (host, findings);
  if (argc == 2)
    check_profile (prepared, error ? error->message : NULL, argv[1], host, findings);
  else
    check_host_reset (host, findings);
  if (json)
    {
      g_autoptr(JsonNode) root = ql_findings_to_json (findings);
      ql_cmd_print_json (root);
    }
  else
    print_findings (findings);
  return ql_findings_exit_code (findings);
}
