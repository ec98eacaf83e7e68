/* [mdev NAME]: the section (its checks and the stable default uuid), the
 * host's types read from a fake sysfs tree, the plan (a type the parent
 * does not offer refused with its list, no free instance, a uuid taken),
 * the mdev-create step as data (a journal is input: hostile names refused),
 * and create, undo and recover over the fake tree.  The real kernel side
 * runs in the passthrough lab (tests/lab/scenario.sh, mbochs). */
#include "fake-sysfs.h"
#include "step-checks.h"
#include "ql-error.h"
#include "ql-host-apply.h"
#include "ql-host-plan.h"
#include "ql-host-undo.h"
#include "ql-journal.h"
#include "ql-mdev.h"
#include "ql-mdev-plan.h"
#include "ql-profile.h"
#include "ql-qemu-mdev.h"
#include "ql-runtime-files.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GVT_PARENT "0000:00:02.0"

static QlProfile *
load (const char *text, GError **error)
{
  return ql_profile_load_from_data (text, "/tmp/ql-test-mdev/vm.ini", error);
}

static void
assert_refused (const char *text, const char *expect)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) p = load (text, &error);

  g_assert_null (p);
  g_assert_error (error, QL_ERROR, QL_ERROR_PROFILE);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expect));
}

static void
test_profile (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) p = load ("[vm]\nname=gvt\n[mdev igpu]\nparent=00:02.0\ntype=i915-GVTg_V5_4\ndisplay=on\n"
                                 "ramfb=on\nigd-opregion=on\nxres=1920\nyres=1080\n", &error);
  const QlMdev *mdev;

  g_assert_no_error (error);
  g_assert_cmpuint (p->mdevs->len, ==, 1);
  mdev = p->mdevs->pdata[0];
  g_assert_cmpstr (mdev->parent, ==, GVT_PARENT);
  g_assert_cmpstr (mdev->type, ==, "i915-GVTg_V5_4");
  g_assert_true (mdev->display && mdev->ramfb && mdev->igd_opregion);
  g_assert_cmpuint (mdev->xres, ==, 1920);
  g_assert_cmpuint (mdev->yres, ==, 1080);
  g_assert_true (g_uuid_string_is_valid (mdev->uuid));
  g_assert_cmpstr (mdev->where, ==, "/tmp/ql-test-mdev/vm.ini:3: [mdev igpu]");
}

/* The guest keeps its device (and Windows its driver) across starts only
 * if the uuid does not change. */
static void
test_uuid_stable (void)
{
  g_autofree char *a = ql_profile_default_mdev_uuid ("win10", "igpu");
  g_autofree char *b = ql_profile_default_mdev_uuid ("win10", "igpu");
  g_autofree char *other_vm = ql_profile_default_mdev_uuid ("win11", "igpu");
  g_autofree char *other_id = ql_profile_default_mdev_uuid ("win10", "igpu2");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) p = load ("[vm]\nname=win10\n[mdev igpu]\nparent=00:02.0\ntype=mbochs-1\n", &error);

  g_assert_no_error (error);
  g_assert_true (g_uuid_string_is_valid (a));
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpstr (a, !=, other_vm);
  g_assert_cmpstr (a, !=, other_id);
  g_assert_cmpint (a[14], ==, '5');                     /* version 5 */
  g_assert_nonnull (strchr ("89ab", a[19]));            /* RFC 4122 variant */
  g_assert_cmpstr (((QlMdev *) p->mdevs->pdata[0])->uuid, ==, a);
  /* pinned (Python: uuid.uuid5 (namespace, "win10\nigpu") gives the same): a change
   * here renames every VM's vGPU in its guest */
  g_assert_cmpstr (a, ==, "5d82a016-002b-5dd2-8cf8-31a920614318");
}

typedef struct {
  const char *keys;
  const char *expect;
} RefusedCase;

/* What goes into sysfs paths and QEMU's options is checked at the profile. */
static const RefusedCase refused_cases[] = {
  { "parent=00:02.0\ntype=../../../../kernel/x", "'../../../../kernel/x' is not an mdev type name" },
  { "parent=00:02.0\ntype=i915/GVTg", "'i915/GVTg' is not an mdev type name" },
  { "parent=00:02.0\ntype=..", "'..' is not an mdev type name" },
  { "parent=00:02.0\ntype=", "'' is not an mdev type name" },
  { "parent=../00:02.0\ntype=mbochs-1", "[mdev igpu] parent: '../00:02.0' is not a PCI address" },
  { "parent=00:02\ntype=mbochs-1", "'00:02' is not a PCI address" },
  { "parent=00:02.0/x\ntype=mbochs-1", "'00:02.0/x' is not a PCI address" },
  { "parent=mbochs/..\ntype=mbochs-1", "'mbochs/..' is not a PCI address" },
  { "parent=..\ntype=mbochs-1", "'..' is not a PCI address" },
  { "parent=00:02.0\ntype=mbochs-1\nuuid=../../x", "[mdev igpu] uuid: '../../x' is not a UUID" },
  { "parent=00:02.0\ntype=mbochs-1\nuuid=af5972fb-5530-41a7-0000-fd836204445", "is not a UUID" },
  { "type=mbochs-1", "[mdev igpu]: needs parent=" },
  { "parent=00:02.0", "[mdev igpu]: needs type=" },
  { "parent=00:02.0\ntype=mbochs-1\nramfb=on", "[mdev igpu] ramfb: needs display=on" },
  { "parent=00:02.0\ntype=mbochs-1\ndisplay=on\nxres=1920", "[mdev igpu] xres: needs yres as well" },
  { "parent=00:02.0\ntype=mbochs-1\nxres=1920\nyres=1080", "[mdev igpu] xres: needs display=on" },
  { "parent=00:02.0\ntype=mbochs-1\ndisplay=on\nxres=100\nyres=100", "[mdev igpu] xres:" },
  { "parent=00:02.0\ntype=mbochs-1\nsize=1", "[mdev igpu] size: unknown key" },
};

