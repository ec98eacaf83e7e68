#include "ql-host-step.h"
#include "ql-error.h"
#include "ql-json.h"
#include "ql-hugepage-pool.h"
#include "ql-profile.h"
#include "ql-value.h"

#include <string.h>

#define NAME_MAX_LEN 63            /* driver names; the kernel's are far shorter */
#define IFNAME_MAX_LEN 15          /* IFNAMSIZ - 1 */
#define PAGES_MAX (G_GUINT64_CONSTANT (1) << 40)
#define IOMMU_GROUP_MAX (1 << 20)
#define UNIT_NAME_MAX_LEN 255      /* systemd's UNIT_NAME_MAX - 1 */

static const char *const kind_names[QL_HOST_STEP_MAX] = {
  [QL_HOST_STEP_SSDT] = "ssdt",
  [QL_HOST_STEP_NVRAM] = "nvram",
  [QL_HOST_STEP_HUGEPAGES] = "hugepages",
  [QL_HOST_STEP_VFIO_BIND] = "vfio-bind",
  [QL_HOST_STEP_BRIDGE] = "bridge",
  [QL_HOST_STEP_TAP] = "tap",
  [QL_HOST_STEP_CPU_ISOLATE] = "cpu-isolate",
  [QL_HOST_STEP_UNIT_STOP] = "unit-stop",
  [QL_HOST_STEP_VTCONSOLE_UNBIND] = "vtconsole-unbind",
  [QL_HOST_STEP_FRAMEBUFFER_UNBIND] = "framebuffer-unbind",
  [QL_HOST_STEP_MODULE_UNLOAD] = "module-unload",
  [QL_HOST_STEP_CHOWN] = "chown",
  [QL_HOST_STEP_SHM_FILE] = "shm-file",
  [QL_HOST_STEP_MDEV_CREATE] = "mdev-create",
};

const char *const ql_host_framebuffer_drivers[] = { "efi-framebuffer", "simple-framebuffer", "vesa-framebuffer", NULL };

gboolean
ql_host_step_is_handover (const QlHostStep *step)
{
  return step->kind == QL_HOST_STEP_UNIT_STOP || step->kind == QL_HOST_STEP_VTCONSOLE_UNBIND ||
         step->kind == QL_HOST_STEP_FRAMEBUFFER_UNBIND || step->kind == QL_HOST_STEP_MODULE_UNLOAD;
}

const char *
ql_host_step_kind_to_string (QlHostStepKind kind)
{
  return kind < QL_HOST_STEP_MAX ? kind_names[kind] : "unknown";
}

void
ql_host_step_free (QlHostStep *step)
{
  if (step == NULL)
    return;
  g_free (step->label);
  g_free (step->path);
  g_free (step->source);
  g_free (step->driver);
  g_free (step->driver_override);
  g_free (step->name);
  g_free (step->bridge);
  g_free (step->pool);
  g_free (step->unit);
  g_free (step->cpus);
  g_free (step->cpus_before);
  g_free (step->vcpus);
  g_free (step->uuid);
  g_free (step->parent);
  g_free (step);
}

QlHostStep *
ql_host_step_new (QlHostStepKind kind, const char *label)
{
  QlHostStep *step = g_new0 (QlHostStep, 1);

  step->kind = kind;
  step->label = g_strdup (label);
  step->iommu_group = -1;
  step->run_uid = step->run_gid = -1;
  return step;
}

QlHostStep *
ql_host_step_copy (const QlHostStep *s)
{
  QlHostStep *step = g_memdup2 (s, sizeof *s);

  step->label = g_strdup (s->label);
  step->path = g_strdup (s->path);
  step->source = g_strdup (s->source);
  step->driver = g_strdup (s->driver);
  step->driver_override = g_strdup (s->driver_override);
  step->name = g_strdup (s->name);
  step->bridge = g_strdup (s->bridge);
  step->pool = g_strdup (s->pool);
  step->unit = g_strdup (s->unit);
  step->cpus = g_strdup (s->cpus);
  step->cpus_before = g_strdup (s->cpus_before);
  step->vcpus = g_strdup (s->vcpus);
  step->uuid = g_strdup (s->uuid);
  step->parent = g_strdup (s->parent);
  return step;
}

