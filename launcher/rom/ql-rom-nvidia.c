#include "ql-rom-nvidia.h"
#include "ql-error.h"
#include "ql-rom.h"

#include <string.h>

#define NVIDIA_VENDOR 0x10de
#define FOOTER_NPDS_AT 176         /* "VN" + 174 bytes */
#define FOOTER_NPDE_AT 208         /* then "NPDS" + 28 bytes */

void
ql_rom_splice_clear (QlRomSplice *splice)
{
  g_clear_pointer (&splice->notes, g_ptr_array_unref);
}

static gboolean
is_start_marker (const guint8 *data, gsize size, gsize i)
{
  return size - i >= 19 && data[i] == 0x55 && data[i + 1] == 0xAA && data[i + 3] == 0xEB &&
         memcmp (data + i + 14, "VIDEO", 5) == 0;
}

static gboolean
is_footer (const guint8 *data, gsize size, gsize i)
{
  return size - i >= FOOTER_NPDE_AT + 4 && data[i] == 'V' && data[i + 1] == 'N' &&
         memcmp (data + i + FOOTER_NPDS_AT, "NPDS", 4) == 0 && memcmp (data + i + FOOTER_NPDE_AT, "NPDE", 4) == 0;
}

static guint
count (const guint8 *data, gsize from, gsize to, const char *marker)
{
  guint n = 0;

  for (gsize i = from; i + 4 <= to; i++)
    if (memcmp (data + i, marker, 4) == 0)
      n++;
  return n;
}

static gssize
find (const guint8 *data, gsize from, gsize to, const char *marker)
{
  for (gsize i = from; i + 4 <= to; i++)
    if (memcmp (data + i, marker, 4) == 0)
      return (gssize) i;
  return -1;
}

/* Start markers that begin a complete chain, leaving out those inside a
 * chain found before; *ret_first is the first marker (-1: none). */
static GArray *
find_starts (const guint8 *data, gsize size, gssize *ret_first)
{
  GArray *starts = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize covered = 0;

  *ret_first = -1;
  for (gsize i = 0; i < size; i++)
    {
      g_autoptr(QlRom) rom = NULL;

      if (!is_start_marker (data, size, i))
        continue;
      if (*ret_first < 0)
        *ret_first = (gssize) i;
      if (i < covered)
        continue;
      rom = ql_rom_parse (data + i, size - i, NULL);
      if (rom == NULL)
        continue;
      g_array_append_val (starts, i);
      covered = i + rom->chain_size;
    }
  return starts;
}

static gboolean
check_start_at (const guint8 *data, gsize size, gssize at, gsize *ret_start, GError **error)
{
  if ((gsize) at >= size || !is_start_marker (data, size, at))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "no ROM start (55 AA ?? EB … VIDEO) at offset 0x%zx",
                   (gsize) at);
      return FALSE;
    }
  *ret_start = at;
  return TRUE;
}

/* The one complete ROM in the data; with none, the first start marker. */
static gboolean
find_only_start (const guint8 *data, gsize size, gsize *ret_start, GError **error)
{
  g_autoptr(GArray) starts = NULL;
  gssize first_marker;

  starts = find_starts (data, size, &first_marker);
  if (first_marker < 0)
    {
      g_set_error_literal (error, QL_ERROR, QL_ERROR_FAILED,
                           "no NVIDIA ROM start (55 AA ?? EB … VIDEO) in the data: not an NVIDIA vBIOS dump");
      return FALSE;
    }
  if (starts->len > 1)
    {
      g_autoptr(GString) list = g_string_new (NULL);
      for (guint i = 0; i < starts->len; i++)
        g_string_append_printf (list, "%s0x%zx", i ? ", " : "", g_array_index (starts, gsize, i));
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                   "ambiguous: %u complete ROMs start in the data, at %s; choose one with --at OFFSET",
                   starts->len, list->str);
      return FALSE;
    }
  /* with no complete ROM, the parse after this says what is wrong with the first */
  *ret_start = starts->len == 1 ? g_array_index (starts, gsize, 0) : (gsize) first_marker;
  return TRUE;
}

