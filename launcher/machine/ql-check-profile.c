/* The profile's findings of qlaunch check. */
#include "ql-check-profile.h"
#include "ql-hugepage-pool.h"
#include "ql-setup-plan.h"
#include "ql-vfio-plan.h"

#include <string.h>

/* "what. Fix: how" -> message and fix */
static void
add_split (GPtrArray *out, const char *check, QlCheckStatus status, const char *text, const char *default_fix)
{
  const char *fix = strstr (text, " Fix: ");

  if (fix == NULL)
    ql_findings_add (out, check, status, g_strdup (text), g_strdup (default_fix));
  else
    ql_findings_add (out, check, status, g_strndup (text, fix - text), g_strdup (fix + strlen (" Fix: ")));
}

/* The host functions a hostdev passes through, as the host has them. */
static GPtrArray *
hostdev_devices (const QlMachineHostdev *h, const QlPciHost *pci)
{
  GPtrArray *devices = g_ptr_array_new ();

  for (guint i = 0; pci != NULL && i < h->functions->len; i++)
    {
      const QlMachineFunction *fn = h->functions->pdata[i];
      QlPciAddress addr;
      const QlPciDevice *d;

      if (ql_pci_address_parse (fn->host, FALSE, &addr, NULL) && (d = ql_pci_host_lookup (pci, &addr)) != NULL)
        g_ptr_array_add (devices, (gpointer) d);
    }
  return devices;
}

/* The modprobe.d lines that give these devices to vfio-pci at boot. */
static char *
modprobe_fix (const QlCheckProfileFacts *f, GPtrArray *devices)
{
  GString *ids = g_string_new (NULL);
  GString *softdeps = g_string_new (NULL);
  g_autofree char *id_list = NULL, *soft = NULL;

  for (guint i = 0; i < devices->len; i++)
    {
      const QlPciDevice *d = devices->pdata[i];
      g_autofree char *id = g_strdup_printf ("%04x:%04x", d->vendor, d->device);
      const char *module = NULL;

      if (strstr (ids->str, id) == NULL)
        g_string_append_printf (ids, "%s%s", ids->len ? "," : "", id);
      if (d->driver == NULL || strcmp (d->driver, "vfio-pci") == 0)
        continue;
      module = f->driver_modules ? g_hash_table_lookup (f->driver_modules, d->driver) : NULL;
      module = module ? module : d->driver;
      g_autofree char *line = g_strdup_printf ("softdep %s pre: vfio-pci", module);
      if (strstr (softdeps->str, line) == NULL)
        g_string_append_printf (softdeps, "\\n%s", line);
    }
  id_list = g_string_free (ids, FALSE);
  soft = g_string_free (softdeps, FALSE);
  return g_strdup_printf ("printf 'options vfio-pci ids=%s%s\\n' > /etc/modprobe.d/vfio.conf ; then, as root: %s; "
                          "reboot (or: sudo qlaunch host-setup %s --user USER, which writes these for a user's start)",
                          id_list, soft, ql_check_initramfs_command (f->boot), f->profile_path);
}

static void
describe_device (GString *out, const QlPciDevice *d)
{
  g_autofree char *what = ql_pci_device_describe (d);

  g_string_append_printf (out, "%s%s (%s), driver %s", out->len ? "; " : "", d->address, what,
                          d->driver ? d->driver : "none");
  if (d->holders != NULL && d->holders->len > 0)
    {
      g_string_append (out, ", held by ");
      ql_vfio_describe_holders (out, d);
    }
}

