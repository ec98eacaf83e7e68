#include "ql-machine-pin-write.h"
#include "ql-supervisor.h"
#include "ql-confine.h"
#include "ql-error.h"
#include "ql-host-apply.h"
#include "ql-host-undo.h"
#include "ql-journal.h"
#include "ql-net-host.h"
#include "ql-notify.h"
#include "ql-paths.h"
#include "ql-pin.h"
#include "ql-process.h"
#include "ql-qmp-client.h"
#include "ql-qemu-child.h"
#include "ql-stop-signals.h"
#include "ql-qmp-relay.h"
#include "ql-hotplug.h"
#include "ql-rom-check.h"
#include "ql-device-lock.h"
#include "ql-runtime.h"
#include "ql-run-as-exec.h"
#include "ql-setup-plan.h"
#include "ql-sleep-inhibit.h"
#include "ql-value.h"
#include "ql-watchdog.h"
#include "ql-runtime-files.h"
#include "ql-json.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HANDSHAKE_TIMEOUT_S 60
#define STDERR_TAIL_MAX 4096
#define OLD_QEMU_WAIT_S 10
#define QEMU_PROGRESS_INTERVAL_MS 250

typedef enum {
  LADDER_IDLE,
  LADDER_POWERDOWN,
  LADDER_QUIT,
  LADDER_TERM,
  LADDER_KILL,
} LadderStage;

static const char *const ladder_names[] = { "none", "powerdown", "quit", "SIGTERM", "SIGKILL" };

typedef struct {
  const QlSupervisorOptions *opts;
  const QlMachine *m;
  const char *name;
  GMainLoop *loop;
  QlQemuChild *qemu;
  QlQmpClient *qmp;
  QlQmpRelay *relay;          /* qmp.sock: QMP for everyone else */
  QlHotplug *hotplug;         /* detach and attach of the [pci] devices */
  GSocket *serial;
  GSource *serial_source;
  GString *stderr_tail;
  int qemu_log_fd;
  gboolean stderr_eof;
  gboolean exited;
  gboolean running;
  gboolean confined;
  gboolean cont_queued;              /* cont sent right behind qmp_capabilities */
  gboolean resumed_before_handshake; /* its reply came before the relay was up */
  GError *start_error;
  char *shutdown_reason;
  gboolean shutdown_by_guest;
  LadderStage stage;
  guint ladder_timer;
  guint powerdowns_sent;
  guint ladder_timeout_s;
  guint ladder_retries;
  guint start_timer;
  guint progress_timer;       /* while QEMU starts: how far it is, for the stages' sink */
  gint64 started_usec;
  gint64 exited_monotonic;
  QlJournal *journal;
  GArray *passed_fds;         /* QlPassedFd: taps and vhost-net, QEMU's once spawned */
  JsonNode *cpus_fast;        /* query-cpus-fast, while pinning */
  gint64 host_restore_ms;     /* -1: nothing to give back */
  QlLock *lock;
  QlProcessId self;
  QlProcessId qemu_id;        /* pid 0 until QEMU is spawned */
  gboolean tearing_down;
  QlStopSignals *stop_signals;
  gboolean prepared;          /* the host is ready: QEMU was or is about to be started */
  QlSleepInhibitor *sleep_lock;  /* [vm] inhibit-sleep: logind's lock, until the host is given back */
  QlRunAs *run_as;            /* [vm] run-as: QEMU's user; NULL: the supervisor's */
  int kvmfr_fd;               /* [looking-glass] on /dev/kvmfr0: held for the VM's life; -1: none */
} Supervisor;

/* ---- small helpers ---- */

/* Growing a pool compacts memory, which takes long on a host whose memory is
 * fragmented; a unit's start timeout (90 s by default) must not end it. */
#define EXTEND_HUGEPAGES_USEC (180 * G_USEC_PER_SEC)
/* Preallocation touches every page: allow a generous 2 s per GiB. */
#define EXTEND_PREALLOC_BASE_USEC (60 * G_USEC_PER_SEC)
#define EXTEND_PREALLOC_PER_GIB_USEC (2 * G_USEC_PER_SEC)

static void
extend_start_for_hugepages (const QlHostPlan *plan)
{
  guint64 pages = 0;

  for (guint i = 0; i < plan->steps->len; i++)
    {
      const QlHostStep *step = plan->steps->pdata[i];
      if (step->kind == QL_HOST_STEP_HUGEPAGES)
        pages += step->added;
    }
  if (pages > 0)
    ql_notify_extend_timeout (EXTEND_HUGEPAGES_USEC, "allocating %" G_GUINT64_FORMAT " hugepages", pages);
}

static void
extend_start_for_prealloc (const QlMachine *m)
{
  guint64 gib = (m->profile->memory.size + (G_GUINT64_CONSTANT (1) << 30) - 1) >> 30;

  if (m->profile->memory.prealloc)
    ql_notify_extend_timeout (EXTEND_PREALLOC_BASE_USEC + gib * EXTEND_PREALLOC_PER_GIB_USEC,
                              "starting QEMU: preallocating %" G_GUINT64_FORMAT " GiB", gib);
}

static void
fail_start (Supervisor *s, GError *error)
{
  if (s->start_error == NULL)
    s->start_error = error;
  else
    g_error_free (error);
  if (s->qemu != NULL && !s->exited)
    ql_qemu_child_signal (s->qemu, SIGKILL);
}

static void
maybe_quit (Supervisor *s)
{
  if (s->exited && s->stderr_eof)
    g_main_loop_quit (s->loop);
}

