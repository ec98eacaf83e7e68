#pragma once

#include <glib.h>
#include "ql-host-plan.h"

/* [host] handover on the host: framebuffer vtconsoles, platform
 * framebuffers and kernel modules.  sysfs is "/sys" or a test's tree;
 * every write has a timeout (ql_sysfs_write ()).  The names come from a
 * plan or a validated journal step, so they are safe in paths. */

#define QL_HANDOVER_UNIT_TIMEOUT_MS 90000    /* systemd's DefaultTimeoutStopSec= */
#define QL_HANDOVER_MODULE_TIMEOUT_MS 30000

/* The vtconN under class/vtconsole that are bound (bind = 1) to a
 * framebuffer console (name says "frame buffer"), in order. */
GPtrArray *ql_handover_read_vtconsoles (const char *sysfs);

/* The devices bound to efi-framebuffer, simple-framebuffer and
 * vesa-framebuffer (QlHostFramebuffer*). */
GPtrArray *ql_handover_read_framebuffers (const char *sysfs);

QlHostModuleState ql_handover_module_state (const char *sysfs, const char *name);

/* Writes 0 (bind: 1) to class/vtconsole/NAME/bind. */
gboolean ql_handover_vtconsole_bind (const char *sysfs, const char *name, gboolean bind, GError **error);

/* Writes device to bus/platform/drivers/DRIVER/unbind (bind: bind). */
gboolean ql_handover_framebuffer_bind (const char *sysfs, const char *driver, const char *device, gboolean bind,
                                       GError **error);

/* Who uses a loaded module ("used 2 times; held by modules a, b"), or NULL
 * when nothing does (module/NAME/refcnt and module/NAME/holders/). */
char *ql_handover_module_users (const char *sysfs, const char *name);

/* Unloads a module that nothing uses: delete_module (2) with O_NONBLOCK,
 * in a child with timeout_ms.  A module with users is refused, naming them;
 * one that is not loaded (any more) is fine. */
gboolean ql_handover_module_unload (const char *sysfs, const char *name, guint timeout_ms, GError **error);

/* modprobe NAME (argv, no shell), killed after timeout_ms: modprobe finds
 * the file, its dependencies and the options in /etc/modprobe.d, which
 * finit_module (2) would leave to qlaunch. */
gboolean ql_handover_module_load (const char *name, guint timeout_ms, GError **error);