static char *
describe_chown (const QlHostStep *s)
{
  g_autoptr(GString) what = g_string_new (NULL);

  if (s->run_uid >= 0)
    g_string_append_printf (what, "owner %" G_GINT64_FORMAT, s->run_uid);
  if (s->run_gid >= 0)
    g_string_append_printf (what, "%sgroup %" G_GINT64_FORMAT, what->len ? ", " : "", s->run_gid);
  if (s->run_mode_add != 0)
    g_string_append_printf (what, "%smode +%04o", what->len ? ", " : "", s->run_mode_add);
  return g_strdup_printf ("give %s  %s%s  (%s; put back after the VM)", s->path, what->str,
                          s->create ? ", made empty first if absent" : "", s->label);
}

static char *
describe_shm_file (const QlHostStep *s)
{
  g_autofree char *owner = s->run_uid >= 0 ? g_strdup_printf (", owner %" G_GINT64_FORMAT ", group %" G_GINT64_FORMAT,
                                                              s->run_uid, s->run_gid)
                                           : g_strdup ("");

  return g_strdup_printf ("create %s  %" G_GUINT64_FORMAT " MiB, mode 0660%s  (%s; removed after the VM)", s->path,
                          s->added >> 20, owner, s->label);
}

char *
ql_host_step_describe (const QlHostStep *s)
{
  switch (s->kind)
    {
    case QL_HOST_STEP_SSDT:
      return g_strdup_printf ("write %s  (qlaunch's SSDT)", s->path);
    case QL_HOST_STEP_NVRAM:
      return g_strdup_printf ("create %s  (from %s; kept for the VM's next runs)", s->path, s->source);
    case QL_HOST_STEP_HUGEPAGES:
      return g_strdup_printf ("grow %s  by %" G_GUINT64_FORMAT " pages to %" G_GUINT64_FORMAT "  (%s)", s->pool,
                              s->added, s->before + s->added, s->label);
    case QL_HOST_STEP_VFIO_BIND:
      return g_strdup_printf ("bind %s  %s -> vfio-pci  (IOMMU group %d, %s%s%s%s)", s->device,
                              s->driver ? s->driver : "no driver", s->iommu_group, s->label,
                              s->release == QL_PCI_RELEASE_VFIO ? "; stays on vfio-pci after the VM" : "",
                              s->power != QL_PCI_POWER_UNCHANGED ? "; then power/control=" : "",
                              s->power != QL_PCI_POWER_UNCHANGED ? ql_pci_power_names[s->power] : "");
    case QL_HOST_STEP_BRIDGE:
      return g_strdup_printf ("create bridge %s  (%s; deleted when no port is left)", s->name, s->label);
    case QL_HOST_STEP_TAP:
      return g_strdup_printf ("create tap %s%s%s  (%s)", s->name, s->bridge ? " on bridge " : "",
                              s->bridge ? s->bridge : "", s->label);
    case QL_HOST_STEP_CPU_ISOLATE:
      return g_strdup_printf ("isolate %s to CPUs %s  (vCPUs on %s; was %s; %s)", s->unit, s->cpus, s->vcpus,
                              s->cpus_before[0] ? s->cpus_before : "all", s->label);
    case QL_HOST_STEP_UNIT_STOP:
      return g_strdup_printf ("stop %s  (active now; started again after the VM; %s)", s->unit, s->label);
    case QL_HOST_STEP_VTCONSOLE_UNBIND:
      return g_strdup_printf ("unbind %s  from the framebuffer console  (bound again after the VM; %s)", s->name,
                              s->label);
    case QL_HOST_STEP_FRAMEBUFFER_UNBIND:
      return g_strdup_printf ("unbind %s  from %s  (bound again after the VM; %s)", s->name, s->driver, s->label);
    case QL_HOST_STEP_MODULE_UNLOAD:
      return g_strdup_printf ("unload module %s  (if nothing uses it then; modprobe %s after the VM; %s)", s->name,
                              s->name, s->label);
    case QL_HOST_STEP_CHOWN:
      return describe_chown (s);
    case QL_HOST_STEP_SHM_FILE:
      return describe_shm_file (s);
    case QL_HOST_STEP_MDEV_CREATE:
      return g_strdup_printf ("create mdev %s of %s on %s  (%s; removed after the VM)", s->uuid, s->name, s->parent,
                              s->label);
    case QL_HOST_STEP_MAX:
    default:
      return g_strdup ("unknown step");
    }
}

