#include "ql-import-libvirt.h"
#include "ql-import-libvirt-priv.h"
#include "ql-import-qemu-args.h"
#include "ql-error.h"
#include "ql-profile.h"
#include "ql-value.h"

#include <libxml/parser.h>
#include <string.h>

/* ---- XML helpers ---- */

char *
lv_prop (xmlNode *node, const char *name)
{
  xmlChar *value = xmlGetProp (node, (const xmlChar *) name);
  char *copy = value ? g_strdup ((const char *) value) : NULL;

  xmlFree (value);
  return copy;
}

char *
lv_text (xmlNode *node)
{
  xmlChar *value = xmlNodeGetContent (node);
  char *copy = g_strstrip (g_strdup (value ? (const char *) value : ""));

  xmlFree (value);
  if (copy[0] == '\0')
    g_clear_pointer (&copy, g_free);
  return copy;
}

static gboolean
in_qemu_ns (xmlNode *node)
{
  return node->ns != NULL && strcmp ((const char *) node->ns->href, QL_LIBVIRT_QEMU_NS) == 0;
}

gboolean
lv_is (xmlNode *node, const char *name)
{
  return node->type == XML_ELEMENT_NODE && strcmp ((const char *) node->name, name) == 0 && !in_qemu_ns (node);
}

xmlNode *
lv_child (xmlNode *node, const char *name)
{
  for (xmlNode *c = node->children; c != NULL; c = c->next)
    if (lv_is (c, name))
      return c;
  return NULL;
}

guint
lv_line (xmlNode *node)
{
  long line = xmlGetLineNo (node);
  return line > 0 ? (guint) line : 0;
}

gboolean
lv_prop_on (xmlNode *node, const char *name)
{
  g_autofree char *value = lv_prop (node, name);
  return value != NULL && (strcmp (value, "on") == 0 || strcmp (value, "yes") == 0);
}

char *
lv_describe (xmlNode *node)
{
  g_autofree char *type = lv_prop (node, "type");
  const char *prefix = in_qemu_ns (node) ? "qemu:" : "";

  if (type != NULL)
    return g_strdup_printf ("<%s%s type='%s'>", prefix, node->name, type);
  return g_strdup_printf ("<%s%s>", prefix, node->name);
}

void
lv_not_imported (LvCtx *ctx, xmlNode *node, const char *why)
{
  g_autofree char *what = lv_describe (node);
  ql_import_warn (ctx->import, lv_line (node), "%s not imported: %s", what, why);
}

char *
lv_section_id (LvCtx *ctx, const char *kind, const char *base)
{
  g_autofree char *clean = ql_import_section_id (base);

  for (guint n = 1;; n++)
    {
      g_autofree char *id = n == 1 ? g_strdup (clean) : g_strdup_printf ("%s-%u", clean, n);
      g_autofree char *key = g_strdup_printf ("%s %s", kind, id);
      if (!g_hash_table_contains (ctx->ids, key))
        {
          g_hash_table_add (ctx->ids, g_steal_pointer (&key));
          return g_steal_pointer (&id);
        }
    }
}

char *
lv_alias (xmlNode *node)
{
  xmlNode *alias = lv_child (node, "alias");
  return alias ? lv_prop (alias, "name") : NULL;
}

char *
lv_alias_id (xmlNode *node, const char *kind)
{
  g_autofree char *alias = lv_alias (node);
  g_autofree char *prefix = g_strconcat (kind, "-", NULL);
  const char *id;

  if (alias == NULL || !g_str_has_prefix (alias, "ua-"))
    return NULL;
  id = alias + strlen ("ua-");
  if (g_str_has_prefix (id, prefix) && id[strlen (prefix)] != '\0')
    id += strlen (prefix);
  return g_strdup (id);
}

/* ---- sizes and CPU sets ---- */

static gboolean
memory_bytes (xmlNode *node, guint64 *ret)
{
  static const struct { const char *unit; guint64 factor; } units[] = {
    { "b", 1 }, { "bytes", 1 }, { "KB", 1000 }, { "k", 1024 }, { "KiB", 1024 },
    { "MB", 1000000 }, { "M", 1 << 20 }, { "MiB", 1 << 20 },
    { "GB", 1000000000 }, { "G", 1 << 30 }, { "GiB", 1 << 30 },
    { "TB", G_GUINT64_CONSTANT (1000000000000) }, { "T", G_GUINT64_CONSTANT (1) << 40 },
    { "TiB", G_GUINT64_CONSTANT (1) << 40 },
  };
  g_autofree char *text = lv_text (node), *unit = lv_prop (node, "unit");
  guint64 value, factor = 1024;   /* KiB when no unit is given */
  char *end;

  if (text == NULL || !g_ascii_isdigit (text[0]))
    return FALSE;
  value = g_ascii_strtoull (text, &end, 10);
  if (*end != '\0')
    return FALSE;
  if (unit != NULL)
    {
      factor = 0;
      for (guint i = 0; i < G_N_ELEMENTS (units); i++)
        if (g_ascii_strcasecmp (unit, units[i].unit) == 0 && (strlen (unit) > 1 || unit[0] == units[i].unit[0]))
          factor = units[i].factor;
      if (factor == 0)
        return FALSE;
    }
  *ret = value * factor;
  return TRUE;
}

