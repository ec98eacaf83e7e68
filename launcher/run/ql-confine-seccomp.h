#pragma once

#include <glib.h>
#include <sys/types.h>

/* What the supervisor still does once QEMU runs, beyond the fixed list. */
typedef struct {
  pid_t qemu_pid;          /* the only process kill(2) may signal */
  gboolean run_modprobe;   /* teardown loads modules again ([host] unload-modules): execve and
                            * what modprobe itself needs, since the filter is inherited */
} QlConfineSeccompOptions;

/* Installs the supervisor's seccomp filter on every thread of the process
 * (TSYNC): the syscalls listed in ql-confine-seccomp.c are allowed, any
 * other kills the whole process and is logged by the kernel (audit, type
 * 1326, with the syscall number).  Sets no_new_privs first, as the kernel
 * requires of a process without CAP_SYS_ADMIN.  Irreversible.  Returns FALSE
 * with error set (and nothing installed) when the kernel refuses. */
gboolean ql_confine_seccomp_install (const QlConfineSeccompOptions *options, GError **error);
