#pragma once

/* Shared by the two halves of the libvirt exporter; not for other files. */

#include <glib.h>
#include <libxml/tree.h>
#include "ql-machine.h"

typedef struct {
  const QlMachine *m;
  const QlProfile *p;
  xmlNs *qemu_ns;
  xmlNode *commandline;    /* <qemu:commandline>, made on first use */
  xmlNode *override;       /* <qemu:override>, made on first use */
  xmlNode *metadata;       /* qlaunch's element in <metadata>, made on first use */
  GPtrArray *warnings;
} ExCtx;

xmlNode *ex_child (xmlNode *parent, const char *name, const char *text);
void ex_prop (xmlNode *node, const char *name, const char *value);
void ex_propf (xmlNode *node, const char *name, const char *fmt, ...) G_GNUC_PRINTF (3, 4);
void ex_warn (ExCtx *ctx, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
/* Appends QEMU arguments to <qemu:commandline>. */
void ex_qemu_args (ExCtx *ctx, const char *const *args);
/* A property of a device by alias in <qemu:override>. */
void ex_override (ExCtx *ctx, const char *alias, const char *name, const char *type, const char *value);
/* A profile key libvirt has no element for, in <metadata>. */
void ex_metadata_key (ExCtx *ctx, const char *section, const char *key, const char *value);
void ex_alias (xmlNode *device, const char *kind, const char *id);

void ex_devices (ExCtx *ctx, xmlNode *domain);
