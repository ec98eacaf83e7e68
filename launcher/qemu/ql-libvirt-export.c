#include "ql-libvirt-export.h"
#include "ql-libvirt-export-priv.h"
#include "ql-import-libvirt.h"
#include "ql-value.h"

#include <stdarg.h>
#include <string.h>

#define QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* ---- helpers ---- */

xmlNode *
ex_child (xmlNode *parent, const char *name, const char *text)
{
  /* xmlNewTextChild escapes the text; xmlNewChild would not */
  return xmlNewTextChild (parent, NULL, (const xmlChar *) name, (const xmlChar *) text);
}

void
ex_prop (xmlNode *node, const char *name, const char *value)
{
  xmlSetProp (node, (const xmlChar *) name, (const xmlChar *) value);
}

void
ex_propf (xmlNode *node, const char *name, const char *fmt, ...)
{
  g_autofree char *value = NULL;
  va_list ap;

  va_start (ap, fmt);
  value = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  ex_prop (node, name, value);
}

void
ex_warn (ExCtx *ctx, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  g_ptr_array_add (ctx->warnings, g_strdup_vprintf (fmt, ap));
  va_end (ap);
}

void
ex_alias (xmlNode *device, const char *kind, const char *id)
{
  g_autofree char *alias = g_strdup_printf ("ua-%s-%s", kind, id);
  ex_prop (ex_child (device, "alias", NULL), "name", alias);
}

void
ex_qemu_args (ExCtx *ctx, const char *const *args)
{
  for (guint i = 0; args[i] != NULL; i++)
    {
      xmlNode *arg = xmlNewChild (ctx->commandline, ctx->qemu_ns, (const xmlChar *) "arg", NULL);
      ex_prop (arg, "value", args[i]);
    }
}

void
ex_override (ExCtx *ctx, const char *alias, const char *name, const char *type, const char *value)
{
  xmlNode *device = NULL, *frontend, *property;

  for (xmlNode *c = ctx->override->children; c != NULL; c = c->next)
    {
      xmlChar *has = xmlGetProp (c, (const xmlChar *) "alias");
      if (has != NULL && strcmp ((const char *) has, alias) == 0)
        device = c;
      xmlFree (has);
    }
  if (device == NULL)
    {
      device = xmlNewChild (ctx->override, ctx->qemu_ns, (const xmlChar *) "device", NULL);
      ex_prop (device, "alias", alias);
      xmlNewChild (device, ctx->qemu_ns, (const xmlChar *) "frontend", NULL);
    }
  frontend = device->children;
  property = xmlNewChild (frontend, ctx->qemu_ns, (const xmlChar *) "property", NULL);
  ex_prop (property, "name", name);
  ex_prop (property, "type", type);
  ex_prop (property, "value", value);
}

void
ex_metadata_key (ExCtx *ctx, const char *section, const char *key, const char *value)
{
  xmlNode *node = xmlNewChild (ctx->metadata, ctx->metadata->ns, (const xmlChar *) "key", NULL);

  ex_prop (node, "section", section);
  ex_prop (node, "name", key);
  ex_prop (node, "value", value);
}

/* ---- the domain ---- */

static void
export_memory (ExCtx *ctx, xmlNode *domain)
{
  const QlProfile *p = ctx->p;
  g_autofree char *kib = g_strdup_printf ("%" G_GUINT64_FORMAT, p->memory.size >> 10);
  xmlNode *backing;

  ex_prop (ex_child (domain, "memory", kib), "unit", "KiB");
  ex_prop (ex_child (domain, "currentMemory", kib), "unit", "KiB");
  if (ctx->m->hugetlbfs == NULL && !p->memory.prealloc)
    return;
  backing = ex_child (domain, "memoryBacking", NULL);
  if (ctx->m->hugetlbfs != NULL)
    {
      xmlNode *page = ex_child (ex_child (backing, "hugepages", NULL), "page", NULL);
      ex_prop (page, "size", p->memory.hugepages == QL_HUGEPAGES_1G ? "1048576" : "2048");
      ex_prop (page, "unit", "KiB");
    }
  {
    xmlNode *allocation = ex_child (backing, "allocation", NULL);
    ex_prop (allocation, "mode", "immediate");
    if (ctx->m->prealloc_threads > 0)
      ex_propf (allocation, "threads", "%u", ctx->m->prealloc_threads);
  }
  if (p->memory.allocate)
    ex_metadata_key (ctx, "memory", "allocate", "true");
}