static QlRom *
parse_display_rom (const guint8 *data, gsize size, gsize start, GError **error)
{
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(QlRom) rom = ql_rom_parse (data + start, size - start, &parse_error);
  const QlRomImage *first;

  if (rom == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "the ROM starting at 0x%zx is damaged: %s", start,
                   parse_error->message);
      return NULL;
    }
  first = &g_array_index (rom->images, QlRomImage, 0);
  if (first->vendor != NVIDIA_VENDOR || first->class_code >> 16 != 0x03)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                   "the ROM at 0x%zx is for %04x:%04x class %06x, not an NVIDIA display device", start, first->vendor,
                   first->device, first->class_code);
      return NULL;
    }
  return g_steal_pointer (&rom);
}

/* Cuts splice at the footer at data[footer], after the patcher's sanity
 * check of the markers in front of it. */
static gboolean
cut_at_footer (const guint8 *data, gsize size, gsize chain_size, gsize footer, const QlRomSpliceOptions *options,
               QlRomSplice *splice, GError **error)
{
  gsize start = splice->start;
  gssize first_npds = find (data, 0, size, "NPDS");
  guint npde_tail = first_npds >= 0 ? count (data, first_npds, footer, "NPDE") : 0;

  splice->footer_found = TRUE;
  splice->end = footer;
  splice->npds = count (data, start, footer, "NPDS");
  splice->npde = count (data, start, footer, "NPDE");
  if (splice->end < start + chain_size)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                   "the footer at 0x%zx lies inside the ROM's own chain (which ends at 0x%zx)", footer,
                   start + chain_size);
      return FALSE;
    }
  if (splice->npds != 1 || splice->npde != 3 || npde_tail != 2)
    {
      g_autofree char *counts = g_strdup_printf (
          "%u NPDS and %u NPDE markers before the footer at 0x%zx, %u NPDE after the first NPDS "
          "(a Pascal ROM has 1, 3 and 2)", splice->npds, splice->npde, footer, npde_tail);
      if (!options->ignore_sanity)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_FAILED,
                       "%s; check the dump, or pass --ignore-sanity-check to cut there anyway", counts);
          return FALSE;
        }
      g_ptr_array_add (splice->notes, g_strdup_printf ("%s (ignored)", counts));
    }
  g_ptr_array_add (splice->notes, g_strdup_printf ("the %zu bytes from the footer at 0x%zx on are stripped",
                                                   size - footer, footer));
  return TRUE;
}

/* Where the image ends: at the footer, else with the ROM's PCI chain. */
static gboolean
find_end (const guint8 *data, gsize size, gsize chain_size, const QlRomSpliceOptions *options, QlRomSplice *splice,
          GError **error)
{
  for (gsize i = splice->start; i < size; i++)
    if (is_footer (data, size, i))
      return cut_at_footer (data, size, chain_size, i, options, splice, error);
  splice->end = splice->start + chain_size;
  if (splice->end < size)
    g_ptr_array_add (splice->notes,
                     g_strdup_printf ("no VN…NPDS…NPDE footer: the image ends with its PCI chain at 0x%zx",
                                      splice->end));
  return TRUE;
}

gboolean
ql_rom_nvidia_splice (const guint8 *data, gsize size, const QlRomSpliceOptions *options, QlRomSplice *ret_splice,
                      GError **error)
{
  g_auto(QlRomSplice) splice = { 0 };
  g_autoptr(QlRom) rom = NULL;
  gsize start;

  if (options->at >= 0 ? !check_start_at (data, size, options->at, &start, error)
                       : !find_only_start (data, size, &start, error))
    return FALSE;
  rom = parse_display_rom (data, size, start, error);
  if (rom == NULL)
    return FALSE;

  splice.notes = g_ptr_array_new_with_free_func (g_free);
  splice.start = start;
  if (start > 0)
    g_ptr_array_add (splice.notes, g_strdup_printf ("a %zu-byte flash-tool header is stripped", start));
  if (options->keep_footer)
    {
      splice.end = size;
      g_ptr_array_add (splice.notes, g_strdup ("everything after the ROM start is kept (--keep-footer)"));
    }
  else if (!find_end (data, size, rom->chain_size, options, &splice, error))
    return FALSE;

  *ret_splice = splice;
  splice = (QlRomSplice) { 0 };
  return TRUE;
}
