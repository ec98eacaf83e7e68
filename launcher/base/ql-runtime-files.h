#pragma once

/* The files of a VM, by name: in its runtime dir (ql_paths_runtime_dir ())
 * while it runs, and in its state dir (ql_paths_state_dir ()) for good.
 * Every module names them from here. */

#define QL_RUNTIME_LOCK "lock"                  /* flock()ed by the supervisor for the VM's life */
#define QL_RUNTIME_STATE "state.json"           /* what the supervisor runs: PIDs, start time */
#define QL_RUNTIME_JOURNAL "journal.json"       /* host changes made, to undo */
#define QL_RUNTIME_QMP_SOCKET "qmp.sock"        /* the supervisor's QMP relay: status, pin, console, scripts */
#define QL_RUNTIME_STOP_REQUEST "stop-request.json"
#define QL_RUNTIME_PIN_PLAN "pin.json"          /* the pinning the supervisor applied */
#define QL_RUNTIME_SSDT "qlaunch-ssdt.aml"      /* qlaunch's generated SSDT, read by QEMU */
#define QL_RUNTIME_DISPLAY_DIR "display"       /* QEMU's own (its run-as user's, 0700): it makes its socket there */
#define QL_RUNTIME_SPICE_SOCKET QL_RUNTIME_DISPLAY_DIR "/spice.sock" /* QEMU's SPICE server, without listen= (QEMU leaves it behind) */
#define QL_RUNTIME_SERIAL_LOG "serial.log"
#define QL_RUNTIME_QEMU_LOG "qemu.log"

#define QL_STATE_NVRAM "OVMF_VARS.fd"           /* the VM's UEFI variables */
#define QL_STATE_MACHINE_TYPE "machine-type.json" /* {"machine": "pc-q35-7.2"}: pinned at the first start */
#define QL_STATE_LAST_EXIT "last-exit.json"     /* how the last run ended */

/* What a run leaves in the runtime dir besides the lock, the journal and
 * the logs: removed when the run ends, and by 'qlaunch recover'. */
#define QL_RUNTIME_RUN_FILES \
  QL_RUNTIME_QMP_SOCKET, QL_RUNTIME_STATE, QL_RUNTIME_STOP_REQUEST, QL_RUNTIME_PIN_PLAN, QL_RUNTIME_SSDT, \
  QL_RUNTIME_SPICE_SOCKET

/* Removed after the run files, when empty. */
#define QL_RUNTIME_RUN_DIRS QL_RUNTIME_DISPLAY_DIR

/* Moved to the state dir when a run ends, where they outlive it. */
#define QL_RUNTIME_LOG_FILES QL_RUNTIME_SERIAL_LOG, QL_RUNTIME_QEMU_LOG