static void
set_string_or_null (JsonObject *o, const char *name, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (o, name, value);
  else
    json_object_set_null_member (o, name);
}

static void
chown_to_json (JsonObject *o, const QlHostStep *s)
{
  json_object_set_string_member (o, "path", s->path);
  json_object_set_int_member (o, "uid", s->run_uid);
  json_object_set_int_member (o, "gid", s->run_gid);
  json_object_set_int_member (o, "add-mode", s->run_mode_add);
  json_object_set_boolean_member (o, "create", s->create);
  if (s->has_before)
    {
      JsonObject *before = json_object_new ();
      json_object_set_int_member (before, "uid", s->before_uid);
      json_object_set_int_member (before, "gid", s->before_gid);
      json_object_set_int_member (before, "mode", s->before_mode);
      json_object_set_int_member (before, "dev", (gint64) s->before_dev);
      json_object_set_int_member (before, "ino", (gint64) s->before_ino);
      json_object_set_object_member (o, "before", before);
    }
  else
    json_object_set_null_member (o, "before");
}

JsonObject *
ql_host_step_to_json (const QlHostStep *s)
{
  JsonObject *o = json_object_new ();

  json_object_set_string_member (o, "kind", ql_host_step_kind_to_string (s->kind));
  switch (s->kind)
    {
    case QL_HOST_STEP_NVRAM:
      json_object_set_string_member (o, "template", s->source);
      G_GNUC_FALLTHROUGH;
    case QL_HOST_STEP_SSDT:
      json_object_set_string_member (o, "path", s->path);
      break;
    case QL_HOST_STEP_HUGEPAGES:
      json_object_set_string_member (o, "pool", s->pool);
      json_object_set_int_member (o, "before", (gint64) s->before);
      json_object_set_int_member (o, "added", (gint64) s->added);
      break;
    case QL_HOST_STEP_VFIO_BIND:
      json_object_set_string_member (o, "device", s->device);
      set_string_or_null (o, "driver", s->driver);
      set_string_or_null (o, "driver-override", s->driver_override);
      json_object_set_int_member (o, "iommu-group", s->iommu_group);
      json_object_set_string_member (o, "release", ql_pci_release_names[s->release]);
      json_object_set_string_member (o, "power", ql_pci_power_names[s->power]);
      break;
    case QL_HOST_STEP_TAP:
      set_string_or_null (o, "bridge", s->bridge);
      G_GNUC_FALLTHROUGH;
    case QL_HOST_STEP_BRIDGE:
      json_object_set_string_member (o, "name", s->name);
      break;
    case QL_HOST_STEP_CPU_ISOLATE:
      json_object_set_string_member (o, "unit", s->unit);
      json_object_set_string_member (o, "cpus", s->cpus);
      json_object_set_string_member (o, "cpus-before", s->cpus_before);
      json_object_set_string_member (o, "vcpus", s->vcpus);
      break;
    case QL_HOST_STEP_UNIT_STOP:
      json_object_set_string_member (o, "unit", s->unit);
      break;
    case QL_HOST_STEP_FRAMEBUFFER_UNBIND:
      json_object_set_string_member (o, "driver", s->driver);
      json_object_set_string_member (o, "device", s->name);
      break;
    case QL_HOST_STEP_VTCONSOLE_UNBIND:
    case QL_HOST_STEP_MODULE_UNLOAD:
      json_object_set_string_member (o, "name", s->name);
      break;
    case QL_HOST_STEP_CHOWN:
      chown_to_json (o, s);
      break;
    case QL_HOST_STEP_SHM_FILE:
      json_object_set_string_member (o, "path", s->path);
      json_object_set_int_member (o, "size", (gint64) s->added);
      json_object_set_int_member (o, "uid", s->run_uid);
      json_object_set_int_member (o, "gid", s->run_gid);
      break;
    case QL_HOST_STEP_MDEV_CREATE:
      json_object_set_string_member (o, "parent", s->parent);
      json_object_set_string_member (o, "type", s->name);
      json_object_set_string_member (o, "uuid", s->uuid);
      break;
    case QL_HOST_STEP_MAX:
    default:
      g_assert_not_reached ();
    }
  return o;
}

