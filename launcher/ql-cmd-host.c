/* Commands that change or show the host side of passthrough: plan, bind,
 * unbind, recover. */
#include "ql-commands.h"
#include "ql-error.h"
#include "ql-host-plan.h"
#include "ql-journal.h"
#include "ql-net-host.h"
#include "ql-paths.h"
#include "ql-pin.h"
#include "ql-prepare.h"
#include "ql-rom-check.h"
#include "ql-runtime.h"
#include "ql-vfio.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define OLD_QEMU_WAIT_S 10

static void
print_plan (const QlVfioPlan *plan)
{
  for (guint i = 0; i < plan->items->len; i++)
    {
      const QlVfioPlanItem *item = plan->items->pdata[i];
      if (item->bind)
        printf ("  bind %s  %s -> vfio-pci  (IOMMU group %d, %s)  %s\n", item->address,
                item->driver ? item->driver : "no driver", item->iommu_group, item->label, item->description);
      else
        printf ("  keep %s  already on vfio-pci  (IOMMU group %d, %s)  %s\n", item->address, item->iommu_group,
                item->label, item->description);
    }
  for (guint i = 0; i < plan->notes->len; i++)
    printf ("  note: %s\n", (char *) plan->notes->pdata[i]);
}

int
ql_cmd_plan (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME|FILE.ini");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlPrepared) prepared = NULL;
  g_autoptr(QlVfioPlan) plan = NULL;
  const QlMachine *m;

  g_option_context_set_summary (context,
                                "Show what 'start' would change on the host: devices moved to vfio-pci,\n"
                                "IOMMU group members, the state files it creates.  Changes nothing.");
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1))
    return 1;
  prepared = ql_prepare (argv[1], &error);
  if (prepared == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  m = prepared->machine;
  printf ("VM '%s' (%s):\n", prepared->profile->vm.name, prepared->profile->path);
  if (m->hostdevs->len > 0)
    {
      plan = ql_host_plan_for_machine (m, &error);
      if (plan == NULL)
        {
          ql_cmd_print_error (error);
          return 1;
        }
      print_plan (plan);
      printf ("  journal %s/%s (undone when the VM ends, or by 'qlaunch recover %s')\n", m->runtime_dir,
              QL_JOURNAL_FILE, prepared->profile->vm.name);
    }
  else
    printf ("  no host devices are passed through\n");
  for (guint i = 0; i < m->taps->len; i++)
    {
      const QlNet *net = g_array_index (m->taps, QlMachineTap, i).net;
      g_autofree char *what = ql_net_host_describe (net);
      printf ("  tap %s  %s%s  (deleted when the VM ends; a persistent tap is used as it is)\n", net->ifname, what,
              net->create_bridge ? " (bridge created if missing, deleted when no port is left)" : "");
    }
  if (m->uefi && !g_file_test (m->firmware_vars, G_FILE_TEST_EXISTS))
    printf ("  create %s (from %s)\n", m->firmware_vars, m->firmware_vars_template);
  if (m->ssdt != NULL)
    printf ("  write %s (qlaunch's SSDT; see 'qlaunch acpi ssdt %s')\n", m->ssdt, prepared->profile->vm.name);
  printf ("  runtime %s (removed when the VM ends)\n", m->runtime_dir);
  {
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
    if (!ql_rom_check_for_machine (m, notes, &error))
      {
        ql_cmd_print_error (error);
        return 1;
      }
    for (guint i = 0; i < notes->len; i++)
      printf ("  note: %s\n", (char *) notes->pdata[i]);
  }
  return 0;
}

static void
print_line (const char *line)
{
  printf ("%s\n", line);
}

static gboolean
process_is_alive (pid_t pid)
{
  return kill (pid, 0) == 0 || errno == EPERM;
}

static gboolean
wait_for_exit (pid_t pid, guint seconds)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;

  while (process_is_alive (pid) && g_get_monotonic_time () < deadline)
    g_usleep (50000);
  return !process_is_alive (pid);
}