static void
test_profile_refused (gconstpointer data)
{
  const RefusedCase *c = data;
  g_autofree char *text = g_strdup_printf ("[vm]\nname=x\n[mdev igpu]\n%s\n", c->keys);

  assert_refused (text, c->expect);
}

static void
test_profile_conflicts (void)
{
  assert_refused ("[vm]\nname=x\n[mdev a]\nparent=00:02.0\ntype=t\nuuid=af5972fb-5530-41a7-0000-fd836204445b\n"
                  "[mdev b]\nparent=00:02.0\ntype=t\nuuid=AF5972FB-5530-41A7-0000-FD836204445B\n",
                  "[mdev b] uuid: af5972fb-5530-41a7-0000-fd836204445b is already the uuid of [mdev a]");
  assert_refused ("[vm]\nname=x\n[pci gpu]\nhost=00:02.0\n[mdev a]\nparent=0000:00:02.0\ntype=t\n",
                  "[mdev a] parent: 0000:00:02.0 is passed through whole by [pci gpu]");
  assert_refused ("[vm]\nname=x\n[mdev]\nparent=00:02.0\ntype=t\n", "[mdev]: needs a name, like [mdev NAME]");
}

/* ---- the host ---- */

static char *
gvt_sysfs (guint free_v5_4)
{
  char *sysfs = fake_sysfs_new ();

  fake_sysfs_add_device (sysfs, GVT_PARENT, 0x8086, 0x591b, 0x030000, "i915", 4);
  fake_sysfs_add_mdev_type (sysfs, GVT_PARENT, "i915-GVTg_V5_8", "GVTg_V5_8",
                            "low_gm_size: 64MB\nhigh_gm_size: 384MB\nfence: 4\nresolution: 1024x768\nweight: 2", 4);
  fake_sysfs_add_mdev_type (sysfs, GVT_PARENT, "i915-GVTg_V5_4", "GVTg_V5_4",
                            "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4",
                            free_v5_4);
  /* a type name qlaunch never builds a path from */
  fake_sysfs_add_mdev_type (sysfs, GVT_PARENT, "bad name", "x", "x", 1);
  return sysfs;
}

static void
test_read_types (void)
{
  g_autofree char *sysfs = gvt_sysfs (2);
  g_autoptr(GPtrArray) parents = ql_mdev_read_parents (sysfs);
  const QlMdevParent *parent;
  const QlMdevType *type;
  g_autofree char *types = NULL;

  g_assert_cmpuint (parents->len, ==, 1);
  parent = parents->pdata[0];
  g_assert_cmpstr (parent->name, ==, GVT_PARENT);
  g_assert_true (parent->exists);
  g_assert_cmpstr (parent->driver, ==, "i915");
  g_assert_cmpuint (parent->types->len, ==, 2);
  type = parent->types->pdata[0];
  g_assert_cmpstr (type->name, ==, "i915-GVTg_V5_4");
  g_assert_cmpstr (type->pretty_name, ==, "GVTg_V5_4");
  g_assert_cmpstr (type->device_api, ==, "vfio-pci");
  g_assert_cmpint (type->available, ==, 2);
  /* one line, for the table */
  g_assert_cmpstr (type->description, ==,
                   "low_gm_size: 128MB high_gm_size: 512MB fence: 4 resolution: 1920x1200 weight: 4");
  types = ql_mdev_parent_describe_types (parent);
  g_assert_cmpstr (types, ==, "i915-GVTg_V5_4 (2 free), i915-GVTg_V5_8 (4 free)");
  fake_sysfs_remove (sysfs);
}

/* The kernel's sample drivers make mdevs on a virtual device, no PCI one. */
/* Names and descriptions come from a driver and go to a terminal: no
 * escape sequence, control or non-ASCII byte gets through. */
