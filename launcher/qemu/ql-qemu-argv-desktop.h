#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "ql-machine.h"

/* The desktop devices' part of the argv: sound, USB host devices, evdev and
 * virtio input, and Looking Glass's shared memory.  Appends to args
 * (char*, owned). */
void ql_qemu_argv_add_desktop (GPtrArray *args, const QlMachine *machine);

/* A usb-host device for a [usb] host= item (VENDOR:PRODUCT or BUS-PORT)
 * on the machine's xhci controller: the -device value, or NULL with a
 * message when the item is not one.  The console's usb-add sends the
 * same properties over QMP. */
char *ql_qemu_usb_host_device (const char *item, const char *id, char **ret_message);

/* The device_add arguments of the same device for a running VM, its id
 * ("usb-046d-c52b", "usb-bus1-4") in ret_id; NULL with a message when the
 * item is not one. */
JsonNode *ql_qemu_usb_host_arguments (const char *item, char **ret_id, char **ret_message);