static char *
format_size (guint64 bytes)
{
  if (bytes % (G_GUINT64_CONSTANT (1) << 30) == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "G", bytes >> 30);
  if (bytes % (1 << 20) == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "M", bytes >> 20);
  return g_strdup_printf ("%" G_GUINT64_FORMAT "K", bytes >> 10);
}

/* ---- <domain> children ---- */

static void
import_name (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *name = lv_text (node), *message = NULL;

  if (name == NULL)
    return;
  if (!ql_profile_name_is_valid (name, &message))
    {
      g_autofree char *clean = ql_import_section_id (name);
      ql_import_warn (ctx->import, lv_line (node), "<name> '%s' %s; written as '%s'", name, message, clean);
      g_free (name);
      name = g_steal_pointer (&clean);
    }
  ql_import_set (ctx->import, "vm", "name", name);
}

static void
import_memory (LvCtx *ctx, xmlNode *node)
{
  guint64 bytes;
  g_autofree char *size = NULL;

  if (!memory_bytes (node, &bytes))
    {
      lv_not_imported (ctx, node, "not a size");
      return;
    }
  size = format_size (bytes);
  if (lv_is (node, "memory"))
    ql_import_set (ctx->import, "memory", "size", size);
  else
    {
      g_autofree char *total = ql_import_get (ctx->import, "memory", "size");
      if (total == NULL || strcmp (total, size) != 0)
        ql_import_warn (ctx->import, lv_line (node), "<currentMemory> %s differs from <memory>: qlaunch has no "
                        "balloon target; the guest gets all of <memory>", size);
    }
}

static void
import_vcpu (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *text = lv_text (node), *cpuset = lv_prop (node, "cpuset"), *current = lv_prop (node, "current");
  guint64 n;

  if (text == NULL || !ql_import_parse_uint (text, 1, 4096, &n))
    {
      lv_not_imported (ctx, node, "not a number of vCPUs");
      return;
    }
  ctx->vcpus = (guint) n;
  if (cpuset != NULL)
    {
      ql_import_set (ctx->import, "cpu", "emulator-pin", cpuset);
      ql_import_warn (ctx->import, lv_line (node), "<vcpu cpuset='%s'>: the CPUs vCPUs may float on; written as "
                      "[cpu] emulator-pin (QEMU's other threads); pin the vCPUs with pin=", cpuset);
    }
  if (current != NULL && strcmp (current, text) != 0)
    ql_import_warn (ctx->import, lv_line (node), "<vcpu current='%s'>: qlaunch starts every vCPU (%s)", current, text);
}

static void
import_iothreads (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *text = lv_text (node);
  guint64 n;

  if (text == NULL || !ql_import_parse_uint (text, 0, 16, &n))
    lv_not_imported (ctx, node, "qlaunch runs 0 to 16 iothreads");
  else
    ql_import_set (ctx->import, "cpu", "iothreads", text);
}

static void
import_uuid (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *uuid = lv_text (node);
  if (uuid != NULL)
    ql_import_set (ctx->import, "vm", "uuid", uuid);
}

/* qlaunch's own element (what 'qlaunch export libvirt' writes): the
 * profile keys libvirt has no element for, given back as they were. */
static gboolean
import_qlaunch_metadata (LvCtx *ctx, xmlNode *profile)
{
  if (profile->ns == NULL || strcmp ((const char *) profile->ns->href, QL_LIBVIRT_METADATA_NS) != 0)
    return FALSE;
  for (xmlNode *k = profile->children; k != NULL; k = k->next)
    {
      g_autofree char *section = NULL, *name = NULL, *value = NULL;
      if (k->type != XML_ELEMENT_NODE)
        continue;
      section = lv_prop (k, "section");
      name = lv_prop (k, "name");
      value = lv_prop (k, "value");
      if (section == NULL || name == NULL || value == NULL || strcmp ((const char *) k->name, "key") != 0)
        lv_not_imported (ctx, k, "not a qlaunch <key section name value>");
      else if (strcmp (name, "forward") == 0)
        ql_import_append (ctx->import, section, name, value);
      else
        ql_import_set (ctx->import, section, name, value);
    }
  return TRUE;
}

