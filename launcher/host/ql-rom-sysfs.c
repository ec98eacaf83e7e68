#include "ql-rom-sysfs.h"
#include "ql-error.h"
#include "ql-sysfs.h"

#include <errno.h>

#define LAPTOP_HINT                                                                                                   \
  "Laptop (Optimus) dGPUs often have no ROM of their own: the system firmware hands the vBIOS to the driver "    \
  "through ACPI _ROM.  Extract it from a Windows registry export with 'qlaunch rom from-reg', or from a BIOS "   \
  "update, and deliver it with rom= and rom-acpi=true"

GBytes *
ql_rom_read_sysfs (const char *sysfs_root, const char *address, GError **error)
{
  g_autofree char *dir = g_build_filename (sysfs_root, "bus", "pci", "devices", address, NULL);
  g_autofree char *path = g_build_filename (dir, "rom", NULL);
  g_autoptr(GError) disable_error = NULL;
  g_autoptr(GError) read_error = NULL;
  g_autofree char *contents = NULL;
  gsize size = 0;
  gboolean read_ok;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_NOT_FOUND, "no PCI device %s on this host (see 'qlaunch devices')",
                   address);
      return NULL;
    }
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s has no ROM BAR (no 'rom' file in sysfs).  %s", address,
                   LAPTOP_HINT);
      return NULL;
    }
  if (!ql_sysfs_write (path, "1", ql_sysfs_timeout_ms (), error))
    {
      g_prefix_error (error, "Cannot enable the ROM of %s: ", address);
      return NULL;
    }
  /* the kernel ends the file with the image chain it finds, short of the BAR's size */
  read_ok = g_file_get_contents (path, &contents, &size, &read_error);
  if (!ql_sysfs_write (path, "0", ql_sysfs_timeout_ms (), &disable_error))
    g_warning ("Cannot disable the ROM of %s again: %s", address, disable_error->message);
  if (!read_ok)
    {
      if (g_error_matches (read_error, G_FILE_ERROR, G_FILE_ERROR_IO) ||
          g_error_matches (read_error, G_FILE_ERROR, G_FILE_ERROR_INVAL))
        g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                     "Reading the ROM of %s failed (%s): the kernel found no valid ROM behind the ROM BAR "
                     "(dmesg then says 'Invalid PCI ROM header signature').  On a desktop GPU, the ROM of the boot "
                     "GPU is shadowed by the firmware: dump it while another GPU is primary, or after the device "
                     "was initialised by its driver once.  %s",
                     address, g_strerror (read_error->code == G_FILE_ERROR_IO ? EIO : EINVAL), LAPTOP_HINT);
      else
        g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "Reading the ROM of %s failed: %s", address,
                     read_error->message);
      return NULL;
    }
  if (size == 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "The ROM of %s reads as empty.  %s", address, LAPTOP_HINT);
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&contents), size);
}