/* The QEMU of the crashed run got SIGTERM from the kernel when its
 * supervisor died; the devices are only free once it is gone. */
static gboolean
wait_for_old_qemu (pid_t pid, GError **error)
{
  g_autofree char *cmdline_path = g_strdup_printf ("%s/%d/cmdline", ql_paths_procfs (), pid);
  g_autofree char *cmdline = NULL;

  if (pid <= 0 || !g_file_get_contents (cmdline_path, &cmdline, NULL, NULL) || strstr (cmdline, "qemu") == NULL)
    return TRUE;
  printf ("waiting for QEMU (pid %d) of the previous run to exit\n", pid);
  if (!wait_for_exit (pid, OLD_QEMU_WAIT_S))
    {
      printf ("QEMU (pid %d) is still there; sending SIGKILL\n", pid);
      kill (pid, SIGKILL);
      wait_for_exit (pid, OLD_QEMU_WAIT_S);
    }
  if (process_is_alive (pid))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_TIMEOUT, "QEMU (pid %d) of the previous run does not exit", pid);
      return FALSE;
    }
  return TRUE;
}

int
ql_cmd_recover (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlLock) lock = NULL;
  g_autoptr(QlJournal) journal = NULL;
  g_autofree char *runtime_dir = NULL;
  g_autofree char *state_dir = NULL;
  const char *name;

  g_option_context_set_summary (context,
                                "Undo the host changes of a VM whose supervisor died (kill -9, crash, power\n"
                                "loss of the session): devices go back to their host drivers.");
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1))
    return 1;
  name = argv[1];
  runtime_dir = ql_paths_runtime_dir (name);
  if (!ql_journal_exists (runtime_dir))
    {
      printf ("VM '%s' has no host changes to undo\n", name);
      return 0;
    }
  /* the lock keeps a live supervisor's journal out of reach */
  lock = ql_lock_acquire (runtime_dir, name, &error);
  if (lock == NULL)
    {
      if (g_error_matches (error, QL_ERROR, QL_ERROR_BUSY))
        g_printerr ("qlaunch: VM '%s' is running; its supervisor gives the devices back when it ends "
                    "(see 'qlaunch stop %s')\n", name, name);
      else
        ql_cmd_print_error (error);
      return 1;
    }
  journal = ql_journal_load (runtime_dir, &error);
  if (journal == NULL || !wait_for_old_qemu ((pid_t) ql_journal_get_qemu_pid (journal), &error) ||
      !ql_journal_undo (journal, ql_paths_sysfs (), print_line, &error))
    {
      ql_cmd_print_error (error);
      return 1;
    }
  for (const char *const *f = (const char *const[]) { "qmp.sock", "state.json", QL_RUNTIME_STOP_REQUEST,
                                                      QL_RUNTIME_PIN_PLAN, QL_RUNTIME_SSDT, NULL };
       *f; f++)
    {
      g_autofree char *path = g_build_filename (runtime_dir, *f, NULL);
      g_unlink (path);
    }
  state_dir = ql_paths_state_dir (name);
  ql_runtime_keep_logs (runtime_dir, state_dir);
  g_clear_pointer (&lock, ql_lock_release);
  g_rmdir (runtime_dir);
  printf ("VM '%s': host restored\n", name);
  return 0;
}

static GPtrArray *
parse_addresses (int argc, char **argv)
{
  GPtrArray *requests = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_vfio_request_free);

  for (int i = 1; i < argc; i++)
    {
      QlPciAddress addr;
      char text[QL_PCI_ADDRESS_LEN];

      if (!ql_pci_address_parse (argv[i], FALSE, &addr, NULL))
        {
          g_printerr ("qlaunch: '%s' is not a PCI address like 0000:01:00.0 (see 'qlaunch devices')\n", argv[i]);
          g_ptr_array_unref (requests);
          return NULL;
        }
      ql_pci_address_format (&addr, text);
      g_ptr_array_add (requests, ql_vfio_request_new (text, "command line"));
    }
  return requests;
}

