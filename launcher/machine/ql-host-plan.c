#include "ql-host-plan.h"
#include "ql-error.h"
#include "ql-value.h"

#include <string.h>

void
ql_host_link_free (QlHostLink *link)
{
  g_free (link->name);
  g_free (link->kind);
  g_free (link);
}

const char *const ql_isolate_units[] = { "system.slice", "user.slice", "init.scope", NULL };

void
ql_host_unit_cpus_free (QlHostUnitCpus *unit)
{
  g_free (unit->unit);
  g_free (unit->cpus);
  g_free (unit);
}

void
ql_host_unit_state_free (QlHostUnitState *unit)
{
  g_free (unit->unit);
  g_free (unit->active_state);
  g_free (unit);
}

void
ql_host_framebuffer_free (QlHostFramebuffer *framebuffer)
{
  g_free (framebuffer->driver);
  g_free (framebuffer->device);
  g_free (framebuffer);
}

void
ql_host_module_free (QlHostModule *module)
{
  g_free (module->name);
  g_free (module);
}

void
ql_host_state_free (QlHostState *state)
{
  if (state == NULL)
    return;
  ql_vfio_plan_free (state->vfio);
  ql_hugepage_pool_free (state->hugepages);
  g_clear_pointer (&state->links, g_ptr_array_unref);
  g_clear_pointer (&state->online_cpus, g_array_unref);
  g_clear_pointer (&state->isolate_units, g_ptr_array_unref);
  g_clear_pointer (&state->release_units, g_ptr_array_unref);
  g_clear_pointer (&state->vtconsoles, g_ptr_array_unref);
  g_clear_pointer (&state->framebuffers, g_ptr_array_unref);
  g_clear_pointer (&state->modules, g_ptr_array_unref);
  ql_mdev_host_free (state->mdev);
  g_free (state->user);
  g_clear_pointer (&state->vfio_denied, g_array_unref);
  ql_run_as_free (state->run_as);
  g_clear_pointer (&state->run_as_paths, g_hash_table_unref);
  g_free (state->devfs);
  g_free (state->run_as_note);
  g_free (state);
}

void
ql_host_plan_free (QlHostPlan *plan)
{
  if (plan == NULL)
    return;
  g_clear_pointer (&plan->steps, g_ptr_array_unref);
  g_clear_pointer (&plan->notes, g_ptr_array_unref);
  ql_run_as_free (plan->run_as);
  g_free (plan);
}

/* QEMU refuses a varstore whose size is not the firmware's ("invalid size 0"
 * after a full disk), without saying what to do. */
static gboolean
check_nvram (const QlMachine *m, const QlHostState *state, GError **error)
{
  if (!m->uefi || !state->nvram_exists ||
      (state->nvram_size > 0 && (state->nvram_template_size < 0 || state->nvram_size == state->nvram_template_size)))
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST,
               "VM '%s': its UEFI varstore '%s' is %" G_GINT64_FORMAT " bytes, the firmware's template '%s' %"
               G_GINT64_FORMAT "; it is damaged.  Remove it to reset the VM's UEFI settings (the next start copies "
               "the template again): rm '%s'", m->profile->vm.name, m->firmware_vars, state->nvram_size,
               m->firmware_vars_template, state->nvram_template_size, m->firmware_vars);
  return FALSE;
}

static void
add_file_steps (QlHostPlan *plan, const QlMachine *m, const QlHostState *state)
{
  if (m->ssdt != NULL)
    {
      QlHostStep *step = ql_host_step_new (QL_HOST_STEP_SSDT, "[acpi]");
      step->path = g_strdup (m->ssdt);
      g_ptr_array_add (plan->steps, step);
    }
  if (m->uefi && !state->nvram_exists)
    {
      QlHostStep *step = ql_host_step_new (QL_HOST_STEP_NVRAM, "[vm] firmware");
      step->path = g_strdup (m->firmware_vars);
      step->source = g_strdup (m->firmware_vars_template);
      g_ptr_array_add (plan->steps, step);
    }
}

