/* What the machine model needs to know about the host, found out. */
#include "ql-host-probe.h"
#include "ql-firmware-load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>


guint
ql_host_parse_qemu_version (const char *text)
{
  const char *p = text ? strstr (text, "version ") : NULL;
  guint64 major, minor;
  char *end;

  if (p == NULL)
    return 0;
  p += strlen ("version ");
  major = g_ascii_strtoull (p, &end, 10);
  if (end == p || *end != '.')
    return 0;
  p = end + 1;
  minor = g_ascii_strtoull (p, &end, 10);
  if (end == p || major > 1000 || minor > 99)
    return 0;
  return (guint) (major * 100 + minor);
}

guint
ql_host_qemu_version (const char *binary)
{
  const char *argv[] = { binary, "-version", NULL };
  g_autofree char *out = NULL;
  int status = 0;

  if (binary == NULL ||
      !g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    return 0;
  return ql_host_parse_qemu_version (out);
}

gboolean
ql_host_program_root_only (const char *path, char **ret_why)
{
  g_autofree char *real = realpath (path, NULL);
  g_autofree char *at = NULL;

  if (real == NULL)
    {
      *ret_why = g_strdup_printf ("'%s': %s", path, g_strerror (errno));
      return FALSE;
    }
  at = g_strdup (real);
  for (;;)
    {
      struct stat st;
      char *slash;

      if (stat (at, &st) != 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        {
          *ret_why = g_strdup_printf ("'%s' (for '%s') is not root's alone: another user could change it", at, real);
          return FALSE;
        }
      if (strcmp (at, "/") == 0)
        return TRUE;
      slash = strrchr (at, '/');
      slash[slash == at ? 1 : 0] = '\0';
    }
}

gboolean
ql_host_kvm_usable (gboolean dev_kvm_ok, const char *dev_kvm_error, const char *cpuinfo,
                    char **ret_reason)
{
  g_auto(GStrv) lines = NULL;

  if (!dev_kvm_ok)
    {
      *ret_reason = g_strdup_printf ("/dev/kvm is not usable: %s", dev_kvm_error);
      return FALSE;
    }
  lines = g_strsplit (cpuinfo ? cpuinfo : "", "\n", -1);
  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], "flags"))
      {
        g_auto(GStrv) flags = g_strsplit_set (lines[i], " \t:", -1);
        if (g_strv_contains ((const char *const *) flags, "vmx") ||
            g_strv_contains ((const char *const *) flags, "svm"))
          return TRUE;
        break;
      }
  *ret_reason = g_strdup ("/dev/kvm exists but the CPU has no vmx/svm flag (a paravirtual KVM such as PVM), "
                          "which cannot run an unmodified guest");
  return FALSE;
}

char *
ql_host_find_hugetlbfs (const char *mounts, guint64 page_kib, guint64 default_kib)
{
  g_auto(GStrv) lines = g_strsplit (mounts ? mounts : "", "\n", -1);

  for (guint i = 0; lines[i]; i++)
    {
      g_auto(GStrv) f = g_strsplit (lines[i], " ", -1);
      g_auto(GStrv) opts = NULL;
      guint64 kib = default_kib;

      if (g_strv_length (f) < 4 || g_strcmp0 (f[2], "hugetlbfs") != 0)
        continue;
      opts = g_strsplit (f[3], ",", -1);
      for (guint j = 0; opts[j]; j++)
        if (g_str_has_prefix (opts[j], "pagesize="))
          {
            const char *v = opts[j] + strlen ("pagesize=");
            guint64 n = g_ascii_strtoull (v, NULL, 10);
            kib = strchr (v, 'G') ? n << 20 : strchr (v, 'M') ? n << 10 : n;
          }
      if (kib == page_kib)
        return g_strcompress (f[1]);   /* /proc/mounts octal-escapes spaces */
    }
  return NULL;
}

