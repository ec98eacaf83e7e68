#include "ql-commands.h"
#include "ql-json.h"
#include "ql-paths.h"
#include "ql-pci-host.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

static JsonNode *
devices_to_json (const QlPciHost *host)
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
      json_builder_end_object (b);
    }
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

  if (json)
    {
      g_autoptr(JsonNode) root = devices_to_json (host);
      g_autofree char *text = json_to_string (root, TRUE);
      printf ("%s\n", text);
    }
  else if (tree)
    print_tree (host);
  else
    print_table (host);
  return 0;
}
