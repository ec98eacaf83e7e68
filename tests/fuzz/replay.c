/* Runs a libFuzzer harness over the files of its corpus directory, for the
 * test suite's builds (gcc, no libFuzzer): every input found while fuzzing
 * stays a regression test. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
main (int argc, char **argv)
{
  guint n = 0;

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s CORPUS-DIR\n", argv[0]);
      return 2;
    }
  printf ("1..1\n");
  {
    g_autoptr(GDir) dir = g_dir_open (argv[1], 0, NULL);
    const char *name;

    if (dir == NULL)
      {
        printf ("not ok 1 - no corpus at %s\n", argv[1]);
        return 1;
      }
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (argv[1], name, NULL);
        g_autofree char *data = NULL;
        gsize len;

        if (!g_file_get_contents (path, &data, &len, NULL))
          continue;
        /* an exact-size heap copy, so that ASan sees any read past it */
        g_autofree guint8 *copy = g_memdup2 (data, len ? len : 1);
        LLVMFuzzerTestOneInput (copy, len);
        n++;
      }
  }
  printf ("%s 1 - %u inputs of %s\n", n > 0 ? "ok" : "not ok", n, argv[1]);
  return n > 0 ? 0 : 1;
}