static char *
format_bytes (guint64 bytes)
{
  return bytes % (1 << 30) == 0 ? g_strdup_printf ("%" G_GUINT64_FORMAT "G", bytes >> 30)
                                : g_strdup_printf ("%" G_GUINT64_FORMAT "M", bytes >> 20);
}

static guint64
pool_total (const QlHugepagePool *pool, int node)
{
  for (guint i = 0; node >= 0 && i < pool->nodes->len; i++)
    if ((int) g_array_index (pool->nodes, QlHugepageNode, i).node == node)
      return g_array_index (pool->nodes, QlHugepageNode, i).total;
  return pool->total;
}

/* The pool must hold the guest's memory; allocate=true grows it.  QEMU's
 * own "unable to map backing store" says none of this. */
static gboolean
add_hugepage_step (QlHostPlan *plan, const QlMachine *m, const QlHugepagePool *pool, GError **error)
{
  const QlProfile *p = m->profile;
  guint64 page_kib = pool->page_kib;
  guint64 pages = p->memory.size / (page_kib << 10);
  int node = m->pin != NULL ? m->pin->memory_node : -1;
  guint64 available = ql_hugepages_available (pool, node);
  QlHostStep *step;

  if (available >= pages)
    return TRUE;
  if (!p->memory.allocate)
    {
      g_autofree char *shortfall = ql_hugepages_describe_shortfall (pool, pages, node);
      g_autofree char *size = format_bytes (pages * (page_kib << 10));
      g_autofree char *on_node = node >= 0 ? g_strdup_printf (" --node %d", node) : g_strdup ("");

      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "%s: VM '%s' needs %s; run 'qlaunch hugepages reserve %s%s%s' or set allocate=true in [memory]",
                   p->memory.where, p->vm.name, shortfall, size, page_kib == 2048 ? "" : " --page 1G", on_node);
      return FALSE;
    }
  step = ql_host_step_new (QL_HOST_STEP_HUGEPAGES, "[memory] allocate");
  step->pool = ql_hugepages_pool_dir (page_kib, node);
  step->before = pool_total (pool, node);
  step->added = pages - available;
  g_ptr_array_add (plan->steps, step);
  return TRUE;
}

/* A unit that is not running now has nothing to give back; stopping it
 * would only make the end of the run start it. */
static gboolean
unit_is_running (const char *active_state)
{
  return g_strcmp0 (active_state, "active") == 0 || g_strcmp0 (active_state, "activating") == 0 ||
         g_strcmp0 (active_state, "reloading") == 0;
}

static void
add_unit_steps (QlHostPlan *plan, const QlHostState *state)
{
  for (guint i = 0; state->release_units != NULL && i < state->release_units->len; i++)
    {
      const QlHostUnitState *unit = state->release_units->pdata[i];
      QlHostStep *step;

      if (!unit_is_running (unit->active_state))
        {
          g_ptr_array_add (plan->notes, g_strdup_printf ("%s is %s: not stopped, not started after the VM "
                                                         "([host] release-units)", unit->unit, unit->active_state));
          continue;
        }
      step = ql_host_step_new (QL_HOST_STEP_UNIT_STOP, "[host] release-units");
      step->unit = g_strdup (unit->unit);
      g_ptr_array_add (plan->steps, step);
    }
}

static void
add_console_steps (QlHostPlan *plan, const QlMachine *m, const QlHostState *state)
{
  if (!m->profile->host.unbind_consoles)
    return;
  for (guint i = 0; state->vtconsoles != NULL && i < state->vtconsoles->len; i++)
    {
      QlHostStep *step = ql_host_step_new (QL_HOST_STEP_VTCONSOLE_UNBIND, "[host] unbind-consoles");
      step->name = g_strdup (state->vtconsoles->pdata[i]);
      g_ptr_array_add (plan->steps, step);
    }
  for (guint i = 0; state->framebuffers != NULL && i < state->framebuffers->len; i++)
    {
      const QlHostFramebuffer *fb = state->framebuffers->pdata[i];
      QlHostStep *step = ql_host_step_new (QL_HOST_STEP_FRAMEBUFFER_UNBIND, "[host] unbind-consoles");

      step->driver = g_strdup (fb->driver);
      step->name = g_strdup (fb->device);
      g_ptr_array_add (plan->steps, step);
    }
  if ((state->vtconsoles == NULL || state->vtconsoles->len == 0) &&
      (state->framebuffers == NULL || state->framebuffers->len == 0))
    g_ptr_array_add (plan->notes, g_strdup ("no framebuffer console or platform framebuffer is bound: nothing to "
                                            "unbind ([host] unbind-consoles)"));
}