static void
test_read_escapes (void)
{
  g_autofree char *sysfs = gvt_sysfs (2);
  g_autoptr(GPtrArray) parents = NULL;
  const QlMdevType *type;

  fake_sysfs_add_mdev_type (sysfs, "mtty", "mtty-1", "\033]0;owned\007x", "\033[2J\233cleared\r\x7f", 1);
  parents = ql_mdev_read_parents (sysfs);
  g_assert_cmpuint (parents->len, ==, 2);
  type = ((QlMdevParent *) parents->pdata[1])->types->pdata[0];
  g_assert_cmpstr (type->name, ==, "mtty-1");
  g_assert_cmpstr (type->pretty_name, ==, " ]0;owned x");
  g_assert_cmpstr (type->description, ==, " [2J cleared  ");
  fake_sysfs_remove (sysfs);
}

static void
test_read_virtual_parent (void)
{
  g_autofree char *sysfs = fake_sysfs_new ();
  g_autoptr(GPtrArray) parents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) steps = NULL;
  const QlMdevParent *parent;

  fake_sysfs_add_mdev_type (sysfs, "mdpy", "mdpy-vga", "vga", "virtual display, 1024x768 framebuffer", 4);
  parents = ql_mdev_read_parents (sysfs);
  g_assert_cmpuint (parents->len, ==, 1);
  parent = parents->pdata[0];
  g_assert_cmpstr (parent->name, ==, "mdpy");
  g_assert_true (parent->exists);
  g_assert_cmpuint (parent->types->len, ==, 1);
  {
    g_autoptr(QlProfile) p = load ("[vm]\nname=x\n[mdev fb]\nparent=mdpy\ntype=mdpy-vga\n", &error);
    g_autoptr(QlMdevHost) host = NULL;
    g_assert_no_error (error);
    host = ql_mdev_host_read (sysfs, p);
    steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
    g_assert_true (ql_mdev_plan_add_steps (steps, p, host, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (((QlHostStep *) steps->pdata[0])->parent, ==, "mdpy");
  }
  fake_sysfs_remove (sysfs);
}

static GPtrArray *
plan_steps (const char *sysfs, const char *mdev_sections, GError **error)
{
  g_autofree char *text = g_strdup_printf ("[vm]\nname=gvt\n%s", mdev_sections);
  g_autoptr(GError) load_error = NULL;
  g_autoptr(QlProfile) p = load (text, &load_error);
  g_autoptr(QlMdevHost) host = NULL;
  g_autoptr(GPtrArray) steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);

  g_assert_no_error (load_error);
  host = ql_mdev_host_read (sysfs, p);
  if (!ql_mdev_plan_add_steps (steps, p, host, error))
    return NULL;
  return g_steal_pointer (&steps);
}

static void
test_plan (void)
{
  g_autofree char *sysfs = gvt_sysfs (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) steps = plan_steps (sysfs, "[mdev igpu]\nparent=00:02.0\ntype=i915-GVTg_V5_4\n"
                                           "uuid=af5972fb-5530-41a7-0000-fd836204445b\n", &error);
  g_autofree char *line = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (steps->len, ==, 1);
  line = ql_host_step_describe (steps->pdata[0]);
  g_assert_cmpstr (line, ==, "create mdev af5972fb-5530-41a7-0000-fd836204445b of i915-GVTg_V5_4 on 0000:00:02.0  "
                             "([mdev igpu]; removed after the VM)");
  fake_sysfs_remove (sysfs);
}

static void
assert_plan_refused (const char *sysfs, const char *sections, const char *expect)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) steps = plan_steps (sysfs, sections, &error);

  g_assert_null (steps);
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expect));
}

static void
test_plan_refused (void)
{
  g_autofree char *sysfs = gvt_sysfs (1);

  /* a type the parent does not offer: the ones it does, with their free instances */
  assert_plan_refused (sysfs, "[mdev igpu]\nparent=00:02.0\ntype=i915-GVTg_V5_2\n",
                       "vm.ini:3: [mdev igpu] type: 'i915-GVTg_V5_2' is not an mdev type of 0000:00:02.0; it has: "
                       "i915-GVTg_V5_4 (1 free), i915-GVTg_V5_8 (4 free)");
  /* two of a type with one left */
  assert_plan_refused (sysfs, "[mdev a]\nparent=00:02.0\ntype=i915-GVTg_V5_4\n"
                       "[mdev b]\nparent=00:02.0\ntype=i915-GVTg_V5_4\n",
                       "[mdev b] type: 0000:00:02.0 has no free instance of i915-GVTg_V5_4 left (available_instances "
                       "is 1, and this profile asks for 2); its types: i915-GVTg_V5_4 (1 free)");
  assert_plan_refused (sysfs, "[mdev igpu]\nparent=00:03.0\ntype=i915-GVTg_V5_4\n",
                       "[mdev igpu] parent: there is no PCI device 0000:00:03.0 on this host");
  assert_plan_refused (sysfs, "[mdev igpu]\nparent=01:00.0\ntype=i915-GVTg_V5_4\n",
                       "[mdev igpu] parent: 0000:01:00.0 (nvidia) makes no mediated devices");
  fake_sysfs_remove (sysfs);
}

static void
test_plan_no_free_instance (void)
{
  g_autofree char *sysfs = gvt_sysfs (0);

  assert_plan_refused (sysfs, "[mdev igpu]\nparent=00:02.0\ntype=i915-GVTg_V5_4\n",
                       "[mdev igpu] type: 0000:00:02.0 has no free instance of i915-GVTg_V5_4 left "
                       "(available_instances is 0); its types: i915-GVTg_V5_4 (0 free), i915-GVTg_V5_8 (4 free)");
  fake_sysfs_remove (sysfs);
}

