#include "ql-notify.h"
#include "ql-error.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char *notify_socket;
static guint64 watchdog_usec;
static pid_t watchdog_pid;

static void
read_watchdog (void)
{
  const char *usec = g_getenv ("WATCHDOG_USEC");
  const char *pid = g_getenv ("WATCHDOG_PID");
  guint64 value = 0, owner = 0;

  if (usec == NULL || !g_ascii_string_to_unsigned (usec, 10, 1, G_MAXUINT64, &value, NULL))
    return;
  /* WATCHDOG_PID names the process meant; a child that inherited it is not */
  if (pid != NULL && (!g_ascii_string_to_unsigned (pid, 10, 1, G_MAXINT, &owner, NULL) || (pid_t) owner != getpid ()))
    return;
  watchdog_usec = value;
  watchdog_pid = getpid ();
}

void
ql_notify_init (void)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");

  g_clear_pointer (&notify_socket, g_free);
  watchdog_usec = 0;
  watchdog_pid = 0;
  if (path != NULL && (path[0] == '/' || path[0] == '@') && strlen (path) > 1)
    notify_socket = g_strdup (path);
  read_watchdog ();
  g_unsetenv ("NOTIFY_SOCKET");
  g_unsetenv ("WATCHDOG_USEC");
  g_unsetenv ("WATCHDOG_PID");
}

gboolean
ql_notify_enabled (void)
{
  return notify_socket != NULL;
}

/* '@' stands for the abstract namespace: a leading NUL, and no terminator. */
static gboolean
notify_address (struct sockaddr_un *addr, socklen_t *ret_len, GError **error)
{
  gsize len = strlen (notify_socket);

  memset (addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (len >= sizeof addr->sun_path)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "NOTIFY_SOCKET '%s' is too long for a unix socket", notify_socket);
      return FALSE;
    }
  memcpy (addr->sun_path, notify_socket, len);
  if (addr->sun_path[0] == '@')
    addr->sun_path[0] = '\0';
  *ret_len = offsetof (struct sockaddr_un, sun_path) + len + (notify_socket[0] == '/' ? 1 : 0);
  return TRUE;
}

gboolean
ql_notify_send (const char *state, GError **error)
{
  struct sockaddr_un addr;
  socklen_t addr_len;
  int fd;
  gssize sent;

  if (notify_socket == NULL)
    return TRUE;
  if (!notify_address (&addr, &addr_len, error))
    return FALSE;
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return ql_error_set_errno (error, errno, "Cannot make a socket for NOTIFY_SOCKET");
  /* never wait for the manager: a full queue costs this message, not the
   * event loop that runs the VM (a blocked send would also stop the ladder) */
  sent = sendto (fd, state, strlen (state), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *) &addr, addr_len);
  if (sent < 0)
    {
      int saved = errno;
      close (fd);
      return ql_error_set_errno (error, saved, "Cannot notify the service manager at '%s'", notify_socket);
    }
  close (fd);
  return TRUE;
}

static void
send_or_log (const char *state)
{
  g_autoptr(GError) error = NULL;

  if (!ql_notify_send (state, &error))
    g_debug ("%s, ignoring", error->message);
}

/* assignments, then "STATUS=", lead and the formatted text, as one datagram. */
static void G_GNUC_PRINTF (3, 0)
send_with_status (const char *assignments, const char *lead, const char *format, va_list ap)
{
  g_autofree char *status = NULL, *state = NULL;

  if (notify_socket == NULL)
    return;
  status = g_strdup_vprintf (format, ap);
  state = g_strconcat (assignments, "STATUS=", lead, status, NULL);
  send_or_log (state);
}

void
ql_notify_status (const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  send_with_status ("", "", format, ap);
  va_end (ap);
}

void
ql_notify_extend_timeout (guint64 usec, const char *format, ...)
{
  g_autofree char *prefix = g_strdup_printf ("EXTEND_TIMEOUT_USEC=%" G_GUINT64_FORMAT "\n", usec);
  va_list ap;

  va_start (ap, format);
  send_with_status (prefix, "", format, ap);
  va_end (ap);
}

void
ql_notify_ready (void)
{
  send_or_log ("READY=1\nSTATUS=running");
}

void
ql_notify_stopping (const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  send_with_status ("STOPPING=1\n", "stopping: ", format, ap);
  va_end (ap);
}

void
ql_notify_ladder (const char *rung, guint press, guint presses)
{
  if (press == 0)
    ql_notify_stopping ("%s", rung);
  else
    ql_notify_stopping ("%s %u/%u", rung, press, presses);
}

void
ql_notify_main_pid (pid_t pid)
{
  g_autofree char *state = g_strdup_printf ("MAINPID=%d", (int) pid);

  send_or_log (state);
}

guint64
ql_notify_watchdog_usec (void)
{
  return watchdog_pid == getpid () ? watchdog_usec : 0;
}

void
ql_notify_watchdog_ping (void)
{
  send_or_log ("WATCHDOG=1");
}
