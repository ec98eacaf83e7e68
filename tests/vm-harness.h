#pragma once

#include "ql-qmp-client.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <sys/types.h>

/* Set by vm_harness_init: a temp root with the runtime and state bases
 * every qlaunch of the test uses, the source tree, the qlaunch binary, and
 * why VM tests cannot run here (NULL when they can). */
extern char *tmp_root;
extern char *runtime_base;
extern char *state_base;
extern char *source_root;
extern const char *qlaunch;
extern char *skip_reason;

/* When set, run_qlaunch runs qlaunch as this user, with runtime and state
 * dirs of its own. */
extern uid_t run_as_uid;

void vm_harness_init (void);

/* "data/x.ini": tests/data/profiles/x.ini; an absolute path as it is; otherwise profiles/NAME. */
char *profile_path (const char *name);
gchar **child_env (void);

/* Runs qlaunch ARGS..., NULL to completion; returns its exit status. */
int run_qlaunch (char **ret_out, char **ret_err, ...) G_GNUC_NULL_TERMINATED;
/* A foreground 'qlaunch start', as systemd would run it. */
GSubprocess *start_foreground (const char *profile);
/* 'qlaunch start [--detach] PROFILE', not waited for. */
GSubprocess *start_process (const char *profile, gboolean detach);
JsonObject *status_json (const char *name);
/* "qemu-pid" or "supervisor-pid" of a running VM */
gint64 status_pid (const char *name, const char *member);
/* SIGKILL to a running VM's supervisor; returns once its lock is free. */
void kill_supervisor (const char *name);
/* The same, for the supervisor known by pid: without asking the VM's status. */
void kill_supervisor_pid (const char *name, gint64 pid);
void wait_running (const char *name);
int wait_exit (GSubprocess *proc, char **ret_stdout);
char *runtime_file (const char *name, const char *file);
JsonObject *last_exit (const char *name);
/* Nothing of a VM's run is left on the host: no lock, socket, or runtime dir. */
void assert_nothing_left (const char *name);

/* The steps of 'qlaunch plan --json PROFILE' (a JSON array). */
JsonNode *plan_steps (const char *profile);
/* The running VM's journal holds exactly the planned steps, in order. */
void assert_journal_is_plan (const char *name, JsonNode *steps);

QlQmpClient *qmp_connect (const char *name);
/* A profile of the test guest in the test's temp dir, returned as its
 * path: [vm] name, TCG, the guest's kernel in ql.mode=mode, then vm_lines
 * (more [vm] keys, or "") and sections (more sections, or ""). */
char *write_guest_profile (const char *name, const char *mode, const char *vm_lines, const char *sections);
/* A command with string arguments: NAME, VALUE, ..., NULL. */
JsonNode *qmp_with (QlQmpClient *client, const char *command, ...) G_GNUC_NULL_TERMINATED;
JsonNode *qmp (QlQmpClient *client, const char *command);

/* The guest's serial log once it holds needle. */
char *wait_serial (const char *name, const char *needle);
gboolean skip_if_unavailable (void);

/* Taps and bridges of the test's own: moves this process into a network
 * namespace of its own when it can (root, /dev/net/tun, the tools named,
 * NULL-terminated, on PATH); else vm_net_skip_reason says why not. */
extern char *vm_net_skip_reason;
void vm_harness_enter_netns (const char *what, ...) G_GNUC_NULL_TERMINATED;
/* skip_if_unavailable (), or the test SKIPs with vm_net_skip_reason. */
gboolean skip_if_no_net (void);

/* A process that looks like a QEMU to anyone who only reads its name
 * (a child of the test; stop it with stop_stand_in). */
GPid stand_in_qemu (void);
gboolean stand_in_alive (GPid pid);
void stop_stand_in (GPid pid);
void remove_tree (const char *path);
