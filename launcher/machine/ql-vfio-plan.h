#pragma once

#include <glib.h>
#include "ql-machine.h"
#include "ql-pci-host.h"

/* What passing devices through changes on the host, decided before anything
 * is touched.  Pure: a function of the host's PCI state as scanned. */

typedef struct {
  char address[QL_PCI_ADDRESS_LEN];
  char *label;           /* who wants it: "[pci gpu]" */
  QlPciRelease release;
  QlPciPower power;
  gboolean holders_may_go;   /* [host] handover steps come first: holders are noted, not refused */
} QlVfioRequest;

typedef struct {
  char address[QL_PCI_ADDRESS_LEN];
  char *description;
  char *driver;          /* the driver it has now; NULL: none */
  char *driver_override;
  int iommu_group;
  gboolean bind;         /* FALSE: already on vfio-pci, nothing to do or undo */
  char *label;
  QlPciRelease release;
  QlPciPower power;
} QlVfioPlanItem;

typedef struct {
  GPtrArray *items;      /* QlVfioPlanItem*, in request order */
  GPtrArray *notes;      /* group members left alone, boot VGA, ... (char*) */
} QlVfioPlan;

void ql_vfio_plan_free (QlVfioPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlVfioPlan, ql_vfio_plan_free)

/* requests: QlVfioRequest*.  Fails with QL_ERROR_HOST listing every
 * problem (no IOMMU, a group that is not viable, a device held open),
 * one per line, each with its fix. */
QlVfioPlan *ql_vfio_plan_build (const QlPciHost *host, GPtrArray *requests, GError **error);

/* "PID 123 (Xorg) through /dev/dri/card0, PID …" */
void ql_vfio_describe_holders (GString *out, const QlPciDevice *device);

/* The requests of a machine's [pci] sections. */
GPtrArray *ql_vfio_requests_from_machine (const QlMachine *machine);
QlVfioRequest *ql_vfio_request_new (const char *address, const char *label);
void ql_vfio_request_free (QlVfioRequest *request);
