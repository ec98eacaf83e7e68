/* libFuzzer harness: the QMP client reading whatever a (compromised) QEMU
 * sends: the greeting, replies, events, then EOF. */
#include "ql-qmp-client.h"

#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_TIMEOUT_MS 1000

static void
feed (int fd, const uint8_t *data, size_t size)
{
  while (size > 0)
    {
      ssize_t n = write (fd, data, size);
      if (n <= 0)
        break;
      data += n;
      size -= (size_t) n;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(QlQmpClient) client = NULL;
  g_autoptr(GError) error = NULL;
  int pair[2];

  /* at most what the socket buffer holds, so that feeding never blocks */
  if (size > 65536 || socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return 0;
  feed (pair[1], data, size);
  close (pair[1]);
  client = ql_qmp_client_new_for_fd (pair[0], &error);
  if (client == NULL)
    {
      close (pair[0]);
      return 0;
    }
  if (ql_qmp_client_handshake_sync (client, FUZZ_TIMEOUT_MS, &error))
    {
      g_autoptr(JsonNode) reply = ql_qmp_client_execute_sync (client, "query-status", NULL, FUZZ_TIMEOUT_MS, NULL);
      (void) reply;
    }
  ql_qmp_client_close (client);
  /* the cancelled read completes on the next iteration and drops its
   * references, as it does in the supervisor's main loop */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return 0;
}
