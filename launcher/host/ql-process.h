#pragma once

#include <glib.h>

/* A process known by more than its number: its PID and the time it started
 * (field 22 of /proc/PID/stat, clock ticks after boot), so that a PID that
 * was reused by another process is never signalled by mistake. */
typedef enum {
  QL_PROCESS_ANY,            /* only PID and start time are compared */
  QL_PROCESS_QLAUNCH,        /* and it runs this qlaunch binary (a supervisor) */
  QL_PROCESS_QEMU,           /* and it runs a qemu* binary (qemu-system-x86_64, qemu-kvm) */
} QlProcessKind;

typedef struct {
  gint64 pid;
  guint64 start_time;
  QlProcessKind kind;        /* set by whoever reads the PID, never from the file */
} QlProcessId;

#define QL_PROCESS_PID_MAX 4194304     /* the kernel's PID_MAX_LIMIT */

/* 1 < pid <= QL_PROCESS_PID_MAX: never init, never a process group or -1. */
gboolean ql_process_pid_valid (gint64 pid);

/* The start time of a live process; FALSE with G_IO_ERROR_NOT_FOUND once it is gone. */
gboolean ql_process_start_time (const char *procfs, gint64 pid, guint64 *ret_start_time, GError **error);

/* This process, now. */
QlProcessId ql_process_self (const char *procfs);

/* Whether id still names the process it named: alive, the same start time,
 * and the binary its kind says (a start time can be read by anyone). */
gboolean ql_process_is_alive (const char *procfs, const QlProcessId *id);

/* Sends sig to id through a pidfd, after checking through that pidfd's
 * process that it is still id: FALSE with G_IO_ERROR_NOT_FOUND when the
 * process is gone or the PID now belongs to another one. */
gboolean ql_process_signal (const char *procfs, const QlProcessId *id, int sig, GError **error);

/* What a process has in memory: its resident set and its hugetlb pages
 * (VmRSS + HugetlbPages of /proc/PID/status), in bytes; 0 when unknown. */
guint64 ql_process_memory_bytes (const char *procfs, gint64 pid);

/* Waits until id is gone, at most timeout_ms; TRUE when it is. */
gboolean ql_process_wait_gone (const char *procfs, const QlProcessId *id, guint timeout_ms);

/* A supervisor runs the qlaunch binary; by default that is this process's
 * own.  A helper qlaunch execs (qlaunch-console) names qlaunch's here. */
void ql_process_set_qlaunch_binary (const char *path);