static void
execute_ignoring_reply (Supervisor *s, const char *command)
{
  if (s->qmp != NULL && !ql_qmp_client_is_closed (s->qmp))
    ql_qmp_client_execute_async (s->qmp, command, NULL, NULL, NULL, NULL);
}

static gint64
qemu_pid (Supervisor *s)
{
  return ql_qemu_child_pid (s->qemu);
}

/* ---- the stop ladder ---- */

static void ladder_enter (Supervisor *s, LadderStage stage);

static gboolean
ladder_timer_fired (gpointer user_data)
{
  Supervisor *s = user_data;

  s->ladder_timer = 0;
  if (s->stage == LADDER_POWERDOWN && s->powerdowns_sent < s->ladder_retries)
    {
      /* Windows often ignores the first press while it is busy */
      g_message ("%s: guest still running; pressing the power button again (%u/%u)", s->name,
                 s->powerdowns_sent + 1, s->ladder_retries);
      execute_ignoring_reply (s, "system_powerdown");
      s->powerdowns_sent++;
      ql_notify_ladder ("powerdown", s->powerdowns_sent, s->ladder_retries);
      s->ladder_timer = g_timeout_add (s->ladder_timeout_s * 1000 / s->ladder_retries, ladder_timer_fired, s);
      return G_SOURCE_REMOVE;
    }
  ladder_enter (s, s->stage + 1);
  return G_SOURCE_REMOVE;
}

static void
ladder_enter (Supervisor *s, LadderStage stage)
{
  gboolean qmp_open = s->qmp != NULL && !ql_qmp_client_is_closed (s->qmp);

  if (s->exited || stage <= s->stage || stage > LADDER_KILL)
    return;
  g_clear_handle_id (&s->ladder_timer, g_source_remove);
  if ((stage == LADDER_POWERDOWN || stage == LADDER_QUIT) && !qmp_open)
    stage = LADDER_TERM;
  s->stage = stage;

  switch (stage)
    {
    case LADDER_POWERDOWN:
      g_message ("%s: pressing the ACPI power button (waiting up to %u s)", s->name, s->ladder_timeout_s);
      execute_ignoring_reply (s, "system_powerdown");
      s->powerdowns_sent = 1;
      s->ladder_timer = g_timeout_add (s->ladder_timeout_s * 1000 / s->ladder_retries, ladder_timer_fired, s);
      break;
    case LADDER_QUIT:
      g_message ("%s: stopping QEMU with QMP quit", s->name);
      execute_ignoring_reply (s, "quit");
      s->ladder_timer = g_timeout_add_seconds (QL_SUPERVISOR_QUIT_GRACE_S, ladder_timer_fired, s);
      break;
    case LADDER_TERM:
      g_message ("%s: sending SIGTERM to QEMU", s->name);
      ql_qemu_child_signal (s->qemu, SIGTERM);
      s->ladder_timer = g_timeout_add_seconds (QL_SUPERVISOR_TERM_GRACE_S, ladder_timer_fired, s);
      break;
    case LADDER_KILL:
      g_message ("%s: sending SIGKILL to QEMU", s->name);
      ql_qemu_child_signal (s->qemu, SIGKILL);
      break;
    case LADDER_IDLE:
    default:
      break;
    }
  ql_notify_ladder (ladder_names[stage], stage == LADDER_POWERDOWN ? s->powerdowns_sent : 0, s->ladder_retries);
}

static void
read_stop_request (Supervisor *s, gboolean *ret_force)
{
  g_autofree char *path = g_build_filename (s->m->runtime_dir, QL_RUNTIME_STOP_REQUEST, NULL);
  g_autoptr(JsonObject) request = ql_json_read_object (path, NULL);

  *ret_force = FALSE;
  s->ladder_timeout_s = s->m->profile->shutdown.timeout;
  s->ladder_retries = s->m->profile->shutdown.powerdown_retries;
  if (request == NULL)
    return;
  g_unlink (path);
  *ret_force = json_object_get_boolean_member_with_default (request, "force", FALSE);
  s->ladder_timeout_s = CLAMP (json_object_get_int_member_with_default (request, "timeout", s->ladder_timeout_s),
                               1, 3600);
}

static gboolean
on_stop_signal (gpointer user_data)
{
  Supervisor *s = user_data;
  gboolean force;

  if (s->tearing_down)
    {
      g_message ("%s: still giving the host back; wait, or see 'qlaunch recover %s' if this hangs", s->name, s->name);
      return G_SOURCE_CONTINUE;
    }
  if (!s->running)
    {
      fail_start (s, g_error_new (QL_ERROR, QL_ERROR_FAILED, "Start of VM '%s' interrupted", s->name));
      return G_SOURCE_CONTINUE;
    }
  if (s->stage != LADDER_IDLE)
    {
      /* asked again while stopping: skip to the next rung */
      ladder_enter (s, s->stage + 1);
      return G_SOURCE_CONTINUE;
    }
  read_stop_request (s, &force);
  ladder_enter (s, force ? LADDER_QUIT : LADDER_POWERDOWN);
  return G_SOURCE_CONTINUE;
}

/* ---- QEMU's output ---- */

static void read_qemu_output (Supervisor *s);