static void
check_hostdev (const QlCheckProfileFacts *f, const QlMachineHostdev *h, GPtrArray *out)
{
  g_autofree char *label = g_strdup_printf ("[pci %s]", h->pci->id);
  g_autofree char *check = g_strdup_printf ("pci %s", h->pci->id);
  g_autoptr(GPtrArray) devices = hostdev_devices (h, f->pci);
  g_auto(GStrv) lines = g_strsplit (f->plan_error ? f->plan_error : "", "\n", -1);
  g_autoptr(GString) found = g_string_new (NULL);
  gboolean refused = FALSE, on_vfio = TRUE;

  for (guint i = 0; lines[i]; i++)
    if (g_str_has_prefix (lines[i], label))
      {
        add_split (out, check, QL_CHECK_FAIL, lines[i], "see the message");
        refused = TRUE;
      }
  for (guint i = 0; i < devices->len; i++)
    {
      const QlPciDevice *d = devices->pdata[i];
      describe_device (found, d);
      on_vfio = on_vfio && g_strcmp0 (d->driver, "vfio-pci") == 0;
    }
  if (!refused && devices->len > 0)
    {
      const QlPciDevice *d = devices->pdata[0];
      g_string_append_printf (found, "; IOMMU group %d viable", d->iommu_group);
      ql_findings_add (out, check, QL_CHECK_OK, g_string_free (g_steal_pointer (&found), FALSE), NULL);
    }
  if (devices->len > 0 && !on_vfio)
    {
      g_autofree char *fix = modprobe_fix (f, devices);
      if (!f->as_root && !refused)
        ql_findings_add (out, check, QL_CHECK_FAIL,
                         g_strdup ("not on vfio-pci, and a user's start binds nothing"), g_steal_pointer (&fix));
      else
        ql_findings_add (out, check, QL_CHECK_WARN,
                         g_strdup_printf ("%s is on %s now: start (as root) moves it to vfio-pci; a driver that "
                                          "holds it may not let go, so give it to vfio-pci at boot",
                                          ((const QlPciDevice *) devices->pdata[0])->address,
                                          ((const QlPciDevice *) devices->pdata[0])->driver
                                            ? ((const QlPciDevice *) devices->pdata[0])->driver : "no driver"),
                         g_steal_pointer (&fix));
    }
  ql_check_reset_bug (devices, f->vendor_reset_loaded, f->reset_methods, f->boot, out);
}

static void
check_devices (const QlCheckProfileFacts *f, GPtrArray *out)
{
  const QlMachine *m = f->machine;

  if (m->hostdevs->len > 0 && f->pci == NULL)
    {
      ql_findings_add (out, "pci", QL_CHECK_FAIL,
                       g_strdup_printf ("cannot read the host's PCI devices: %s", f->pci_error ? f->pci_error : "?"),
                       g_strdup ("run check where /sys is the host's"));
      return;
    }
  for (guint i = 0; i < m->hostdevs->len; i++)
    check_hostdev (f, m->hostdevs->pdata[i], out);
}

static void
check_rom (const QlCheckProfileFacts *f, GPtrArray *out)
{
  gboolean any = FALSE;

  for (guint i = 0; i < f->machine->hostdevs->len; i++)
    any = any || ((const QlMachineHostdev *) f->machine->hostdevs->pdata[i])->pci->rom != NULL;
  if (f->rom_error != NULL)
    add_split (out, "rom", QL_CHECK_FAIL, f->rom_error,
               "a ROM dumped from this very card (qlaunch rom dump ADDRESS), or leave rom= out");
  for (guint i = 0; f->rom_notes != NULL && i < f->rom_notes->len; i++)
    add_split (out, "rom", QL_CHECK_WARN, f->rom_notes->pdata[i], "see 'qlaunch rom info FILE'");
  if (any && f->rom_error == NULL && (f->rom_notes == NULL || f->rom_notes->len == 0))
    ql_findings_add (out, "rom", QL_CHECK_OK,
                     g_strdup_printf ("every rom= is a valid image for its device%s",
                                      f->machine->uefi ? ", with a UEFI image" : ""), NULL);
}

