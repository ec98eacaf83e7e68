#include "fake-sysfs.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <unistd.h>

typedef struct {
  const char *address;
  guint16 vendor, device, sub_vendor, sub_device;
  guint32 class_code;
  const char *driver;
  int group;
  int boot_vga;          /* -1: no boot_vga file */
} FakeDevice;

static const FakeDevice devices[] = {
  { "0000:00:01.0", 0x8086, 0x1901, 0x1028, 0x07b1, 0x060400, "pcieport", 1, -1 },
  { "0000:01:00.0", 0x10de, 0x1bb6, 0x1028, 0x07b1, 0x030000, "nvidia", 1, 0 },
  { "0000:01:00.1", 0x10de, 0x10f0, 0x1028, 0x07b1, 0x040300, "snd_hda_intel", 1, -1 },
  { "0000:02:00.0", 0x10de, 0x1381, 0x1458, 0x362d, 0x030000, "nouveau", 2, 1 },
  { "0000:02:00.1", 0x10de, 0x0fbc, 0x1458, 0x362d, 0x040300, "snd_hda_intel", 2, -1 },
  { "0000:03:00.0", 0x8086, 0x10d3, 0x8086, 0xa01f, 0x020000, "vfio-pci", 3, -1 },
  { "0000:04:00.0", 0x8086, 0x10d3, 0x8086, 0xa01f, 0x020000, "e1000e", -1, -1 },
};