static void
import_metadata (LvCtx *ctx, xmlNode *node)
{
  for (xmlNode *c = node->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && !import_qlaunch_metadata (ctx, c))
      {
        g_autofree char *what = g_strdup_printf ("<%s>", c->name);
        ql_import_note (ctx->import, lv_line (c), "<metadata> %s is an application's own: ignored", what);
      }
}

static void
ignore_with_note (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *what = lv_describe (node);
  ql_import_note (ctx->import, lv_line (node), "%s is libvirt's own (not part of the machine): ignored", what);
}

/* ---- <cputune> ---- */

static char *
cpuset_text (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *set = lv_prop (node, "cpuset");
  g_autoptr(GArray) cpus = set ? ql_import_parse_cpuset (set) : NULL;

  if (cpus == NULL)
    {
      lv_not_imported (ctx, node, "its cpuset is not a CPU list");
      return NULL;
    }
  return ql_value_format_cpu_set (cpus);
}

static void
import_vcpupins (LvCtx *ctx, xmlNode *cputune)
{
  g_autoptr(GArray) pins = g_array_new (FALSE, TRUE, sizeof (gint));
  g_autoptr(GString) list = g_string_new (NULL);
  guint line = 0;

  for (xmlNode *c = cputune->children; c != NULL; c = c->next)
    {
      g_autofree char *vcpu = NULL, *set = NULL;
      g_autoptr(GArray) cpus = NULL;
      guint64 index;

      if (!lv_is (c, "vcpupin"))
        continue;
      line = line ? line : lv_line (c);
      vcpu = lv_prop (c, "vcpu");
      set = lv_prop (c, "cpuset");
      cpus = set ? ql_import_parse_cpuset (set) : NULL;
      if (vcpu == NULL || !ql_import_parse_uint (vcpu, 0, 4095, &index) || cpus == NULL)
        {
          lv_not_imported (ctx, c, "not a vCPU number and a cpuset");
          continue;
        }
      if (cpus->len > 1)
        ql_import_warn (ctx->import, lv_line (c), "<vcpupin vcpu='%s' cpuset='%s'>: qlaunch pins a vCPU to one CPU; "
                        "took %u", vcpu, set, g_array_index (cpus, guint, 0));
      if (index >= pins->len)
        g_array_set_size (pins, index + 1);
      g_array_index (pins, gint, index) = (gint) g_array_index (cpus, guint, 0) + 1;
    }
  if (pins->len == 0)
    return;
  for (guint i = 0; i < pins->len; i++)
    {
      if (g_array_index (pins, gint, i) == 0 || (ctx->vcpus && pins->len != ctx->vcpus))
        {
          ql_import_warn (ctx->import, line, "<vcpupin> does not pin every vCPU: qlaunch pins all or none; "
                          "[cpu] pin not written");
          return;
        }
      g_string_append_printf (list, "%s%d", i ? "," : "", g_array_index (pins, gint, i) - 1);
    }
  ql_import_set (ctx->import, "cpu", "pin", list->str);
}

static void
import_cputune (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *iothread_set = NULL;

  import_vcpupins (ctx, node);
  for (xmlNode *c = node->children; c != NULL; c = c->next)
    {
      if (c->type != XML_ELEMENT_NODE || lv_is (c, "vcpupin"))
        continue;
      if (lv_is (c, "emulatorpin"))
        {
          g_autofree char *set = cpuset_text (ctx, c);
          if (set != NULL)
            ql_import_set (ctx->import, "cpu", "emulator-pin", set);
        }
      else if (lv_is (c, "iothreadpin"))
        {
          g_autofree char *set = cpuset_text (ctx, c);
          if (set != NULL && iothread_set != NULL && strcmp (set, iothread_set) != 0)
            ql_import_warn (ctx->import, lv_line (c), "<iothreadpin cpuset='%s'>: qlaunch's iothreads share one "
                            "set; kept %s", set, iothread_set);
          else if (set != NULL && iothread_set == NULL)
            {
              ql_import_set (ctx->import, "cpu", "iothread-pin", set);
              iothread_set = g_steal_pointer (&set);
            }
        }
      else
        lv_not_imported (ctx, c, "qlaunch has no scheduler or bandwidth keys");
    }
}

/* ---- <memoryBacking> ---- */

