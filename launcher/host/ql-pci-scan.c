/* The host's PCI functions through libpci and sysfs, and the processes
 * that hold their /dev nodes open. */
#include "ql-pci-scan.h"
#include "ql-error.h"

#include <dirent.h>
#include <errno.h>
#include <pci/pci.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* libpci reports fatal errors through a callback that must not return;
 * we jump back to the scan and turn it into a GError. */
static jmp_buf pci_error_jump;
static char pci_error_message[256];

static G_NORETURN void G_GNUC_PRINTF (1, 2)
pci_error (char *msg, ...)
{
  va_list ap;

  va_start (ap, msg);
  g_vsnprintf (pci_error_message, sizeof pci_error_message, msg, ap);
  va_end (ap);
  longjmp (pci_error_jump, 1);
}

static void G_GNUC_PRINTF (1, 2)
pci_warning (char *msg, ...)
{
  va_list ap;
  g_autofree char *text = NULL;

  va_start (ap, msg);
  text = g_strdup_vprintf (msg, ap);
  va_end (ap);
  g_debug ("libpci: %s", text);
}

static void G_GNUC_PRINTF (1, 2)
pci_debug (char *msg, ...)
{
}

static char *
read_attr (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return g_strstrip (text);
}

static char *
lookup (struct pci_access *pacc, int flags, ...)
{
  char buf[256];
  va_list ap;
  char *name;

  va_start (ap, flags);
  /* pci_lookup_name is variadic itself; pass the ids through explicitly */
  if (flags & PCI_LOOKUP_DEVICE)
    {
      int v = va_arg (ap, int), d = va_arg (ap, int);
      name = pci_lookup_name (pacc, buf, sizeof buf, flags | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, v, d);
    }
  else
    {
      int v = va_arg (ap, int);
      name = pci_lookup_name (pacc, buf, sizeof buf, flags | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, v);
    }
  va_end (ap);
  return name ? g_strdup (name) : NULL;
}

static int
device_compare (gconstpointer a, gconstpointer b)
{
  const QlPciDevice *da = *(QlPciDevice *const *) a, *db = *(QlPciDevice *const *) b;

  return ql_pci_address_compare (&da->addr, &db->addr);
}

static void
fill_device (QlPciDevice *out, struct pci_access *pacc, struct pci_dev *dev, const char *devices_dir)
{
  g_autofree char *dir = NULL;
  g_autofree char *override = NULL;
  g_autofree char *boot_vga = NULL;
  g_autofree char *driver_link = NULL;
  g_autofree char *driver = NULL;
  g_autofree char *group_link = NULL;
  g_autofree char *group = NULL;

  pci_fill_info (dev, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_CLASS_EXT | PCI_FILL_SUBSYS);
  out->addr.domain = dev->domain;
  out->addr.bus = dev->bus;
  out->addr.slot = dev->dev;
  out->addr.function = dev->func;
  ql_pci_address_format (&out->addr, out->address);
  out->vendor = dev->vendor_id;
  out->device = dev->device_id;
  out->sub_vendor = dev->subsys_vendor_id;
  out->sub_device = dev->subsys_id;
  out->class_code = (guint32) dev->device_class << 8 | dev->prog_if;
  out->vendor_name = lookup (pacc, PCI_LOOKUP_VENDOR, dev->vendor_id);
  out->device_name = lookup (pacc, PCI_LOOKUP_DEVICE, dev->vendor_id, dev->device_id);
  out->class_name = lookup (pacc, PCI_LOOKUP_CLASS, dev->device_class);
  out->is_bridge = dev->device_class == 0x0604 || dev->device_class == 0x0609;

  dir = g_build_filename (devices_dir, out->address, NULL);
  /* the same readlink the bind code uses, so both always agree */
  driver_link = g_build_filename (dir, "driver", NULL);
  driver = g_file_read_link (driver_link, NULL);
  out->driver = driver ? g_path_get_basename (driver) : NULL;
  group_link = g_build_filename (dir, "iommu_group", NULL);
  group = g_file_read_link (group_link, NULL);
  if (group != NULL)
    {
      g_autofree char *base = g_path_get_basename (group);
      out->iommu_group = (int) g_ascii_strtoll (base, NULL, 10);
    }
  else
    out->iommu_group = -1;
  override = read_attr (dir, "driver_override");
  if (override != NULL && override[0] != '\0' && strcmp (override, "(null)") != 0)
    out->driver_override = g_steal_pointer (&override);
  boot_vga = read_attr (dir, "boot_vga");
  out->boot_vga = g_strcmp0 (boot_vga, "1") == 0;
  out->holders = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_pci_holder_free);
}