static guint64
default_hugepage_kib (const char *procfs)
{
  g_autofree char *path = g_build_filename (procfs, "meminfo", NULL);
  g_autofree char *meminfo = NULL;
  const char *p;

  if (!g_file_get_contents (path, &meminfo, NULL, NULL) ||
      (p = strstr (meminfo, "Hugepagesize:")) == NULL)
    return 2048;
  return g_ascii_strtoull (p + strlen ("Hugepagesize:"), NULL, 10);
}

/* MemTotal in bytes; 0 when unknown. */
static guint64
mem_total (const char *procfs)
{
  g_autofree char *path = g_build_filename (procfs, "meminfo", NULL);
  g_autofree char *meminfo = NULL;
  const char *p;

  if (!g_file_get_contents (path, &meminfo, NULL, NULL) || (p = strstr (meminfo, "MemTotal:")) == NULL)
    return 0;
  return g_ascii_strtoull (p + strlen ("MemTotal:"), NULL, 10) << 10;
}

QlHostFacts *
ql_host_facts_probe (const char *procfs, const char *devfs, const char *binary)
{
  QlHostFacts *facts = g_new0 (QlHostFacts, 1);
  g_autofree char *cpuinfo = NULL;
  g_autofree char *mounts = NULL;
  g_auto(GStrv) dirs = ql_firmware_default_dirs ();
  g_autofree char *kvm_error = NULL;
  g_autofree char *dev_kvm = g_build_filename (devfs, "kvm", NULL);
  g_autofree char *cpuinfo_path = g_build_filename (procfs, "cpuinfo", NULL);
  g_autofree char *mounts_path = g_build_filename (procfs, "mounts", NULL);
  gboolean dev_kvm_ok = FALSE;
  int fd;

  fd = open (dev_kvm, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    kvm_error = g_strdup (g_strerror (errno));
  else
    {
      int version = ioctl (fd, KVM_GET_API_VERSION, 0);
      dev_kvm_ok = version == KVM_API_VERSION;
      if (!dev_kvm_ok)
        kvm_error = g_strdup_printf ("KVM API version %d, expected %d", version, KVM_API_VERSION);
      close (fd);
    }
  g_file_get_contents (cpuinfo_path, &cpuinfo, NULL, NULL);
  facts->kvm_usable = ql_host_kvm_usable (dev_kvm_ok, kvm_error, cpuinfo, &facts->kvm_reason);

  /* QLAUNCH_QEMU: the QEMU a profile without [qemu] binary gets (the tests' second QEMU) */
  if (binary == NULL && g_getenv ("QLAUNCH_QEMU") != NULL && g_getenv ("QLAUNCH_QEMU")[0] != '\0')
    binary = g_getenv ("QLAUNCH_QEMU");
  if (binary == NULL)
    facts->qemu_binary = g_find_program_in_path ("qemu-system-x86_64");
  else if (strchr (binary, '/') != NULL)
    facts->qemu_binary = g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE) ? g_canonicalize_filename (binary, NULL) : NULL;
  else
    facts->qemu_binary = g_find_program_in_path (binary);

  facts->devfs = g_strdup (devfs);
  {
    /* Looking Glass's kvmfr module makes its shared memory a device */
    g_autofree char *kvmfr = g_build_filename (devfs, "kvmfr0", NULL);
    struct stat st;
    facts->kvmfr = stat (kvmfr, &st) == 0 && S_ISCHR (st.st_mode);
  }
  facts->firmware = ql_firmware_load_all ((const char *const *) dirs);
  facts->mem_total = mem_total (procfs);

  if (g_file_get_contents (mounts_path, &mounts, NULL, NULL))
    {
      guint64 def = default_hugepage_kib (procfs);
      facts->hugetlbfs_2m = ql_host_find_hugetlbfs (mounts, 2048, def);
      facts->hugetlbfs_1g = ql_host_find_hugetlbfs (mounts, 1048576, def);
    }
  return facts;
}
