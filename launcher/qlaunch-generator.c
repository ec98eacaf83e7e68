/* qlaunch-generator NORMAL [EARLY LATE]: see systemd.generator(7) and
 * launcher/cli/ql-generator.h.  Its stderr goes to the journal (or kmsg). */
#include "ql-generator.h"
#include "ql-log.h"

#include <stdio.h>

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  const char *qlaunch = g_getenv ("QLAUNCH_EXECUTABLE");
  QlGeneratorOptions options = { 0 };
  guint written = 0, refused = 0;

  ql_log_setup ("qlaunch-generator", /* verbose= */ g_getenv ("QLAUNCH_GENERATOR_DEBUG") != NULL);
  if (argc != 2 && argc != 4)
    {
      g_printerr ("Usage: qlaunch-generator NORMAL-DIR [EARLY-DIR LATE-DIR]\n");
      return 1;
    }
  options.output_dir = argv[1];
  options.scope = ql_generator_scope (argv[0]);
  options.qlaunch = qlaunch != NULL && qlaunch[0] != '\0' ? qlaunch : QLAUNCH_BINDIR "/qlaunch";
  if (!ql_generator_run (&options, &written, &refused, &error))
    {
      g_critical ("%s", error->message);
      return 1;
    }
  g_debug ("%u units written, %u profiles skipped", written, refused);
  return 0;
}
