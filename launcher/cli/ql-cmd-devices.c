/* Commands on the host's PCI devices: devices, bind, unbind. */
#include "ql-commands.h"
#include "ql-host-state.h"
#include "ql-json.h"
#include "ql-mdev.h"
#include "ql-mdev-render.h"
#include "ql-paths.h"
#include "ql-pci-host.h"
#include "ql-pci-scan.h"
#include "ql-vfio.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

static JsonNode *
devices_to_json (const QlPciHost *host, const GPtrArray *mdev_parents)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  for (guint i = 0; i < host->devices->len; i++)
    {
      const QlPciDevice *d = host->devices->pdata[i];
      g_autoptr(GPtrArray) members = ql_pci_host_group_members (host, d->iommu_group);

      json_builder_begin_object (b);
      ql_json_add_string_or_null (b, "address", d->address);
      ql_json_add_hex (b, "vendor-id", 4, d->vendor);
      ql_json_add_hex (b, "device-id", 4, d->device);
      ql_json_add_hex (b, "sub-vendor-id", 4, d->sub_vendor);
      ql_json_add_hex (b, "sub-device-id", 4, d->sub_device);
      ql_json_add_hex (b, "class", 6, d->class_code);
      ql_json_add_string_or_null (b, "vendor", d->vendor_name);
      ql_json_add_string_or_null (b, "device", d->device_name);
      ql_json_add_string_or_null (b, "class-name", d->class_name);
      ql_json_add_string_or_null (b, "driver", d->driver);
      ql_json_add_string_or_null (b, "driver-override", d->driver_override);
      json_builder_set_member_name (b, "iommu-group");
      if (d->iommu_group >= 0)
        json_builder_add_int_value (b, d->iommu_group);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "iommu-group-members");
      json_builder_begin_array (b);
      for (guint j = 0; j < members->len; j++)
        if (members->pdata[j] != d)
          json_builder_add_string_value (b, ((QlPciDevice *) members->pdata[j])->address);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "boot-vga");
      json_builder_add_boolean_value (b, d->boot_vga);
      json_builder_set_member_name (b, "bridge");
      json_builder_add_boolean_value (b, d->is_bridge);
      json_builder_set_member_name (b, "held-by");
      json_builder_begin_array (b);
      for (guint j = 0; j < d->holders->len; j++)
        {
          const QlPciHolder *h = d->holders->pdata[j];
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "pid");
          json_builder_add_int_value (b, h->pid);
          ql_json_add_string_or_null (b, "command", h->comm);
          ql_json_add_string_or_null (b, "node", h->node);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      ql_mdev_render_json_types (b, mdev_parents, d->address);
      json_builder_end_object (b);
    }
  ql_mdev_render_json_other_parents (b, mdev_parents);
  json_builder_end_array (b);
  return json_builder_get_root (b);
}

/* One line; group is printed when show_group (the flat table). */
static void
print_device (const QlPciDevice *d, const char *indent, gboolean show_group)
{
  g_autofree char *what = ql_pci_device_describe (d);
  g_autofree char *group = !show_group ? g_strdup ("")
                           : d->iommu_group >= 0 ? g_strdup_printf ("%-5d  ", d->iommu_group) : g_strdup ("-      ");
  g_autoptr(GString) notes = g_string_new (NULL);

  if (d->boot_vga)
    g_string_append (notes, "  boot-vga");
  if (d->driver_override)
    g_string_append_printf (notes, "  override=%s", d->driver_override);
  for (guint j = 0; j < d->holders->len; j++)
    {
      const QlPciHolder *h = d->holders->pdata[j];
      g_string_append_printf (notes, "  held by %d (%s) via %s", h->pid, h->comm, h->node);
    }
  printf ("%s%s  %04x:%04x  %-26.26s  %-14s  %s%s%s\n", indent, d->address, d->vendor, d->device,
          d->class_name ? d->class_name : "?", d->driver ? d->driver : "-", group, what, notes->str);
}

static void
print_table (const QlPciHost *host)
{
  printf ("%-12s  %-9s  %-26s  %-14s  %s  %s\n", "ADDRESS", "ID", "CLASS", "DRIVER", "GROUP", "DEVICE");
  for (guint i = 0; i < host->devices->len; i++)
    print_device (host->devices->pdata[i], "", TRUE);
}

static int
group_compare (gconstpointer a, gconstpointer b)
{
  int ga = GPOINTER_TO_INT (*(gpointer const *) a), gb = GPOINTER_TO_INT (*(gpointer const *) b);
  return ga < gb ? -1 : ga > gb;
}

static void
print_tree (const QlPciHost *host)
{
  g_autoptr(GPtrArray) groups = g_ptr_array_new ();
  gboolean ungrouped = FALSE;

  for (guint i = 0; i < host->devices->len; i++)
    {
      const QlPciDevice *d = host->devices->pdata[i];
      if (d->iommu_group < 0)
        ungrouped = TRUE;
      else if (!g_ptr_array_find (groups, GINT_TO_POINTER (d->iommu_group), NULL))
        g_ptr_array_add (groups, GINT_TO_POINTER (d->iommu_group));
    }
  g_ptr_array_sort (groups, group_compare);
  for (guint i = 0; i < groups->len; i++)
    {
      int group = GPOINTER_TO_INT (groups->pdata[i]);
      g_autoptr(GPtrArray) members = ql_pci_host_group_members (host, group);

      printf ("IOMMU group %d\n", group);
      for (guint j = 0; j < members->len; j++)
        print_device (members->pdata[j], "  ", FALSE);
    }
  if (ungrouped)
    {
      printf ("%s (the IOMMU is off: add intel_iommu=on or amd_iommu=on to the kernel command line)\n",
              groups->len ? "Not in an IOMMU group" : "No IOMMU groups");
      for (guint i = 0; i < host->devices->len; i++)
        if (((QlPciDevice *) host->devices->pdata[i])->iommu_group < 0)
          print_device (host->devices->pdata[i], "  ", FALSE);
    }
}

int
ql_cmd_devices (int argc, char **argv)
{
  gboolean json = FALSE, tree = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { "tree", 0, 0, G_OPTION_ARG_NONE, &tree, "Group the devices by IOMMU group", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- list the host's PCI devices");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlPciHost) host = NULL;
  g_autoptr(GPtrArray) mdev_parents = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 0, 0))
    return 1;
  host = ql_pci_host_scan (ql_paths_sysfs (), &error);
  if (host == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  ql_pci_host_find_holders (host, ql_paths_procfs (), ql_paths_devfs (), NULL, NULL);
  mdev_parents = ql_mdev_read_parents (ql_paths_sysfs ());

  if (json)
    {
      g_autoptr(JsonNode) root = devices_to_json (host, mdev_parents);
      ql_cmd_print_json (root);
      return 0;
    }
  if (tree)
    print_tree (host);
  else
    print_table (host);
  {
    g_autoptr(GString) mdev = g_string_new (NULL);
    ql_mdev_render_table (mdev, mdev_parents);
    fputs (mdev->str, stdout);
  }
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
  plan = ql_host_vfio_plan_for_requests (requests, ql_paths_sysfs (), ql_paths_procfs (), ql_paths_devfs (), &error);
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