static void
qemu_output_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Supervisor *s = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);
  gsize len = 0;
  const char *data = bytes ? g_bytes_get_data (bytes, &len) : NULL;

  if (len == 0)
    {
      s->stderr_eof = TRUE;
      maybe_quit (s);
      return;
    }
  /* QEMU's messages stay visible, go to the log, and the tail explains a failed start */
  if (write (STDERR_FILENO, data, len) < 0)
    { /* stderr gone (detached): the log still has it */ }
  if (s->qemu_log_fd >= 0 && write (s->qemu_log_fd, data, len) < 0)
    g_debug ("%s: cannot write qemu.log: %s", s->name, g_strerror (errno));
  g_string_append_len (s->stderr_tail, data, len);
  if (s->stderr_tail->len > STDERR_TAIL_MAX)
    g_string_erase (s->stderr_tail, 0, s->stderr_tail->len - STDERR_TAIL_MAX);
  read_qemu_output (s);
}

static void
read_qemu_output (Supervisor *s)
{
  g_input_stream_read_bytes_async (ql_qemu_child_output (s->qemu), 4096, G_PRIORITY_DEFAULT,
                                   NULL, qemu_output_ready, s);
}

static gboolean
serial_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Supervisor *s = user_data;
  char buf[4096];
  gssize n = g_socket_receive (socket, buf, sizeof buf, NULL, NULL);

  if (n <= 0)
    {
      s->serial_source = NULL;
      return G_SOURCE_REMOVE;
    }
  if (s->opts->echo_console && write (STDOUT_FILENO, buf, n) < 0)
    g_debug ("%s: stdout closed; console relay off", s->name);
  return G_SOURCE_CONTINUE;
}

/* ---- QMP ---- */

static void
on_qmp_event (QlQmpClient *client, const char *event, JsonNode *data, gint64 usec, gpointer user_data)
{
  Supervisor *s = user_data;

  g_debug ("%s: QMP event %s", s->name, event);
  if (g_strcmp0 (event, "SHUTDOWN") == 0 && data != NULL && JSON_NODE_HOLDS_OBJECT (data))
    {
      JsonObject *o = json_node_get_object (data);
      g_free (s->shutdown_reason);
      s->shutdown_reason = g_strdup (json_object_get_string_member_with_default (o, "reason", "none"));
      s->shutdown_by_guest = json_object_get_boolean_member_with_default (o, "guest", FALSE);
    }
}

static void
write_state (Supervisor *s)
{
  g_autoptr(GError) error = NULL;
  QlRuntimeState state = {
    .supervisor = s->self,
    .qemu = s->qemu_id,
    .started_usec = s->started_usec,
    .accel = (char *) (s->m->accel == QL_ACCEL_KVM ? "kvm" : "tcg"),
    .profile = s->m->profile->path,
    .stop_timeout_s = s->m->profile->shutdown.timeout,
    .stages_out = s->opts->stages,
  };

  if (!ql_runtime_state_write (s->m->runtime_dir, &state, &error))
    g_warning ("%s: cannot write state: %s, ignoring", s->name, error->message);
}

static void guest_resumed (Supervisor *s);

static void
cont_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Supervisor *s = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = ql_qmp_client_execute_finish (QL_QMP_CLIENT (source), result, &error);

  if (ret == NULL)
    {
      g_prefix_error (&error, "QMP cont failed: ");
      fail_start (s, g_steal_pointer (&error));
      return;
    }
  /* a cont queued behind the handshake: the guest runs once the relay is up */
  if (s->relay == NULL)
    s->resumed_before_handshake = TRUE;
  else
    guest_resumed (s);
}

static void
guest_resumed (Supervisor *s)
{
  /* a Ctrl-C while cont was on its way ended the start: QEMU is being
   * killed, and its end is a failed start, not a crash */
  if (s->start_error != NULL)
    return;
  g_clear_handle_id (&s->start_timer, g_source_remove);
  ql_stages_end (s->opts->stages);
  s->running = TRUE;
  ql_notify_ready ();
  ql_watchdog_start (s->qmp);
  g_message ("%s: running (QEMU pid %d, %s)", s->name, (int) qemu_pid (s),
             s->m->accel == QL_ACCEL_KVM ? "KVM" : "TCG");
  if (s->opts->ready_fd >= 0)
    {
      if (write (s->opts->ready_fd, "READY\n", 6) < 0)
        g_debug ("%s: parent gone before READY", s->name);
      close (s->opts->ready_fd);
    }
  /* for 'status': what this start spent its time on */
  write_state (s);
}

static void
resume_guest (Supervisor *s)
{
  ql_stages_begin (s->opts->stages, "resume the guest");
  if (!s->cont_queued)
    ql_qmp_client_execute_async (s->qmp, "cont", NULL, NULL, cont_done, s);
}

/* With nothing to do between QEMU's start and the guest's (no pinning, and
 * the supervisor already confined), cont goes right behind qmp_capabilities:
 * QEMU answers both once it has initialised, without a round trip between.
 * The guest may then run a moment before qmp.sock listens; should that fail,
 * the start fails as before (guest_resumed sees the error) and QEMU is
 * killed: the guest ran briefly, as it does when a later step fails. */
static void
queue_resume (Supervisor *s)
{
  if (s->m->pin != NULL || !s->confined || s->start_error != NULL)
    return;
  ql_qmp_client_execute_after_handshake_async (s->qmp, "cont", cont_done, s);
  s->cont_queued = TRUE;
}

/* The host side is done: the supervisor confines itself before the guest
 * runs, so that nothing a guest can make QEMU say reaches an unconfined
 * parser. */
