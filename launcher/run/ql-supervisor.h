#pragma once

#include "ql-stages.h"
#include <glib.h>
#include "ql-machine.h"

/* The stop ladder's grace after QMP quit, and after SIGTERM, before the next rung. */
#define QL_SUPERVISOR_QUIT_GRACE_S 5
#define QL_SUPERVISOR_TERM_GRACE_S 5

/* Exit statuses of 'qlaunch start' (foreground), also in last-exit.json. */
typedef enum {
  QL_EXIT_POWEROFF = 0,      /* the guest powered itself off (on its own or after the power button) */
  QL_EXIT_START_FAILED = 1,  /* the VM never ran: bad profile, host problem, QEMU refused */
  QL_EXIT_CRASHED = 2,       /* QEMU died without being asked: crash, kill from outside, guest panic */
  QL_EXIT_FORCED = 3,        /* stopped by the host: the guest ignored the power button, or 'qlaunch kill' */
} QlExitStatus;

typedef struct {
  const QlMachine *machine;
  const char *const *argv;
  gboolean echo_console;     /* relay the guest's serial console to stdout */
  int ready_fd;              /* -1, or a pipe that gets "READY\n" once the VM runs */
  QlStages *stages;          /* NULL, or where the start's stages are timed (and shown) */
} QlSupervisorOptions;

/* Runs the VM to its end: takes the lock, prepares the state dir, starts
 * QEMU paused, connects QMP, continues it, supervises, stops it on
 * SIGTERM/SIGINT/SIGHUP with the stop ladder, and tears down.  Returns the
 * exit status; on QL_EXIT_START_FAILED error says why.  Whatever happens,
 * no QEMU, lock, socket or newly made state remains of a failed start. */
QlExitStatus ql_supervisor_run (const QlSupervisorOptions *options, GError **error);

/* A stop request as 'qlaunch stop' and 'qlaunch kill' leave it for the supervisor. */
gboolean ql_supervisor_request_stop (const char *runtime_dir, gboolean force, guint timeout_s,
                                     GError **error);
