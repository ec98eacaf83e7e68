#pragma once

#include <glib.h>
#include "ql-cpu-topology.h"
#include "ql-pci-host.h"
#include "ql-qemu-caps.h"

/* What the machine model needs to know about the host, gathered in one
 * place so that the model and the argv stay pure functions of
 * (profile, host facts, paths). */
typedef struct {
  gboolean kvm_usable;
  char *kvm_reason;          /* why KVM is not usable, when it is not */
  char *qemu_binary;         /* absolute path, or NULL when not found */
  GPtrArray *firmware;       /* QlFirmwareDescriptor*, ranked */
  char *hugetlbfs_2m;        /* mount points, NULL when none */
  char *hugetlbfs_1g;
  QlPciHost *pci;            /* only looked at when the profile passes devices through */
  char *pci_error;           /* why pci is NULL then */
  QlCpuTopology *cpus;       /* only looked at when the profile pins threads */
  char *cpus_error;          /* why cpus is NULL then */
  guint64 mem_total;         /* the host's RAM (MemTotal), bytes; 0: unknown */
  QlQemuCaps *qemu_caps;     /* what qemu_binary can do, probed; NULL: not asked (tests, host-setup) */
  char *pinned_machine;      /* the machine type the VM's first start recorded in its state dir; NULL: none yet */
  char *devfs;               /* the /dev the paths below were read from; NULL: "/dev" */
  gboolean kvmfr;            /* DEVFS/kvmfr0 is a character device: the kvmfr module is loaded */
  guint qemu_version;        /* major * 100 + minor; query-version's, set with qemu_caps; 0: not asked */
} QlHostFacts;

void ql_host_facts_free (QlHostFacts *facts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlHostFacts, ql_host_facts_free)