static void
import_hugepages (LvCtx *ctx, xmlNode *node)
{
  xmlNode *page = lv_child (node, "page");
  guint64 bytes = 2 << 20;

  if (page != NULL)
    {
      g_autofree char *size = lv_prop (page, "size"), *unit = lv_prop (page, "unit");
      guint64 value = size ? g_ascii_strtoull (size, NULL, 10) : 0;
      guint64 factor = unit == NULL || g_ascii_strcasecmp (unit, "KiB") == 0 || strcmp (unit, "k") == 0 ? 1024
                       : strcmp (unit, "M") == 0 || strcmp (unit, "MiB") == 0 ? 1 << 20
                       : strcmp (unit, "G") == 0 || strcmp (unit, "GiB") == 0 ? 1 << 30 : 0;
      bytes = value * factor;
    }
  if (bytes == 2 << 20)
    ql_import_set (ctx->import, "memory", "hugepages", "2M");
  else if (bytes == 1 << 30)
    ql_import_set (ctx->import, "memory", "hugepages", "1G");
  else
    lv_not_imported (ctx, node, "qlaunch uses 2M or 1G pages");
}

static void
import_memory_backing (LvCtx *ctx, xmlNode *node)
{
  for (xmlNode *c = node->children; c != NULL; c = c->next)
    {
      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (lv_is (c, "hugepages"))
        import_hugepages (ctx, c);
      else if (lv_is (c, "allocation"))
        {
          g_autofree char *mode = lv_prop (c, "mode"), *threads = lv_prop (c, "threads");
          if (mode != NULL && strcmp (mode, "immediate") == 0)
            ql_import_set_bool (ctx->import, "memory", "prealloc", TRUE);
          if (threads != NULL)
            ql_import_set (ctx->import, "memory", "prealloc-threads", threads);
        }
      else
        lv_not_imported (ctx, c, "qlaunch backs memory with hugetlbfs or anonymous RAM only");
    }
}

/* ---- <os> ---- */

static void
import_loader (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *type = lv_prop (node, "type"), *path = lv_text (node);

  if (type != NULL && strcmp (type, "rom") == 0)
    ql_import_set (ctx->import, "vm", "firmware", "bios");
  else
    ql_import_set (ctx->import, "vm", "firmware", "uefi");
  if (lv_prop_on (node, "secure"))
    ql_import_set_bool (ctx->import, "vm", "secure-boot", TRUE);
  if (path != NULL)
    ql_import_note (ctx->import, lv_line (node), "<loader> %s: qlaunch finds the firmware through QEMU's "
                    "descriptors (/usr/share/qemu/firmware); QLAUNCH_FIRMWARE_PATH adds a directory", path);
}

static void
import_nvram (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *path = lv_text (node);

  if (path != NULL)
    ql_import_warn (ctx->import, lv_line (node), "<nvram> %s: qlaunch keeps the UEFI variables in its state dir "
                    "(OVMF_VARS.fd, copied from the template at the first start); copy this file there before "
                    "the first start to keep the guest's boot entries", path);
}

static void
import_os_type (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *machine = lv_prop (node, "machine"), *arch = lv_prop (node, "arch");

  if (arch != NULL && strcmp (arch, "x86_64") != 0)
    ql_import_warn (ctx->import, lv_line (node), "<type arch='%s'>: qlaunch runs x86_64 guests", arch);
  if (machine == NULL || strcmp (machine, "q35") == 0)
    return;
  if (ql_value_machine_type_is_valid (machine))
    ql_import_set (ctx->import, "vm", "machine", machine);  /* the guest keeps its hardware */
  else if (g_str_has_prefix (machine, "pc-q35-"))
    ql_import_note (ctx->import, lv_line (node), "<type machine='%s'>: not a pc-q35-X.Y type; qlaunch pins what "
                    "q35 is in its QEMU at the first start", machine);
  else
    ql_import_warn (ctx->import, lv_line (node), "<type machine='%s'>: qlaunch builds a q35 machine; the guest "
                    "sees another chipset (Windows may need its drivers again)", machine);
}

static void
import_os_child (LvCtx *ctx, xmlNode *c, gboolean *firmware_set)
{
  static const struct { const char *element, *key; } boot[] = {
    { "kernel", "kernel" }, { "initrd", "initrd" }, { "cmdline", "append" },
  };

  if (lv_is (c, "type"))
    return import_os_type (ctx, c);
  if (lv_is (c, "loader"))
    {
      *firmware_set = TRUE;
      return import_loader (ctx, c);
    }
  if (lv_is (c, "nvram"))
    return import_nvram (ctx, c);
  if (lv_is (c, "boot"))
    {
      g_autofree char *dev = lv_prop (c, "dev");
      ql_import_note (ctx->import, lv_line (c), "<boot dev='%s'>: qlaunch boots the disks with boot=true, then "
                      "the CD-ROMs with boot=true (from <boot order> of the devices)", dev ? dev : "");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (boot); i++)
    if (lv_is (c, boot[i].element))
      {
        g_autofree char *value = lv_text (c);
        if (value != NULL)
          ql_import_set (ctx->import, "vm", boot[i].key, value);
        return;
      }
  if (lv_is (c, "firmware"))
    {
      for (xmlNode *f = c->children; f != NULL; f = f->next)
        {
          g_autofree char *name = lv_is (f, "feature") ? lv_prop (f, "name") : NULL;
          if (name != NULL && strcmp (name, "secure-boot") == 0 && lv_prop_on (f, "enabled"))
            ql_import_set_bool (ctx->import, "vm", "secure-boot", TRUE);
        }
      return;
    }
  lv_not_imported (ctx, c, "qlaunch has no key for it");
}

