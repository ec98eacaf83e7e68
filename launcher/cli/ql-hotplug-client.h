#pragma once

#include "ql-qmp-client.h"

/* Asking the supervisor for qlaunch-detach, -attach and -devices, and
 * what it answers, for people (the CLI verbs and the console). */

/* The whole reply ({"return": …} or {"error": …}); NULL when no reply came.
 * timeout_s: detach's wait for the guest (0: the supervisor's default). */
JsonObject *ql_cmd_hotplug_request (QlQmpClient *qmp, const char *command, const char *device, guint timeout_s,
                                    GError **error);

/* A detach's or attach's reply, or an error, as lines for a terminal. */
char *ql_cmd_hotplug_describe (JsonObject *reply);

/* qlaunch-devices' return: one block per device. */
char *ql_cmd_hotplug_describe_devices (JsonNode *devices);