/* Nothing with automatic cleanup lives in this frame: setjmp and the
 * optimiser's registers do not mix. */
static gboolean
scan_with_libpci (QlPciHost *host, const char *bus_dir, const char *devices_dir, GError **error)
{
  struct pci_access *volatile pacc = pci_alloc ();

  pacc->error = pci_error;
  pacc->warning = pci_warning;
  pacc->debug = pci_debug;
  pacc->method = PCI_ACCESS_SYS_BUS_PCI;
  if (setjmp (pci_error_jump) != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot list PCI devices under '%s': libpci: %s",
                   devices_dir, pci_error_message);
      /* libpci's state is unknown after its error: leak it rather than crash */
      return FALSE;
    }
  pci_set_param (pacc, "sysfs.path", (char *) bus_dir);
  pci_init (pacc);
  pci_scan_bus (pacc);
  for (struct pci_dev *dev = pacc->devices; dev != NULL; dev = dev->next)
    {
      QlPciDevice *d = g_new0 (QlPciDevice, 1);
      fill_device (d, pacc, dev, devices_dir);
      g_ptr_array_add (host->devices, d);
    }
  pci_cleanup (pacc);
  return TRUE;
}

QlPciHost *
ql_pci_host_scan (const char *sysfs, GError **error)
{
  g_autoptr(QlPciHost) host = g_new0 (QlPciHost, 1);
  g_autofree char *bus_dir = g_build_filename (sysfs, "bus", "pci", NULL);
  g_autofree char *devices_dir = g_build_filename (bus_dir, "devices", NULL);

  host->sysfs = g_strdup (sysfs);
  host->devices = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_pci_device_free);
  if (!g_file_test (devices_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot list PCI devices: '%s' does not exist", devices_dir);
      return NULL;
    }
  if (!scan_with_libpci (host, bus_dir, devices_dir, error))
    return NULL;
  g_ptr_array_sort (host->devices, device_compare);
  return g_steal_pointer (&host);
}


/* ---- who holds a device open ---- */

static void
add_node (GHashTable *nodes, const char *dev_text, QlPciDevice *device)
{
  guint maj, min;

  if (dev_text != NULL && sscanf (dev_text, "%u:%u", &maj, &min) == 2)
    g_hash_table_insert (nodes, GSIZE_TO_POINTER ((gsize) makedev (maj, min)), device);
}

/* The dev files one level below DIR/SUB (drm/card0/dev), or two with nested
 * (sound/card0/controlC0/dev). */
static void
add_class_nodes (GHashTable *nodes, const char *device_dir, const char *sub, gboolean nested,
                 QlPciDevice *device)
{
  g_autofree char *dir = g_build_filename (device_dir, sub, NULL);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (dir, name, NULL);
      g_autofree char *text = read_attr (child, "dev");

      add_node (nodes, text, device);
      if (nested)
        add_class_nodes (nodes, child, ".", FALSE, device);
    }
}

static void
add_stat_node (GHashTable *nodes, const char *path, QlPciDevice *device)
{
  struct stat st;

  if (stat (path, &st) == 0 && S_ISCHR (st.st_mode))
    g_hash_table_insert (nodes, GSIZE_TO_POINTER ((gsize) st.st_rdev), device);
}