static void
import_os (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *firmware = lv_prop (node, "firmware");
  gboolean firmware_set = FALSE;

  for (xmlNode *c = node->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE)
      import_os_child (ctx, c, &firmware_set);
  if (firmware != NULL && strcmp (firmware, "efi") == 0)
    ql_import_set (ctx->import, "vm", "firmware", "uefi");
  else if (!firmware_set && firmware == NULL)
    ql_import_set (ctx->import, "vm", "firmware", "bios");
}

/* ---- <features> ---- */

static void
import_hyperv (LvCtx *ctx, xmlNode *node)
{
  /* what qlaunch turns on with hyperv=true (launcher/machine/ql-machine.c) */
  static const char *const known[] = {
    "relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "stimer", "reset", "frequencies",
    "tlbflush", "ipi", NULL,
  };
  g_autofree char *mode = lv_prop (node, "mode");

  ql_import_set_bool (ctx->import, "vm", "hyperv", TRUE);
  if (mode != NULL && strcmp (mode, "custom") != 0)
    ql_import_note (ctx->import, lv_line (node), "<hyperv mode='%s'>: qlaunch turns on its own set of "
                    "enlightenments", mode);
  for (xmlNode *c = node->children; c != NULL; c = c->next)
    {
      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (lv_is (c, "vendor_id") && lv_prop_on (c, "state"))
        {
          g_autofree char *value = lv_prop (c, "value");
          ql_import_set_bool (ctx->import, "vm", "hide-hypervisor", TRUE);
          ql_import_note (ctx->import, lv_line (c), "<vendor_id value='%s'>: hide-hypervisor=true sets qlaunch's "
                          "own vendor id", value ? value : "");
        }
      else if (!g_strv_contains (known, (const char *) c->name) && lv_prop_on (c, "state"))
        lv_not_imported (ctx, c, "not among the enlightenments qlaunch turns on");
      else if (g_strv_contains (known, (const char *) c->name) && !lv_prop_on (c, "state"))
        {
          g_autofree char *what = lv_describe (c);
          ql_import_warn (ctx->import, lv_line (c), "%s state='off': qlaunch turns it on with the other "
                          "enlightenments (hyperv=false turns them all off)", what);
        }
    }
}

static void
import_feature (LvCtx *ctx, xmlNode *c)
{
  static const char *const builtin[] = { "acpi", "apic", "pae", NULL };

  if (g_strv_contains (builtin, (const char *) c->name))
    return;
  if (lv_is (c, "hyperv"))
    return import_hyperv (ctx, c);
  if (lv_is (c, "kvm"))
    {
      for (xmlNode *k = c->children; k != NULL; k = k->next)
        if (lv_is (k, "hidden") && lv_prop_on (k, "state"))
          ql_import_set_bool (ctx->import, "vm", "hide-hypervisor", TRUE);
        else if (k->type == XML_ELEMENT_NODE && !lv_is (k, "hidden"))
          lv_not_imported (ctx, k, "qlaunch has no key for it");
      return;
    }
  if ((lv_is (c, "vmport") || lv_is (c, "smm")) && !lv_prop_on (c, "state"))
    return;   /* qlaunch turns vmport off, and SMM on only for Secure Boot */
  if (lv_is (c, "smm"))
    {
      ql_import_note (ctx->import, lv_line (c), "<smm state='on'>: qlaunch turns SMM on with secure-boot=true");
      return;
    }
  lv_not_imported (ctx, c, "qlaunch has no key for it");
}

static void
import_features (LvCtx *ctx, xmlNode *node)
{
  for (xmlNode *c = node->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE)
      import_feature (ctx, c);
}

/* ---- <cpu> ---- */