static void
export_cputune (ExCtx *ctx, xmlNode *domain)
{
  const QlPinPlan *pin = ctx->m->pin;
  xmlNode *cputune;

  if (pin == NULL)
    return;
  cputune = ex_child (domain, "cputune", NULL);
  for (guint i = 0; pin->vcpus != NULL && i < pin->vcpus->len; i++)
    {
      xmlNode *vcpupin = ex_child (cputune, "vcpupin", NULL);
      ex_propf (vcpupin, "vcpu", "%u", i);
      ex_propf (vcpupin, "cpuset", "%u", g_array_index (pin->vcpus, guint, i));
    }
  if (pin->emulator != NULL)
    {
      g_autofree char *set = ql_value_format_cpu_set (pin->emulator);
      ex_prop (ex_child (cputune, "emulatorpin", NULL), "cpuset", set);
    }
  for (guint i = 0; pin->iothreads != NULL && i < ctx->p->cpu.iothreads; i++)
    {
      g_autofree char *set = ql_value_format_cpu_set (pin->iothreads);
      xmlNode *iothreadpin = ex_child (cputune, "iothreadpin", NULL);
      ex_propf (iothreadpin, "iothread", "%u", i + 1);
      ex_prop (iothreadpin, "cpuset", set);
    }
  if (pin->memory_node >= 0)
    {
      xmlNode *memory = ex_child (ex_child (domain, "numatune", NULL), "memory", NULL);
      ex_prop (memory, "mode", "strict");
      ex_propf (memory, "nodeset", "%d", pin->memory_node);
    }
  if (ctx->p->cpu.isolate)
    ex_metadata_key (ctx, "cpu", "isolate", "true");
}

static void
export_os (ExCtx *ctx, xmlNode *domain)
{
  const QlMachine *m = ctx->m;
  const QlProfile *p = ctx->p;
  xmlNode *os = ex_child (domain, "os", NULL);
  xmlNode *type = ex_child (os, "type", "hvm");

  ex_prop (type, "arch", "x86_64");
  ex_prop (type, "machine", m->machine_type);
  if (m->uefi)
    {
      xmlNode *loader = ex_child (os, "loader", m->firmware_code);
      xmlNode *nvram = ex_child (os, "nvram", m->firmware_vars);
      ex_prop (loader, "readonly", "yes");
      ex_prop (loader, "secure", m->smm ? "yes" : "no");
      ex_prop (loader, "type", "pflash");
      if (m->firmware_vars_template != NULL)
        ex_prop (nvram, "template", m->firmware_vars_template);
    }
  if (p->vm.kernel != NULL)
    ex_child (os, "kernel", p->vm.kernel);
  if (p->vm.initrd != NULL)
    ex_child (os, "initrd", p->vm.initrd);
  if (p->vm.append != NULL)
    ex_child (os, "cmdline", p->vm.append);
}

/* qlaunch's enlightenments (launcher/machine/ql-machine.c) as libvirt's elements. */
static void
export_hyperv (ExCtx *ctx, xmlNode *features)
{
  static const char *const states[] = {
    "relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "stimer", "reset", "frequencies",
    "tlbflush", "ipi",
  };
  xmlNode *hyperv = ex_child (features, "hyperv", NULL);

  ex_prop (hyperv, "mode", "custom");
  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    {
      xmlNode *node = ex_child (hyperv, states[i], NULL);
      ex_prop (node, "state", "on");
      if (strcmp (states[i], "spinlocks") == 0)
        ex_prop (node, "retries", "8191");
    }
  if (ctx->p->vm.hide_hypervisor)
    {
      xmlNode *vendor = ex_child (hyperv, "vendor_id", NULL);
      ex_prop (vendor, "state", "on");
      ex_prop (vendor, "value", "qlaunch0000");
    }
}

static void
export_features (ExCtx *ctx, xmlNode *domain)
{
  xmlNode *features = ex_child (domain, "features", NULL);

  ex_child (features, "acpi", NULL);
  ex_child (features, "apic", NULL);
  if (ctx->p->vm.hyperv)
    export_hyperv (ctx, features);
  if (ctx->p->vm.hide_hypervisor)
    ex_prop (ex_child (ex_child (features, "kvm", NULL), "hidden", NULL), "state", "on");
  ex_prop (ex_child (features, "vmport", NULL), "state", "off");
  if (ctx->m->smm)
    ex_prop (ex_child (features, "smm", NULL), "state", "on");
}

