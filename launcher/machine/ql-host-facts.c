#include "ql-host-facts.h"

void
ql_host_facts_free (QlHostFacts *facts)
{
  if (facts == NULL)
    return;
  g_free (facts->kvm_reason);
  g_free (facts->qemu_binary);
  g_clear_pointer (&facts->firmware, g_ptr_array_unref);
  g_free (facts->hugetlbfs_2m);
  g_free (facts->hugetlbfs_1g);
  ql_cpu_topology_free (facts->cpus);
  g_free (facts->cpus_error);
  ql_pci_host_free (facts->pci);
  g_free (facts->pci_error);
  ql_qemu_caps_free (facts->qemu_caps);
  g_free (facts->pinned_machine);
  g_free (facts->devfs);
  g_free (facts);
}
