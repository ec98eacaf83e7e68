#pragma once

#include <glib.h>
#include <sys/types.h>

/* The supervisor confines itself once QEMU runs and the host side is done,
 * before the guest runs a single instruction: a seccomp filter
 * (ql-confine-seccomp.c) on every thread, with no_new_privs.  steps are the
 * run's journal (QlHostStep): what teardown will undo decides what the
 * filter must still allow.
 *
 * QLAUNCH_CONFINE=off leaves the supervisor unconfined, with a warning: for
 * a user whose supervisor the filter killed (the kernel's audit log names
 * the syscall) until the list is fixed.  QLAUNCH_TEST_CONFINE_PROBE=1 makes
 * the supervisor try a syscall the filter forbids right after installing it
 * (the tests' proof that the filter is on; the supervisor is killed and
 * 'qlaunch recover' gives the host back).  Returns FALSE with error set when
 * the filter cannot be installed. */
gboolean ql_confine_supervisor (const char *name, pid_t qemu_pid, const GPtrArray *steps, GError **error);