/* ---- validation: what a journal on disk may hold ---- */

static gboolean
is_name_char (char c)
{
  return g_ascii_isalnum (c) || c == '_' || c == '-' || c == '.';
}

gboolean
ql_host_driver_name_valid (const char *name)
{
  gsize len = name ? strlen (name) : 0;

  if (len == 0 || len > NAME_MAX_LEN || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!is_name_char (name[i]))
      return FALSE;
  return TRUE;
}


gboolean
ql_host_pool_dir_valid (const char *pool)
{
  guint64 page_kib;
  int node;

  return ql_hugepages_parse_pool_dir (pool, &page_kib, &node);
}

static gboolean
path_valid (const char *path)
{
  g_auto(GStrv) parts = NULL;

  if (path == NULL || !g_path_is_absolute (path) || strchr (path, '\n') != NULL)
    return FALSE;
  parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i]; i++)
    if (strcmp (parts[i], "..") == 0)
      return FALSE;
  return TRUE;
}

/* A string member (NULL when absent or null when nullable); FALSE when it
 * has another type, or is absent and required. */
static gboolean
get_string (JsonObject *o, const char *member, gboolean nullable, const char **ret, GError **error)
{
  JsonNode *node = json_object_get_member (o, member);

  *ret = NULL;
  if ((node == NULL || JSON_NODE_HOLDS_NULL (node)) && nullable)
    return TRUE;
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' is %s", member,
                   node == NULL ? "missing" : "not a string");
      return FALSE;
    }
  *ret = json_node_get_string (node);
  return TRUE;
}

static gboolean
invalid (GError **error, const char *member, const char *value)
{
  g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' is not valid: \"%s\"", member, value ? value : "");
  return FALSE;
}

static gboolean
parse_files (QlHostStep *step, JsonObject *o, GError **error)
{
  const char *path, *source = NULL;

  if (!get_string (o, "path", FALSE, &path, error) ||
      (step->kind == QL_HOST_STEP_NVRAM && !get_string (o, "template", FALSE, &source, error)))
    return FALSE;
  if (!path_valid (path))
    return invalid (error, "path", path);
  if (step->kind == QL_HOST_STEP_NVRAM && !path_valid (source))
    return invalid (error, "template", source);
  step->path = g_strdup (path);
  step->source = g_strdup (source);
  return TRUE;
}

static gboolean
parse_hugepages (QlHostStep *step, JsonObject *o, GError **error)
{
  const char *pool;
  gint64 before, added;

  if (!get_string (o, "pool", FALSE, &pool, error) || !ql_json_get_int (o, "before", 0, PAGES_MAX, NULL, &before, error) ||
      !ql_json_get_int (o, "added", 0, PAGES_MAX, NULL, &added, error))
    return FALSE;
  if (!ql_host_pool_dir_valid (pool))
    return invalid (error, "pool", pool);
  step->pool = g_strdup (pool);
  step->before = (guint64) before;
  step->added = (guint64) added;
  return TRUE;
}

/* An optional member that names one of names (absent in older journals:
 * the first, the default). */
static gboolean
get_name (JsonObject *o, const char *member, const char *const *names, int *ret, GError **error)
{
  const char *value;

  if (!get_string (o, member, TRUE, &value, error))
    return FALSE;
  *ret = 0;
  if (value == NULL)
    return TRUE;
  for (int i = 0; names[i] != NULL; i++)
    if (strcmp (names[i], value) == 0)
      {
        *ret = i;
        return TRUE;
      }
  return invalid (error, member, value);
}