static void
check_hugepages (const QlCheckProfileFacts *f, GPtrArray *out)
{
  const QlProfile *p = f->machine->profile;
  guint64 page_kib = p->memory.hugepages == QL_HUGEPAGES_1G ? 1048576 : 2048;
  guint64 pages = p->memory.size / (page_kib << 10);
  g_autofree char *page = ql_hugepages_page_name (page_kib);

  if (p->memory.hugepages == QL_HUGEPAGES_NONE)
    return;
  if (f->hugepages == NULL)
    ql_findings_add (out, "hugepages", QL_CHECK_FAIL,
                     g_strdup_printf ("no %s hugepage pool: %s", page, f->hugepages_error ? f->hugepages_error : "?"),
                     g_strdup_printf ("a kernel with %s hugepages (hugepagesz=%s on the command line)", page,
                                      page_kib == 2048 ? "2M" : "1G"));
  else if (ql_hugepages_available (f->hugepages, -1) >= pages)
    ql_findings_add (out, "hugepages", QL_CHECK_OK,
                     g_strdup_printf ("%" G_GUINT64_FORMAT " × %s needed, %" G_GUINT64_FORMAT " free", pages, page,
                                      ql_hugepages_available (f->hugepages, -1)), NULL);
  else
    {
      g_autofree char *have = ql_hugepages_describe_shortfall (f->hugepages, pages, -1);
      g_autofree char *params = g_strdup_printf ("default_hugepagesz=1G hugepagesz=1G hugepages=%" G_GUINT64_FORMAT,
                                                 f->hugepages->total + pages - ql_hugepages_available (f->hugepages,
                                                                                                         -1));
      ql_findings_add (out, "hugepages", p->memory.allocate ? QL_CHECK_WARN : QL_CHECK_FAIL,
                       g_strdup_printf ("too few hugepages: %s%s", have,
                                        p->memory.allocate ? " (allocate=true: start grows the pool, which fails "
                                                             "when memory is fragmented)" : ""),
                       page_kib == 2048
                         ? g_strdup_printf ("as root: sysctl vm.nr_hugepages=%" G_GUINT64_FORMAT " ; at every boot: "
                                            "echo 'vm.nr_hugepages = %" G_GUINT64_FORMAT "' > "
                                            "/etc/sysctl.d/80-hugepages.conf",
                                            f->hugepages->total + pages - ql_hugepages_available (f->hugepages, -1),
                                            f->hugepages->total + pages - ql_hugepages_available (f->hugepages, -1))
                         : ql_check_fix_cmdline (f->boot, params));
    }
}

static void
check_memlock (const QlCheckProfileFacts *f, GPtrArray *out)
{
  const QlProfile *p = f->machine->profile;
  guint64 need = ql_setup_memlock_bytes (p);

  if (p->pcis->len == 0)
    return;
  if (f->as_root)
    ql_findings_add (out, "memlock", QL_CHECK_OK,
                     g_strdup ("root's start: VFIO's pinned memory is not held to RLIMIT_MEMLOCK"), NULL);
  else if (f->memlock == G_MAXUINT64 || f->memlock >= need)
    ql_findings_add (out, "memlock", QL_CHECK_OK,
                     g_strdup_printf ("RLIMIT_MEMLOCK %s covers the guest's RAM + 1 GiB (%" G_GUINT64_FORMAT " MiB)",
                                      f->memlock == G_MAXUINT64 ? "unlimited" : "", need >> 20), NULL);
  else
    ql_findings_add (out, "memlock", QL_CHECK_FAIL,
                     g_strdup_printf ("RLIMIT_MEMLOCK is %" G_GUINT64_FORMAT " KiB; VFIO pins the guest's RAM + 1 GiB: "
                                      "%" G_GUINT64_FORMAT " KiB", f->memlock >> 10, need >> 10),
                     g_strdup_printf ("as root: echo '%s hard memlock %" G_GUINT64_FORMAT "' >> "
                                      "/etc/security/limits.d/qlaunch.conf (and the same soft), then log in again "
                                      "(or: sudo qlaunch host-setup %s --user %s)",
                                      f->user ? f->user : "USER", need >> 10, f->profile_path,
                                      f->user ? f->user : "USER"));
}

