#include "ql-commands.h"
#include "ql-error.h"
#include "ql-hugepages.h"
#include "ql-paths.h"
#include "ql-value.h"

#include <string.h>

static gboolean
parse_page (const char *text, guint64 *ret_kib, GError **error)
{
  if (text == NULL || g_ascii_strcasecmp (text, "2M") == 0)
    *ret_kib = 2048;
  else if (g_ascii_strcasecmp (text, "1G") == 0)
    *ret_kib = 1048576;
  else
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "--page: '%s' is not 2M or 1G", text);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_pages (const char *text, guint64 page_kib, guint64 *ret_pages, GError **error)
{
  g_autofree char *message = NULL;
  guint64 bytes;

  if (!ql_value_parse_size (text, &bytes, &message))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "%s", message);
      return FALSE;
    }
  *ret_pages = (bytes + (page_kib << 10) - 1) / (page_kib << 10);
  return TRUE;
}

static void
print_pool (const QlHugepagePool *pool)
{
  g_autofree char *page = ql_hugepages_page_name (pool->page_kib);

  g_print ("%s pages: %" G_GUINT64_FORMAT " in the pool, %" G_GUINT64_FORMAT " free, %" G_GUINT64_FORMAT
           " promised to mappings\n", page, pool->total, pool->free, pool->reserved);
  for (guint i = 0; pool->nodes->len > 1 && i < pool->nodes->len; i++)
    {
      const QlHugepageNode *n = &g_array_index (pool->nodes, QlHugepageNode, i);
      g_print ("  node %u: %" G_GUINT64_FORMAT " in the pool, %" G_GUINT64_FORMAT " free\n", n->node, n->total, n->free);
    }
}

static gboolean
show (void)
{
  static const guint64 sizes[] = { 2048, 1048576 };
  g_autofree char *mounts = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(QlHugepagePool) pool = ql_hugepages_read (ql_paths_sysfs (), sizes[i], NULL);
      if (pool != NULL)
        print_pool (pool);
    }
  if (g_file_get_contents ("/proc/mounts", &mounts, NULL, NULL))
    {
      g_auto(GStrv) lines = g_strsplit (mounts, "\n", -1);
      gboolean any = FALSE;
      for (guint i = 0; lines[i]; i++)
        {
          g_auto(GStrv) f = g_strsplit (lines[i], " ", -1);
          if (g_strv_length (f) >= 4 && strcmp (f[2], "hugetlbfs") == 0)
            {
              g_print ("hugetlbfs mounted at %s (%s)\n", f[1], f[3]);
              any = TRUE;
            }
        }
      if (!any)
        g_print ("no hugetlbfs is mounted (mount -t hugetlbfs -o pagesize=2M none /dev/hugepages)\n");
    }
  return TRUE;
}

static gboolean
reserve (const char *size, guint64 page_kib, int node, GError **error)
{
  g_autoptr(QlHugepagePool) pool = ql_hugepages_read (ql_paths_sysfs (), page_kib, error);
  g_autofree char *pool_dir = ql_hugepages_pool_dir (page_kib, node);
  g_autofree char *page = ql_hugepages_page_name (page_kib);
  g_autofree char *of_node = node >= 0 ? g_strdup_printf (" of node %d", node) : g_strdup ("");
  guint64 pages, available, before;

  if (pool == NULL || !parse_pages (size, page_kib, &pages, error))
    return FALSE;
  available = ql_hugepages_available (pool, node);
  if (available >= pages)
    {
      g_print ("%" G_GUINT64_FORMAT " × %s already free\n", available, page);
      return TRUE;
    }
  if (!ql_hugepages_read_total (ql_paths_sysfs (), pool_dir, &before, error) ||
      !ql_hugepages_grow (ql_paths_sysfs (), ql_paths_procfs (), pool_dir, pages - available, before, error))
    return FALSE;
  g_print ("%s hugepage pool%s grown from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " pages; "
           "%" G_GUINT64_FORMAT " free.\n"
           "This lasts until the next boot; to keep it, add hugepages=%" G_GUINT64_FORMAT
           " to the kernel command line (or vm.nr_hugepages to /etc/sysctl.d/).\n",
           page, of_node, before, before + pages - available, pages,
           before + pages - available);
  return TRUE;
}

static gboolean
release (const char *size, guint64 page_kib, int node, GError **error)
{
  g_autoptr(QlHugepagePool) pool = ql_hugepages_read (ql_paths_sysfs (), page_kib, error);
  g_autofree char *pool_dir = ql_hugepages_pool_dir (page_kib, node);
  guint64 pages, total, before;

  if (pool == NULL || !ql_hugepages_read_total (ql_paths_sysfs (), pool_dir, &before, error))
    return FALSE;
  if (g_strcmp0 (size, "all") == 0)
    pages = before;
  else if (!parse_pages (size, page_kib, &pages, error))
    return FALSE;
  /* pages in use stay: the kernel would only turn them into surplus pages */
  if (!ql_hugepages_shrink (ql_paths_sysfs (), pool_dir, MIN (pages, pool->free), before - MIN (before, pool->free),
                            &total, error))
    return FALSE;
  g_print ("hugepage pool %s: %" G_GUINT64_FORMAT " pages, was %" G_GUINT64_FORMAT "\n", pool_dir, total, before);
  return TRUE;
}

int
ql_cmd_hugepages (int argc, char **argv)
{
  g_autofree char *page = NULL;
  int node = -1;
  const GOptionEntry entries[] = {
    { "page", 0, 0, G_OPTION_ARG_STRING, &page, "Page size: 2M (default) or 1G", "SIZE" },
    { "node", 0, 0, G_OPTION_ARG_INT, &node, "The NUMA node's pool (default: the host's)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[reserve SIZE | release SIZE|all]");
  g_autoptr(GError) error = NULL;
  guint64 page_kib;
  gboolean ok;

  g_option_context_set_summary (context,
                                "Show the hugepage pools, or change them as root:\n"
                                "  reserve SIZE   grow the pool until SIZE is free (compacting memory first)\n"
                                "  release SIZE   give up to SIZE of free pages back to the kernel ('all': every free one)\n"
                                "A VM with allocate=true in [memory] does this itself for its run.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!ql_cmd_parse (context, &argc, &argv, 0, 2))
    return 1;
  if (!parse_page (page, &page_kib, &error))
    ok = FALSE;
  else if (argc == 1)
    ok = show ();
  else if (argc == 3 && strcmp (argv[1], "reserve") == 0)
    ok = reserve (argv[2], page_kib, node, &error);
  else if (argc == 3 && strcmp (argv[1], "release") == 0)
    ok = release (argv[2], page_kib, node, &error);
  else
    {
      g_printerr ("%s: expected 'reserve SIZE' or 'release SIZE|all'\n", argv[0]);
      return 1;
    }
  if (!ok)
    {
      ql_cmd_print_error (error);
      return 1;
    }
  return 0;
}
