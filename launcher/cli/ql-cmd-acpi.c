#include "ql-commands.h"
#include "ql-error.h"
#include "ql-prepare.h"
#include "ql-ssdt.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
describe (const QlMachine *m, gsize size)
{
  g_printerr ("SSDT '%s' (%zu bytes) for VM '%s':\n", QL_SSDT_TABLE_ID, size, m->profile->vm.name);
  for (guint i = 0; i < m->hostdevs->len; i++)
    {
      const QlMachineHostdev *h = m->hostdevs->pdata[i];
      if (h->rom_fw_cfg_name != NULL)
        g_printerr ("  %s %s: _ROM reads fw_cfg '%s' (%s)\n", h->acpi_define_device ? "Device" : "Scope", h->acpi_path,
                    h->rom_fw_cfg_name, h->pci->rom);
    }
  if (m->profile->fake_battery)
    g_printerr ("  Scope \\_SB.PCI0.SF8: battery BAT0 (PNP0C0A, full) and AC adapter AC0 (ACPI0003, online)\n");
}

int
ql_cmd_acpi (int argc, char **argv)
{
  g_autofree char *output = NULL;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the table here (default: standard output)", "FILE.aml" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("ssdt NAME|FILE.ini");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlPrepared) prepared = NULL;
  g_autoptr(GBytes) table = NULL;
  const char *data;
  gsize size;

  g_option_context_set_summary (context,
                                "Write the SSDT 'start' passes to QEMU: _ROM for each [pci] with rom-acpi=true,\n"
                                "at the ACPI path of the guest device, and the [acpi] fake-battery.  Decompile it\n"
                                "with 'iasl -d FILE.aml'.  Changes nothing.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 2, 2))
    return 1;
  if (strcmp (argv[1], "ssdt") != 0)
    {
      g_printerr ("%s: unknown subcommand '%s' (expected 'ssdt')\n", argv[0], argv[1]);
      return 1;
    }
  prepared = ql_prepare (argv[2], &error);
  if (prepared == NULL)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  table = ql_ssdt_for_machine (prepared->machine);
  if (table == NULL)
    {
      g_printerr ("qlaunch: %s: no table to generate: no [pci] has rom-acpi=true and [acpi] fake-battery is off\n",
                  prepared->profile->path);
      return 1;
    }
  data = g_bytes_get_data (table, &size);
  describe (prepared->machine, size);
  if (output == NULL)
    {
      if (isatty (STDOUT_FILENO))
        {
          g_printerr ("qlaunch: the table is binary; write it to a file with -o FILE.aml\n");
          return 1;
        }
      return fwrite (data, 1, size, stdout) == size && fflush (stdout) == 0 ? 0 : 1;
    }
  if (!g_file_set_contents (output, data, size, &error))
    {
      ql_cmd_print_error (error);
      return 1;
    }
  return 0;
}