/* An mdev of that uuid before the start is not this run's to use or remove. */
static void
test_plan_uuid_exists (void)
{
  g_autofree char *sysfs = gvt_sysfs (1);
  g_autofree char *uuid = ql_profile_default_mdev_uuid ("gvt", "igpu");

  fake_sysfs_add_mdev (sysfs, uuid);
  assert_plan_refused (sysfs, "[mdev igpu]\nparent=00:02.0\ntype=i915-GVTg_V5_4\n", "an mdev");
  assert_plan_refused (sysfs, "[mdev igpu]\nparent=00:02.0\ntype=i915-GVTg_V5_4\n", "exists already");
  fake_sysfs_remove (sysfs);
}

/* A user's start makes nothing as root: an [mdev] needs root's start.  In
 * root's plan the creation comes after the binds, before the taps. */
static void
test_host_plan (void)
{
  g_autofree char *sysfs = gvt_sysfs (2);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) p = load ("[vm]\nname=gvt\n[mdev igpu]\nparent=00:02.0\ntype=i915-GVTg_V5_4\n", &error);
  g_autoptr(QlHostState) state = g_new0 (QlHostState, 1);
  g_autoptr(QlHostPlan) plan = NULL;
  QlMachine m = { 0 };

  g_assert_no_error (error);
  m.profile = p;
  m.taps = g_array_new (FALSE, FALSE, sizeof (QlMachineTap));
  state->mdev = ql_mdev_host_read (sysfs, p);
  plan = ql_host_plan_build (&m, state, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (plan->steps->len, ==, 1);
  g_assert_cmpint (((QlHostStep *) plan->steps->pdata[0])->kind, ==, QL_HOST_STEP_MDEV_CREATE);
  g_clear_pointer (&plan, ql_host_plan_free);

  state->user = g_strdup ("alice");
  plan = ql_host_plan_build (&m, state, &error);
  g_assert_null (plan);
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "vm.ini:3: [mdev igpu]: VM 'gvt' is started by alice, not root, and "
                                            "[mdev] devices are created through sysfs, which needs root"));
  g_array_unref (m.taps);
  fake_sysfs_remove (sysfs);
}

/* ---- the step as data: the journal is input ---- */

static const RefusedCase step_cases[] = {
  { "\"parent\": \"0000:00:02.0\", \"type\": \"i915-GVTg_V5_4\", \"uuid\": \"af5972fb-5530-41a7-0000-fd836204445b\"",
    NULL },
  { "\"parent\": \"00:02.0\", \"type\": \"i915-GVTg_V5_4\", \"uuid\": \"af5972fb-5530-41a7-0000-fd836204445b\"",
    "a mdev-create step: 'parent' is not valid: \"00:02.0\"" },
  { "\"parent\": \"mbochs\", \"type\": \"mbochs-1\", \"uuid\": \"af5972fb-5530-41a7-0000-fd836204445b\"", NULL },
  { "\"parent\": \"..\", \"type\": \"t\", \"uuid\": \"af5972fb-5530-41a7-0000-fd836204445b\"",
    "'parent' is not valid" },
  { "\"parent\": \"0000:00:02.0/../..\", \"type\": \"t\", \"uuid\": \"af5972fb-5530-41a7-0000-fd836204445b\"",
    "'parent' is not valid" },
  { "\"parent\": \"0000:00:02.0\", \"type\": \"../../../../module/x\", \"uuid\": "
    "\"af5972fb-5530-41a7-0000-fd836204445b\"", "'type' is not valid" },
  { "\"parent\": \"0000:00:02.0\", \"type\": \"..\", \"uuid\": \"af5972fb-5530-41a7-0000-fd836204445b\"",
    "'type' is not valid" },
  { "\"parent\": \"0000:00:02.0\", \"type\": \"t\", \"uuid\": \"../../devices/x\"", "'uuid' is not valid" },
  { "\"parent\": \"0000:00:02.0\", \"type\": \"t\"", "'uuid' is missing" },
  { "\"parent\": \"0000:00:02.0\", \"type\": 4, \"uuid\": \"af5972fb-5530-41a7-0000-fd836204445b\"",
    "'type' is not a string" },
};

static void
test_step_validation (gconstpointer data)
{
  const RefusedCase *c = data;
  g_autofree char *text = g_strdup_printf ("{\"kind\": \"mdev-create\", %s}", c->keys);

  assert_step_json (text, c->expect);
}

static void
test_journal_refused (void)
{
  static const char journal[] =
    "{\"version\": 1, \"changes\": [{\"kind\": \"mdev-create\", \"parent\": \"0000:00:02.0\", \"type\": \"t\", "
    "\"uuid\": \"af5972fb-5530-41a7-0000-fd836204445b\"}, {\"kind\": \"mdev-create\", \"parent\": \"0000:00:02.0\", "
    "\"type\": \"t\", \"uuid\": \"x/../../y\"}]}";

  assert_journal_refused (journal, "a mdev-create step: 'uuid' is not valid");
}