static gboolean
parse_vfio (QlHostStep *step, JsonObject *o, GError **error)
{
  const char *device, *driver, *override;
  QlPciAddress addr;
  gint64 group;
  int release, power;

  if (!get_string (o, "device", FALSE, &device, error) || !get_string (o, "driver", TRUE, &driver, error) ||
      !get_string (o, "driver-override", TRUE, &override, error) ||
      !ql_json_get_int (o, "iommu-group", -1, IOMMU_GROUP_MAX, &(gint64) { -1 }, &group, error) ||
      !get_name (o, "release", ql_pci_release_names, &release, error) ||
      !get_name (o, "power", ql_pci_power_names, &power, error))
    return FALSE;
  step->release = release;
  step->power = power;
  if (!ql_pci_address_parse (device, FALSE, &addr, NULL) || strlen (device) != QL_PCI_ADDRESS_LEN - 1)
    return invalid (error, "device", device);
  if (driver != NULL && !ql_host_driver_name_valid (driver))
    return invalid (error, "driver", driver);
  if (override != NULL && !ql_host_driver_name_valid (override))
    return invalid (error, "driver-override", override);
  ql_pci_address_format (&addr, step->device);
  step->driver = g_strdup (driver);
  step->driver_override = g_strdup (override);
  step->iommu_group = (int) group;
  return TRUE;
}

static gboolean
parse_link (QlHostStep *step, JsonObject *o, GError **error)
{
  const char *name, *bridge = NULL;

  if (!get_string (o, "name", FALSE, &name, error) ||
      (step->kind == QL_HOST_STEP_TAP && !get_string (o, "bridge", TRUE, &bridge, error)))
    return FALSE;
  if (!ql_profile_ifname_is_valid (name))
    return invalid (error, "name", name);
  if (bridge != NULL && !ql_profile_ifname_is_valid (bridge))
    return invalid (error, "bridge", bridge);
  step->name = g_strdup (name);
  step->bridge = g_strdup (bridge);
  return TRUE;
}

/* systemd's unit_name_is_valid (): at most 255 characters, a prefix of
 * [A-Za-z0-9:_.\\-] with at most one '@' (a template's instance), and for
 * this step the suffix of a unit with AllowedCPUs= that qlaunch sets. */
gboolean
ql_host_cpu_unit_name_valid (const char *name)
{
  gsize len = name ? strlen (name) : 0;
  const char *dot = name ? strrchr (name, '.') : NULL;
  gboolean at = FALSE;

  if (len == 0 || len > UNIT_NAME_MAX_LEN || dot == NULL || dot == name || name[0] == '.' || name[0] == '@' ||
      (strcmp (dot, ".slice") != 0 && strcmp (dot, ".scope") != 0))
    return FALSE;
  for (const char *c = name; c < dot; c++)
    {
      if (*c == '@' && !at)
        at = TRUE;
      else if (!g_ascii_isalnum (*c) && strchr (":_.\\-", *c) == NULL)
        return FALSE;
    }
  return TRUE;
}

static gboolean
cpu_list_valid (const char *text, gboolean may_be_empty)
{
  g_autoptr(GArray) cpus = NULL;
  g_autofree char *message = NULL;

  if (text[0] == '\0')
    return may_be_empty;
  return ql_value_parse_cpu_list (text, &cpus, &message);
}

static gboolean
parse_cpu_isolate (QlHostStep *step, JsonObject *o, GError **error)
{
  const char *unit, *cpus, *before, *vcpus;

  if (!get_string (o, "unit", FALSE, &unit, error) || !get_string (o, "cpus", FALSE, &cpus, error) ||
      !get_string (o, "cpus-before", FALSE, &before, error) || !get_string (o, "vcpus", FALSE, &vcpus, error))
    return FALSE;
  if (!ql_host_cpu_unit_name_valid (unit))
    return invalid (error, "unit", unit);
  if (!cpu_list_valid (cpus, FALSE))
    return invalid (error, "cpus", cpus);
  if (!cpu_list_valid (before, TRUE))
    return invalid (error, "cpus-before", before);
  if (!cpu_list_valid (vcpus, FALSE))
    return invalid (error, "vcpus", vcpus);
  step->unit = g_strdup (unit);
  step->cpus = g_strdup (cpus);
  step->cpus_before = g_strdup (before);
  step->vcpus = g_strdup (vcpus);
  return TRUE;
}

