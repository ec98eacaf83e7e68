/* Writes the synthetic vBIOS fixtures (rom-fixtures.h) into a directory,
 * for the VM tests, the lab and the fuzzers' seed corpus. */
#include "rom-fixtures.h"

#include <stdio.h>

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s DIR\n", argv[0]);
      return 2;
    }
  if (!rom_fixture_write_all (argv[1], &error))
    {
      fprintf (stderr, "%s: %s\n", argv[0], error ? error->message : "cannot create the directory");
      return 1;
    }
  return 0;
}