static gboolean
confine (Supervisor *s)
{
  g_autoptr(GError) error = NULL;

  if (!ql_confine_supervisor (s->name, s->qemu_id.pid, ql_journal_steps (s->journal), &error))
    {
      g_prefix_error (&error, "Cannot confine the supervisor: ");
      fail_start (s, g_steal_pointer (&error));
      return FALSE;
    }
  s->confined = TRUE;
  return TRUE;
}

static void
confine_and_continue (Supervisor *s)
{
  if (s->start_error != NULL)
    return;
  if (!s->confined)
    {
      ql_stages_begin (s->opts->stages, "confine the supervisor");
      if (!confine (s))
        return;
    }
  resume_guest (s);
}

/* ---- pinning, while the VM is still paused ---- */

static void
log_pinning (Supervisor *s, const GPtrArray *threads)
{
  guint emulator_threads = 0;

  for (guint i = 0; i < threads->len; i++)
    {
      const QlPinThread *thread = threads->pdata[i];
      g_autofree char *what = ql_pin_thread_describe (thread);
      g_autofree char *cpus = NULL;

      if (thread->kind == QL_PIN_THREAD_EMULATOR)
        {
          emulator_threads++;
          continue;
        }
      cpus = ql_pin_read_affinity (qemu_pid (s), thread->tid);
      g_message ("%s: %s (thread %" G_GINT64_FORMAT ") runs on host CPU %s", s->name, what, thread->tid,
                 cpus ? cpus : "?");
    }
  if (s->m->pin->emulator != NULL)
    {
      g_autofree char *cpus = ql_value_format_cpu_set (s->m->pin->emulator);
      g_message ("%s: QEMU's %u other threads run on host CPU %s", s->name, emulator_threads, cpus);
    }
}

static void
iothreads_queried (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Supervisor *s = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) iothreads = ql_qmp_client_execute_finish (QL_QMP_CLIENT (source), result, &error);
  g_autoptr(JsonNode) cpus_fast = g_steal_pointer (&s->cpus_fast);
  g_autoptr(GPtrArray) threads = NULL;
  g_autoptr(JsonNode) plan = NULL;
  g_autofree char *plan_path = g_build_filename (s->m->runtime_dir, QL_RUNTIME_PIN_PLAN, NULL);

  if (iothreads == NULL)
    {
      g_prefix_error (&error, "QMP query-iothreads failed: ");
      fail_start (s, g_steal_pointer (&error));
      return;
    }
  threads = ql_pin_list_threads (qemu_pid (s), cpus_fast,
                                 iothreads, &error);
  if (threads == NULL || !ql_pin_apply (threads, s->m->pin, &error))
    {
      fail_start (s, g_steal_pointer (&error));
      return;
    }
  log_pinning (s, threads);
  plan = ql_pin_plan_to_json (s->m->pin);
  if (!ql_json_write_file (plan_path, plan, &error))
    g_warning ("%s: %s; 'qlaunch pin' will not know the plan", s->name, error->message);
  confine_and_continue (s);
}

static void
cpus_queried (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Supervisor *s = user_data;
  g_autoptr(GError) error = NULL;

  s->cpus_fast = ql_qmp_client_execute_finish (QL_QMP_CLIENT (source), result, &error);
  if (s->cpus_fast == NULL)
    {
      g_prefix_error (&error, "QMP query-cpus-fast failed: ");
      fail_start (s, g_steal_pointer (&error));
      return;
    }
  ql_qmp_client_execute_async (s->qmp, "query-iothreads", NULL, NULL, iothreads_queried, s);
}

static void
handshake_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Supervisor *s = user_data;
  g_autoptr(GError) error = NULL;

  if (!ql_qmp_client_handshake_finish (QL_QMP_CLIENT (source), result, &error))
    {
      fail_start (s, g_steal_pointer (&error));
      return;
    }
  s->relay = ql_qmp_relay_new (s->qmp);
  s->hotplug = ql_hotplug_new (s->m, s->opts->argv, s->qmp, s->journal);
  ql_hotplug_serve (s->hotplug, s->relay);
  if (!ql_qmp_relay_listen (s->relay, s->m->qmp_socket, &error))
    {
      fail_start (s, g_steal_pointer (&error));
      return;
    }
  g_clear_handle_id (&s->progress_timer, g_source_remove);
  write_state (s);
  if (s->cont_queued)
    {
      ql_stages_begin (s->opts->stages, "resume the guest");
      if (s->resumed_before_handshake)
        guest_resumed (s);
    }
  else if (s->m->pin != NULL)
    {
      ql_stages_begin (s->opts->stages, "pin QEMU's threads");
      ql_qmp_client_execute_async (s->qmp, "query-cpus-fast", NULL, NULL, cpus_queried, s);
    }
  else
    confine_and_continue (s);
}

static gboolean
start_timed_out (gpointer user_data)
{
  Supervisor *s = user_data;

  s->start_timer = 0;
  fail_start (s, g_error_new (QL_ERROR, QL_ERROR_TIMEOUT,
                              "QEMU did not answer on QMP within %d s", HANDSHAKE_TIMEOUT_S));
  return G_SOURCE_REMOVE;
}

static void
qemu_exited (QlQemuChild *child, gpointer user_data)
{
  Supervisor *s = user_data;

  s->exited = TRUE;
  s->exited_monotonic = g_get_monotonic_time ();
  ql_notify_stopping ("QEMU exited; giving the host back");
  g_clear_handle_id (&s->ladder_timer, g_source_remove);
  g_clear_handle_id (&s->start_timer, g_source_remove);
  g_clear_handle_id (&s->progress_timer, g_source_remove);
  maybe_quit (s);
}