static void
write_file (const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
write_hex (const char *dir, const char *name, guint value, int digits)
{
  g_autofree char *text = g_strdup_printf ("0x%0*x\n", digits, value);
  write_file (dir, name, text);
}

static void
add_device (const char *root, const FakeDevice *f)
{
  g_autofree char *devices_dir = g_build_filename (root, "bus", "pci", "devices", NULL);
  g_autofree char *drivers_dir = g_build_filename (root, "bus", "pci", "drivers", NULL);
  g_autofree char *groups_dir = g_build_filename (root, "kernel", "iommu_groups", NULL);
  g_autofree char *dir = g_build_filename (devices_dir, f->address, NULL);
  g_autofree char *driver_dir = g_build_filename (drivers_dir, f->driver, NULL);
  g_autofree char *link = g_build_filename (dir, "driver", NULL);
  guint8 config[64] = { 0 };
  g_autofree char *config_path = g_build_filename (dir, "config", NULL);
  g_autoptr(GString) resource = g_string_new (NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  write_hex (dir, "vendor", f->vendor, 4);
  write_hex (dir, "device", f->device, 4);
  write_hex (dir, "subsystem_vendor", f->sub_vendor, 4);
  write_hex (dir, "subsystem_device", f->sub_device, 4);
  write_hex (dir, "class", f->class_code, 6);
  write_hex (dir, "revision", 0xa1, 2);
  write_file (dir, "irq", "16\n");
  for (int r = 0; r < 13; r++)
    g_string_append (resource, "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
  write_file (dir, "resource", resource->str);
  config[0] = f->vendor & 0xff;
  config[1] = f->vendor >> 8;
  config[2] = f->device & 0xff;
  config[3] = f->device >> 8;
  config[9] = f->class_code & 0xff;
  config[10] = (f->class_code >> 8) & 0xff;
  config[11] = f->class_code >> 16;
  config[14] = f->class_code >> 8 == 0x0604 ? 1 : 0;
  config[44] = f->sub_vendor & 0xff;
  config[45] = f->sub_vendor >> 8;
  config[46] = f->sub_device & 0xff;
  config[47] = f->sub_device >> 8;
  g_assert_true (g_file_set_contents (config_path, (const char *) config, sizeof config, NULL));
  write_file (dir, "driver_override", "(null)\n");
  if (f->boot_vga >= 0)
    write_file (dir, "boot_vga", f->boot_vga ? "1\n" : "0\n");

  g_assert_cmpint (g_mkdir_with_parents (driver_dir, 0755), ==, 0);
  write_file (driver_dir, "bind", "");
  write_file (driver_dir, "unbind", "");
  g_assert_cmpint (symlink (driver_dir, link), ==, 0);
  if (f->group >= 0)
    {
      g_autofree char *group = g_strdup_printf ("%d", f->group);
      g_autofree char *group_dir = g_build_filename (groups_dir, group, NULL);
      g_autofree char *group_link = g_build_filename (dir, "iommu_group", NULL);
      g_assert_cmpint (g_mkdir_with_parents (group_dir, 0755), ==, 0);
      g_assert_cmpint (symlink (group_dir, group_link), ==, 0);
    }
}

void
fake_sysfs_add_device (const char *sysfs, const char *address, guint16 vendor, guint16 device, guint32 class_code,
                       const char *driver, int group)
{
  FakeDevice f = { address, vendor, device, vendor, 0x0001, class_code, driver, group, -1 };
  add_device (sysfs, &f);
}

char *
fake_sysfs_new (void)
{
  char *root = g_dir_make_tmp ("ql-sysfs-XXXXXX", NULL);
  g_autofree char *devices_dir = g_build_filename (root, "bus", "pci", "devices", NULL);
  g_autofree char *drivers_dir = g_build_filename (root, "bus", "pci", "drivers", NULL);
  g_autofree char *groups_dir = g_build_filename (root, "kernel", "iommu_groups", NULL);

  g_assert_cmpint (g_mkdir_with_parents (devices_dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (groups_dir, 0755), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (devices); i++)
    add_device (root, &devices[i]);
  write_file (drivers_dir, "../drivers_probe", "");
  return root;
}

void
fake_sysfs_add_drm_node (const char *sysfs, const char *address, guint major, guint minor)
{
  g_autofree char *dir = g_build_filename (sysfs, "bus", "pci", "devices", address, "drm", "card0", NULL);
  g_autofree char *text = g_strdup_printf ("%u:%u\n", major, minor);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  write_file (dir, "dev", text);
}

static void
remove_tree (GFile *file)
{
  g_autoptr(GFileEnumerator) e = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                                            G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                                            G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  GFileInfo *info;

  while (e != NULL && (info = g_file_enumerator_next_file (e, NULL, NULL)) != NULL)
    {
      g_autoptr(GFile) child = g_file_get_child (file, g_file_info_get_name (info));
      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        remove_tree (child);
      else
        g_file_delete (child, NULL, NULL);
      g_object_unref (info);
    }
  g_file_delete (file, NULL, NULL);
}

void
fake_sysfs_remove (const char *sysfs)
{
  g_autoptr(GFile) root = g_file_new_for_path (sysfs);
  remove_tree (root);
}

static char *
cpulist_of (GArray *cpus)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < cpus->len; i++)
    g_string_append_printf (out, i ? ",%u" : "%u", g_array_index (cpus, guint, i));
  g_string_append_c (out, '\n');
  return g_string_free (out, FALSE);
}

static void
write_pool (const char *dir, guint64 pages, gboolean host_wide)
{
  g_autofree char *text = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", pages);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  write_file (dir, "nr_hugepages", text);
  write_file (dir, "free_hugepages", text);
  write_file (dir, "surplus_hugepages", "0\n");
  if (host_wide)
    write_file (dir, "resv_hugepages", "0\n");
}

void
fake_sysfs_add_cpus (const char *sysfs, guint packages, guint cores, guint threads, guint hugepages_per_node)
{
  guint all_cores = packages * cores, n = all_cores * threads;
  g_autofree char *cpu_dir = g_build_filename (sysfs, "devices", "system", "cpu", NULL);
  g_autofree char *online = g_strdup_printf ("0-%u\n", n - 1);
  g_autofree char *pool = g_build_filename (sysfs, "kernel", "mm", "hugepages", "hugepages-2048kB", NULL);

  g_assert_cmpint (g_mkdir_with_parents (cpu_dir, 0755), ==, 0);
  write_file (cpu_dir, "online", online);
  for (guint cpu = 0; cpu < n; cpu++)
    {
      guint core = cpu % all_cores, package = core / cores;
      g_autofree char *dir = g_strdup_printf ("%s/cpu%u", cpu_dir, cpu);
      g_autofree char *topology = g_build_filename (dir, "topology", NULL);
      g_autofree char *l3 = g_build_filename (dir, "cache", "index3", NULL);
      g_autoptr(GArray) siblings = g_array_new (FALSE, FALSE, sizeof (guint));
      g_autoptr(GArray) shared = g_array_new (FALSE, FALSE, sizeof (guint));
      g_autofree char *siblings_text = NULL, *shared_text = NULL, *package_text = NULL, *core_text = NULL;

      for (guint t = 0; t < threads; t++)
        {
          guint sibling = core + t * all_cores;
          g_array_append_val (siblings, sibling);
        }
      for (guint t = 0; t < threads; t++)
        for (guint c = 0; c < cores; c++)
          {
            guint other = package * cores + c + t * all_cores;
            g_array_append_val (shared, other);
          }
      siblings_text = cpulist_of (siblings);
      shared_text = cpulist_of (shared);
      package_text = g_strdup_printf ("%u\n", package);
      core_text = g_strdup_printf ("%u\n", core % cores);
      g_assert_cmpint (g_mkdir_with_parents (topology, 0755), ==, 0);
      g_assert_cmpint (g_mkdir_with_parents (l3, 0755), ==, 0);
      write_file (topology, "physical_package_id", package_text);
      write_file (topology, "core_id", core_text);
      write_file (topology, "thread_siblings_list", siblings_text);
      write_file (l3, "level", "3\n");
      write_file (l3, "shared_cpu_list", shared_text);
    }
  for (guint package = 0; package < packages; package++)
    {
      g_autofree char *node = g_strdup_printf ("%s/devices/system/node/node%u", sysfs, package);
      g_autofree char *node_pool = g_build_filename (node, "hugepages", "hugepages-2048kB", NULL);
      g_autoptr(GArray) cpus = g_array_new (FALSE, FALSE, sizeof (guint));
      g_autofree char *text = NULL;

      for (guint cpu = 0; cpu < n; cpu++)
        if ((cpu % all_cores) / cores == package)
          g_array_append_val (cpus, cpu);
      text = cpulist_of (cpus);
      g_assert_cmpint (g_mkdir_with_parents (node, 0755), ==, 0);
      write_file (node, "cpulist", text);
      write_pool (node_pool, hugepages_per_node, FALSE);
    }
  write_pool (pool, (guint64) hugepages_per_node * packages, TRUE);
}

void
fake_sysfs_add_mdev_type (const char *sysfs, const char *parent, const char *type, const char *name,
                          const char *description, guint available)
{
  g_autofree char *pci_dir = g_build_filename (sysfs, "bus", "pci", "devices", parent, NULL);
  g_autofree char *virtual_dir = g_build_filename (sysfs, "devices", "virtual", parent, parent, NULL);
  g_autofree char *bus_dir = g_build_filename (sysfs, "class", "mdev_bus", NULL);
  g_autofree char *link = g_build_filename (bus_dir, parent, NULL);
  const char *device_dir = g_file_test (pci_dir, G_FILE_TEST_IS_DIR) ? pci_dir : virtual_dir;
  g_autofree char *dir = g_build_filename (device_dir, "mdev_supported_types", type, NULL);
  g_autofree char *count = g_strdup_printf ("%u\n", available);
  g_autofree char *pretty = g_strdup_printf ("%s\n", name);
  g_autofree char *text = g_strdup_printf ("%s\n", description);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (bus_dir, 0755), ==, 0);
  if (!g_file_test (link, G_FILE_TEST_EXISTS))
    g_assert_cmpint (symlink (device_dir, link), ==, 0);
  write_file (dir, "name", pretty);
  write_file (dir, "description", text);
  write_file (dir, "device_api", "vfio-pci\n");
  write_file (dir, "available_instances", count);
  write_file (dir, "create", "");
}

void
fake_sysfs_add_mdev (const char *sysfs, const char *uuid)
{
  g_autofree char *dir = g_build_filename (sysfs, "bus", "mdev", "devices", uuid, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  write_file (dir, "remove", "");
}

void
fake_sysfs_add_mdev_of (const char *sysfs, const char *uuid, const char *parent, const char *type)
{
  g_autofree char *type_dir = g_build_filename (sysfs, "class", "mdev_bus", parent, "mdev_supported_types", type,
                                                NULL);
  g_autofree char *link = g_build_filename (sysfs, "bus", "mdev", "devices", uuid, "mdev_type", NULL);

  g_assert_true (g_file_test (type_dir, G_FILE_TEST_IS_DIR));
  fake_sysfs_add_mdev (sysfs, uuid);
  g_assert_cmpint (symlink (type_dir, link), ==, 0);
}