static void
add_module_steps (QlHostPlan *plan, const QlHostState *state)
{
  for (guint i = 0; state->modules != NULL && i < state->modules->len; i++)
    {
      const QlHostModule *module = state->modules->pdata[i];
      QlHostStep *step;

      if (module->state != QL_HOST_MODULE_LOADED)
        {
          g_ptr_array_add (plan->notes, g_strdup_printf ("module %s %s: skipped ([host] unload-modules)", module->name,
                                                         module->state == QL_HOST_MODULE_BUILTIN
                                                           ? "is built into the kernel and cannot be unloaded"
                                                           : "is not loaded"));
          continue;
        }
      step = ql_host_step_new (QL_HOST_STEP_MODULE_UNLOAD, "[host] unload-modules");
      step->name = g_strdup (module->name);
      g_ptr_array_add (plan->steps, step);
    }
}

/* [host]: what holds the GPU goes first, in this order: the units that use
 * it, the consoles on it, the framebuffers under them, then its driver. */
static void
add_handover_steps (QlHostPlan *plan, const QlMachine *m, const QlHostState *state)
{
  add_unit_steps (plan, state);
  add_console_steps (plan, m, state);
  add_module_steps (plan, state);
}

gboolean
ql_host_plan_has_handover (const QlHostPlan *plan)
{
  for (guint i = 0; i < plan->steps->len; i++)
    if (ql_host_step_is_handover (plan->steps->pdata[i]))
      return TRUE;
  return FALSE;
}

static void
add_vfio_steps (QlHostPlan *plan, const QlVfioPlan *vfio)
{
  for (guint i = 0; i < vfio->items->len; i++)
    {
      const QlVfioPlanItem *item = vfio->items->pdata[i];
      QlHostStep *step;

      if (!item->bind)
        {
          g_ptr_array_add (plan->notes, g_strdup_printf ("keep %s  already on vfio-pci  (IOMMU group %d, %s)  %s",
                                                         item->address, item->iommu_group, item->label,
                                                         item->description));
          continue;
        }
      step = ql_host_step_new (QL_HOST_STEP_VFIO_BIND, item->label);
      g_strlcpy (step->device, item->address, sizeof step->device);
      step->driver = g_strdup (item->driver);
      step->driver_override = g_strdup (item->driver_override);
      step->iommu_group = item->iommu_group;
      step->release = item->release;
      step->power = item->power;
      g_ptr_array_add (plan->steps, step);
    }
  for (guint i = 0; i < vfio->notes->len; i++)
    g_ptr_array_add (plan->notes, g_strdup (vfio->notes->pdata[i]));
}

static gboolean
group_denied (const QlHostState *state, int group)
{
  for (guint i = 0; state->vfio_denied != NULL && i < state->vfio_denied->len; i++)
    if (g_array_index (state->vfio_denied, int, i) == group)
      return TRUE;
  return FALSE;
}

/* A user's start checks instead of binding: each device on vfio-pci
 * already, its group node the user's, the guest's RAM within memlock. */