/* vCPU pins: online (resolve refuses otherwise) and one host CPU per vCPU. */
static void
check_pins (const QlCheckProfileFacts *f, GPtrArray *out)
{
  const QlCpuPin *pin = &f->machine->profile->cpu.pin;
  g_autoptr(GString) shared = g_string_new (NULL);
  g_autoptr(GString) offline = g_string_new (NULL);

  if (pin->mode != QL_PIN_LIST)
    return;
  for (guint i = 0; i < pin->cpus->len; i++)
    for (guint j = i + 1; j < pin->cpus->len; j++)
      if (g_array_index (pin->cpus, guint, i) == g_array_index (pin->cpus, guint, j))
        g_string_append_printf (shared, "%svCPUs %u and %u on CPU %u", shared->len ? ", " : "", i, j,
                                g_array_index (pin->cpus, guint, i));
  for (guint i = 0; f->cpus != NULL && i < pin->cpus->len; i++)
    if (ql_cpu_topology_find (f->cpus, g_array_index (pin->cpus, guint, i)) == NULL)
      g_string_append_printf (offline, "%s%u", offline->len ? "," : "", g_array_index (pin->cpus, guint, i));
  if (offline->len > 0)
    ql_findings_add (out, "cpu-pin", QL_CHECK_FAIL, g_strdup_printf ("host CPUs %s are not online", offline->str),
                     g_strdup_printf ("as root: echo 1 > /sys/devices/system/cpu/cpuN/online, or pin to online CPUs "
                                      "in %s", pin->where ? pin->where : "[cpu] pin"));
  if (shared->len > 0)
    ql_findings_add (out, "cpu-pin", QL_CHECK_WARN, g_strdup_printf ("vCPUs share host CPUs: %s", shared->str),
                     g_strdup_printf ("give each vCPU its own host CPU in %s ('qlaunch pin' shows the host's "
                                      "cores)", pin->where ? pin->where : "[cpu] pin"));
  else if (offline->len == 0)
    ql_findings_add (out, "cpu-pin", QL_CHECK_OK,
                     g_strdup_printf ("%u vCPUs pinned to %u online host CPUs, none shared", pin->cpus->len,
                                      pin->cpus->len), NULL);
}

/* The SSDT names the device where the topology puts it: \_SB.PCI0.S<port>.S00. */
static void
check_acpi (const QlCheckProfileFacts *f, GPtrArray *out)
{
  for (guint i = 0; i < f->machine->hostdevs->len; i++)
    {
      const QlMachineHostdev *h = f->machine->hostdevs->pdata[i];
      g_autofree char *expected = g_strdup_printf ("\\_SB.PCI0.S%02X.S00", h->port_devfn);
      g_autofree char *check = g_strdup_printf ("acpi %s", h->pci->id);

      if (!h->pci->rom_acpi)
        continue;
      if (g_strcmp0 (h->acpi_path, expected) == 0)
        ql_findings_add (out, check, QL_CHECK_OK,
                         g_strdup_printf ("the SSDT's _ROM is at %s, the device behind root port %02x.%u (%s)",
                                          h->acpi_path, h->port_devfn >> 3, h->port_devfn & 7,
                                          h->acpi_define_device ? "the SSDT defines it" : "QEMU describes it"), NULL);
      else
        ql_findings_add (out, check, QL_CHECK_FAIL,
                         g_strdup_printf ("the SSDT's path %s is not the device's %s", h->acpi_path, expected),
                         g_strdup ("report it: the machine model and the SSDT disagree"));
    }
}

/* Whether line is about a file the files findings already failed. */
static gboolean
file_line (const char *line, GPtrArray *files_failed)
{
  for (guint i = 0; i < files_failed->len; i++)
    if (g_str_has_prefix (line, files_failed->pdata[i]))
      return TRUE;
  return FALSE;
}

/* What the host plan refuses that is no [pci] device's own nor a file's
 * that the files findings name. */
