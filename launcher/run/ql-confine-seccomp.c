#include "ql-confine-seccomp.h"
#include "ql-error.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

/* The supervisor's allow list.  Once QEMU runs, the supervisor only: waits
 * in GLib's main loop, talks QMP to QEMU and relays it to clients of
 * qmp.sock, relays the serial console, logs (journald socket, stderr),
 * notifies systemd and feeds its watchdog, signals QEMU on the stop ladder,
 * and tears down: sysfs writes, netlink to delete taps and bridges, D-Bus to
 * systemd, unlink and rename of its runtime and state files.  What it never
 * does again, and a compromised supervisor would want, is absent: execve,
 * ptrace, mount, namespaces (unshare, setns, clone flags), module loading,
 * bpf, keyrings, io_uring, uid/gid changes, reboot and kexec.  Each name is
 * resolved on the build's architecture; one it lacks (open on arm64) is
 * skipped. */
typedef struct {
  const char *name;
  const char *why;
} Allowed;

static const Allowed allowed[] = {
  /* memory: malloc, thread stacks, GLib's slices */
  { "brk", "malloc's heap" },
  { "mmap", "malloc's large blocks, thread stacks" },
  { "munmap", "freeing them" },
  { "mremap", "realloc of large blocks" },
  { "mprotect", "thread stack guard pages" },
  { "madvise", "free memory given back (glibc's malloc trim)" },
  /* threads: GLib's worker threads (GDBus, the async I/O pool) */
  { "futex", "mutexes and condition variables" },
  { "set_robust_list", "every new thread" },
  { "rseq", "every new thread (glibc ≥ 2.35)" },
  { "sched_yield", "spin loops in GLib's locks" },
  { "sched_getaffinity", "GLib's thread pool sizes itself by the CPUs it may use" },
  { "sched_getattr", "GLib's thread pool gives a new thread its creator's scheduling" },
  { "sched_setattr", "the same, applied by the new thread (to its own tid: no rule can name it; "
                     "raising a priority would need CAP_SYS_NICE)" },
  { "exit", "a thread ends" },
  { "exit_group", "the supervisor ends" },
  /* the main loop */
  { "poll", "GMainContext waits on its fds" },
  { "ppoll", "the same, in newer glibc" },
  { "eventfd2", "GMainContext's wakeup" },
  { "pipe2", "GLib's wakeup where eventfd is missing; a modprobe's stderr" },
  { "epoll_create1", "GIO asks whether a new fd is pollable (a GUnixInputStream: modprobe's stderr)" },
  { "epoll_ctl", "the same question's second half" },
  { "read", "QMP, the console, sysfs and journal reads" },
  { "write", "QMP, the console relay, stderr, sysfs writes" },
  { "readv", "GIO streams" },
  { "writev", "GIO streams, stderr logging" },
  { "pread64", "GIO and glibc read files at an offset" },
  { "pwrite64", "the same, writing" },
  { "lseek", "rewinding sysfs attributes before a second read" },
  { "close", "every fd" },
  { "close_range", "GLib closes inherited fds in a child" },
  { "dup", "GIO duplicates fds it hands out" },
  { "dup2", "a child's stdio" },
  { "dup3", "the same, with O_CLOEXEC" },
  { "fcntl", "O_NONBLOCK and FD_CLOEXEC; memfd seals for large journal entries" },
  { "rt_sigaction", "the stop signals' handlers put back at the end (run/ql-stop-signals.c)" },
  { "rt_sigprocmask", "signals blocked around thread creation" },
  { "rt_sigreturn", "return from a signal handler" },
  { "sigaltstack", "a thread's alternate signal stack" },
  { "restart_syscall", "a syscall interrupted by a signal resumes" },
  { "clock_gettime", "timeouts (vDSO fallback)" },
  { "clock_nanosleep", "the sysfs writes' polling between retries" },
  { "nanosleep", "the same, older glibc" },
  { "gettimeofday", "log timestamps (vDSO fallback)" },
  /* identity, read only */
  { "getpid", "logging, the journal's process ids" },
  { "gettid", "logging" },
  { "getppid", "GLib's child setup compares it" },
  { "getuid", "D-Bus authentication, paths" },
  { "geteuid", "the same" },
  { "getgid", "the same" },
  { "getegid", "the same" },
  { "getresuid", "GDBus's credentials" },
  { "getresgid", "GDBus's credentials" },
  { "uname", "GLib and glibc ask the kernel's version" },
  { "getrandom", "GLib's hash table seeds, D-Bus GUIDs" },
  { "getcwd", "GLib makes a relative path absolute" },
  { "umask", "GLib reads the umask for a file it creates" },
  /* files: runtime and state files, sysfs, procfs */
  { "openat", "runtime files, sysfs attributes, /proc of QEMU" },
  { "open", "the same, older callers" },
  { "newfstatat", "g_file_test, stat of sysfs and runtime files" },
  { "fstat", "the same, on an fd" },
  { "statx", "GIO file queries" },
  { "stat", "the same, older callers" },
  { "lstat", "the same" },
  { "statfs", "GIO file queries" },
  { "fstatfs", "the same" },
  { "readlink", "a device's driver link in sysfs" },
  { "readlinkat", "the same" },
  { "access", "g_file_test" },
  { "faccessat", "the same" },
  { "faccessat2", "the same, newer glibc" },
  { "getdents64", "listing sysfs and /proc directories" },
  { "unlink", "the runtime files, qmp.sock, a removed SSDT" },
  { "unlinkat", "the same" },
  { "rename", "logs kept in the state dir, atomic file writes" },
  { "renameat", "the same" },
  { "renameat2", "the same" },
  { "mkdir", "the state dir for kept logs" },
  { "mkdirat", "the same" },
  { "rmdir", "the runtime dir at the end" },
  { "fsync", "g_file_set_contents: the journal and last-exit.json" },
  { "fdatasync", "the same" },
  { "ftruncate", "rewriting a file in place" },
  { "fallocate", "g_file_set_contents reserves the file's size first" },
  { "fchmod", "a written file's mode" },
  { "fchmodat", "chmod, as newer glibc makes it" },
  { "flock", "the VM's lock" },
  /* the logs moved from /run to /var/lib: another file system, so copied
   * (ql-log-move.c), with their times, mode and owner */
  { "utimensat", "the copy keeps the log's times" },
  { "chmod", "a run-as chown undone: the file's mode back, through its O_PATH fd" },
  { "fchownat", "the copy keeps the log's owner (its own: no CAP_CHOWN needed); a run-as chown undone" },
  { "lgetxattr", "GIO reads a file's SELinux context" },
  { "memfd_create", "the journald writer sends a large entry as a sealed memfd" },
  /* sockets: QMP, qmp.sock clients, journald, sd_notify, D-Bus, netlink */
  { "connect", "journald, NOTIFY_SOCKET, the D-Bus system bus" },
  { "accept", "clients of qmp.sock (GSocket)" },
  { "accept4", "the same, with flags" },
  { "bind", "libnl binds its netlink socket" },
  { "listen", "qmp.sock, the relay's socket, made after the supervisor confined itself (no pinning)" },
  { "sendmsg", "QMP (with fds), journald, sd_notify, D-Bus, netlink" },
  { "recvmsg", "the same, receiving" },
  { "sendto", "the same" },
  { "recvfrom", "the same" },
  { "getsockopt", "SO_ERROR, SO_PEERCRED (D-Bus)" },
  { "setsockopt", "SO_PASSCRED (D-Bus), netlink buffer sizes" },
  { "getsockname", "GSocket, libnl" },
  { "getpeername", "GSocket" },
  { "shutdown", "closing a relay client" },
  /* QEMU, the child */
  { "wait4", "reaping QEMU once its pidfd says it ended (run/ql-qemu-child.c)" },
  { "waitid", "the same, by GLib's child watch where pidfd_open is missing" },
  { "pidfd_open", "GLib's child watch (a modprobe run through GSubprocess)" },
};