static gboolean
check_user_start (const QlMachine *m, const QlHostState *state, GError **error)
{
  const QlVfioPlan *vfio = state->vfio;
  g_autoptr(GString) problems = g_string_new (NULL);
  g_autoptr(GString) addresses = g_string_new (NULL);
  g_autofree char *path = NULL;

  for (guint i = 0; i < vfio->items->len; i++)
    {
      const QlVfioPlanItem *item = vfio->items->pdata[i];

      g_string_append_printf (addresses, " %s", item->address);
      if (item->bind)
        g_string_append_printf (problems, "\n%s: %s is on %s, not on vfio-pci", item->label, item->address,
                                item->driver ? item->driver : "no driver");
      else if (group_denied (state, item->iommu_group))
        g_string_append_printf (problems, "\n%s: %s is on vfio-pci, but %s cannot open its group's node "
                                "(/dev/vfio/%d)", item->label, item->address, state->user, item->iommu_group);
    }
  if (state->memlock < m->profile->memory.size)
    g_string_append_printf (problems, "\n%s may lock %" G_GUINT64_FORMAT " MiB of memory (RLIMIT_MEMLOCK); VFIO pins "
                            "all of the guest's %" G_GUINT64_FORMAT " MiB", state->user, state->memlock >> 20,
                            m->profile->memory.size >> 20);
  if (problems->len == 0)
    return TRUE;
  path = g_shell_quote (m->profile->path);
  g_set_error (error, QL_ERROR, QL_ERROR_HOST,
               "VM '%s' is started by %s, not root, and such a start binds nothing:%s\nFix: once, as root: "
               "sudo qlaunch host-setup %s --user %s, then reboot (or, for this boot: sudo qlaunch bind%s) and "
               "log in again", m->profile->vm.name, state->user, problems->str, path, state->user,
               addresses->str);
  return FALSE;
}

static const QlHostLink *
find_link (const QlHostState *state, const char *name)
{
  for (guint i = 0; state->links != NULL && i < state->links->len; i++)
    if (strcmp (((QlHostLink *) state->links->pdata[i])->name, name) == 0)
      return state->links->pdata[i];
  return NULL;
}

static const char *
kind_of (const QlHostLink *link)
{
  if (link->kind[0] == '\0')
    return "network device";
  if (strcmp (link->kind, "tun") == 0)
    return "tun/tap device";
  return link->kind;
}

static gboolean
step_planned (const QlHostPlan *plan, QlHostStepKind kind, const char *name)
{
  for (guint i = 0; i < plan->steps->len; i++)
    {
      const QlHostStep *step = plan->steps->pdata[i];
      if (step->kind == kind && g_strcmp0 (step->name, name) == 0)
        return TRUE;
    }
  return FALSE;
}

/* The bridge a tap joins: there already, or created when the profile says so. */
static gboolean
add_bridge_step (QlHostPlan *plan, const QlNet *net, const QlHostState *state, GError **error)
{
  const QlHostLink *link = find_link (state, net->bridge);
  QlHostStep *step;

  if (link != NULL && strcmp (link->kind, "bridge") != 0)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s bridge: '%s' is a %s, not a bridge", net->where,
                   net->bridge, kind_of (link));
      return FALSE;
    }
  if (link != NULL || step_planned (plan, QL_HOST_STEP_BRIDGE, net->bridge))
    return TRUE;
  if (!net->create_bridge)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST,
                   "%s bridge: there is no bridge '%s' on this host; create it "
                   "(ip link add %s type bridge && ip link set %s up) or set create-bridge=true",
                   net->where, net->bridge, net->bridge, net->bridge);
      return FALSE;
    }
  {
    g_autofree char *label = g_strdup_printf ("[net %s] create-bridge", net->id);
    step = ql_host_step_new (QL_HOST_STEP_BRIDGE, label);
  }
  step->name = g_strdup (net->bridge);
  g_ptr_array_add (plan->steps, step);
  return TRUE;
}

/* A tap that exists is used only when it is a persistent one that root made
 * for this user (qlaunch host-setup) and no one has open. */
static gboolean
add_tap_step (QlHostPlan *plan, const QlNet *net, const QlHostState *state, GError **error)
{
  const QlHostLink *link = find_link (state, net->ifname);
  g_autofree char *label = g_strdup_printf ("[net %s]", net->id);
  QlHostStep *step;

  if (net->bridge != NULL && !add_bridge_step (plan, net, state, error))
    return FALSE;
  if (link != NULL)
    {
      gboolean is_tun = strcmp (link->kind, "tun") == 0;

      if (!is_tun || !link->tun_persist || link->tun_in_use)
        {
          g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s ifname: '%s' is taken by a %s%s; set ifname= to a free name",
                       net->where, net->ifname, kind_of (link), is_tun && link->tun_in_use ? " in use (another VM?)" : "");
          return FALSE;
        }
      g_ptr_array_add (plan->notes, g_strdup_printf ("tap %s is persistent: used as it is (%s)", net->ifname, label));
      return TRUE;
    }
  step = ql_host_step_new (QL_HOST_STEP_TAP, label);
  step->name = g_strdup (net->ifname);
  step->bridge = g_strdup (net->bridge);
  g_ptr_array_add (plan->steps, step);
  return TRUE;
}

