#pragma once

#include <glib.h>

/* A PCI function address: domain:bus:slot.function. */
typedef struct {
  guint domain;
  guint bus;
  guint slot;
  guint function;
} QlPciAddress;

/* "0000:01:00.0" into buf (at least QL_PCI_ADDRESS_LEN bytes). */
#define QL_PCI_ADDRESS_LEN 13
void ql_pci_address_format (const QlPciAddress *addr, char buf[QL_PCI_ADDRESS_LEN]);

/* Accepts DDDD:BB:SS.F and BB:SS.F; with allow_slot, also DDDD:BB:SS and
 * BB:SS (then *ret_has_function is FALSE and function is 0). */
gboolean ql_pci_address_parse (const char *text, gboolean allow_slot, QlPciAddress *ret_addr,
                               gboolean *ret_has_function);

gboolean ql_pci_address_equal (const QlPciAddress *a, const QlPciAddress *b);
/* Same domain, bus and slot. */
gboolean ql_pci_address_same_slot (const QlPciAddress *a, const QlPciAddress *b);
int ql_pci_address_compare (const QlPciAddress *a, const QlPciAddress *b);
