#pragma once

#include <glib.h>

#define QL_ERROR (ql_error_quark ())
GQuark ql_error_quark (void);

/* Error codes of QL_ERROR, the domain of everything qlaunch reports itself. */
typedef enum {
  QL_ERROR_FAILED,        /* anything without a more specific code */
  QL_ERROR_PROFILE,       /* the profile is invalid; the message lists every problem, one per line */
  QL_ERROR_NOT_FOUND,     /* a named profile, VM or file does not exist */
  QL_ERROR_BUSY,          /* the VM is already running (its lock is held) */
  QL_ERROR_NOT_RUNNING,   /* the VM is not running */
  QL_ERROR_HOST,          /* the host lacks something the profile needs (firmware, QEMU, KVM) */
  QL_ERROR_QEMU,          /* QEMU failed to start or ended badly */
  QL_ERROR_TIMEOUT,       /* something did not happen in the time allowed */
} QlError;

/* Sets a G_IO_ERROR from errsv (an errno value) with the message
 * "FORMAT…: strerror"; returns FALSE, for "return ql_error_set_errno (…);". */
gboolean ql_error_set_errno (GError **error, int errsv, const char *format, ...) G_GNUC_PRINTF (3, 4);
