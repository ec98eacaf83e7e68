#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "ql-mdev-plan.h"

/* 'qlaunch devices': the mdev parents and their types, as a table after the
 * PCI devices' (nothing when there is no parent), and as the "mdev-types"
 * member of a device's JSON object. */
void ql_mdev_render_table (GString *out, const GPtrArray *parents);

/* "mdev-types": [{"type", "name", "description", "device-api",
 * "available-instances"}, …]; [] when address makes no mdevs. */
void ql_mdev_render_json_types (JsonBuilder *builder, const GPtrArray *parents, const char *name);

/* An object per parent that is no PCI device (the kernel's sample drivers):
 * {"address": null, "mdev-parent": NAME, "driver", "mdev-types"}. */
void ql_mdev_render_json_other_parents (JsonBuilder *builder, const GPtrArray *parents);
