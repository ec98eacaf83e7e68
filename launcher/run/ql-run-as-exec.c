#include "ql-run-as-exec.h"

#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

void
ql_run_as_creds_set (QlRunAsCreds *creds, const QlRunAs *run_as, guint64 memlock)
{
  memset (creds, 0, sizeof *creds);
  if (run_as == NULL)
    return;
  creds->active = TRUE;
  creds->memlock = memlock;
  creds->uid = run_as->uid;
  creds->gid = run_as->gid;
  for (guint i = 0; i < run_as->groups->len && i < QL_RUN_AS_MAX_GROUPS; i++)
    creds->groups[creds->n_groups++] = g_array_index (run_as->groups, guint32, i);
}

static void G_GNUC_NORETURN
fail (const char *what)
{
  static const char prefix[] = "qlaunch: cannot start QEMU as its run-as user: ";

  /* nothing to do if stderr is gone: the exit status says it */
  if (write (STDERR_FILENO, prefix, sizeof prefix - 1) >= 0 && write (STDERR_FILENO, what, strlen (what)) >= 0)
    (void) !write (STDERR_FILENO, "\n", 1);
  _exit (QL_RUN_AS_EXIT_STATUS);
}

void
ql_run_as_creds_enter (const QlRunAsCreds *creds, int parent_death_signal, pid_t parent)
{
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  gid_t groups[QL_RUN_AS_MAX_GROUPS + 1];

  if (!creds->active)
    return;
  if (creds->memlock > 0 &&
      setrlimit (RLIMIT_MEMLOCK, &(struct rlimit) { (rlim_t) creds->memlock, (rlim_t) creds->memlock }) != 0)
    fail ("setrlimit (RLIMIT_MEMLOCK) failed");
  if (setgroups ((size_t) creds->n_groups, creds->groups) != 0)
    fail ("setgroups failed");
  if (setresgid (creds->gid, creds->gid, creds->gid) != 0)
    fail ("setresgid failed");
  if (setresuid (creds->uid, creds->uid, creds->uid) != 0)
    fail ("setresuid failed");
  if (getresuid (&ruid, &euid, &suid) != 0 || ruid != creds->uid || euid != creds->uid || suid != creds->uid)
    fail ("the uid did not change");
  if (getresgid (&rgid, &egid, &sgid) != 0 || rgid != creds->gid || egid != creds->gid || sgid != creds->gid)
    fail ("the gid did not change");
  if (getgroups (QL_RUN_AS_MAX_GROUPS + 1, groups) != creds->n_groups)
    fail ("the supplementary groups did not change");
  if (setuid (0) == 0 || setgid (0) == 0)
    fail ("root could be taken back");
  /* cleared by the change of euid (prctl (2)): QEMU must still die with
   * the supervisor, and the supervisor may have died meanwhile */
  if (prctl (PR_SET_PDEATHSIG, parent_death_signal) != 0)
    fail ("PR_SET_PDEATHSIG failed");
  if (getppid () != parent)
    _exit (127);
}
