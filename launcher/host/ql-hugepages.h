#pragma once

#include <glib.h>
#include "ql-hugepage-pool.h"

/* Reading the kernel's hugepage pools, and growing or shrinking them as root. */

QlHugepagePool *ql_hugepages_read (const char *sysfs, guint64 page_kib, GError **error);

/* Grows the pool at pool_dir (ql_hugepages_pool_dir ()) from before to before + pages,
 * compacting memory first (PROCFS/sys/vm/compact_memory).  Fewer pages than
 * asked is an error, after which the pool keeps what it got: the caller
 * shrinks it back. */
gboolean ql_hugepages_grow (const char *sysfs, const char *procfs, const char *pool_dir, guint64 pages,
                            guint64 before, GError **error);

/* Shrinks the pool at pool_dir by pages, never below floor. */
gboolean ql_hugepages_shrink (const char *sysfs, const char *pool_dir, guint64 pages, guint64 floor,
                              guint64 *ret_total, GError **error);

/* The pool's nr_hugepages now. */
gboolean ql_hugepages_read_total (const char *sysfs, const char *pool_dir, guint64 *ret_total, GError **error);