static void
import_topology (LvCtx *ctx, xmlNode *node)
{
  static const char *const keys[] = { "sockets", "cores", "threads" };
  g_autofree char *dies = lv_prop (node, "dies");
  guint product = 1;

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autofree char *value = lv_prop (node, keys[i]);
      if (value != NULL)
        {
          ql_import_set (ctx->import, "cpu", keys[i], value);
          product *= (guint) g_ascii_strtoull (value, NULL, 10);
        }
    }
  if (dies != NULL && strcmp (dies, "1") != 0)
    ql_import_warn (ctx->import, lv_line (node), "<topology dies='%s'>: qlaunch's guests have one die per socket",
                    dies);
  if (ctx->vcpus != 0 && product != ctx->vcpus)
    ql_import_warn (ctx->import, lv_line (node), "<topology> makes %u vCPUs, <vcpu> says %u: qlaunch starts %u",
                    product, ctx->vcpus, product);
}

static void
import_cpu (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *mode = lv_prop (node, "mode");

  if (mode == NULL || strcmp (mode, "host-passthrough") == 0)
    ql_import_set (ctx->import, "cpu", "model", "host");
  else if (strcmp (mode, "host-model") == 0)
    {
      ql_import_set (ctx->import, "cpu", "model", "host");
      ql_import_note (ctx->import, lv_line (node), "<cpu mode='host-model'>: the host's CPU is passed through "
                      "(model=host)");
    }
  else if (strcmp (mode, "maximum") == 0)
    ql_import_set (ctx->import, "cpu", "model", "max");
  for (xmlNode *c = node->children; c != NULL; c = c->next)
    {
      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (lv_is (c, "topology"))
        import_topology (ctx, c);
      else if (lv_is (c, "model") && mode != NULL && strcmp (mode, "custom") == 0)
        {
          g_autofree char *model = lv_text (c);
          if (model != NULL)
            ql_import_set (ctx->import, "cpu", "model", model);
        }
      else if (!lv_is (c, "model"))
        lv_not_imported (ctx, c, "qlaunch has no key for CPU features, caches or NUMA cells");
    }
}

/* ---- <clock>, <pm>, <on_*> ---- */

static void
import_timer (LvCtx *ctx, xmlNode *t, GString *rtc)
{
  g_autofree char *name = lv_prop (t, "name"), *present = lv_prop (t, "present"), *tick = lv_prop (t, "tickpolicy");

  if (name == NULL)
    return;
  if (strcmp (name, "hpet") == 0 && present != NULL && strcmp (present, "no") == 0)
    {
      const char *args[] = { "-machine", "hpet=off", NULL };
      ql_import_keep_args (ctx->import, lv_line (t), "<timer name='hpet' present='no'>", args);
    }
  else if (strcmp (name, "rtc") == 0 && tick != NULL && strcmp (tick, "catchup") == 0)
    g_string_append (rtc, ",driftfix=slew");
  else if (strcmp (name, "hypervclock") == 0 || (strcmp (name, "pit") == 0 && g_strcmp0 (tick, "delay") == 0) ||
           (strcmp (name, "rtc") == 0 && tick == NULL))
    return;   /* hv_time comes with hyperv=true; QEMU's PIT delays by default */
  else
    lv_not_imported (ctx, t, "qlaunch has no key for timers");
}

static void
import_clock (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *offset = lv_prop (node, "offset");
  g_autoptr(GString) rtc = g_string_new (NULL);

  if (offset != NULL && strcmp (offset, "localtime") == 0)
    g_string_append (rtc, "base=localtime");
  else if (offset != NULL && strcmp (offset, "utc") != 0)
    lv_not_imported (ctx, node, "qlaunch keeps the guest's clock in UTC unless told otherwise");
  for (xmlNode *t = node->children; t != NULL; t = t->next)
    if (lv_is (t, "timer"))
      import_timer (ctx, t, rtc);
  if (rtc->len > 0)
    {
      const char *args[] = { "-rtc", rtc->str[0] == ',' ? rtc->str + 1 : rtc->str, NULL };
      ql_import_keep_args (ctx->import, lv_line (node), "<clock>", args);
    }
}

static void
import_pm (LvCtx *ctx, xmlNode *node)
{
  for (xmlNode *c = node->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && lv_prop_on (c, "enabled"))
      lv_not_imported (ctx, c, "qlaunch disables S3 and S4 (they break passed-through GPUs on resume)");
}

static void
import_lifecycle (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *action = lv_text (node);
  const char *expected = lv_is (node, "on_reboot") ? "restart" : "destroy";

  if (action != NULL && strcmp (action, expected) != 0)
    lv_not_imported (ctx, node, "qlaunch powers off on poweroff and crash, and resets on reboot");
}

/* ---- <sysinfo type='fwcfg'> ---- */

