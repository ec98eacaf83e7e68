#include "ql-hugepages.h"
#include "ql-error.h"
#include "ql-sysfs.h"

/* allocating gigabytes of pages takes the kernel a while */
#define POOL_WRITE_TIMEOUT_MS 120000

static gboolean
read_count (const char *dir, const char *name, guint64 *ret, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *text = ql_sysfs_read (path);

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, ret, NULL))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot read '%s'", path);
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_hugepages_read_total (const char *sysfs, const char *pool_dir, guint64 *ret_total, GError **error)
{
  g_autofree char *dir = g_build_filename (sysfs, pool_dir, NULL);
  return read_count (dir, "nr_hugepages", ret_total, error);
}

QlHugepagePool *
ql_hugepages_read (const char *sysfs, guint64 page_kib, GError **error)
{
  g_autoptr(QlHugepagePool) pool = g_new0 (QlHugepagePool, 1);
  g_autofree char *rel = ql_hugepages_pool_dir (page_kib, -1);
  g_autofree char *dir = g_build_filename (sysfs, rel, NULL);

  pool->page_kib = page_kib;
  pool->nodes = g_array_new (FALSE, TRUE, sizeof (QlHugepageNode));
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *page = ql_hugepages_page_name (page_kib);
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "This host's kernel has no %s hugepages ('%s' does not exist)",
                   page, dir);
      return NULL;
    }
  if (!read_count (dir, "nr_hugepages", &pool->total, error) || !read_count (dir, "free_hugepages", &pool->free, error) ||
      !read_count (dir, "resv_hugepages", &pool->reserved, error))
    return NULL;
  for (guint node = 0; node < 1024; node++)
    {
      g_autofree char *node_rel = ql_hugepages_pool_dir (page_kib, node);
      g_autofree char *node_dir = g_build_filename (sysfs, node_rel, NULL);
      QlHugepageNode n = { .node = node };

      if (!g_file_test (node_dir, G_FILE_TEST_IS_DIR))
        {
          g_autofree char *node_top = g_strdup_printf ("%s/devices/system/node/node%u", sysfs, node);
          if (g_file_test (node_top, G_FILE_TEST_IS_DIR))
            continue;   /* a node without memory of this kind */
          break;
        }
      if (!read_count (node_dir, "nr_hugepages", &n.total, error) || !read_count (node_dir, "free_hugepages", &n.free, error))
        return NULL;
      g_array_append_val (pool->nodes, n);
    }
  return g_steal_pointer (&pool);
}

gboolean
ql_hugepages_grow (const char *sysfs, const char *procfs, const char *rel, guint64 pages, guint64 before,
                   GError **error)
{
  guint64 page_kib = 0;
  int node = -1;
  g_autofree char *path = g_build_filename (sysfs, rel, "nr_hugepages", NULL);
  g_autofree char *compact = g_build_filename (procfs, "sys/vm/compact_memory", NULL);
  g_autofree char *value = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", before + pages);
  g_autofree char *page = NULL;
  guint64 now;

  if (!ql_hugepages_parse_pool_dir (rel, &page_kib, &node))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' is not a hugepage pool", rel);
      return FALSE;
    }
  page = ql_hugepages_page_name (page_kib);
  /* free memory in one piece first, or the kernel finds few contiguous pages */
  if (!ql_sysfs_write (compact, "1\n", POOL_WRITE_TIMEOUT_MS, NULL))
    g_debug ("cannot compact memory; growing the pool anyway");
  if (!ql_sysfs_write (path, value, POOL_WRITE_TIMEOUT_MS, error))
    {
      g_prefix_error (error, "Cannot grow the %s hugepage pool: ", page);
      return FALSE;
    }
  if (!ql_hugepages_read_total (sysfs, rel, &now, error))
    return FALSE;
  if (now < before + pages)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "The kernel found only %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " more %s hugepages%s: "
                   "too little free memory in one piece.  Reserve them early after boot "
                   "(hugepages= on the kernel command line, or 'qlaunch hugepages reserve'), or free memory",
                   now > before ? now - before : 0, pages, page, node >= 0 ? " on that node" : "");
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_hugepages_shrink (const char *sysfs, const char *pool_dir, guint64 pages, guint64 floor, guint64 *ret_total,
                     GError **error)
{
  g_autofree char *path = g_build_filename (sysfs, pool_dir, "nr_hugepages", NULL);
  g_autofree char *value = NULL;
  guint64 now, target;

  if (!ql_hugepages_read_total (sysfs, pool_dir, &now, error))
    return FALSE;
  target = now > pages ? now - pages : 0;
  target = MAX (target, floor);
  if (target >= now)
    {
      *ret_total = now;
      return TRUE;
    }
  value = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", target);
  if (!ql_sysfs_write (path, value, POOL_WRITE_TIMEOUT_MS, error))
    return FALSE;
  *ret_total = target;
  return TRUE;
}
