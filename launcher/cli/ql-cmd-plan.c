/* qlaunch plan: what 'start' would change on the host, changing nothing. */
#include "ql-commands.h"
#include "ql-host-apply.h"
#include "ql-prepare.h"
#include "ql-rom-check.h"
#include "ql-runtime-files.h"

#include <stdio.h>

/* Where the machine type comes from. */
static char *
machine_type_source (const QlPrepared *prepared)
{
  const QlMachine *m = prepared->machine;

  if (prepared->profile->vm.machine != NULL)
    return g_strdup ("[vm] machine");
  if (m->pin_machine_type)
    return g_strdup_printf ("q35 in this QEMU; the first start pins it in %s/%s", m->state_dir,
                            QL_STATE_MACHINE_TYPE);
  if (prepared->host->pinned_machine != NULL)
    return g_strdup_printf ("pinned in %s/%s", m->state_dir, QL_STATE_MACHINE_TYPE);
  return g_strdup ("QEMU was not asked");
}

static void
print_plan (const QlPrepared *prepared, const QlHostPlan *plan, const GPtrArray *rom_notes)
{
  const QlMachine *m = prepared->machine;

  g_autofree char *source = machine_type_source (prepared);

  printf ("VM '%s' (%s):\n", prepared->profile->vm.name, prepared->profile->path);
  printf ("  machine type %s (%s)\n", m->machine_type, source);
  if (plan->steps->len == 0)
    printf ("  no host changes\n");
  for (guint i = 0; i < plan->steps->len; i++)
    {
      g_autofree char *line = ql_host_step_describe (plan->steps->pdata[i]);
      printf ("  %s\n", line);
    }
  for (guint i = 0; i < plan->notes->len; i++)
    printf ("  note: %s\n", (char *) plan->notes->pdata[i]);
  for (guint i = 0; i < rom_notes->len; i++)
    printf ("  note: %s\n", (char *) rom_notes->pdata[i]);
  if (plan->steps->len > 0)
    printf ("  journal %s/%s (undone in reverse when the VM ends, or by 'qlaunch recover %s')\n", m->runtime_dir,
            QL_RUNTIME_JOURNAL, prepared->profile->vm.name);
  printf ("  runtime %s (removed when the VM ends)\n", m->runtime_dir);
}

int
ql_cmd_plan (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("NAME|FILE.ini");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlPrepared) prepared = NULL;
  g_autoptr(QlHostPlan) plan = NULL;
  g_autoptr(GPtrArray) rom_notes = g_ptr_array_new_with_free_func (g_free);
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "The steps as JSON, as the journal records them", NULL },
    { NULL },
  };

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
                                "Show every change 'start' would make to the host, in the order it makes them:\n"
                                "the SSDT and varstore it writes, hugepages it allocates, devices it moves to\n"
                                "vfio-pci, bridges and taps it creates.  Changes nothing.");
  if (!ql_cmd_parse (context, &argc, &argv, 1, 1))
    return 1;
  prepared = ql_prepare (argv[1], &error);
  if (prepared == NULL || (plan = ql_host_plan_for_machine (prepared->machine, &error)) == NULL ||
      !ql_rom_check_for_machine (prepared->machine, rom_notes, &error))
    {
      ql_cmd_print_error (error);
      return 1;
    }
  if (json)
    {
      g_autoptr(JsonNode) root = ql_host_plan_to_json (plan, prepared->profile->vm.name);
      g_autofree char *source = machine_type_source (prepared);

      json_object_set_string_member (json_node_get_object (root), "machine-type", prepared->machine->machine_type);
      json_object_set_string_member (json_node_get_object (root), "machine-type-source", source);
      ql_cmd_print_json (root);
    }
  else
    print_plan (prepared, plan, rom_notes);
  return 0;
}