/* Preallocating a large guest is most of a long start: its progress is
 * QEMU's resident memory growing towards the guest's size. */
static gboolean
report_qemu_progress (gpointer user_data)
{
  Supervisor *s = user_data;
  guint64 resident = ql_process_memory_bytes (ql_paths_procfs (), s->qemu_id.pid);

  if (s->m->profile->memory.prealloc && resident > 0)
    ql_stages_progress (s->opts->stages, "%.1f of %.1f GiB in memory", resident / 1073741824.0,
                        s->m->profile->memory.size / 1073741824.0);
  else
    ql_stages_progress (s->opts->stages, "waiting for QMP");
  return G_SOURCE_CONTINUE;
}

/* ---- spawning ---- */

static pid_t supervisor_pid;
static QlRunAsCreds run_as_creds;
static cpu_set_t emulator_cpus;
static gboolean emulator_pinned;

static void
child_setup (gpointer user_data)
{
  ql_stop_signals_reset_in_child ();
  /* QEMU must not outlive a supervisor killed with SIGKILL: nobody would
   * give the host back what the VM holds */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (getppid () != supervisor_pid)
    _exit (127);
  /* what QEMU creates in the runtime dir (serial.log) is the VM's alone */
  umask (0077);
  /* out of the terminal's process group: Ctrl-C is for the supervisor, which
   * shuts the guest down; QEMU would just die of it */
  setpgid (0, 0);
  /* every thread QEMU makes inherits this; vCPUs and iothreads are moved
   * before the guest runs.  A failure shows when the threads are pinned. */
  if (emulator_pinned)
    sched_setaffinity (0, sizeof emulator_cpus, &emulator_cpus);
  /* last: the steps above need the supervisor's credentials */
  ql_run_as_creds_enter (&run_as_creds, SIGTERM, supervisor_pid);
}

/* The fds QEMU gets: its QMP and serial ends, then the taps.  The
 * supervisor keeps no copy: a tap goes with the last fd, QEMU's. */
static gboolean
take_qemu_fds (Supervisor *s, GArray *fds, GError **error)
{
  int qmp_pair[2], serial_pair[2];
  QlPassedFd qmp, serial;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp_pair) != 0)
    return ql_error_set_errno (error, errno, "socketpair");
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, serial_pair) != 0)
    {
      close (qmp_pair[0]);
      close (qmp_pair[1]);
      return ql_error_set_errno (error, errno, "socketpair");
    }
  qmp = (QlPassedFd) { qmp_pair[1], QL_MACHINE_QMP_FD };
  serial = (QlPassedFd) { serial_pair[1], QL_MACHINE_SERIAL_FD };
  g_array_append_val (fds, qmp);
  g_array_append_val (fds, serial);
  g_array_append_vals (fds, s->passed_fds->data, s->passed_fds->len);
  g_array_set_size (s->passed_fds, 0);
  s->qmp = ql_qmp_client_new_for_fd (qmp_pair[0], error);
  if (s->qmp == NULL)
    close (qmp_pair[0]);
  s->serial = g_socket_new_from_fd (serial_pair[0], NULL);
  if (s->serial == NULL)
    close (serial_pair[0]);
  return s->qmp != NULL && s->serial != NULL;
}

static gboolean
spawn_qemu (Supervisor *s, GError **error)
{
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (QlPassedFd));
  sigset_t saved_mask;

  if (!take_qemu_fds (s, fds, error))
    {
      ql_net_host_close_fds (fds);
      return FALSE;
    }
  supervisor_pid = getpid ();
  ql_run_as_creds_set (&run_as_creds, s->run_as,
                       s->m->hostdevs->len > 0 || ql_profile_n_mdevs (s->m->profile) > 0
                         ? ql_setup_memlock_bytes (s->m->profile) : 0);
  emulator_pinned = s->m->pin != NULL && s->m->pin->emulator != NULL;
  if (emulator_pinned)
    ql_pin_to_cpu_set (s->m->pin->emulator, &emulator_cpus);

  ql_stop_signals_block (&saved_mask);
  s->qemu = ql_qemu_child_spawn ((const char *const *) s->opts->argv, fds, child_setup, error);
  ql_stop_signals_restore (&saved_mask);
  if (s->qemu == NULL)
    {
      g_prefix_error (error, "Cannot start QEMU: ");
      return FALSE;
    }
  s->started_usec = g_get_real_time ();
  return TRUE;
}

/* ---- the host side: planned, journaled, applied; undone in reverse ---- */

/* Signals that arrived while the start blocked are dispatched here, so that
 * Ctrl-C during host preparation aborts the start between two steps. */
static gboolean
start_interrupted (gpointer user_data)
{
  Supervisor *s = user_data;

  while (g_main_context_iteration (NULL, FALSE))
    ;
  return s->start_error != NULL;
}

/* The ROM files are checked before anything on the host changes; then
 * every change the plan lists is journaled and made, in order. */