static void
test_argv (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) p = load ("[vm]\nname=x\n[mdev plain]\nparent=00:02.0\ntype=mtty-2\n"
                                 "uuid=af5972fb-5530-41a7-0000-fd836204445b\n", &error);
  g_autofree char *sysfsdev = ql_qemu_mdev_sysfsdev ("af5972fb-5530-41a7-0000-fd836204445b");

  g_assert_no_error (error);
  g_assert_cmpstr (sysfsdev, ==, "/sys/bus/mdev/devices/af5972fb-5530-41a7-0000-fd836204445b");
  /* the rest of the argv: tests/golden/mdev.ini.args and lenovo-r720-gvtg.ini.args */
}

/* A rom path is one QEMU option value whatever it holds: a comma in it
 * adds no option to the vGPU's -device. */
static void
test_argv_rom_escaped (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("ql-mdev-XXXXXX", NULL);
  g_autofree char *rom = g_build_filename (dir, "a,x-igd-opregion=on,host=0000:01:00.0", NULL);
  g_autofree char *text = NULL, *expect = NULL;
  g_autoptr(QlProfile) p = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) slots = g_array_new (FALSE, TRUE, sizeof (guint));
  guint slot = 5;
  QlMachine m = { 0 };

  g_assert_true (g_file_set_contents (rom, "rom", -1, NULL));
  text = g_strdup_printf ("[vm]\nname=x\n[mdev igpu]\nparent=00:02.0\ntype=i915-GVTg_V5_4\n"
                          "uuid=af5972fb-5530-41a7-0000-fd836204445b\ndisplay=on\nrom=%s\n", rom);
  p = load (text, &error);
  g_assert_no_error (error);
  g_array_append_val (slots, slot);
  m.profile = p;
  m.mdev_slots = slots;
  ql_qemu_mdev_add_args (args, &m);
  g_assert_cmpuint (args->len, ==, 2);
  expect = g_strdup_printf ("vfio-pci-nohotplug,sysfsdev=/sys/bus/mdev/devices/af5972fb-5530-41a7-0000-fd836204445b,"
                            "id=mdev-igpu,bus=pcie.0,addr=05.0,display=on,romfile=%s/a,,x-igd-opregion=on,,"
                            "host=0000:01:00.0", dir);
  g_assert_cmpstr (args->pdata[1], ==, expect);
  g_unlink (rom);
  g_rmdir (dir);
}

/* ---- create, undo, recover over the fake tree ---- */

