#include "ql-hugepage-pool.h"
#include "ql-value.h"

#include <stdio.h>
#include <string.h>

void
ql_hugepage_pool_free (QlHugepagePool *pool)
{
  if (pool == NULL)
    return;
  g_array_unref (pool->nodes);
  g_free (pool);
}

char *
ql_hugepages_pool_dir (guint64 page_kib, int node)
{
  if (node < 0)
    return g_strdup_printf ("kernel/mm/hugepages/hugepages-%" G_GUINT64_FORMAT "kB", page_kib);
  return g_strdup_printf ("devices/system/node/node%d/hugepages/hugepages-%" G_GUINT64_FORMAT "kB", node, page_kib);
}

char *
ql_hugepages_page_name (guint64 page_kib)
{
  return ql_value_format_size (page_kib << 10);
}

static const QlHugepageNode *
find_node (const QlHugepagePool *pool, int node)
{
  for (guint i = 0; i < pool->nodes->len; i++)
    if ((int) g_array_index (pool->nodes, QlHugepageNode, i).node == node)
      return &g_array_index (pool->nodes, QlHugepageNode, i);
  return NULL;
}

guint64
ql_hugepages_available (const QlHugepagePool *pool, int node)
{
  guint64 anywhere = pool->free > pool->reserved ? pool->free - pool->reserved : 0;
  const QlHugepageNode *n;

  if (node < 0 || (n = find_node (pool, node)) == NULL)
    return anywhere;
  return MIN (n->free, anywhere);
}

char *
ql_hugepages_describe_shortfall (const QlHugepagePool *pool, guint64 pages, int node)
{
  g_autofree char *page = ql_hugepages_page_name (pool->page_kib);
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "%" G_GUINT64_FORMAT " × %s", pages, page);
  if (node >= 0 || pool->nodes->len <= 1)
    g_string_append_printf (out, " on node %d", MAX (node, 0));
  g_string_append_printf (out, ", %" G_GUINT64_FORMAT " free", ql_hugepages_available (pool, node));
  if (node < 0 && pool->nodes->len > 1)
    {
      g_string_append (out, " (");
      for (guint i = 0; i < pool->nodes->len; i++)
        {
          const QlHugepageNode *n = &g_array_index (pool->nodes, QlHugepageNode, i);
          g_string_append_printf (out, "%snode %u: %" G_GUINT64_FORMAT, i ? ", " : "", n->node, n->free);
        }
      g_string_append (out, ")");
    }
  if (pool->reserved > 0)
    g_string_append_printf (out, "; %" G_GUINT64_FORMAT " more are promised to other mappings", pool->reserved);
  return g_string_free (out, FALSE);
}

gboolean
ql_hugepages_parse_pool_dir (const char *pool_dir, guint64 *ret_page_kib, int *ret_node)
{
  guint64 page_kib = 0;
  guint node = 0;
  int end = 0;
  g_autofree char *again = NULL;

  if (pool_dir == NULL)
    return FALSE;
  if (sscanf (pool_dir, "kernel/mm/hugepages/hugepages-%" G_GUINT64_FORMAT "kB%n", &page_kib, &end) == 1)
    node = G_MAXUINT;
  else if (sscanf (pool_dir, "devices/system/node/node%u/hugepages/hugepages-%" G_GUINT64_FORMAT "kB%n", &node,
                   &page_kib, &end) != 2 || node > G_MAXINT)
    return FALSE;
  /* only the canonical spelling: no leading zeros, signs or trailing text */
  again = ql_hugepages_pool_dir (page_kib, node == G_MAXUINT ? -1 : (int) node);
  if (pool_dir[end] != '\0' || page_kib == 0 || strcmp (again, pool_dir) != 0)
    return FALSE;
  *ret_page_kib = page_kib;
  *ret_node = node == G_MAXUINT ? -1 : (int) node;
  return TRUE;
}