static gboolean
prepare_host (Supervisor *s, GError **error)
{
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(QlHostPlan) plan = NULL;

  ql_notify_status ("applying host changes");
  s->sleep_lock = ql_sleep_inhibitor_take (s->m, error);
  if (s->sleep_lock == NULL && error != NULL && *error != NULL)
    return FALSE;
  ql_stages_begin (s->opts->stages, "check the ROMs and plan the host changes");
  if (!ql_rom_check_for_machine (s->m, notes, error))
    return FALSE;
  if (!ql_paths_make_own_dir (s->m->state_dir, error))
    return FALSE;
  if (s->m->pin_machine_type && !ql_machine_pin_write (s->m->state_dir, s->m->machine_type, error))
    return FALSE;
  /* before the plan: a run-as start hands it over with a chown step */
  if (s->m->spice_socket != NULL && !ql_runtime_make_display_dir (s->m->runtime_dir, error))
    return FALSE;
  plan = ql_host_plan_for_machine (s->m, error);
  if (plan == NULL)
    return FALSE;
  g_ptr_array_extend (notes, plan->notes, (GCopyFunc) (void (*) (void)) g_strdup, NULL);
  for (guint i = 0; i < notes->len; i++)
    g_message ("%s: %s", s->name, (char *) notes->pdata[i]);
  extend_start_for_hugepages (plan);
  if (plan->run_as != NULL)
    s->run_as = ql_run_as_copy (plan->run_as);
  return ql_host_apply (plan, s->m, s->journal, s->passed_fds, s->opts->stages, start_interrupted, s, error);
}

/* Signals that come while the host is given back are answered, not obeyed:
 * a second Ctrl-C must not cut the undo short. */
static void
log_undo (const char *line, gpointer data)
{
  Supervisor *s = data;

  g_message ("%s", line);
  if (s->tearing_down)
    while (g_main_context_iteration (NULL, FALSE))
      ;
}

static void
undo_host_changes (Supervisor *s, gboolean start_failed)
{
  g_autoptr(GError) error = NULL;

  if (ql_journal_length (s->journal) == 0)
    return;
  if (!ql_host_undo (s->journal, ql_paths_sysfs (), start_failed, log_undo, s, &error))
    {
      g_warning ("%s: %s\nRun 'qlaunch recover %s' once the cause is fixed.", s->name, error->message, s->name);
      return;
    }
  if (s->exited_monotonic > 0)
    {
      s->host_restore_ms = (g_get_monotonic_time () - s->exited_monotonic) / 1000;
      g_message ("%s: host changes undone %" G_GINT64_FORMAT " ms after QEMU exited", s->name,
                 s->host_restore_ms);
    }
}

static QlExitStatus
classify_exit (Supervisor *s, char **ret_reason, char **ret_message)
{
  int status = ql_qemu_child_wait_status (s->qemu);
  g_autofree char *how = WIFSIGNALED (status)
    ? g_strdup_printf ("killed by signal %d (%s)", WTERMSIG (status), g_strsignal (WTERMSIG (status)))
    : g_strdup_printf ("exited with status %d", WEXITSTATUS (status));

  if (!s->running && s->run_as != NULL && WIFEXITED (status) && WEXITSTATUS (status) == QL_RUN_AS_EXIT_STATUS)
    {
      *ret_reason = g_strdup ("start-failed");
      *ret_message = g_strdup_printf ("QEMU could not be started as %s (uid %u, gid %u); the line above says why",
                                      s->run_as->user, s->run_as->uid, s->run_as->gid);
      return QL_EXIT_START_FAILED;
    }
  if (!s->running)
    {
      *ret_reason = g_strdup ("start-failed");
      *ret_message = g_strdup_printf ("QEMU %s before the VM ran", how);
      return QL_EXIT_START_FAILED;
    }
  if (g_strcmp0 (s->shutdown_reason, "guest-shutdown") == 0 && s->stage <= LADDER_POWERDOWN)
    {
      *ret_reason = g_strdup ("poweroff");
      *ret_message = g_strdup (s->stage == LADDER_POWERDOWN ? "the guest powered off after the power button"
                                                           : "the guest powered off");
      return QL_EXIT_POWEROFF;
    }
  if (s->stage >= LADDER_QUIT)
    {
      *ret_reason = g_strdup ("forced");
      *ret_message = g_strdup_printf ("stopped by force (%s); QEMU %s", ladder_names[s->stage], how);
      return QL_EXIT_FORCED;
    }
  if (g_strcmp0 (s->shutdown_reason, "host-qmp-quit") == 0 || g_strcmp0 (s->shutdown_reason, "host-signal") == 0 ||
      g_strcmp0 (s->shutdown_reason, "host-ui") == 0)
    {
      *ret_reason = g_strdup ("forced");
      *ret_message = g_strdup_printf ("stopped from the host (%s); QEMU %s", s->shutdown_reason, how);
      return QL_EXIT_FORCED;
    }
  *ret_reason = g_strdup ("crashed");
  *ret_message = s->shutdown_reason
    ? g_strdup_printf ("QEMU ended after %s; QEMU %s", s->shutdown_reason, how)
    : g_strdup_printf ("QEMU %s unexpectedly", how);
  return QL_EXIT_CRASHED;
}

static void
record_exit (Supervisor *s, QlExitStatus code, const char *reason, const char *message)
{
  g_autofree char *path = g_build_filename (s->m->state_dir, QL_STATE_LAST_EXIT, NULL);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) error = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, reason);
  json_builder_set_member_name (b, "exit-status");
  json_builder_add_int_value (b, code);
  json_builder_set_member_name (b, "message");
  json_builder_add_string_value (b, message);
  json_builder_set_member_name (b, "stop-stage");
  json_builder_add_string_value (b, ladder_names[s->stage]);
  json_builder_set_member_name (b, "started-usec");
  json_builder_add_int_value (b, s->started_usec);
  json_builder_set_member_name (b, "ended-usec");
  json_builder_add_int_value (b, g_get_real_time ());
  if (s->host_restore_ms >= 0)
    {
      json_builder_set_member_name (b, "host-restore-ms");
      json_builder_add_int_value (b, s->host_restore_ms);
    }
  ql_stages_add_json (s->opts->stages, b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  if (!ql_json_write_record (path, root, &error))
    g_warning ("%s: cannot record the exit: %s, ignoring", s->name, error->message);
}

