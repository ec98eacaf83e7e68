#pragma once

#include <glib.h>

/* The kernel's hugepage pools (SYSFS/kernel/mm/hugepages and the per-node
 * ones under SYSFS/devices/system/node): what a VM needs from them, and
 * growing or shrinking them as root. */

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

QlHugepagePool *ql_hugepages_read (const char *sysfs, guint64 page_kib, GError **error);

/* Pages a new mapping can have: on node (or anywhere with -1). */
guint64 ql_hugepages_available (const QlHugepagePool *pool, int node);

/* "4096 × 2 MiB on node 0, 1200 free" or "…, 1200 free (node 0: 600, node 1: 600)". */
char *ql_hugepages_describe_shortfall (const QlHugepagePool *pool, guint64 pages, int node);

/* The pool's directory relative to sysfs: node -1 is the host-wide one. */
char *ql_hugepages_pool_dir (guint64 page_kib, int node);

/* Grows the pool of node (-1: host-wide) from before to before + pages,
 * compacting memory first.  Fewer pages than asked is an error, after
 * which the pool keeps what it got: the caller shrinks it back. */
gboolean ql_hugepages_grow (const char *sysfs, guint64 page_kib, int node, guint64 pages, guint64 before,
                            GError **error);

/* Shrinks the pool at pool_dir by pages, never below floor. */
gboolean ql_hugepages_shrink (const char *sysfs, const char *pool_dir, guint64 pages, guint64 floor,
                              guint64 *ret_total, GError **error);

/* The pool's nr_hugepages now. */
gboolean ql_hugepages_read_total (const char *sysfs, const char *pool_dir, guint64 *ret_total, GError **error);

/* "2 MiB", "1 GiB" */
char *ql_hugepages_page_name (guint64 page_kib);
