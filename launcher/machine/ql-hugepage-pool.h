#pragma once

#include <glib.h>

/* A kernel hugepage pool of one page size (SYSFS/kernel/mm/hugepages and the
 * per-node ones under SYSFS/devices/system/node) as host/ql-hugepages.c read
 * it: what a VM can have from it. */

typedef struct {
  guint node;
  guint64 total, free;
} QlHugepageNode;

typedef struct {
  guint64 page_kib;          /* 2048, 1048576 */
  guint64 total, free, reserved;   /* the whole host; reserved: promised to mappings, not yet faulted */
  GArray *nodes;             /* QlHugepageNode, by node */
} QlHugepagePool;

void ql_hugepage_pool_free (QlHugepagePool *pool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlHugepagePool, ql_hugepage_pool_free)

/* Pages a new mapping can have: on node (or anywhere with -1). */
guint64 ql_hugepages_available (const QlHugepagePool *pool, int node);

/* "4096 × 2 MiB on node 0, 1200 free" or "…, 1200 free (node 0: 600, node 1: 600)". */
char *ql_hugepages_describe_shortfall (const QlHugepagePool *pool, guint64 pages, int node);

/* The pool's directory relative to sysfs: node -1 is the host-wide one. */
char *ql_hugepages_pool_dir (guint64 page_kib, int node);

/* The page size and node (-1: host-wide) of a pool directory as
 * ql_hugepages_pool_dir () spells it; FALSE for anything else. */
gboolean ql_hugepages_parse_pool_dir (const char *pool_dir, guint64 *ret_page_kib, int *ret_node);

/* "2 MiB", "1 GiB" */
char *ql_hugepages_page_name (guint64 page_kib);
