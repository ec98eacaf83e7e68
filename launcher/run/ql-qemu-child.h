#pragma once

#include <gio/gio.h>
#include "ql-net-host.h"

/* QEMU as the supervisor's child: spawned with GLib and watched through a
 * pidfd in the supervisor's own main loop.  A GSubprocess would reap it from
 * GLib's worker thread instead: one thread more, which keeps the
 * capabilities the supervisor drops, and a hop through that thread between
 * QEMU's end and the teardown. */

typedef struct QlQemuChild QlQemuChild;

typedef void (*QlQemuChildExited) (QlQemuChild *child, gpointer user_data);

/* Spawns argv (looked up in PATH) with stdin from /dev/null, stdout and
 * stderr into one pipe (ql_qemu_child_output), and each of passed_fds at
 * its target number; passed_fds' fds are closed here, spawned or not. */
QlQemuChild *ql_qemu_child_spawn (const char *const *argv, GArray *passed_fds, GSpawnChildSetupFunc child_setup,
                                  GError **error);

GPid ql_qemu_child_pid (const QlQemuChild *child);

/* QEMU's stdout and stderr, merged; owned by the child. */
GInputStream *ql_qemu_child_output (QlQemuChild *child);

/* Calls exited from the thread-default main context once QEMU has ended
 * and was reaped. */
void ql_qemu_child_watch (QlQemuChild *child, QlQemuChildExited exited, gpointer user_data);

/* Until QEMU is reaped its PID cannot be another process's: kill() is safe. */
void ql_qemu_child_signal (QlQemuChild *child, int sig);

gboolean ql_qemu_child_has_exited (const QlQemuChild *child);

/* The wait status (as waitpid gives it); only once has_exited. */
int ql_qemu_child_wait_status (const QlQemuChild *child);

void ql_qemu_child_free (QlQemuChild *child);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlQemuChild, ql_qemu_child_free)
