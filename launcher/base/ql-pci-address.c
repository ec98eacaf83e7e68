#include "ql-pci-address.h"

#include <stdio.h>
#include <string.h>

void
ql_pci_address_format (const QlPciAddress *addr, char buf[QL_PCI_ADDRESS_LEN])
{
  g_snprintf (buf, QL_PCI_ADDRESS_LEN, "%04x:%02x:%02x.%x", addr->domain & 0xffff, addr->bus & 0xff,
              addr->slot & 0x1f, addr->function & 7);
}

/* Reads exactly width hex digits. */
static gboolean
read_hex (const char **p, guint width, guint *ret)
{
  guint v = 0;

  for (guint i = 0; i < width; i++)
    {
      int d = g_ascii_xdigit_value ((*p)[i]);
      if (d < 0)
        return FALSE;
      v = v << 4 | d;
    }
  *p += width;
  *ret = v;
  return TRUE;
}

gboolean
ql_pci_address_parse (const char *text, gboolean allow_slot, QlPciAddress *ret_addr,
                      gboolean *ret_has_function)
{
  QlPciAddress addr = { 0 };
  const char *p = text;
  gboolean has_function = FALSE;
  const char *first_colon = strchr (text, ':');

  /* a domain is there when two colons are */
  if (first_colon != NULL && strchr (first_colon + 1, ':') != NULL)
    {
      if (!read_hex (&p, 4, &addr.domain) || *p++ != ':')
        return FALSE;
    }
  if (!read_hex (&p, 2, &addr.bus) || *p++ != ':' || !read_hex (&p, 2, &addr.slot) || addr.slot > 0x1f)
    return FALSE;
  if (*p == '.')
    {
      p++;
      if (*p < '0' || *p > '7')
        return FALSE;
      addr.function = *p++ - '0';
      has_function = TRUE;
    }
  if (*p != '\0' || (!has_function && !allow_slot))
    return FALSE;
  *ret_addr = addr;
  if (ret_has_function)
    *ret_has_function = has_function;
  return TRUE;
}

gboolean
ql_pci_address_equal (const QlPciAddress *a, const QlPciAddress *b)
{
  return ql_pci_address_same_slot (a, b) && a->function == b->function;
}

gboolean
ql_pci_address_same_slot (const QlPciAddress *a, const QlPciAddress *b)
{
  return a->domain == b->domain && a->bus == b->bus && a->slot == b->slot;
}

int
ql_pci_address_compare (const QlPciAddress *a, const QlPciAddress *b)
{
  guint64 ka = (guint64) a->domain << 16 | a->bus << 8 | a->slot << 3 | a->function;
  guint64 kb = (guint64) b->domain << 16 | b->bus << 8 | b->slot << 3 | b->function;

  return ka < kb ? -1 : ka > kb;
}