static void
import_sysinfo (LvCtx *ctx, xmlNode *node)
{
  g_autofree char *type = lv_prop (node, "type");

  if (type == NULL || strcmp (type, "fwcfg") != 0)
    {
      lv_not_imported (ctx, node, "qlaunch has no SMBIOS keys");
      return;
    }
  for (xmlNode *e = node->children; e != NULL; e = e->next)
    {
      g_autofree char *name = NULL, *file = NULL;
      if (!lv_is (e, "entry"))
        continue;
      name = lv_prop (e, "name");
      file = lv_prop (e, "file");
      if (name != NULL && file != NULL && g_str_has_prefix (name, "opt/"))
        ql_import_set (ctx->import, "fw_cfg", name, file);
      else
        lv_not_imported (ctx, e, "qlaunch's [fw_cfg] takes opt/NAME = FILE");
    }
}

/* ---- the qemu: namespace ---- */

static void
import_commandline (LvCtx *ctx, xmlNode *node)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  guint line = 0;

  for (xmlNode *c = node->children; c != NULL; c = c->next)
    {
      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (strcmp ((const char *) c->name, "arg") == 0)
        {
          line = line ? line : lv_line (c);
          g_ptr_array_add (args, lv_prop (c, "value"));
        }
      else if (strcmp ((const char *) c->name, "env") == 0)
        {
          g_autofree char *name = lv_prop (c, "name"), *value = lv_prop (c, "value");
          ql_import_warn (ctx->import, lv_line (c), "<qemu:env name='%s' value='%s'> not imported: qlaunch passes "
                          "its own environment to QEMU; set it where qlaunch runs (Environment= in its unit)",
                          name ? name : "", value ? value : "");
        }
      else
        lv_not_imported (ctx, c, "not a <qemu:arg> or <qemu:env>");
    }
  g_ptr_array_add (args, NULL);
  ql_import_qemu_args (ctx->import, ctx->devices, line, "<qemu:commandline>", (const char *const *) args->pdata);
}

static void
import_override_device (LvCtx *ctx, xmlNode *device)
{
  g_autofree char *alias = lv_prop (device, "alias");

  for (xmlNode *f = device->children; f != NULL; f = f->next)
    for (xmlNode *p = f->type == XML_ELEMENT_NODE ? f->children : NULL; p != NULL; p = p->next)
      {
        g_autofree char *name = NULL, *type = NULL, *value = NULL;
        if (p->type != XML_ELEMENT_NODE || strcmp ((const char *) p->name, "property") != 0)
          continue;
        name = lv_prop (p, "name");
        type = lv_prop (p, "type");
        value = lv_prop (p, "value");
        if (name == NULL || value == NULL || alias == NULL)
          continue;
        if (!ql_import_device_property (ctx->import, ctx->devices, lv_line (p), alias, name, value))
          lv_not_imported (ctx, p, "its device alias names no <hostdev>");
      }
}

static void
import_override (LvCtx *ctx, xmlNode *node)
{
  for (xmlNode *c = node->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && strcmp ((const char *) c->name, "device") == 0)
      import_override_device (ctx, c);
    else if (c->type == XML_ELEMENT_NODE)
      lv_not_imported (ctx, c, "not a <qemu:device>");
}

/* ---- the domain ---- */

typedef void (*ElementImporter) (LvCtx *ctx, xmlNode *node);

static const struct {
  const char *name;
  ElementImporter import;
} domain_elements[] = {
  { "name", import_name }, { "uuid", import_uuid }, { "memory", import_memory },
  { "currentMemory", import_memory }, { "vcpu", import_vcpu }, { "iothreads", import_iothreads },
  { "cputune", import_cputune }, { "memoryBacking", import_memory_backing }, { "os", import_os },
  { "features", import_features }, { "cpu", import_cpu }, { "clock", import_clock }, { "pm", import_pm },
  { "on_poweroff", import_lifecycle }, { "on_reboot", import_lifecycle }, { "on_crash", import_lifecycle },
  { "sysinfo", import_sysinfo }, { "devices", lv_import_devices },
  { "title", ignore_with_note }, { "description", ignore_with_note },
  { "seclabel", ignore_with_note }, { "resource", ignore_with_note },
};

static void
import_domain_child (LvCtx *ctx, xmlNode *c)
{
  if (in_qemu_ns (c))
    {
      if (strcmp ((const char *) c->name, "commandline") == 0)
        import_commandline (ctx, c);
      else if (strcmp ((const char *) c->name, "override") == 0)
        import_override (ctx, c);
      else
        lv_not_imported (ctx, c, "qlaunch has no key for it");
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (domain_elements); i++)
    if (lv_is (c, domain_elements[i].name))
      {
        domain_elements[i].import (ctx, c);
        return;
      }
  lv_not_imported (ctx, c, "qlaunch has no key for it");
}