static void
collect_nodes (GHashTable *nodes, QlPciHost *host, QlPciDevice *d, const char *proc_root, const char *dev_root)
{
  g_autofree char *dir = g_build_filename (host->sysfs, "bus", "pci", "devices", d->address, NULL);

  add_class_nodes (nodes, dir, "drm", FALSE, d);
  add_class_nodes (nodes, dir, "sound", TRUE, d);
  if (g_strcmp0 (d->driver, "nvidia") == 0)
    {
      g_autofree char *info_path = g_build_filename (proc_root, "driver", "nvidia", "gpus", d->address,
                                                     "information", NULL);
      g_autofree char *info = NULL;
      const char *minor;

      if (g_file_get_contents (info_path, &info, NULL, NULL) && (minor = strstr (info, "Device Minor:")) != NULL)
        {
          g_autofree char *node = g_strdup_printf ("%s/nvidia%d", dev_root,
                                                   (int) g_ascii_strtoll (minor + 13, NULL, 10));
          add_stat_node (nodes, node, d);
        }
    }
  if (d->iommu_group >= 0)
    {
      g_autofree char *node = g_strdup_printf ("%s/vfio/%d", dev_root, d->iommu_group);
      add_stat_node (nodes, node, d);
    }
}

static gboolean
holder_known (const QlPciDevice *d, int pid, guint64 rdev)
{
  for (guint i = 0; i < d->holders->len; i++)
    {
      const QlPciHolder *h = d->holders->pdata[i];
      if (h->pid == pid && h->rdev == rdev)
        return TRUE;
    }
  return FALSE;
}

void
ql_pci_host_find_holders (QlPciHost *host, const char *proc_root, const char *dev_root,
                          gboolean (*filter) (const QlPciDevice *, gpointer), gpointer data)
{
  g_autoptr(GHashTable) nodes = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr(GDir) proc = NULL;
  const char *pid_name;
  int self = getpid ();

  for (guint i = 0; i < host->devices->len; i++)
    {
      QlPciDevice *d = host->devices->pdata[i];
      g_ptr_array_set_size (d->holders, 0);
      if (filter == NULL || filter (d, data))
        collect_nodes (nodes, host, d, proc_root, dev_root);
    }
  if (g_hash_table_size (nodes) == 0)
    return;

  proc = g_dir_open (proc_root, 0, NULL);
  while (proc != NULL && (pid_name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *fd_dir = NULL;
      g_autoptr(GDir) fds = NULL;
      const char *fd_name;
      int pid = (int) g_ascii_strtoll (pid_name, NULL, 10);

      if (!g_ascii_isdigit (pid_name[0]) || pid == self)
        continue;
      fd_dir = g_build_filename (proc_root, pid_name, "fd", NULL);
      fds = g_dir_open (fd_dir, 0, NULL);   /* processes come and go; unreadable ones are skipped */
      while (fds != NULL && (fd_name = g_dir_read_name (fds)) != NULL)
        {
          g_autofree char *fd_path = g_build_filename (fd_dir, fd_name, NULL);
          struct stat st;
          QlPciDevice *d;
          QlPciHolder *holder;
          g_autofree char *comm_path = NULL;
          g_autofree char *comm = NULL;

          if (stat (fd_path, &st) != 0 || !S_ISCHR (st.st_mode))
            continue;
          d = g_hash_table_lookup (nodes, GSIZE_TO_POINTER ((gsize) st.st_rdev));
          if (d == NULL || holder_known (d, pid, st.st_rdev))
            continue;
          comm_path = g_build_filename (proc_root, pid_name, "comm", NULL);
          if (g_file_get_contents (comm_path, &comm, NULL, NULL))
            g_strstrip (comm);
          holder = g_new0 (QlPciHolder, 1);
          holder->pid = pid;
          holder->rdev = st.st_rdev;
          holder->comm = comm ? g_steal_pointer (&comm) : g_strdup ("?");
          holder->node = g_file_read_link (fd_path, NULL);
          if (holder->node == NULL)
            holder->node = g_strdup ("?");
          g_ptr_array_add (d->holders, holder);
        }
    }
}