static gboolean
is_vcpu_cpu (const GArray *vcpus, guint cpu)
{
  for (guint i = 0; i < vcpus->len; i++)
    if (g_array_index (vcpus, guint, i) == cpu)
      return TRUE;
  return FALSE;
}

/* [cpu] isolate: every unit the host's work runs in gets the online CPUs
 * the vCPUs leave, for the run; the last steps, so the host keeps all its
 * CPUs while it is being prepared. */
static gboolean
add_isolate_steps (QlHostPlan *plan, const QlMachine *m, const QlHostState *state, GError **error)
{
  const GArray *vcpus = m->pin != NULL ? m->pin->vcpus : NULL;
  g_autoptr(GArray) host = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree char *host_set = NULL, *vcpu_set = NULL;

  if (!m->profile->cpu.isolate)
    return TRUE;
  g_return_val_if_fail (vcpus != NULL && state->online_cpus != NULL && state->isolate_units != NULL, FALSE);
  for (guint i = 0; i < state->online_cpus->len; i++)
    if (!is_vcpu_cpu (vcpus, g_array_index (state->online_cpus, guint, i)))
      g_array_append_val (host, g_array_index (state->online_cpus, guint, i));
  vcpu_set = ql_value_format_cpu_set (vcpus);
  if (host->len == 0)
    {
      g_autofree char *online = ql_value_format_cpu_set (state->online_cpus);
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: [cpu] isolate: the vCPUs are on every online CPU (%s), none "
                   "would be left to the host; pin fewer vCPUs or leave isolate off", m->profile->path, online);
      return FALSE;
    }
  host_set = ql_value_format_cpu_set (host);
  for (guint i = 0; i < state->isolate_units->len; i++)
    {
      const QlHostUnitCpus *unit = state->isolate_units->pdata[i];
      QlHostStep *step = ql_host_step_new (QL_HOST_STEP_CPU_ISOLATE, "[cpu] isolate");

      step->unit = g_strdup (unit->unit);
      step->cpus = g_strdup (host_set);
      step->cpus_before = g_strdup (unit->cpus);
      step->vcpus = g_strdup (vcpu_set);
      g_ptr_array_add (plan->steps, step);
    }
  return TRUE;
}

/* [mdev]: created through sysfs, which needs root.  With run-as, the
 * mdev's VFIO group node is handed to QEMU's user at start, right after
 * the creation (run/ql-host-apply.c): the group exists only then. */
static gboolean
add_mdev_steps (QlHostPlan *plan, const QlMachine *m, const QlHostState *state, GError **error)
{
  const QlProfile *p = m->profile;

  if (ql_profile_n_mdevs (p) == 0)
    return TRUE;
  if (state->user != NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "%s: VM '%s' is started by %s, not root, and [mdev] devices are "
                   "created through sysfs, which needs root: start it as root (with run-as= for QEMU's user)",
                   ((QlMdev *) p->mdevs->pdata[0])->where, p->vm.name, state->user);
      return FALSE;
    }
  g_return_val_if_fail (state->mdev != NULL, FALSE);
  return ql_mdev_plan_add_steps (plan->steps, p, state->mdev, error);
}

/* [vm] run-as: after the steps that make what QEMU opens (the SSDT, the
 * varstore, the vfio group nodes the binds create). */