/* More for the sanitizer builds the tests run (meson defines
 * QL_SANITIZER_BUILD with b_sanitize): LeakSanitizer stops the world at exit
 * by ptrace from a cloned thread, and a report may run a symbolizer.  A
 * release build has none of these. */
static const Allowed sanitizer_allowed[] = {
  { "ptrace", "LeakSanitizer suspends the threads to scan their stacks" },
  { "execve", "a sanitizer report's external symbolizer" },
  { "sched_getparam", "sanitizer runtime" },
  { "mincore", "sanitizer runtime: is an address mapped" },
  { "getdents", "LeakSanitizer's tracer lists /proc/self/task" },
  { "prctl", "PR_SET_PDEATHSIG, PR_SET_PTRACER, PR_{GET,SET}_DUMPABLE in LeakSanitizer's tracer" },
};

/* What modprobe, run under the inherited filter, needs on top of the list. */
static const Allowed modprobe_allowed[] = {
  { "execve", "run modprobe ([host] unload-modules gives modules back)" },
  { "vfork", "posix_spawn of modprobe" },
  { "arch_prctl", "the dynamic loader sets up TLS" },
  { "set_tid_address", "the dynamic loader" },
  { "finit_module", "the load itself (CAP_SYS_MODULE is kept for it)" },
  { "init_module", "the same, for a compressed module libkmod decompresses" },
};

static gboolean
add_list (scmp_filter_ctx ctx, const Allowed *list, gsize n, GError **error)
{
  for (gsize i = 0; i < n; i++)
    {
      int nr = seccomp_syscall_resolve_name (list[i].name);
      int r;

      if (nr == __NR_SCMP_ERROR)
        continue;
      r = seccomp_rule_add (ctx, SCMP_ACT_ALLOW, nr, 0);
      /* -EEXIST: on two lists (execve for modprobe and for a sanitizer) */
      if (r < 0 && r != -EEXIST)
        return ql_error_set_errno (error, -r, "seccomp: cannot allow %s", list[i].name);
    }
  return TRUE;
}