static void
import_domain_type (LvCtx *ctx, xmlNode *root)
{
  g_autofree char *type = lv_prop (root, "type");

  if (type != NULL && strcmp (type, "qemu") == 0)
    ql_import_set (ctx->import, "vm", "accel", "tcg");
  else if (type != NULL && strcmp (type, "kvm") != 0)
    ql_import_warn (ctx->import, lv_line (root), "<domain type='%s'>: qlaunch runs QEMU with KVM or TCG", type);
}

/* The domain's elements in an order that lets each see what it needs:
 * <vcpu> before <cpu> and <cputune>, <devices> (the hostdevs' aliases)
 * before the qemu: namespace that names them, qlaunch's <metadata> last. */
static void
import_domain (LvCtx *ctx, xmlNode *root)
{
  static const char *const first[] = { "name", "uuid", "memory", "currentMemory", "vcpu", "metadata", NULL };

  import_domain_type (ctx, root);
  for (xmlNode *c = root->children; c != NULL; c = c->next)
    if (lv_is (c, "name") || lv_is (c, "uuid") || lv_is (c, "memory") || lv_is (c, "vcpu"))
      import_domain_child (ctx, c);
  for (xmlNode *c = root->children; c != NULL; c = c->next)
    if (lv_is (c, "currentMemory"))
      import_domain_child (ctx, c);
  for (xmlNode *c = root->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && !in_qemu_ns (c) && !g_strv_contains (first, (const char *) c->name))
      import_domain_child (ctx, c);
  for (xmlNode *c = root->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && in_qemu_ns (c))
      import_domain_child (ctx, c);
  /* last: its keys complete sections the devices made */
  for (xmlNode *c = root->children; c != NULL; c = c->next)
    if (lv_is (c, "metadata"))
      import_metadata (ctx, c);
  ql_import_write_mdevs (ctx->import, ctx->devices, ctx->mdev_ids);
  ql_import_resolve_x_vga (ctx->import);
  {
    g_autofree char *sockets = ql_import_get (ctx->import, "cpu", "sockets");
    g_autofree char *cores = ql_import_get (ctx->import, "cpu", "cores");
    /* no <topology>: every vCPU a core of one socket, as libvirt's default */
    if (sockets == NULL && cores == NULL && ctx->vcpus != 0)
      ql_import_setf (ctx->import, "cpu", "cores", "%u", ctx->vcpus);
  }
}

static xmlDoc *
parse_xml (const char *data, gsize len, const char *source, GError **error)
{
  /* no network, no entity expansion, no DTD loading: the input is untrusted */
  xmlDoc *doc = xmlReadMemory (data, (int) MIN (len, (gsize) G_MAXINT), source, NULL,
                               XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  const xmlError *last;

  if (doc != NULL)
    return doc;
  last = xmlGetLastError ();
  g_set_error (error, QL_ERROR, QL_ERROR_PROFILE, "%s:%d: not well-formed XML: %s", source,
               last ? last->line : 0, last && last->message ? g_strstrip (last->message) : "unknown error");
  return NULL;
}

QlImport *
ql_import_libvirt (const char *data, gsize len, const char *source, GError **error)
{
  g_autoptr(QlImport) import = NULL;
  xmlDoc *doc;
  xmlNode *root;
  LvCtx ctx = { 0 };

  if (len > 16 << 20)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_PROFILE, "%s: larger than 16 MiB, not a domain XML", source);
      return NULL;
    }
  doc = parse_xml (data, len, source, error);
  if (doc == NULL)
    return NULL;
  root = xmlDocGetRootElement (doc);
  if (root == NULL || !lv_is (root, "domain"))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_PROFILE, "%s:%u: not a libvirt domain (the root element is <%s>, "
                   "not <domain>)", source, root ? lv_line (root) : 0, root ? (const char *) root->name : "");
      xmlFreeDoc (doc);
      return NULL;
    }
  import = ql_import_new (source);
  ctx.import = import;
  ctx.devices = ql_import_devices_new ();
  ctx.mdev_ids = g_ptr_array_new_with_free_func (g_free);
  ctx.ports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ctx.ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ctx.ports_without_hotplug = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  import_domain (&ctx, root);
  g_hash_table_unref (ctx.devices);
  g_ptr_array_unref (ctx.mdev_ids);
  g_hash_table_unref (ctx.ports);
  g_hash_table_unref (ctx.ids);
  g_hash_table_unref (ctx.ports_without_hotplug);
  xmlFreeDoc (doc);
  return g_steal_pointer (&import);
}
