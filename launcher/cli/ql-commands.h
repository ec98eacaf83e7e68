#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "ql-qmp-client.h"
#include "ql-runtime.h"

/* Verb handlers: argv[0] is "qlaunch VERB"; each returns the process exit status. */
int ql_cmd_start (int argc, char **argv);
int ql_cmd_stop (int argc, char **argv);
int ql_cmd_kill (int argc, char **argv);
int ql_cmd_status (int argc, char **argv);
int ql_cmd_argv (int argc, char **argv);
int ql_cmd_list (int argc, char **argv);
int ql_cmd_devices (int argc, char **argv);
int ql_cmd_plan (int argc, char **argv);
int ql_cmd_check (int argc, char **argv);
int ql_cmd_bind (int argc, char **argv);
int ql_cmd_unbind (int argc, char **argv);
int ql_cmd_recover (int argc, char **argv);
int ql_cmd_host_setup (int argc, char **argv);
int ql_cmd_pin (int argc, char **argv);
int ql_cmd_hugepages (int argc, char **argv);
int ql_cmd_rom (int argc, char **argv);
int ql_cmd_acpi (int argc, char **argv);
int ql_cmd_unit (int argc, char **argv);
int ql_cmd_qmp (int argc, char **argv);
int ql_cmd_events (int argc, char **argv);
int ql_cmd_console (int argc, char **argv);
int ql_cmd_detach (int argc, char **argv);
int ql_cmd_attach (int argc, char **argv);
int ql_cmd_import (int argc, char **argv);
int ql_cmd_export (int argc, char **argv);
int ql_cmd_view (int argc, char **argv);

/* QMP to a running VM (through its supervisor's relay), handshake done;
 * QL_ERROR_NOT_RUNNING when it is not running or still starting. */
QlQmpClient *ql_cmd_connect_vm (const char *name, guint timeout_ms, QlRuntimeState **ret_state, GError **error);
/* Asks the supervisor of a running VM to run its stop ladder; returns at once. */
gboolean ql_cmd_request_stop (const char *name, const QlRuntimeState *state, gboolean force, guint timeout_s,
                              GError **error);

/* Parses the verb's options; prints the error and returns FALSE on bad usage. */
gboolean ql_cmd_parse (GOptionContext *context, int *argc, char ***argv, int min_args, int max_args);
/* Prints QEMU's threads (ql_pin_threads_to_json) with their host CPUs, one line per
 * vCPU and iothread, the emulator threads grouped by affinity. */
void ql_cmd_print_threads (JsonArray *threads);
/* A VM name from the command line: FALSE, with the reason printed, unless it
 * is a name a profile could have (no '/', no leading '.' or '-', …), so that
 * no verb reads or signals anything outside the VM's own directories. */
gboolean ql_cmd_check_vm_name (const char *name);
/* For g_ptr_array_sort () of strings (it passes pointers to the elements). */
int ql_cmd_compare_strings (gconstpointer a, gconstpointer b);
/* Prints node as pretty JSON to stdout. */
void ql_cmd_print_json (JsonNode *node);
/* Prints "qlaunch: MESSAGE" (every line of it) to stderr. */
void ql_cmd_print_error (const GError *error);