static void
export_cpu (ExCtx *ctx, xmlNode *domain)
{
  const char *model = ctx->m->cpu_model;
  xmlNode *cpu = ex_child (domain, "cpu", NULL), *topology;

  if (strcmp (model, "host") == 0)
    ex_prop (cpu, "mode", "host-passthrough");
  else if (strcmp (model, "max") == 0)
    ex_prop (cpu, "mode", "maximum");
  else
    {
      ex_prop (cpu, "mode", "custom");
      ex_prop (cpu, "match", "exact");
      ex_prop (ex_child (cpu, "model", model), "fallback", "forbid");
    }
  topology = ex_child (cpu, "topology", NULL);
  ex_propf (topology, "sockets", "%u", ctx->p->cpu.sockets);
  ex_prop (topology, "dies", "1");
  ex_propf (topology, "cores", "%u", ctx->p->cpu.cores);
  ex_propf (topology, "threads", "%u", ctx->p->cpu.threads);
}

static void
export_clock_and_power (ExCtx *ctx, xmlNode *domain)
{
  xmlNode *clock = ex_child (domain, "clock", NULL), *pm;

  ex_prop (clock, "offset", "utc");
  if (ctx->p->vm.hyperv)
    {
      xmlNode *timer = ex_child (clock, "timer", NULL);
      ex_prop (timer, "name", "hypervclock");
      ex_prop (timer, "present", "yes");
    }
  ex_child (domain, "on_poweroff", "destroy");
  ex_child (domain, "on_reboot", "restart");
  ex_child (domain, "on_crash", "destroy");
  pm = ex_child (domain, "pm", NULL);
  ex_prop (ex_child (pm, "suspend-to-mem", NULL), "enabled", "no");
  ex_prop (ex_child (pm, "suspend-to-disk", NULL), "enabled", "no");
}

static void
export_fw_cfg (ExCtx *ctx, xmlNode *domain)
{
  xmlNode *sysinfo;

  if (ctx->p->fw_cfg->len == 0)
    return;
  sysinfo = ex_child (domain, "sysinfo", NULL);
  ex_prop (sysinfo, "type", "fwcfg");
  for (guint i = 0; i < ctx->p->fw_cfg->len; i++)
    {
      const QlFwCfg *entry = ctx->p->fw_cfg->pdata[i];
      xmlNode *node = ex_child (sysinfo, "entry", NULL);
      ex_prop (node, "name", entry->name);
      ex_prop (node, "file", entry->file);
    }
}

/* -acpitable, qlaunch's SSDT with the rom-acpi ROMs, pci-hotplug and [qemu] args. */
static void
export_qemu_args (ExCtx *ctx)
{
  const QlMachine *m = ctx->m;
  const QlProfile *p = ctx->p;

  for (guint i = 0; p->acpi_tables && p->acpi_tables[i]; i++)
    {
      g_autofree char *value = g_strconcat ("file=", p->acpi_tables[i], NULL);
      const char *args[] = { "-acpitable", value, NULL };
      ex_qemu_args (ctx, args);
    }
  if (m->ssdt != NULL)
    {
      g_autofree char *value = g_strconcat ("file=", m->ssdt, NULL);
      const char *args[] = { "-acpitable", value, NULL };
      ex_qemu_args (ctx, args);
      ex_warn (ctx, "qlaunch's SSDT (rom-acpi, fake-battery) is written at each start; for libvirt, write it once "
               "with 'qlaunch acpi ssdt %s -o %s'", p->vm.name, m->ssdt);
      if (p->fake_battery)
        ex_metadata_key (ctx, "acpi", "fake-battery", "true");
    }
  for (guint i = 0; i < m->hostdevs->len; i++)
    {
      const QlMachineHostdev *h = m->hostdevs->pdata[i];
      if (h->rom_fw_cfg_name != NULL)
        {
          g_autofree char *value = g_strdup_printf ("name=%s,file=%s", h->rom_fw_cfg_name, h->pci->rom);
          const char *args[] = { "-fw_cfg", value, NULL };
          ex_qemu_args (ctx, args);
        }
    }
  if (p->vm.pci_hotplug == QL_PCI_HOTPLUG_NATIVE)
    {
      const char *args[] = { "-global", "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off", NULL };
      ex_qemu_args (ctx, args);
    }
  if (p->qemu.args != NULL)
    ex_qemu_args (ctx, (const char *const *) p->qemu.args);
}

