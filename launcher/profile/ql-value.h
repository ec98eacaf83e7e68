#pragma once

#include <glib.h>

/* Parsers for profile values: each returns FALSE and a message (without
 * location) that says what is wrong and what is accepted. */

/* "512M", "8G", "1.5G", "2MiB", "4096K": a number with a binary unit K, M, G
 * or T (optionally followed by "iB" or "B").  A bare number is refused
 * because QEMU reads it as MiB and users read it as bytes. */
gboolean ql_value_parse_size (const char *text, guint64 *ret_bytes, char **ret_message);

/* A decimal or 0x-hex unsigned integer within [min, max]. */
gboolean ql_value_parse_uint (const char *text, guint64 min, guint64 max, guint64 *ret_value,
                              char **ret_message);

/* Host CPU numbers as the kernel writes them: "0-3,8,10-11".  The list
 * keeps the written order (vCPU i goes to the i-th CPU) and may repeat a
 * CPU; ret holds guint. */
#define QL_VALUE_CPU_MAX 8191
gboolean ql_value_parse_cpu_list (const char *text, GArray **ret_cpus, char **ret_message);

/* cpus as written, in order: "5,4,4" (what ql_value_parse_cpu_list reads back). */
char *ql_value_format_cpu_list (const GArray *cpus);

/* The set of CPUs in cpus as a sorted kernel cpulist ("0-3,8"); "" when empty. */
char *ql_value_format_cpu_set (const GArray *cpus);

/* "1 GiB", "512 MiB", "1.5 GiB": for messages. */
char *ql_value_format_size (guint64 bytes);

/* Levenshtein distance, for "did you mean" suggestions. */
guint ql_value_edit_distance (const char *a, const char *b);

/* A listen address: "HOST:PORT", "[IPV6]:PORT", "HOST", "[IPV6]", a bare
 * IPv6 address, or "PORT" alone; a missing part is NULL / 0.  FALSE with a
 * message when the port is not 0..65535. */
gboolean ql_value_parse_listen (const char *text, char **ret_host, guint *ret_port, char **ret_message);

/* Whether host (as ql_value_parse_listen gives it; NULL: QEMU's default,
 * every address) is only reachable from this machine. */
gboolean ql_value_host_is_loopback (const char *host);

/* A systemd unit name a dependency can name: PREFIX[@INSTANCE].TYPE of at
 * most 255 characters from [A-Za-z0-9:_.\\@-], with a known unit type; a
 * template without an instance ("foo@.service") is refused. */
/* "pc-q35-X.Y" (also pc-q35-X.Y.Z): the versioned q35 machine types qlaunch pins. */
gboolean ql_value_machine_type_is_valid (const char *name);

gboolean ql_value_unit_name_is_valid (const char *name, char **ret_message);

/* A kernel module name as modprobe takes it: 1-55 letters, digits, '_'
 * and '-' (the kernel's MODULE_NAME_LEN with its NUL). */
gboolean ql_value_module_name_is_valid (const char *name, char **ret_message);

/* A user name as useradd accepts it by default (NAME_REGEX). */
gboolean ql_value_user_name_is_valid (const char *name, char **ret_message);