gboolean
ql_host_vtconsole_name_valid (const char *name)
{
  gsize digits = name && g_str_has_prefix (name, "vtcon") ? strlen (name + 5) : 0;

  if (digits == 0 || digits > 3)
    return FALSE;
  for (gsize i = 0; i < digits; i++)
    if (!g_ascii_isdigit (name[5 + i]))
      return FALSE;
  return TRUE;
}

static gboolean
parse_unit_stop (QlHostStep *step, JsonObject *o, GError **error)
{
  g_autofree char *message = NULL;
  const char *unit;

  if (!get_string (o, "unit", FALSE, &unit, error))
    return FALSE;
  if (!ql_value_unit_name_is_valid (unit, &message))
    return invalid (error, "unit", unit);
  step->unit = g_strdup (unit);
  return TRUE;
}

/* The names go into sysfs paths: only the kernel's own shapes pass. */
static gboolean
parse_handover_name (QlHostStep *step, JsonObject *o, GError **error)
{
  g_autofree char *message = NULL;
  const char *member = step->kind == QL_HOST_STEP_FRAMEBUFFER_UNBIND ? "device" : "name";
  const char *name, *driver = NULL;
  gboolean valid;

  if (!get_string (o, member, FALSE, &name, error) ||
      (step->kind == QL_HOST_STEP_FRAMEBUFFER_UNBIND && !get_string (o, "driver", FALSE, &driver, error)))
    return FALSE;
  if (step->kind == QL_HOST_STEP_VTCONSOLE_UNBIND)
    valid = ql_host_vtconsole_name_valid (name);
  else if (step->kind == QL_HOST_STEP_MODULE_UNLOAD)
    valid = ql_value_module_name_is_valid (name, &message) && strchr (name, '-') == NULL;
  else
    valid = ql_host_driver_name_valid (name);
  if (!valid)
    return invalid (error, member, name);
  if (driver != NULL && !g_strv_contains (ql_host_framebuffer_drivers, driver))
    return invalid (error, "driver", driver);
  step->name = g_strdup (name);
  step->driver = g_strdup (driver);
  return TRUE;
}

#define ID_MAX G_GINT64_CONSTANT (0xfffffffe)    /* (uid_t) -1 means "unchanged" to chown (2) */

/* A journal's chown step: what the undo hands back must be a plain owner
 * and permission bits, and the inode it was taken from. */
static gboolean
parse_chown (QlHostStep *step, JsonObject *o, GError **error)
{
  JsonNode *before_node = json_object_get_member (o, "before");
  JsonObject *before;
  gint64 uid, gid, add, buid, bgid, bmode, dev, ino;
  const char *path;

  if (!get_string (o, "path", FALSE, &path, error) || !ql_json_get_int (o, "uid", -1, ID_MAX, NULL, &uid, error) ||
      !ql_json_get_int (o, "gid", -1, ID_MAX, NULL, &gid, error) ||
      !ql_json_get_int (o, "add-mode", 0, 0777, NULL, &add, error))
    return FALSE;
  if (!path_valid (path) || strcmp (path, "/") == 0)
    return invalid (error, "path", path);
  before = before_node != NULL && JSON_NODE_HOLDS_OBJECT (before_node) ? json_node_get_object (before_node) : NULL;
  if (before == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'before' is missing: the change was never read");
      return FALSE;
    }
  if (!ql_json_get_int (before, "uid", 0, ID_MAX, NULL, &buid, error) ||
      !ql_json_get_int (before, "gid", 0, ID_MAX, NULL, &bgid, error) ||
      !ql_json_get_int (before, "mode", 0, 07777, NULL, &bmode, error) ||
      !ql_json_get_int (before, "dev", 0, G_MAXINT64, NULL, &dev, error) ||
      !ql_json_get_int (before, "ino", 1, G_MAXINT64, NULL, &ino, error))
    {
      g_prefix_error (error, "'before': ");
      return FALSE;
    }
  step->path = g_strdup (path);
  step->run_uid = uid;
  step->run_gid = gid;
  step->run_mode_add = (guint) add;
  step->create = json_object_get_boolean_member_with_default (o, "create", FALSE);
  step->has_before = TRUE;
  step->before_uid = (guint32) buid;
  step->before_gid = (guint32) bgid;
  step->before_mode = (guint32) bmode;
  step->before_dev = (guint64) dev;
  step->before_ino = (guint64) ino;
  return TRUE;
}

