#include "ql-stop-signals.h"
#include "ql-error.h"

#include <errno.h>
#include <pthread.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };

/* the handler's only state: one process, one supervisor */
static volatile int signal_eventfd = -1;

struct QlStopSignals {
  int eventfd;
  guint source;
  GSourceFunc callback;
  gpointer user_data;
};

static void
on_signal (int signo)
{
  int saved_errno = errno;
  uint64_t one = 1;

  if (signal_eventfd >= 0 && write (signal_eventfd, &one, sizeof one) < 0)
    { /* the counter is full: a stop is pending anyway */ }
  errno = saved_errno;
}

static gboolean
eventfd_readable (int fd, GIOCondition condition, gpointer user_data)
{
  QlStopSignals *signals = user_data;
  uint64_t count;

  if (read (fd, &count, sizeof count) != sizeof count)
    return G_SOURCE_CONTINUE;
  signals->callback (signals->user_data);
  return G_SOURCE_CONTINUE;
}

static void
set_action (void (*handler) (int))
{
  struct sigaction action = { .sa_handler = handler, .sa_flags = SA_RESTART };

  sigemptyset (&action.sa_mask);
  for (gsize i = 0; i < G_N_ELEMENTS (stop_signals); i++)
    sigaction (stop_signals[i], &action, NULL);
}

QlStopSignals *
ql_stop_signals_watch (GSourceFunc callback, gpointer user_data, GError **error)
{
  QlStopSignals *signals;
  int fd;

  g_return_val_if_fail (signal_eventfd < 0, NULL);
  fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0)
    {
      ql_error_set_errno (error, errno, "eventfd");
      return NULL;
    }
  signals = g_new0 (QlStopSignals, 1);
  signals->eventfd = fd;
  signals->callback = callback;
  signals->user_data = user_data;
  signals->source = g_unix_fd_add (fd, G_IO_IN, eventfd_readable, signals);
  signal_eventfd = fd;
  set_action (on_signal);
  return signals;
}

void
ql_stop_signals_free (QlStopSignals *signals)
{
  if (signals == NULL)
    return;
  set_action (SIG_DFL);
  signal_eventfd = -1;
  g_source_remove (signals->source);
  close (signals->eventfd);
  g_free (signals);
}

static void
stop_signal_set (sigset_t *set)
{
  sigemptyset (set);
  for (gsize i = 0; i < G_N_ELEMENTS (stop_signals); i++)
    sigaddset (set, stop_signals[i]);
}

void
ql_stop_signals_block (sigset_t *saved)
{
  sigset_t set;

  stop_signal_set (&set);
  pthread_sigmask (SIG_BLOCK, &set, saved);
}

void
ql_stop_signals_restore (const sigset_t *saved)
{
  pthread_sigmask (SIG_SETMASK, saved, NULL);
}

void
ql_stop_signals_reset_in_child (void)
{
  sigset_t set;

  signal_eventfd = -1;
  set_action (SIG_DFL);
  /* one that came while they were blocked now takes its default action */
  stop_signal_set (&set);
  pthread_sigmask (SIG_UNBLOCK, &set, NULL);
}
