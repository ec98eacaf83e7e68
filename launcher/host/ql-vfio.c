#include "ql-vfio.h"
#include "ql-error.h"
#include "ql-sysfs.h"

#include <gio/gio.h>

#define VFIO_DRIVER "vfio-pci"

static char *
device_path (const char *sysfs, const char *address, const char *attr)
{
  return g_build_filename (sysfs, "bus", "pci", "devices", address, attr, NULL);
}

char *
ql_vfio_current_driver (const char *sysfs, const char *address)
{
  g_autofree char *link = device_path (sysfs, address, "driver");
  g_autofree char *target = g_file_read_link (link, NULL);

  return target ? g_path_get_basename (target) : NULL;
}

gboolean
ql_vfio_ensure_driver (const char *sysfs, GError **error)
{
  g_autofree char *dir = g_build_filename (sysfs, "bus", "pci", "drivers", VFIO_DRIVER, NULL);
  g_autoptr(GSubprocess) modprobe = NULL;
  g_autofree char *err_text = NULL;

  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    return TRUE;
  modprobe = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, error,
                               "modprobe", VFIO_DRIVER, NULL);
  if (modprobe == NULL)
    {
      g_prefix_error (error, "Cannot load the vfio-pci module: ");
      return FALSE;
    }
  if (!g_subprocess_communicate_utf8 (modprobe, NULL, NULL, NULL, &err_text, error))
    return FALSE;
  if (!g_subprocess_get_successful (modprobe) || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot load the vfio-pci module%s%s "
                   "(Hint: the kernel needs CONFIG_VFIO_PCI, and modprobe needs root)",
                   err_text && err_text[0] ? ": " : "", err_text ? g_strstrip (err_text) : "");
      return FALSE;
    }
  return TRUE;
}

/* Polls until the device's driver is want (NULL: none), up to timeout_ms. */
static gboolean
wait_for_driver (const char *sysfs, const char *address, const char *want, guint timeout_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autofree char *now = NULL;

  for (;;)
    {
      g_free (now);
      now = ql_vfio_current_driver (sysfs, address);
      if (g_strcmp0 (now, want) == 0)
        return TRUE;
      if (g_get_monotonic_time () > deadline)
        break;
      g_usleep (5000);
    }
  g_set_error (error, QL_ERROR, QL_ERROR_TIMEOUT, "%s is on %s, not %s, %u ms after the driver change", address,
               now ? now : "no driver", want ? want : "no driver", timeout_ms);
  return FALSE;
}

static gboolean
unbind (const char *sysfs, const char *address, guint timeout_ms, GError **error)
{
  g_autofree char *path = device_path (sysfs, address, "driver/unbind");
  g_autofree char *current = ql_vfio_current_driver (sysfs, address);

  if (current == NULL)
    return TRUE;
  return ql_sysfs_write (path, address, timeout_ms, error) &&
         wait_for_driver (sysfs, address, NULL, timeout_ms, error);
}

static gboolean
write_override (const char *sysfs, const char *address, const char *value, guint timeout_ms, GError **error)
{
  g_autofree char *path = device_path (sysfs, address, "driver_override");

  /* a lone newline clears it */
  return ql_sysfs_write (path, value ? value : "\n", timeout_ms, error);
}

static gboolean
probe (const char *sysfs, const char *address, guint timeout_ms, GError **error)
{
  g_autofree char *path = g_build_filename (sysfs, "bus", "pci", "drivers_probe", NULL);
  return ql_sysfs_write (path, address, timeout_ms, error);
}

gboolean
ql_vfio_bind (const char *sysfs, const char *devfs, const char *address, int iommu_group, GError **error)
{
  guint timeout_ms = ql_sysfs_timeout_ms ();
  g_autofree char *current = ql_vfio_current_driver (sysfs, address);
  g_autofree char *group_node = g_strdup_printf ("%s/vfio/%d", devfs, iommu_group);
  gint64 deadline;

  if (g_strcmp0 (current, VFIO_DRIVER) != 0)
    {
      if (!write_override (sysfs, address, VFIO_DRIVER, timeout_ms, error) ||
          !unbind (sysfs, address, timeout_ms, error) ||
          !probe (sysfs, address, timeout_ms, error) ||
          !wait_for_driver (sysfs, address, VFIO_DRIVER, timeout_ms, error))
        {
          g_prefix_error (error, "Cannot bind %s to vfio-pci: ", address);
          return FALSE;
        }
    }
  /* udev (or devtmpfs) makes the group node a moment later */
  deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (!g_file_test (group_node, G_FILE_TEST_EXISTS))
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_TIMEOUT, "%s is on vfio-pci, but %s did not appear within %u ms",
                       address, group_node, timeout_ms);
          return FALSE;
        }
      g_usleep (5000);
    }
  return TRUE;
}

gboolean
ql_vfio_restore (const char *sysfs, const char *address, const char *driver, const char *driver_override,
                 gboolean probe_any, GError **error)
{
  guint timeout_ms = ql_sysfs_timeout_ms ();
  g_autofree char *current = ql_vfio_current_driver (sysfs, address);
  g_autofree char *device_dir = device_path (sysfs, address, NULL);

  if (!g_file_test (device_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_NOT_FOUND, "Cannot give %s back: the device is gone", address);
      return FALSE;
    }
  if (driver != NULL && g_strcmp0 (current, driver) == 0)
    return write_override (sysfs, address, driver_override, timeout_ms, error);

  if (!unbind (sysfs, address, timeout_ms, error) ||
      !write_override (sysfs, address, driver_override, timeout_ms, error))
    goto failed;
  if (driver != NULL)
    {
      g_autofree char *bind_path = g_build_filename (sysfs, "bus", "pci", "drivers", driver, "bind", NULL);
      g_autoptr(GError) bind_error = NULL;

      /* straight to the driver it had; the kernel's preferred one may differ */
      if (!ql_sysfs_write (bind_path, address, timeout_ms, &bind_error) &&
          !probe (sysfs, address, timeout_ms, error))
        goto failed;
      if (!wait_for_driver (sysfs, address, driver, timeout_ms, error))
        goto failed;
    }
  else if (probe_any && !probe (sysfs, address, timeout_ms, error))
    goto failed;
  return TRUE;

failed:
  g_prefix_error (error, "Cannot give %s back to %s: ", address, driver ? driver : "the host");
  return FALSE;
}
