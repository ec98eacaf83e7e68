#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <sched.h>
#include "ql-pin-plan.h"

/* QEMU's threads and their CPU affinity: found from QMP replies and
 * /proc/PID/task, set with sched_setaffinity. */

typedef enum {
  QL_PIN_THREAD_VCPU,
  QL_PIN_THREAD_IOTHREAD,
  QL_PIN_THREAD_EMULATOR,    /* every other thread of QEMU */
} QlPinThreadKind;

typedef struct {
  QlPinThreadKind kind;
  guint index;               /* vCPU index, iothread number (ioN) */
  gint64 tid;
  char *name;                /* the thread's comm, e.g. "CPU 0/TCG" */
} QlPinThread;


/* cpus_fast and iothreads: the returns of query-cpus-fast and query-iothreads. */
GPtrArray *ql_pin_list_threads (gint64 qemu_pid, JsonNode *cpus_fast, JsonNode *iothreads, GError **error);


/* [{"thread": "vCPU 0", "kind": "vcpu", "index": 0, "tid": N, "name": "CPU 0/TCG", "cpus": "1"}, ...] with
 * each thread's affinity as the kernel has it now. */
JsonNode *ql_pin_threads_to_json (gint64 qemu_pid, const GPtrArray *threads);

/* Sets every thread's affinity from the plan; a thread of a kind the plan
 * leaves unpinned gets the caller's own affinity (all CPUs, normally), so
 * that re-applying a plan also undoes an earlier one. */
gboolean ql_pin_apply (const GPtrArray *threads, const QlPinPlan *plan, GError **error);

void ql_pin_to_cpu_set (const GArray *cpus, cpu_set_t *set);

/* Cpus_allowed_list of /proc/PID/task/TID/status, or NULL when the thread is gone. */
char *ql_pin_read_affinity (gint64 pid, gint64 tid);

/* "vCPU 0", "iothread io1", "emulator thread" */
char *ql_pin_thread_describe (const QlPinThread *thread);