/* The profile keys libvirt has no element for, so that import gives them back. */
static void
export_profile_keys (ExCtx *ctx)
{
  const QlProfile *p = ctx->p;
  g_autofree char *timeout = g_strdup_printf ("%u", p->shutdown.timeout);
  g_autofree char *retries = g_strdup_printf ("%u", p->shutdown.powerdown_retries);

  if (p->vm.autostart)
    ex_metadata_key (ctx, "vm", "autostart", "true");
  if (p->vm.inhibit_sleep != QL_INHIBIT_SLEEP_AUTO)
    ex_metadata_key (ctx, "vm", "inhibit-sleep", ql_inhibit_sleep_names[p->vm.inhibit_sleep]);
  /* libvirt's user is qemu.conf's (or a <seclabel model='dac'>); qlaunch's
   * own start honours the key when it comes back */
  if (p->vm.run_as != NULL)
    ex_metadata_key (ctx, "vm", "run-as", p->vm.run_as);
  if (p->shutdown.timeout != 120)
    ex_metadata_key (ctx, "shutdown", "timeout", timeout);
  if (p->shutdown.powerdown_retries != 3)
    ex_metadata_key (ctx, "shutdown", "powerdown-retries", retries);
  if (ql_profile_has_handover (p))
    ex_warn (ctx, "[host] handover steps: libvirt runs such steps from hook scripts; not exported");
  for (guint i = 0; i < ql_profile_n_mdevs (p); i++)
    ex_warn (ctx, "[mdev %s]: this version writes no <hostdev type='mdev'> (uuid %s, made with mdevctl for "
             "libvirt); not exported", ((QlMdev *) p->mdevs->pdata[i])->id,
             ((QlMdev *) p->mdevs->pdata[i])->uuid);
}

static void
export_identity (ExCtx *ctx, xmlNode *domain)
{
  xmlNode *metadata;

  ex_child (domain, "name", ctx->p->vm.name);
  if (ctx->p->vm.uuid != NULL)
    ex_child (domain, "uuid", ctx->p->vm.uuid);
  metadata = ex_child (domain, "metadata", NULL);
  ctx->metadata = xmlNewChild (metadata, NULL, (const xmlChar *) "profile", NULL);
  xmlSetNs (ctx->metadata, xmlNewNs (ctx->metadata, (const xmlChar *) QL_LIBVIRT_METADATA_NS,
                                     (const xmlChar *) "qlaunch"));
}

/* The qemu: and metadata elements that hold something (empty ones are not
 * valid), then the document as text. */
static char *
finish_document (ExCtx *ctx, xmlDoc *doc, xmlNode *domain)
{
  xmlChar *text = NULL;
  int size = 0;
  char *result;

  if (ctx->override->children != NULL)
    xmlAddChild (domain, ctx->override);
  else
    xmlFreeNode (ctx->override);
  if (ctx->commandline->children != NULL)
    xmlAddChild (domain, ctx->commandline);
  else
    xmlFreeNode (ctx->commandline);
  if (ctx->metadata->children == NULL)
    {
      xmlNode *metadata = ctx->metadata->parent;
      xmlUnlinkNode (metadata);
      xmlFreeNode (metadata);
    }
  xmlDocDumpFormatMemoryEnc (doc, &text, &size, "UTF-8", 1);
  result = g_strndup ((const char *) text, size);
  xmlFree (text);
  if (!g_str_has_suffix (result, "\n"))
    {
      char *line = g_strconcat (result, "\n", NULL);
      g_free (result);
      result = line;
    }
  return result;
}

char *
ql_libvirt_export (const QlMachine *m, GPtrArray *warnings)
{
  xmlDoc *doc = xmlNewDoc ((const xmlChar *) "1.0");
  xmlNode *domain = xmlNewNode (NULL, (const xmlChar *) "domain");
  ExCtx ctx = { m, m->profile, NULL, NULL, NULL, NULL, warnings };
  g_autofree char *vcpus = g_strdup_printf ("%u", ql_profile_vcpus (m->profile));
  char *result;

  xmlDocSetRootElement (doc, domain);
  ctx.qemu_ns = xmlNewNs (domain, (const xmlChar *) QEMU_NS, (const xmlChar *) "qemu");
  ex_prop (domain, "type", m->accel == QL_ACCEL_KVM ? "kvm" : "qemu");
  export_identity (&ctx, domain);
  export_memory (&ctx, domain);
  ex_prop (ex_child (domain, "vcpu", vcpus), "placement", "static");
  if (ctx.p->cpu.iothreads > 0)
    {
      g_autofree char *n = g_strdup_printf ("%u", ctx.p->cpu.iothreads);
      ex_child (domain, "iothreads", n);
    }
  export_cputune (&ctx, domain);
  export_fw_cfg (&ctx, domain);
  export_os (&ctx, domain);
  export_features (&ctx, domain);
  export_cpu (&ctx, domain);
  export_clock_and_power (&ctx, domain);
  ctx.override = xmlNewNode (ctx.qemu_ns, (const xmlChar *) "override");
  ctx.commandline = xmlNewNode (ctx.qemu_ns, (const xmlChar *) "commandline");
  ex_devices (&ctx, domain);
  export_qemu_args (&ctx);
  export_profile_keys (&ctx);
  result = finish_document (&ctx, doc, domain);
  xmlFreeDoc (doc);
  return result;
}