/* ---- one run: take the runtime dir, prepare, run QEMU, tear down ---- */

/* A supervisor killed with SIGKILL leaves its state, its logs and, for
 * ~100 ms (PDEATHSIG), its QEMU.  The new run names itself in state.json at
 * once, so that stop and status never act on the dead supervisor while it
 * waits for that QEMU; then it keeps the logs as a normal end would. */
static gboolean
take_over_dead_run (Supervisor *s, GError **error)
{
  const char *dir = s->m->runtime_dir;
  g_autoptr(QlRuntimeState) old = ql_runtime_state_read (dir, NULL);

  ql_runtime_remove_run_files (dir);
  write_state (s);
  if (old != NULL && old->qemu.pid != 0 &&
      !ql_process_wait_gone (ql_paths_procfs (), &old->qemu, OLD_QEMU_WAIT_S * 1000))
    {
      g_autoptr(GError) restore_error = NULL;

      /* the next start, or recover, must still wait for that QEMU */
      if (!ql_runtime_state_write (dir, old, &restore_error))
        g_warning ("%s: cannot put back the state of the previous run: %s", s->name, restore_error->message);
      g_set_error (error, QL_ERROR, QL_ERROR_BUSY,
                   "VM '%s': the QEMU of its previous run (pid %" G_GINT64_FORMAT ") still runs; "
                   "stop it, then start again", s->name, old->qemu.pid);
      return FALSE;
    }
  ql_runtime_keep_logs (dir, s->m->state_dir);
  return TRUE;
}

static gboolean
take_runtime_dir (Supervisor *s, GError **error)
{
  const QlMachine *m = s->m;

  s->lock = ql_lock_acquire (m->runtime_dir, s->name, error);
  if (s->lock == NULL)
    return FALSE;
  if (ql_journal_exists (m->runtime_dir))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_BUSY,
                   "VM '%s' has host changes left by a run that did not end cleanly (journal '%s/%s'); "
                   "run 'qlaunch recover %s' first", s->name, m->runtime_dir, QL_RUNTIME_JOURNAL, s->name);
      g_clear_pointer (&s->lock, ql_lock_release);
      return FALSE;
    }
  if (!take_over_dead_run (s, error))
    {
      g_clear_pointer (&s->lock, ql_lock_release);
      return FALSE;
    }
  if (m->looking_glass_path != NULL && !m->looking_glass_shm &&
      (s->kvmfr_fd = ql_device_lock_take (m->looking_glass_path, "[looking-glass]", error)) < 0)
    {
      g_clear_pointer (&s->lock, ql_lock_release);
      return FALSE;
    }
  return TRUE;
}

