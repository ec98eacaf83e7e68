#pragma once

#include <glib.h>

/* How qlaunch logs: one GLib structured-log writer for the process.  On a
 * terminal (or a pipe), "PROGRAM: message" and "PROGRAM: warning: message"
 * lines on stderr, debug only when verbose.  Under systemd, when stderr is
 * the journal's stream (JOURNAL_STREAM), each message goes to journald
 * with its priority and the fields QLAUNCH_VM=NAME (once known) and
 * QLAUNCH_DEVICE=DDDD:BB:DD.F (when the message names a PCI device), so
 * that 'journalctl QLAUNCH_VM=win11' shows one VM's trail. */

/* Installs the writer; call once, early in main. */
void ql_log_setup (const char *program, gboolean verbose);

/* The VM this process runs for: QLAUNCH_VM= from now on. */
void ql_log_set_vm (const char *vm_name);

/* --quiet: messages and info no longer reach the terminal (warnings do;
 * the journal still gets everything). */
void ql_log_set_quiet (gboolean quiet);

/* A line that stays at the bottom of a terminal (a stage under way): drawn
 * now, redrawn below each message; NULL removes it.  For terminals only. */
void ql_log_set_status_line (const char *text);
/* A line of its own above the status line (a stage done). */
void ql_log_print_line (const char *text);

/* The first full PCI address ("0000:01:00.0") in message, or NULL. */
char *ql_log_find_device (const char *message);

/* The fields the journal gets for a message: fields as GLib made them, with
 * SYSLOG_IDENTIFIER, QLAUNCH_VM and QLAUNCH_DEVICE added where they apply.
 * The array refers to fields' strings and to *ret_device, which the caller
 * frees after use. */
GArray *ql_log_journal_fields (const GLogField *fields, gsize n_fields, char **ret_device);