static void
check_plan (const QlCheckProfileFacts *f, GPtrArray *files_failed, GPtrArray *out)
{
  g_auto(GStrv) lines = g_strsplit (f->plan_error ? f->plan_error : "", "\n", -1);

  for (guint i = 0; lines[i]; i++)
    {
      gboolean covered = file_line (lines[i], files_failed);
      for (guint j = 0; j < ql_profile_n_mdevs (f->machine->profile); j++)
        covered = covered ||
                  g_str_has_prefix (lines[i], ((const QlMdev *) f->machine->profile->mdevs->pdata[j])->where);
      for (guint j = 0; j < f->machine->hostdevs->len; j++)
        {
          g_autofree char *label = g_strdup_printf ("[pci %s]",
                                                    ((const QlMachineHostdev *) f->machine->hostdevs->pdata[j])->pci->id);
          covered = covered || g_str_has_prefix (lines[i], label);
        }
      /* "Cannot pass the devices through:" heads the lines that follow */
      if (lines[i][0] && !covered && !g_str_has_suffix (lines[i], ":"))
        add_split (out, "host-plan", QL_CHECK_FAIL, lines[i], "see the message");
    }
  if (f->plan_error == NULL)
    ql_findings_add (out, "host-plan", QL_CHECK_OK,
                     g_strdup_printf ("start's host plan builds (%u steps; 'qlaunch plan' lists them)", f->plan_steps),
                     NULL);
}

/* The machine type the VM starts with, and whether the installed QEMU
 * deprecates it (a later QEMU drops it: move on while this one has both). */
static void
check_machine_type (const QlCheckProfileFacts *f, GPtrArray *out)
{
  const QlMachine *m = f->machine;
  const QlQemuCaps *caps = f->qemu_caps;
  const QlQemuMachineType *type;
  const char *current, *source;

  if (caps == NULL)
    return;
  source = m->profile->vm.machine ? "set by [vm] machine"
           : f->pinned_machine ? "pinned at the VM's first start"
           : "what q35 is in this QEMU; the first start pins it";
  type = ql_qemu_caps_find_machine_type (caps, m->machine_type);
  current = ql_qemu_caps_resolve_alias (caps, "q35");
  if (type == NULL || !type->deprecated)
    {
      ql_findings_add (out, "machine-type", QL_CHECK_OK, g_strdup_printf ("%s (%s)", m->machine_type, source), NULL);
      return;
    }
  ql_findings_add (out, "machine-type", QL_CHECK_WARN,
                   g_strdup_printf ("%s (%s) is deprecated by QEMU %u.%u: a later QEMU will not start this VM",
                                    m->machine_type, source, caps->version / 100, caps->version % 100),
                   g_strdup_printf ("set [vm] machine = %s in %s (the guest sees newer hardware once: Windows may "
                                    "ask to re-activate, drivers reinstall)", current ? current : "pc-q35-X.Y",
                                    f->profile_path));
}

void
ql_check_profile (const QlCheckProfileFacts *f, GPtrArray *out)
{
  g_autoptr(GPtrArray) files_failed = g_ptr_array_new_with_free_func (g_free);

  if (f->machine == NULL)
    {
      g_auto(GStrv) lines = g_strsplit (f->machine_error ? f->machine_error : "refused", "\n", -1);
      for (guint i = 0; lines[i]; i++)
        if (lines[i][0])
          add_split (out, "profile", QL_CHECK_FAIL, lines[i], "correct the profile line it names");
      return;
    }
  ql_findings_add (out, "profile", QL_CHECK_OK,
                   g_strdup_printf ("%s: valid, the machine resolves", f->profile_path), NULL);
  check_devices (f, out);
  if (f->mdev != NULL)
    ql_check_mdevs (f->machine->profile, f->mdev, out);
  check_rom (f, out);
  if (f->files != NULL)
    ql_check_files (f->machine, f->files, out, files_failed);
  check_hugepages (f, out);
  check_memlock (f, out);
  check_pins (f, out);
  check_acpi (f, out);
  check_machine_type (f, out);
  check_plan (f, files_failed, out);
}