static void
run_qemu (Supervisor *s)
{
  GError *spawn_error = NULL;
  g_autofree char *qemu_log = g_build_filename (s->m->runtime_dir, QL_RUNTIME_QEMU_LOG, NULL);

  ql_notify_status ("starting QEMU");
  ql_stages_begin (s->opts->stages, "start QEMU%s", s->m->profile->memory.prealloc ? " (preallocating memory)" : "");
  extend_start_for_prealloc (s->m);
  s->qemu_log_fd = open (qemu_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (!spawn_qemu (s, &spawn_error))
    {
      s->start_error = spawn_error;
      return;
    }
  ql_sleep_inhibitor_set_qmp (s->sleep_lock, s->qmp);
  s->qemu_id.pid = qemu_pid (s);
  s->qemu_id.kind = QL_PROCESS_QEMU;
  ql_process_start_time (ql_paths_procfs (), s->qemu_id.pid, &s->qemu_id.start_time, NULL);
  if (!ql_journal_set_qemu (s->journal, &s->qemu_id, &spawn_error))
    fail_start (s, spawn_error);
  write_state (s);
  /* without pinning (which needs the privileges) the supervisor has nothing
   * left to do as itself: it confines itself while QEMU initialises, not
   * between QEMU's QMP greeting and the guest's start */
  if (s->m->pin == NULL && s->start_error == NULL)
    confine (s);
  g_signal_connect (s->qmp, "event", G_CALLBACK (on_qmp_event), s);
  s->serial_source = g_socket_create_source (s->serial, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (s->serial_source, (GSourceFunc) (void (*) (void)) serial_readable, s, NULL);
  g_source_attach (s->serial_source, NULL);
  g_source_unref (s->serial_source);
  read_qemu_output (s);
  ql_qemu_child_watch (s->qemu, qemu_exited, s);
  s->start_timer = g_timeout_add_seconds (HANDSHAKE_TIMEOUT_S, start_timed_out, s);
  if (s->opts->stages != NULL)
    s->progress_timer = g_timeout_add (QEMU_PROGRESS_INTERVAL_MS, report_qemu_progress, s);
  ql_qmp_client_handshake_async (s->qmp, NULL, handshake_done, s);
  queue_resume (s);
  g_main_loop_run (s->loop);
}

/* Why the VM did not start, with QEMU's last words when it said any. */
static void
explain_failed_start (Supervisor *s, const char *message)
{
  /* in the foreground QEMU's words were relayed as they came */
  g_autofree char *tail = s->opts->ready_fd >= 0 ? g_strstrip (g_strdup (s->stderr_tail->str)) : g_strdup ("");
  GError *why;

  /* a QMP error while QEMU died on its own is only a consequence */
  if (s->start_error != NULL && s->start_error->domain == QL_QMP_ERROR && s->exited)
    g_clear_error (&s->start_error);
  why = g_error_new (QL_ERROR, s->start_error && s->start_error->domain == QL_ERROR ? s->start_error->code : QL_ERROR_QEMU,
                     "VM '%s' did not start: %s%s%s", s->name, s->start_error ? s->start_error->message : message,
                     tail[0] ? "\nQEMU said: " : "", tail);
  g_clear_error (&s->start_error);
  s->start_error = why;
}

static QlExitStatus
classify_end (Supervisor *s, char **ret_reason, char **ret_message)
{
  if (s->qemu != NULL)
    return classify_exit (s, ret_reason, ret_message);
  *ret_reason = g_strdup ("start-failed");
  *ret_message = g_strdup (s->start_error ? s->start_error->message : "QEMU did not start");
  return QL_EXIT_START_FAILED;
}

/* Everything this start made goes, in reverse, however far it got. */
static QlExitStatus
tear_down (Supervisor *s)
{
  g_autofree char *reason = NULL, *message = NULL;
  QlExitStatus code;

  g_clear_handle_id (&s->ladder_timer, g_source_remove);
  g_clear_handle_id (&s->start_timer, g_source_remove);
  g_clear_handle_id (&s->progress_timer, g_source_remove);
  ql_watchdog_stop ();
  if (s->serial_source != NULL)
    g_source_destroy (s->serial_source);
  ql_qmp_relay_close (s->relay);
  g_clear_pointer (&s->hotplug, ql_hotplug_free);
  if (s->qmp != NULL)
    ql_qmp_client_close (s->qmp);
  code = classify_end (s, &reason, &message);
  if (code == QL_EXIT_START_FAILED)
    explain_failed_start (s, message);
  else
    g_message ("%s: %s", s->name, message);

  ql_net_host_close_fds (s->passed_fds);
  s->tearing_down = TRUE;
  undo_host_changes (s, code == QL_EXIT_START_FAILED);
  g_clear_pointer (&s->sleep_lock, ql_sleep_inhibitor_free);
  ql_runtime_remove_run_files (s->m->runtime_dir);
  if (s->qemu_log_fd >= 0)
    close (s->qemu_log_fd);
  if (s->prepared)
    {
      ql_runtime_keep_logs (s->m->runtime_dir, s->m->state_dir);
      record_exit (s, code, reason, message);
    }
  if (s->kvmfr_fd >= 0)
    close (s->kvmfr_fd);
  g_clear_pointer (&s->lock, ql_lock_release);
  g_rmdir (s->m->runtime_dir);
  return code;
}

static void
supervisor_done (Supervisor *s)
{
  /* what is still queued (a held command's failure, say) points at s:
   * it runs now, not in a later iteration of someone else's loop */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_pointer (&s->stop_signals, ql_stop_signals_free);
  g_clear_pointer (&s->relay, ql_qmp_relay_free);
  g_clear_object (&s->qmp);
  g_clear_object (&s->serial);
  g_clear_pointer (&s->qemu, ql_qemu_child_free);
  g_array_unref (s->passed_fds);
  g_string_free (s->stderr_tail, TRUE);
  g_free (s->shutdown_reason);
  g_clear_pointer (&s->cpus_fast, json_node_unref);
  ql_journal_free (s->journal);
  ql_run_as_free (s->run_as);
  g_main_loop_unref (s->loop);
}

QlExitStatus
ql_supervisor_run (const QlSupervisorOptions *opts, GError **error)
{
  Supervisor s = {
    .opts = opts, .m = opts->machine, .name = opts->machine->profile->vm.name,
    .loop = g_main_loop_new (NULL, FALSE), .stderr_tail = g_string_new (NULL), .qemu_log_fd = -1, .kvmfr_fd = -1,
    .host_restore_ms = -1, .journal = ql_journal_new (opts->machine->runtime_dir),
    .passed_fds = g_array_new (FALSE, FALSE, sizeof (QlPassedFd)),
  };
  QlExitStatus code = QL_EXIT_START_FAILED;

  s.self = ql_process_self (ql_paths_procfs ());
  /* before the first host change: Ctrl-C then aborts the start and undoes it */
  s.stop_signals = ql_stop_signals_watch (on_stop_signal, &s, &s.start_error);
  if (s.stop_signals != NULL && take_runtime_dir (&s, &s.start_error))
    {
      g_autoptr(GError) prepare_error = NULL;

      s.prepared = prepare_host (&s, &prepare_error) && !start_interrupted (&s);
      /* an interruption's own error says more than the step it cut short */
      if (prepare_error != NULL && s.start_error == NULL)
        s.start_error = g_steal_pointer (&prepare_error);
      if (s.prepared)
        run_qemu (&s);
      code = tear_down (&s);
    }
  if (s.start_error != NULL)
    g_propagate_error (error, g_steal_pointer (&s.start_error));
  supervisor_done (&s);
  return code;
}

gboolean
ql_supervisor_request_stop (const char *runtime_dir, gboolean force, guint timeout_s, GError **error)
{
  g_autofree char *path = g_build_filename (runtime_dir, QL_RUNTIME_STOP_REQUEST, NULL);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "force");
  json_builder_add_boolean_value (b, force);
  json_builder_set_member_name (b, "timeout");
  json_builder_add_int_value (b, timeout_s);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return ql_json_write_file (path, root, error);
}