static char *
read_at (const char *sysfs, const char *relative)
{
  g_autofree char *path = g_build_filename (sysfs, relative, NULL);
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static void
collect_line (const char *line, gpointer data)
{
  g_ptr_array_add (data, g_strdup (line));
}

static QlHostStep *
mdev_step (const char *uuid)
{
  QlHostStep *step = ql_host_step_new (QL_HOST_STEP_MDEV_CREATE, "[mdev igpu]");

  step->parent = g_strdup (GVT_PARENT);
  step->name = g_strdup ("i915-GVTg_V5_4");
  step->uuid = g_strdup (uuid);
  return step;
}

/* Journaled first, created by a write of the uuid; undone in reverse
 * order by a write of 1 to its remove; an mdev gone already is no error. */
static void
test_create_undo (void)
{
  g_autofree char *sysfs = gvt_sysfs (2);
  g_autofree char *dir = g_dir_make_tmp ("ql-mdev-XXXXXX", NULL);
  g_autoptr(QlJournal) journal = ql_journal_new (dir);
  g_autoptr(QlHostStep) first = mdev_step ("af5972fb-5530-41a7-0000-fd836204445b");
  g_autoptr(QlHostStep) second = mdev_step ("0b7f1c2a-1111-4a57-9d3e-2c4b8a7f1e00");
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *created = NULL, *removed = NULL;

  g_assert_true (ql_journal_record (journal, first, &error));
  g_assert_true (ql_mdev_create (sysfs, first->parent, first->name, first->uuid, &error));
  g_assert_no_error (error);
  created = read_at (sysfs, "class/mdev_bus/" GVT_PARENT "/mdev_supported_types/i915-GVTg_V5_4/create");
  g_assert_cmpstr (created, ==, "af5972fb-5530-41a7-0000-fd836204445b");
  /* the kernel's side, as the fake does not model it */
  fake_sysfs_add_mdev_of (sysfs, first->uuid, GVT_PARENT, "i915-GVTg_V5_4");
  /* the second was journaled, then its creation failed: nothing to remove */
  g_assert_true (ql_journal_record (journal, second, &error));
  g_assert_false (ql_mdev_create (sysfs, GVT_PARENT, "i915-GVTg_V5_1", second->uuid, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "Cannot create mdev 0b7f1c2a-1111-4a57-9d3e-2c4b8a7f1e00 of "
                                            "i915-GVTg_V5_1 on 0000:00:02.0"));
  g_clear_error (&error);

  g_assert_true (ql_host_undo (journal, sysfs, TRUE, collect_line, lines, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (lines->len, ==, 2);
  g_assert_cmpstr (lines->pdata[0], ==, "mdev 0b7f1c2a-1111-4a57-9d3e-2c4b8a7f1e00 is gone already");
  g_assert_cmpstr (lines->pdata[1], ==, "mdev af5972fb-5530-41a7-0000-fd836204445b removed");
  removed = read_at (sysfs, "bus/mdev/devices/af5972fb-5530-41a7-0000-fd836204445b/remove");
  g_assert_cmpstr (removed, ==, "1");
  g_assert_false (ql_journal_exists (dir));
  g_rmdir (dir);
  fake_sysfs_remove (sysfs);
}

#define TAKEN_UUID "af5972fb-5530-41a7-0000-fd836204445b"

/* start's host apply of a plan that only creates the mdev TAKEN_UUID of
 * i915-GVTg_V5_4, against the sysfs tree QLAUNCH_SYSFS names */
static gboolean
apply_mdev_plan (QlJournal *journal, GError **error)
{
  g_autoptr(QlProfile) profile = load ("[vm]\nname=gvt\n", NULL);
  g_autoptr(QlHostPlan) plan = g_new0 (QlHostPlan, 1);
  QlMachine m = { .profile = profile, .taps = g_array_new (FALSE, TRUE, sizeof (QlMachineTap)) };
  gboolean ok;

  plan->steps = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_step_free);
  plan->notes = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (plan->steps, mdev_step (TAKEN_UUID));
  ok = ql_host_apply (plan, &m, journal, NULL, NULL, NULL, NULL, error);
  g_array_unref (m.taps);
  return ok;
}

/* An mdev whose creation fails (its uuid taken by one made by hand
 * meanwhile) leaves nothing made: the failed start's undo must not remove
 * the one that is there. */
static void
test_create_taken (void)
{
  g_autofree char *sysfs = gvt_sysfs (2);
  g_autofree char *dir = g_dir_make_tmp ("ql-mdev-XXXXXX", NULL);
  g_autofree char *create = g_build_filename (sysfs, "class/mdev_bus", GVT_PARENT,
                                              "mdev_supported_types/i915-GVTg_V5_4/create", NULL);
  g_autofree char *removed = NULL;
  g_autoptr(QlJournal) journal = ql_journal_new (dir);
  g_autoptr(GError) error = NULL;

  fake_sysfs_add_mdev (sysfs, TAKEN_UUID);
  /* the kernel refuses a second mdev of that uuid: here, no create file */
  g_assert_cmpint (g_unlink (create), ==, 0);
  g_setenv ("QLAUNCH_SYSFS", sysfs, TRUE);

  g_assert_false (apply_mdev_plan (journal, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_clear_error (&error);
  g_assert_true (ql_host_undo (journal, sysfs, TRUE, NULL, NULL, &error));
  g_assert_no_error (error);
  removed = read_at (sysfs, "bus/mdev/devices/af5972fb-5530-41a7-0000-fd836204445b/remove");
  g_assert_cmpstr (removed, ==, "");
  g_assert_false (ql_journal_exists (dir));
  g_unsetenv ("QLAUNCH_SYSFS");
  g_rmdir (dir);
  fake_sysfs_remove (sysfs);
}

/* A creation that did not finish in time may still finish (the write is
 * stuck in the kernel, where no signal ends it): the step stays in the
 * journal, and the undo removes the mdev when it is there, of its type. */
static void
test_create_timeout (void)
{
  g_autofree char *sysfs = gvt_sysfs (2);
  g_autofree char *dir = g_dir_make_tmp ("ql-mdev-XXXXXX", NULL);
  g_autofree char *create = g_build_filename (sysfs, "class/mdev_bus", GVT_PARENT,
                                              "mdev_supported_types/i915-GVTg_V5_4/create", NULL);
  g_autofree char *removed = NULL;
  g_autoptr(QlJournal) journal = ql_journal_new (dir);
  g_autoptr(GError) error = NULL;

  /* a write that blocks: a FIFO nobody reads */
  g_assert_cmpint (g_unlink (create), ==, 0);
  g_assert_cmpint (mkfifo (create, 0600), ==, 0);
  g_setenv ("QLAUNCH_SYSFS", sysfs, TRUE);
  g_setenv ("QLAUNCH_SYSFS_TIMEOUT_MS", "200", TRUE);

  g_assert_false (apply_mdev_plan (journal, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_TIMEOUT);
  g_clear_error (&error);
  g_assert_cmpuint (ql_journal_length (journal), ==, 1);
  /* the kernel finished it after all */
  fake_sysfs_add_mdev_of (sysfs, TAKEN_UUID, GVT_PARENT, "i915-GVTg_V5_4");
  g_assert_true (ql_host_undo (journal, sysfs, TRUE, NULL, NULL, &error));
  g_assert_no_error (error);
  removed = read_at (sysfs, "bus/mdev/devices/af5972fb-5530-41a7-0000-fd836204445b/remove");
  g_assert_cmpstr (removed, ==, "1");
  g_assert_false (ql_journal_exists (dir));
  g_unsetenv ("QLAUNCH_SYSFS_TIMEOUT_MS");
  g_unsetenv ("QLAUNCH_SYSFS");
  g_rmdir (dir);
  fake_sysfs_remove (sysfs);
}

/* What 'qlaunch recover' does after the supervisor died: the journal on
 * disk, read back and validated, removes the mdev. */
static void
test_recover (void)
{
  g_autofree char *sysfs = gvt_sysfs (2);
  g_autofree char *dir = g_dir_make_tmp ("ql-mdev-XXXXXX", NULL);
  g_autoptr(QlHostStep) step = mdev_step ("af5972fb-5530-41a7-0000-fd836204445b");
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *removed = NULL;

  {
    g_autoptr(QlJournal) journal = ql_journal_new (dir);
    g_assert_true (ql_journal_record (journal, step, &error));
  }
  fake_sysfs_add_mdev_of (sysfs, TAKEN_UUID, GVT_PARENT, "i915-GVTg_V5_4");
  {
    g_autoptr(QlJournal) loaded = ql_journal_load (dir, "/var/lib/qlaunch/x", &error);
    g_assert_no_error (error);
    g_assert_cmpuint (ql_journal_length (loaded), ==, 1);
    g_assert_true (ql_host_undo (loaded, sysfs, FALSE, collect_line, lines, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpstr (lines->pdata[0], ==, "mdev af5972fb-5530-41a7-0000-fd836204445b removed");
  removed = read_at (sysfs, "bus/mdev/devices/af5972fb-5530-41a7-0000-fd836204445b/remove");
  g_assert_cmpstr (removed, ==, "1");
  g_rmdir (dir);
  fake_sysfs_remove (sysfs);
}

/* The journal names the mdev by uuid, parent and type; an mdev of that
 * uuid of another type or parent (the VM's own removed meanwhile, and the
 * uuid made again by hand or by another VM), or one whose type cannot be
 * read, is not the VM's: the undo and recover leave it, and say so. */
static void
test_undo_not_ours (void)
{
  g_autofree char *sysfs = gvt_sysfs (2);
  g_autofree char *dir = g_dir_make_tmp ("ql-mdev-XXXXXX", NULL);
  g_autoptr(QlHostStep) other_type = mdev_step ("af5972fb-5530-41a7-0000-fd836204445b");
  g_autoptr(QlHostStep) other_parent = mdev_step ("0b7f1c2a-1111-4a57-9d3e-2c4b8a7f1e00");
  g_autoptr(QlHostStep) no_type = mdev_step ("6f1e9c2a-0b5d-4a57-9d3e-2c4b8a7f1e00");
  g_autofree char *journal_path = NULL;
  g_autoptr(GError) error = NULL;

  fake_sysfs_add_mdev_type (sysfs, "mbochs", "mbochs-1", "mbochs-1", "mbochs", 1);
  fake_sysfs_add_mdev_of (sysfs, other_type->uuid, GVT_PARENT, "i915-GVTg_V5_8");
  fake_sysfs_add_mdev_of (sysfs, other_parent->uuid, "mbochs", "mbochs-1");
  g_free (other_parent->name);
  other_parent->name = g_strdup ("mbochs-1");
  fake_sysfs_add_mdev (sysfs, no_type->uuid);
  {
    g_autoptr(QlJournal) journal = ql_journal_new (dir);
    g_assert_true (ql_journal_record (journal, other_type, &error));
    g_assert_true (ql_journal_record (journal, other_parent, &error));
    g_assert_true (ql_journal_record (journal, no_type, &error));
    g_assert_false (ql_host_undo (journal, sysfs, FALSE, NULL, NULL, &error));
  }
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "mdev af5972fb-5530-41a7-0000-fd836204445b is not the one qlaunch made"));
  g_assert_nonnull (strstr (error->message, "mdev 0b7f1c2a-1111-4a57-9d3e-2c4b8a7f1e00 is not the one qlaunch made"));
  g_assert_nonnull (strstr (error->message, "mdev 6f1e9c2a-0b5d-4a57-9d3e-2c4b8a7f1e00 is not the one qlaunch made"));
  for (guint i = 0; i < 3; i++)
    {
      const char *uuid = (const char *[]) { other_type->uuid, other_parent->uuid, no_type->uuid }[i];
      g_autofree char *path = g_strdup_printf ("bus/mdev/devices/%s/remove", uuid);
      g_autofree char *removed = read_at (sysfs, path);
      g_assert_cmpstr (removed, ==, "");
    }
  /* kept for a look and a 'recover' once it is dealt with */
  g_assert_true (ql_journal_exists (dir));
  journal_path = g_build_filename (dir, QL_RUNTIME_JOURNAL, NULL);
  g_assert_cmpint (g_unlink (journal_path), ==, 0);
  g_rmdir (dir);
  fake_sysfs_remove (sysfs);
}

static void
add_group_member (const char *sysfs, guint group, const char *member)
{
  g_autofree char *dir = g_strdup_printf ("%s/kernel/iommu_groups/%u/devices/%s", sysfs, group, member);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
}

/* run-as hands QEMU's user the node of the group the kernel gave the mdev. */
static void
test_iommu_group (void)
{
  g_autofree char *sysfs = gvt_sysfs (2);
  g_autofree char *link = g_build_filename (sysfs, "bus/mdev/devices/af5972fb-5530-41a7-0000-fd836204445b/iommu_group",
                                            NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (ql_mdev_iommu_group (sysfs, "af5972fb-5530-41a7-0000-fd836204445b", &error), ==, -1);
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_clear_error (&error);
  fake_sysfs_add_mdev (sysfs, "af5972fb-5530-41a7-0000-fd836204445b");
  g_assert_cmpint (symlink ("../../../../kernel/iommu_groups/17", link), ==, 0);
  add_group_member (sysfs, 17, "af5972fb-5530-41a7-0000-fd836204445b");
  g_assert_cmpint (ql_mdev_iommu_group (sysfs, "af5972fb-5530-41a7-0000-fd836204445b", &error), ==, 17);
  g_assert_no_error (error);
  fake_sysfs_remove (sysfs);
}

/* The node chowned to QEMU's user opens the whole group: a group the mdev
 * shares (with its parent GPU, say) is not handed over, nor one whose
 * members cannot be read. */
static void
test_iommu_group_shared (void)
{
  g_autofree char *sysfs = gvt_sysfs (2);
  g_autofree char *link = g_build_filename (sysfs, "bus/mdev/devices/af5972fb-5530-41a7-0000-fd836204445b/iommu_group",
                                            NULL);
  g_autoptr(GError) error = NULL;

  fake_sysfs_add_mdev (sysfs, "af5972fb-5530-41a7-0000-fd836204445b");
  g_assert_cmpint (symlink ("../../../../kernel/iommu_groups/3", link), ==, 0);
  g_assert_cmpint (ql_mdev_iommu_group (sysfs, "af5972fb-5530-41a7-0000-fd836204445b", &error), ==, -1);
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_clear_error (&error);
  add_group_member (sysfs, 3, "af5972fb-5530-41a7-0000-fd836204445b");
  add_group_member (sysfs, 3, GVT_PARENT);
  g_assert_cmpint (ql_mdev_iommu_group (sysfs, "af5972fb-5530-41a7-0000-fd836204445b", &error), ==, -1);
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "IOMMU group 3 is not the mdev's alone"));
  fake_sysfs_remove (sysfs);
}

/* The host side checks the names again where they become paths. */
static void
test_host_refuses (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *done = NULL;

  g_assert_false (ql_mdev_create ("/nonexistent", GVT_PARENT, "../x", "af5972fb-5530-41a7-0000-fd836204445b",
                                  &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (ql_mdev_create ("/nonexistent", "00:02.0/..", "t", "af5972fb-5530-41a7-0000-fd836204445b",
                                  &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (ql_mdev_remove ("/nonexistent", GVT_PARENT, "i915-GVTg_V5_4", "../../x", &done, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
  g_assert_null (done);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mdev/profile", test_profile);
  g_test_add_func ("/mdev/uuid-stable", test_uuid_stable);
  for (guint i = 0; i < G_N_ELEMENTS (refused_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/mdev/profile-refused/%u", i);
      g_test_add_data_func (path, &refused_cases[i], test_profile_refused);
    }
  g_test_add_func ("/mdev/profile-conflicts", test_profile_conflicts);
  g_test_add_func ("/mdev/read-types", test_read_types);
  g_test_add_func ("/mdev/read-virtual-parent", test_read_virtual_parent);
  g_test_add_func ("/mdev/read-escapes", test_read_escapes);
  g_test_add_func ("/mdev/plan", test_plan);
  g_test_add_func ("/mdev/plan-refused", test_plan_refused);
  g_test_add_func ("/mdev/plan-no-free-instance", test_plan_no_free_instance);
  g_test_add_func ("/mdev/plan-uuid-exists", test_plan_uuid_exists);
  g_test_add_func ("/mdev/host-plan", test_host_plan);
  for (guint i = 0; i < G_N_ELEMENTS (step_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/mdev/step-validation/%u", i);
      g_test_add_data_func (path, &step_cases[i], test_step_validation);
    }
  g_test_add_func ("/mdev/journal-refused", test_journal_refused);
  g_test_add_func ("/mdev/argv", test_argv);
  g_test_add_func ("/mdev/argv-rom-escaped", test_argv_rom_escaped);
  g_test_add_func ("/mdev/create-undo", test_create_undo);
  g_test_add_func ("/mdev/create-taken", test_create_taken);
  g_test_add_func ("/mdev/create-timeout", test_create_timeout);
  g_test_add_func ("/mdev/recover", test_recover);
  g_test_add_func ("/mdev/undo-not-ours", test_undo_not_ours);
  g_test_add_func ("/mdev/iommu-group", test_iommu_group);
  g_test_add_func ("/mdev/iommu-group-shared", test_iommu_group_shared);
  g_test_add_func ("/mdev/host-refuses", test_host_refuses);
  return g_test_run ();
}