/* Looking Glass's sizes: a power of two MiB, at most 4 GiB */
static gboolean
parse_shm_file (QlHostStep *step, JsonObject *o, GError **error)
{
  const char *path;
  gint64 size, uid, gid;

  if (!get_string (o, "path", FALSE, &path, error) ||
      !ql_json_get_int (o, "size", 1 << 20, G_GINT64_CONSTANT (4) << 30, NULL, &size, error) ||
      !ql_json_get_int (o, "uid", -1, ID_MAX, NULL, &uid, error) ||
      !ql_json_get_int (o, "gid", -1, ID_MAX, NULL, &gid, error))
    return FALSE;
  if (!path_valid (path))
    return invalid (error, "path", path);
  step->path = g_strdup (path);
  step->added = (guint64) size;
  step->run_uid = uid;
  step->run_gid = gid;
  return TRUE;
}

/* The parent, the type and the uuid all go into sysfs paths: a canonical
 * PCI address or a device name, a type name as the kernel makes them, a UUID. */
static gboolean
parse_mdev (QlHostStep *step, JsonObject *o, GError **error)
{
  const char *parent, *type, *uuid;

  if (!get_string (o, "parent", FALSE, &parent, error) || !get_string (o, "type", FALSE, &type, error) ||
      !get_string (o, "uuid", FALSE, &uuid, error))
    return FALSE;
  if (!ql_profile_mdev_parent_is_valid (parent))
    return invalid (error, "parent", parent);
  if (!ql_profile_mdev_type_is_valid (type))
    return invalid (error, "type", type);
  if (!g_uuid_string_is_valid (uuid))
    return invalid (error, "uuid", uuid);
  step->parent = g_strdup (parent);
  step->name = g_strdup (type);
  step->uuid = g_ascii_strdown (uuid, -1);
  return TRUE;
}

QlHostStep *
ql_host_step_from_json (JsonObject *o, GError **error)
{
  g_autoptr(QlHostStep) step = NULL;
  const char *kind;
  gboolean ok;

  if (!get_string (o, "kind", FALSE, &kind, error))
    return NULL;
  for (int k = 0; k < QL_HOST_STEP_MAX && step == NULL; k++)
    if (strcmp (kind, kind_names[k]) == 0)
      step = ql_host_step_new ((QlHostStepKind) k, NULL);
  if (step == NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "unknown kind \"%s\" (written by a newer qlaunch?)", kind);
      return NULL;
    }
  switch (step->kind)
    {
    case QL_HOST_STEP_SSDT:
    case QL_HOST_STEP_NVRAM:
      ok = parse_files (step, o, error);
      break;
    case QL_HOST_STEP_HUGEPAGES:
      ok = parse_hugepages (step, o, error);
      break;
    case QL_HOST_STEP_VFIO_BIND:
      ok = parse_vfio (step, o, error);
      break;
    case QL_HOST_STEP_BRIDGE:
    case QL_HOST_STEP_TAP:
      ok = parse_link (step, o, error);
      break;
    case QL_HOST_STEP_CPU_ISOLATE:
      ok = parse_cpu_isolate (step, o, error);
      break;
    case QL_HOST_STEP_UNIT_STOP:
      ok = parse_unit_stop (step, o, error);
      break;
    case QL_HOST_STEP_VTCONSOLE_UNBIND:
    case QL_HOST_STEP_FRAMEBUFFER_UNBIND:
    case QL_HOST_STEP_MODULE_UNLOAD:
      ok = parse_handover_name (step, o, error);
      break;
    case QL_HOST_STEP_CHOWN:
      ok = parse_chown (step, o, error);
      break;
    case QL_HOST_STEP_SHM_FILE:
      ok = parse_shm_file (step, o, error);
      break;
    case QL_HOST_STEP_MDEV_CREATE:
      ok = parse_mdev (step, o, error);
      break;
    case QL_HOST_STEP_MAX:
    default:
      g_assert_not_reached ();
    }
  if (!ok)
    g_prefix_error (error, "a %s step: ", kind);
  return ok ? g_steal_pointer (&step) : NULL;
}