/* The syscalls allowed only with some arguments. */
static gboolean
add_conditional (scmp_filter_ctx ctx, const QlConfineSeccompOptions *options, GError **error)
{
  const guint64 namespaces = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC |
                             CLONE_NEWUTS | CLONE_NEWCGROUP;
  struct {
    const char *what;
    int r;
  } rules[] = {
    /* the stop ladder's SIGTERM and SIGKILL go to QEMU and nobody else */
    { "kill (QEMU)", seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (kill), 1,
                                       SCMP_A0 (SCMP_CMP_EQ, (scmp_datum_t) options->qemu_pid)) },
    /* raise() and abort() signal the supervisor's own threads */
    { "tgkill (self)", seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (tgkill), 1,
                                         SCMP_A0 (SCMP_CMP_EQ, (scmp_datum_t) getpid ())) },
    /* threads (and modprobe's fork), never a new namespace */
    { "clone", seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (clone), 1,
                                 SCMP_A0 (SCMP_CMP_MASKED_EQ, namespaces, 0)) },
    /* clone3's flags sit behind a pointer no filter can read: ENOSYS makes
     * glibc fall back to clone, whose flags the rule above checks (as
     * flatpak and Docker do) */
    { "clone3 (ENOSYS)", seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (clone3), 0) },
    /* unix sockets (journald, sd_notify, D-Bus) and netlink (taps, bridges) */
    { "socket (unix)", seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (socket), 1, SCMP_A0 (SCMP_CMP_EQ, AF_UNIX)) },
    { "socket (netlink)", seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (socket), 1,
                                            SCMP_A0 (SCMP_CMP_EQ, AF_NETLINK)) },
    /* isatty() before coloured stderr; GSocket's available bytes and non-blocking mode */
    { "ioctl (TCGETS)", seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (ioctl), 1, SCMP_A1 (SCMP_CMP_EQ, TCGETS)) },
    { "ioctl (FIONREAD)", seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (ioctl), 1,
                                            SCMP_A1 (SCMP_CMP_EQ, FIONREAD)) },
    { "ioctl (FIONBIO)", seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (ioctl), 1, SCMP_A1 (SCMP_CMP_EQ, FIONBIO)) },
    /* GIO tries a reflink before it copies a log (EXDEV across file systems) */
    { "ioctl (FICLONE)", seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (ioctl), 1, SCMP_A1 (SCMP_CMP_EQ, FICLONE)) },
    /* reading its own limits (the dynamic loader, pthread_getattr_np); setting none */
    { "prlimit64 (read)", seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (prlimit64), 2, SCMP_A0 (SCMP_CMP_EQ, 0),
                                            SCMP_A2 (SCMP_CMP_EQ, 0)) },
    /* GLib names its threads */
    { "prctl (PR_SET_NAME)", seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (prctl), 1,
                                               SCMP_A0 (SCMP_CMP_EQ, PR_SET_NAME)) },
    { "prctl (PR_GET_NAME)", seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (prctl), 1,
                                               SCMP_A0 (SCMP_CMP_EQ, PR_GET_NAME)) },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rules); i++)
    if (rules[i].r < 0)
      return ql_error_set_errno (error, -rules[i].r, "seccomp: cannot add the rule for %s", rules[i].what);
  return TRUE;
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (scmp_filter_ctx, seccomp_release, NULL)

static scmp_filter_ctx
build_filter (const QlConfineSeccompOptions *options, GError **error)
{
  g_auto(scmp_filter_ctx) ctx = seccomp_init (SCMP_ACT_KILL_PROCESS);
  int r;

  if (ctx == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "seccomp: cannot make a filter");
      return NULL;
    }
  /* all threads at once, and every refusal in the audit log */
  if ((r = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 ||
      (r = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_LOG, 1)) < 0 ||
      (r = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 1)) < 0)
    {
      ql_error_set_errno (error, -r, "seccomp: cannot set the filter's attributes");
      return NULL;
    }
  if (!add_list (ctx, allowed, G_N_ELEMENTS (allowed), error) || !add_conditional (ctx, options, error))
    return NULL;
  if (options->run_modprobe && !add_list (ctx, modprobe_allowed, G_N_ELEMENTS (modprobe_allowed), error))
    return NULL;
#ifdef QL_SANITIZER_BUILD
  if (!add_list (ctx, sanitizer_allowed, G_N_ELEMENTS (sanitizer_allowed), error))
    return NULL;
#else
  (void) sanitizer_allowed;
#endif
  return g_steal_pointer (&ctx);
}

gboolean
ql_confine_seccomp_install (const QlConfineSeccompOptions *options, GError **error)
{
  g_auto(scmp_filter_ctx) ctx = build_filter (options, error);
  int r;

  if (ctx == NULL)
    return FALSE;
  r = seccomp_load (ctx);
  if (r < 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "seccomp: the kernel refused the supervisor's filter: %s "
                   "(Hint: this needs a kernel with CONFIG_SECCOMP_FILTER)", g_strerror (-r));
      return FALSE;
    }
  return TRUE;
}