static gboolean
add_run_as_steps (QlHostPlan *plan, const QlMachine *m, const QlHostState *state, GError **error)
{
  g_autoptr(GArray) groups = NULL;

  if (state->run_as_note != NULL)
    g_ptr_array_add (plan->notes, g_strdup (state->run_as_note));
  if (state->run_as == NULL)
    return TRUE;
  groups = ql_run_as_vfio_groups (state->vfio);
  plan->run_as = ql_run_as_plan (m, state->run_as, state->run_as_paths, state->devfs, groups, plan->steps, error);
  if (plan->run_as == NULL)
    return FALSE;
  {
    g_autoptr(GString) text = g_string_new (NULL);
    g_string_printf (text, "QEMU runs as %s (uid %u, gid %u, supplementary groups:", plan->run_as->user,
                     plan->run_as->uid, plan->run_as->gid);
    for (guint i = 0; i < plan->run_as->groups->len; i++)
      g_string_append_printf (text, " %u", g_array_index (plan->run_as->groups, guint32, i));
    g_string_append (text, plan->run_as->groups->len > 0 ? "; no capabilities)" : " none; no capabilities)");
    g_ptr_array_add (plan->notes, g_string_free (g_steal_pointer (&text), FALSE));
  }
  return TRUE;
}

/* [looking-glass] without the kvmfr module: a file in /dev/shm that QEMU
 * and the Looking Glass client both map, made for QEMU's user */
static void
add_looking_glass_step (QlHostPlan *plan, const QlMachine *m)
{
  QlHostStep *step;

  if (!m->looking_glass_shm)
    return;
  step = ql_host_step_new (QL_HOST_STEP_SHM_FILE, "[looking-glass]");
  step->path = g_strdup (m->looking_glass_path);
  step->added = m->profile->looking_glass.size;
  step->run_uid = plan->run_as != NULL ? (gint64) plan->run_as->uid : -1;
  step->run_gid = plan->run_as != NULL ? (gint64) plan->run_as->gid : -1;
  g_ptr_array_add (plan->steps, step);
}

QlHostPlan *
ql_host_plan_build (const QlMachine *m, const QlHostState *state, GError **error)
{
  g_autoptr(QlHostPlan) plan = g_new0 (QlHostPlan, 1);

  plan->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
  plan->notes = g_ptr_array_new_with_free_func (g_free);
  if (!check_nvram (m, state, error))
    return NULL;
  add_file_steps (plan, m, state);
  if (state->hugepages != NULL && !add_hugepage_step (plan, m, state->hugepages, error))
    return NULL;
  add_handover_steps (plan, m, state);
  if (state->vfio != NULL && state->user != NULL && !check_user_start (m, state, error))
    return NULL;
  if (state->vfio != NULL)
    add_vfio_steps (plan, state->vfio);
  if (!add_mdev_steps (plan, m, state, error))
    return NULL;
  for (guint i = 0; i < m->taps->len; i++)
    if (!add_tap_step (plan, g_array_index (m->taps, QlMachineTap, i).net, state, error))
      return NULL;
  if (!add_run_as_steps (plan, m, state, error))
    return NULL;
  if (!add_isolate_steps (plan, m, state, error))
    return NULL;
  add_looking_glass_step (plan, m);
  return g_steal_pointer (&plan);
}

const QlHostStep *
ql_host_plan_find_tap (const QlHostPlan *plan, const char *ifname)
{
  for (guint i = 0; i < plan->steps->len; i++)
    {
      const QlHostStep *step = plan->steps->pdata[i];
      if (step->kind == QL_HOST_STEP_TAP && strcmp (step->name, ifname) == 0)
        return step;
    }
  return NULL;
}

JsonNode *
ql_host_plan_to_json (const QlHostPlan *plan, const char *vm_name)
{
  JsonObject *o = json_object_new ();
  JsonArray *steps = json_array_new ();
  JsonArray *notes = json_array_new ();
  JsonNode *root = json_node_new (JSON_NODE_OBJECT);

  for (guint i = 0; i < plan->steps->len; i++)
    json_array_add_object_element (steps, ql_host_step_to_json (plan->steps->pdata[i]));
  for (guint i = 0; i < plan->notes->len; i++)
    json_array_add_string_element (notes, plan->notes->pdata[i]);
  json_object_set_string_member (o, "vm", vm_name);
  json_object_set_array_member (o, "steps", steps);
  json_object_set_array_member (o, "notes", notes);
  json_node_take_object (root, o);
  return root;
}