int
ql_cmd_bind (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("ADDRESS...");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(QlVfioPlan) plan = NULL;

  g_option_context_set_summary (context,
                                "Give host devices to vfio-pci by hand, with the checks 'start' makes: the\n"
                                "whole IOMMU group must be given (or already on vfio-pci), and nothing on the\n"
                                "host may hold the device open.  'qlaunch unbind' gives them back.");
  if (!ql_cmd_parse (context, &argc, &argv, 1, 64) || (requests = parse_addresses (argc, argv)) == NULL)
    return 1;
  plan = ql_host_plan_for_requests (requests, &error);
  if (plan == NULL || !ql_vfio_ensure_driver (ql_paths_sysfs (), &error))
    {
      ql_cmd_print_error (error);
      return 1;
    }
  for (guint i = 0; i < plan->notes->len; i++)
    printf ("note: %s\n", (char *) plan->notes->pdata[i]);
  for (guint i = 0; i < plan->items->len; i++)
    {
      const QlVfioPlanItem *item = plan->items->pdata[i];

      if (!item->bind)
        {
          printf ("%s: already on vfio-pci\n", item->address);
          continue;
        }
      if (!ql_vfio_bind (ql_paths_sysfs (), ql_paths_devfs (), item->address, item->iommu_group, &error))
        {
          ql_cmd_print_error (error);
          return 1;
        }
      printf ("%s: %s -> vfio-pci\n", item->address, item->driver ? item->driver : "no driver");
    }
  return 0;
}

int
ql_cmd_unbind (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("ADDRESS...");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(QlPciHost) host = NULL;
  int status = 0;

  g_option_context_set_summary (context,
                                "Take devices from vfio-pci and let the kernel give them their usual driver\n"
                                "(driver_override cleared, drivers_probe).  Refused while a VM uses them.");
  if (!ql_cmd_parse (context, &argc, &argv, 1, 64) || (requests = parse_addresses (argc, argv)) == NULL)
    return 1;
  host = ql_pci_host_scan (ql_paths_sysfs (), &error);
  if (host == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  ql_pci_host_find_holders (host, ql_paths_procfs (), ql_paths_devfs (), NULL, NULL);
  for (guint i = 0; i < requests->len; i++)
    {
      const QlVfioRequest *r = requests->pdata[i];
      QlPciAddress addr;
      const QlPciDevice *d;
      g_autoptr(GPtrArray) members = NULL;
      g_autofree char *now = NULL;
      gboolean held = FALSE;

      ql_pci_address_parse (r->address, FALSE, &addr, NULL);
      d = ql_pci_host_lookup (host, &addr);
      if (d == NULL)
        {
          g_printerr ("qlaunch: no PCI device %s on this host\n", r->address);
          status = 1;
          continue;
        }
      if (g_strcmp0 (d->driver, "vfio-pci") != 0)
        {
          printf ("%s: not on vfio-pci (%s)\n", d->address, d->driver ? d->driver : "no driver");
          continue;
        }
      members = ql_pci_host_group_members (host, d->iommu_group);
      for (guint j = 0; j < members->len; j++)
        held |= ((QlPciDevice *) members->pdata[j])->holders->len > 0;
      if (held)
        {
          g_printerr ("qlaunch: %s: IOMMU group %d is in use (/dev/vfio/%d is open; a VM runs with it)\n", d->address,
                      d->iommu_group, d->iommu_group);
          status = 1;
          continue;
        }
      if (!ql_vfio_restore (ql_paths_sysfs (), d->address, NULL, NULL, TRUE, &error))
        {
          ql_cmd_print_error (error);
          g_clear_error (&error);
          status = 1;
          continue;
        }
      now = ql_vfio_current_driver (ql_paths_sysfs (), d->address);
      printf ("%s: vfio-pci -> %s\n", d->address, now ? now : "no driver");
    }
  return status;
}
