/* qlaunch import libvirt|proxmox, qlaunch export libvirt: the file I/O and
 * options around the importers (launcher/profile/) and the exporter
 * (launcher/qemu/). */
#include "ql-commands.h"
#include "ql-error.h"
#include "ql-import-libvirt.h"
#include "ql-import-proxmox.h"
#include "ql-libvirt-export.h"
#include "ql-prepare.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Nothing a VM configuration holds comes near this. */
#define INPUT_MAX (16 << 20)

static char *
read_stdin (gsize *ret_len, GError **error)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  guint8 buffer[65536];

  for (;;)
    {
      ssize_t n = read (STDIN_FILENO, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          ql_error_set_errno (error, errno, "Failed to read standard input");
          return NULL;
        }
      if (n == 0)
        break;
      if (data->len + (gsize) n > INPUT_MAX)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "standard input is larger than %d MiB", INPUT_MAX >> 20);
          return NULL;
        }
      g_byte_array_append (data, buffer, (guint) n);
    }
  *ret_len = data->len;
  g_byte_array_append (data, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (g_steal_pointer (&data), FALSE);
}

static char *
read_input (const char *path, gsize *ret_len, GError **error)
{
  char *text = NULL;

  if (strcmp (path, "-") == 0)
    return read_stdin (ret_len, error);
  if (!g_file_get_contents (path, &text, ret_len, error))
    return NULL;
  if (*ret_len > INPUT_MAX)
    {
      g_free (text);
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s is larger than %d MiB", path, INPUT_MAX >> 20);
      return NULL;
    }
  return text;
}

/* Writes text to path, never over an existing file unless force. */
static gboolean
write_output (const char *path, const char *text, gboolean force, GError **error)
{
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  int fd = open (path, flags, 0644);
  gsize len = strlen (text), done = 0;

  if (fd < 0 && errno == EEXIST)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s exists; not overwritten (--force does)", path);
      return FALSE;
    }
  if (fd < 0)
    return ql_error_set_errno (error, errno, "Failed to create %s", path);
  while (done < len)
    {
      ssize_t n = write (fd, text + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int errsv = errno;
          close (fd);
          return ql_error_set_errno (error, errsv, "Failed to write %s", path);
        }
      done += (gsize) n;
    }
  if (close (fd) < 0)
    return ql_error_set_errno (error, errno, "Failed to write %s", path);
  return TRUE;
}

static void
print_messages (const QlImport *import)
{
  const GPtrArray *notes = ql_import_notes (import), *warnings = ql_import_warnings (import);

  for (guint i = 0; i < notes->len; i++)
    g_printerr ("note: %s\n", (char *) notes->pdata[i]);
  /* the warnings last, where the user looks */
  for (guint i = 0; i < warnings->len; i++)
    g_printerr ("warning: %s\n", (char *) warnings->pdata[i]);
}

/* A profile that does not load is the importer's fault or the input's;
 * either way the user hears it now, not at the first start. */
static gboolean
check_written (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) profile = ql_profile_load_for_unit (path, &error);

  if (profile != NULL)
    return TRUE;
  g_printerr ("qlaunch: the profile written does not load; fix it by hand:\n");
  ql_cmd_print_error (error);
  return FALSE;
}

/* 100 from ".../100.conf" (or "…-100.conf"); 0 when the name ends in no VMID. */
static guint
proxmox_vmid (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  gsize len = strlen (base), start;

  if (!g_str_has_suffix (base, ".conf"))
    return 0;
  len -= strlen (".conf");
  for (start = len; start > 0 && g_ascii_isdigit (base[start - 1]); start--)
    ;
  if (start == len || len - start > 9)
    return 0;
  base[len] = '\0';
  return (guint) g_ascii_strtoull (base + start, NULL, 10);
}

static QlImport *
run_importer (const char *kind, const char *input, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  const char *source = strcmp (input, "-") == 0 ? "<stdin>" : input;

  text = read_input (input, &len, error);
  if (text == NULL)
    return NULL;
  if (strcmp (kind, "libvirt") == 0)
    return ql_import_libvirt (text, len, source, error);
  if (memchr (text, '\0', len) != NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_PROFILE, "%s: a NUL byte; not a Proxmox configuration", source);
      return NULL;
    }
  return ql_import_proxmox (text, source, proxmox_vmid (input), error);
}

int
ql_cmd_import (int argc, char **argv)
{
  g_autofree char *output = NULL;
  gboolean force = FALSE;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the profile here (default: standard output)",
      "NAME.ini" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Overwrite the output file if it exists", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("libvirt FILE.xml|- | proxmox VMID.conf");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlImport) import = NULL;
  g_autofree char *text = NULL;
  const char *kind;

  g_option_context_set_summary (context,
                                "Write a profile from a libvirt domain XML ('virsh dumpxml NAME | qlaunch import\n"
                                "libvirt -') or a Proxmox VE configuration (/etc/pve/qemu-server/VMID.conf).\n"
                                "What has no profile key is kept in [qemu] args; everything not imported as it\n"
                                "was is listed at the end as a warning with its line.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 2, 2))
    return 1;
  kind = argv[1];
  if (strcmp (kind, "libvirt") != 0 && strcmp (kind, "proxmox") != 0)
    {
      g_printerr ("%s: unknown format '%s' (expected 'libvirt' or 'proxmox')\n", argv[0], kind);
      return 1;
    }
  import = run_importer (kind, argv[2], &error);
  if (import == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  text = ql_import_to_data (import, strcmp (kind, "libvirt") == 0 ? "libvirt" : "Proxmox");
  if (output == NULL)
    fputs (text, stdout);
  else if (!write_output (output, text, force, &error))
    {
      ql_cmd_print_error (error);
      return 1;
    }
  print_messages (import);
  if (output != NULL && !check_written (output))
    return 1;
  if (output != NULL)
    g_printerr ("Wrote %s (%u warning%s); check it with 'qlaunch plan %s'\n", output,
                ql_import_warnings (import)->len, ql_import_warnings (import)->len == 1 ? "" : "s", output);
  return 0;
}

int
ql_cmd_export (int argc, char **argv)
{
  g_autofree char *output = NULL;
  gboolean force = FALSE;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the XML here (default: standard output)",
      "FILE.xml" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Overwrite the output file if it exists", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("libvirt NAME|FILE.ini");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlPrepared) prepared = NULL;
  g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *xml = NULL;

  g_option_context_set_summary (context,
                                "Write the VM as a libvirt domain XML ('virsh define FILE.xml'): the machine\n"
                                "'qlaunch argv' prints, with what libvirt has no element for in its qemu:\n"
                                "namespace.  'qlaunch import libvirt' reads it back.  Changes nothing.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 2, 2))
    return 1;
  if (strcmp (argv[1], "libvirt") != 0)
    {
      g_printerr ("%s: unknown format '%s' (expected 'libvirt')\n", argv[0], argv[1]);
      return 1;
    }
  prepared = ql_prepare (argv[2], &error);
  if (prepared == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  xml = ql_libvirt_export (prepared->machine, warnings);
  if (output == NULL)
    fputs (xml, stdout);
  else if (!write_output (output, xml, force, &error))
    {
      ql_cmd_print_error (error);
      return 1;
    }
  for (guint i = 0; i < warnings->len; i++)
    g_printerr ("warning: %s\n", (char *) warnings->pdata[i]);
  return 0;
}
