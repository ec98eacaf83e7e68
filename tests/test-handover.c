/* [host] handover: the four step kinds as data (JSON round trip, a journal
 * is input and validated, the lines plan shows), the plan's order and
 * notes, and the sysfs side over a fake tree: framebuffer vtconsoles and
 * platform framebuffers unbound and bound again, a module with users
 * refused with who they are, and a device given back while its driver's
 * module is not loaded.  The real delete_module (2) and modprobe run only
 * on a name no kernel has. */
#include "fake-sysfs.h"
#include "step-checks.h"
#include "ql-error.h"
#include "ql-handover.h"
#include "ql-host-plan.h"
#include "ql-host-state.h"
#include "ql-host-undo.h"
#include "ql-journal.h"
#include "ql-pci-scan.h"
#include "ql-profile.h"
#include "ql-sysfs.h"
#include "ql-vfio.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define NO_SUCH_MODULE "qltest_no_such_module"

static QlHostStep *
roundtrip (const QlHostStep *step, const char *expect_line)
{
  g_autofree char *line = ql_host_step_describe (step);
  g_autoptr(JsonObject) o = ql_host_step_to_json (step);
  g_autoptr(GError) error = NULL;
  QlHostStep *back;

  g_assert_cmpstr (line, ==, expect_line);
  back = ql_host_step_from_json (o, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->kind, ==, step->kind);
  g_assert_true (ql_host_step_is_handover (back));
  return back;
}

static void
test_step_roundtrip (void)
{
  g_autoptr(QlHostStep) unit = ql_host_step_new (QL_HOST_STEP_UNIT_STOP, "[host] release-units");
  g_autoptr(QlHostStep) vt = ql_host_step_new (QL_HOST_STEP_VTCONSOLE_UNBIND, "[host] unbind-consoles");
  g_autoptr(QlHostStep) fb = ql_host_step_new (QL_HOST_STEP_FRAMEBUFFER_UNBIND, "[host] unbind-consoles");
  g_autoptr(QlHostStep) mod = ql_host_step_new (QL_HOST_STEP_MODULE_UNLOAD, "[host] unload-modules");
  g_autoptr(QlHostStep) unit_back = NULL, vt_back = NULL, fb_back = NULL, mod_back = NULL;

  unit->unit = g_strdup ("display-manager.service");
  vt->name = g_strdup ("vtcon1");
  fb->driver = g_strdup ("efi-framebuffer");
  fb->name = g_strdup ("efi-framebuffer.0");
  mod->name = g_strdup ("nvidia_drm");
  unit_back = roundtrip (unit, "stop display-manager.service  (active now; started again after the VM; "
                               "[host] release-units)");
  g_assert_cmpstr (unit_back->unit, ==, "display-manager.service");
  vt_back = roundtrip (vt, "unbind vtcon1  from the framebuffer console  (bound again after the VM; "
                           "[host] unbind-consoles)");
  g_assert_cmpstr (vt_back->name, ==, "vtcon1");
  fb_back = roundtrip (fb, "unbind efi-framebuffer.0  from efi-framebuffer  (bound again after the VM; "
                           "[host] unbind-consoles)");
  g_assert_cmpstr (fb_back->driver, ==, "efi-framebuffer");
  g_assert_cmpstr (fb_back->name, ==, "efi-framebuffer.0");
  mod_back = roundtrip (mod, "unload module nvidia_drm  (if nothing uses it then; modprobe nvidia_drm after the VM; "
                             "[host] unload-modules)");
  g_assert_cmpstr (mod_back->name, ==, "nvidia_drm");
}

typedef struct {
  const char *step;
  const char *expect;        /* NULL: accepted */
} StepCase;

/* A journal is input: the names go into sysfs paths and D-Bus calls. */
static const StepCase step_cases[] = {
  { "\"kind\": \"unit-stop\", \"unit\": \"gdm.service\"", NULL },
  { "\"kind\": \"unit-stop\", \"unit\": \"getty@tty1.service\"", NULL },
  { "\"kind\": \"unit-stop\", \"unit\": \"gdm\"", "a unit-stop step: 'unit' is not valid: \"gdm\"" },
  { "\"kind\": \"unit-stop\", \"unit\": \"a b.service\"", "'unit' is not valid" },
  { "\"kind\": \"unit-stop\"", "'unit' is missing" },
  { "\"kind\": \"vtconsole-unbind\", \"name\": \"vtcon0\"", NULL },
  { "\"kind\": \"vtconsole-unbind\", \"name\": \"vtcon12\"", NULL },
  { "\"kind\": \"vtconsole-unbind\", \"name\": \"vtcon\"", "a vtconsole-unbind step: 'name' is not valid" },
  { "\"kind\": \"vtconsole-unbind\", \"name\": \"vtcon1/../../x\"", "'name' is not valid" },
  { "\"kind\": \"vtconsole-unbind\", \"name\": \"vtcon1234\"", "'name' is not valid" },
  { "\"kind\": \"vtconsole-unbind\", \"name\": \"tty1\"", "'name' is not valid" },
  { "\"kind\": \"framebuffer-unbind\", \"driver\": \"simple-framebuffer\", \"device\": \"simple-framebuffer.0\"",
    NULL },
  { "\"kind\": \"framebuffer-unbind\", \"driver\": \"vesa-framebuffer\", \"device\": \"vesa-framebuffer.0\"", NULL },
  { "\"kind\": \"framebuffer-unbind\", \"driver\": \"nvidia\", \"device\": \"efi-framebuffer.0\"",
    "a framebuffer-unbind step: 'driver' is not valid: \"nvidia\"" },
  { "\"kind\": \"framebuffer-unbind\", \"driver\": \"../efi-framebuffer\", \"device\": \"efi-framebuffer.0\"",
    "'driver' is not valid" },
  { "\"kind\": \"framebuffer-unbind\", \"driver\": \"efi-framebuffer\", \"device\": \"..\"", "'device' is not valid" },
  { "\"kind\": \"framebuffer-unbind\", \"driver\": \"efi-framebuffer\", \"device\": \"a/b\"", "'device' is not valid" },
  { "\"kind\": \"framebuffer-unbind\", \"driver\": \"efi-framebuffer\"", "'device' is missing" },
  { "\"kind\": \"module-unload\", \"name\": \"snd_hda_intel\"", NULL },
  { "\"kind\": \"module-unload\", \"name\": \"snd-hda-intel\"", "a module-unload step: 'name' is not valid" },
  { "\"kind\": \"module-unload\", \"name\": \"../../bin/sh\"", "'name' is not valid" },
  { "\"kind\": \"module-unload\", \"name\": \"\"", "'name' is not valid" },
  { "\"kind\": \"module-unload\", \"name\": 7", "'name' is not a string" },
};

static void
test_step_validation (gconstpointer data)
{
  const StepCase *c = data;
  g_autofree char *text = g_strdup_printf ("{%s}", c->step);

  assert_step_json (text, c->expect);
}

/* One bad handover step refuses the whole journal, before anything is undone. */
static void
test_journal_refused (void)
{
  static const char journal[] =
    "{\"version\": 1, \"changes\": [{\"kind\": \"unit-stop\", \"unit\": \"gdm.service\"}, "
    "{\"kind\": \"module-unload\", \"name\": \"nvidia/../x\"}]}";

  assert_journal_refused (journal, "a module-unload step: 'name' is not valid");
}

/* ---- the plan ---- */

static QlHostUnitState *
unit_state (const char *unit, const char *active)
{
  QlHostUnitState *u = g_new0 (QlHostUnitState, 1);

  u->unit = g_strdup (unit);
  u->active_state = g_strdup (active);
  return u;
}

static QlHostModule *
module_state (const char *name, QlHostModuleState state)
{
  QlHostModule *m = g_new0 (QlHostModule, 1);

  m->name = g_strdup (name);
  m->state = state;
  return m;
}

static QlHostFramebuffer *
framebuffer (const char *driver, const char *device)
{
  QlHostFramebuffer *fb = g_new0 (QlHostFramebuffer, 1);

  fb->driver = g_strdup (driver);
  fb->device = g_strdup (device);
  return fb;
}

static QlHostState *
handover_state (const char *sysfs, gboolean handover, GError **error)
{
  g_autoptr(QlHostState) state = g_new0 (QlHostState, 1);
  g_autoptr(QlPciHost) host = ql_pci_host_scan (sysfs, error);
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_vfio_request_free);

  g_assert_nonnull (host);
  g_ptr_array_add (requests, ql_vfio_request_new ("0000:02:00.0", "[pci gpu]"));
  g_ptr_array_add (requests, ql_vfio_request_new ("0000:02:00.1", "[pci gpu]"));
  for (guint i = 0; i < requests->len; i++)
    ((QlVfioRequest *) requests->pdata[i])->holders_may_go = handover;
  ql_pci_host_find_holders (host, "/proc", "/dev", NULL, NULL);
  state->vfio = ql_vfio_plan_build (host, requests, error);
  if (state->vfio == NULL)
    return NULL;
  state->links = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_link_free);
  state->release_units = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_unit_state_free);
  g_ptr_array_add (state->release_units, unit_state ("gdm.service", "active"));
  g_ptr_array_add (state->release_units, unit_state ("sddm.service", "inactive"));
  g_ptr_array_add (state->release_units, unit_state ("nvidia-persistenced.service", "reloading"));
  state->vtconsoles = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (state->vtconsoles, g_strdup ("vtcon1"));
  state->framebuffers = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_framebuffer_free);
  g_ptr_array_add (state->framebuffers, framebuffer ("efi-framebuffer", "efi-framebuffer.0"));
  state->modules = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_module_free);
  g_ptr_array_add (state->modules, module_state ("nvidia_drm", QL_HOST_MODULE_LOADED));
  g_ptr_array_add (state->modules, module_state ("nvidia_modeset", QL_HOST_MODULE_NOT_LOADED));
  g_ptr_array_add (state->modules, module_state ("nouveau", QL_HOST_MODULE_LOADED));
  g_ptr_array_add (state->modules, module_state ("fbcon", QL_HOST_MODULE_BUILTIN));
  return g_steal_pointer (&state);
}

/* A machine with only what the host plan reads. */
static QlMachine *
plan_machine (QlProfile *profile)
{
  QlMachine *m = g_new0 (QlMachine, 1);

  m->profile = profile;
  m->taps = g_array_new (FALSE, FALSE, sizeof (QlMachineTap));
  return m;
}

static void
plan_machine_free (QlMachine *m)
{
  g_array_unref (m->taps);
  g_free (m);
}

static gboolean
notes_contain (GPtrArray *notes, const char *text)
{
  for (guint i = 0; i < notes->len; i++)
    if (strstr (notes->pdata[i], text) != NULL)
      return TRUE;
  return FALSE;
}

/* holder: a child holding /dev/null, which the fake tree calls 02:00.0's DRM node */
static GSubprocess *
spawn_holder (const char *sysfs)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GError) error = NULL;
  GSubprocess *holder;
  struct stat st;

  g_assert_cmpint (stat ("/dev/null", &st), ==, 0);
  fake_sysfs_add_drm_node (sysfs, "0000:02:00.0", major (st.st_rdev), minor (st.st_rdev));
  g_subprocess_launcher_take_stdin_fd (launcher, open ("/dev/null", O_RDONLY | O_CLOEXEC));
  holder = g_subprocess_launcher_spawn (launcher, &error, "sleep", "30", NULL);
  g_assert_no_error (error);
  g_usleep (100000);   /* let it exec */
  return holder;
}

static void
stop_holder (GSubprocess *holder)
{
  g_subprocess_force_exit (holder);
  g_subprocess_wait (holder, NULL, NULL);
  g_object_unref (holder);
}

/* units, consoles, framebuffers, modules, then the binds; what is not
 * running or not loaded is a note.  The GPU's holder (the display
 * manager) is noted, not refused, when handover steps come first. */
static void
test_plan_order (void)
{
  g_autofree char *sysfs = fake_sysfs_new ();
  g_autoptr(QlProfile) profile = g_new0 (QlProfile, 1);
  GSubprocess *holder = spawn_holder (sysfs);
  g_autoptr(QlHostState) state = NULL;
  g_autoptr(QlHostPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  QlMachine *m;
  static const char *const expect[] = {
    "stop gdm.service  (active now; started again after the VM; [host] release-units)",
    "stop nvidia-persistenced.service  (active now; started again after the VM; [host] release-units)",
    "unbind vtcon1  from the framebuffer console  (bound again after the VM; [host] unbind-consoles)",
    "unbind efi-framebuffer.0  from efi-framebuffer  (bound again after the VM; [host] unbind-consoles)",
    "unload module nvidia_drm  (if nothing uses it then; modprobe nvidia_drm after the VM; [host] unload-modules)",
    "unload module nouveau  (if nothing uses it then; modprobe nouveau after the VM; [host] unload-modules)",
    "bind 0000:02:00.0  nouveau -> vfio-pci  (IOMMU group 2, [pci gpu])",
    "bind 0000:02:00.1  snd_hda_intel -> vfio-pci  (IOMMU group 2, [pci gpu])",
  };

  profile->host.unbind_consoles = TRUE;
  state = handover_state (sysfs, FALSE, &error);
  g_assert_null (state);
  g_assert_nonnull (strstr (error->message, "0000:02:00.0 (nouveau) is in use on the host by PID "));
  g_clear_error (&error);

  state = handover_state (sysfs, TRUE, &error);
  g_assert_no_error (error);
  stop_holder (holder);
  m = plan_machine (profile);
  plan = ql_host_plan_build (m, state, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (plan->steps->len, ==, G_N_ELEMENTS (expect));
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      g_autofree char *line = ql_host_step_describe (plan->steps->pdata[i]);
      g_assert_cmpstr (line, ==, expect[i]);
    }
  g_assert_true (ql_host_plan_has_handover (plan));
  g_assert_true (notes_contain (plan->notes, "sddm.service is inactive: not stopped, not started after the VM"));
  g_assert_true (notes_contain (plan->notes, "module nvidia_modeset is not loaded: skipped ([host] unload-modules)"));
  g_assert_true (notes_contain (plan->notes, "module fbcon is built into the kernel and cannot be unloaded"));
  g_assert_true (notes_contain (plan->notes, "[pci gpu]: 0000:02:00.0 (nouveau) is in use on the host by PID "));
  g_assert_true (notes_contain (plan->notes, "(sleep) through /dev/null"));
  g_assert_true (notes_contain (plan->notes, " now; the [host] handover steps should end that, and it is checked "
                                             "again right before its bind"));
  plan_machine_free (m);
  fake_sysfs_remove (sysfs);
}

/* Nothing bound: unbind-consoles plans nothing and says so. */
static void
test_plan_no_consoles (void)
{
  g_autoptr(QlProfile) profile = g_new0 (QlProfile, 1);
  g_autoptr(QlHostState) state = g_new0 (QlHostState, 1);
  g_autoptr(QlHostPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  QlMachine *m = plan_machine (profile);

  profile->host.unbind_consoles = TRUE;
  state->vtconsoles = g_ptr_array_new_with_free_func (g_free);
  state->framebuffers = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_framebuffer_free);
  plan = ql_host_plan_build (m, state, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (plan->steps->len, ==, 0);
  g_assert_false (ql_host_plan_has_handover (plan));
  g_assert_true (notes_contain (plan->notes, "no framebuffer console or platform framebuffer is bound"));
  plan_machine_free (m);
}

/* What apply checks right before each bind: who holds the device now. */
static void
test_device_holders (void)
{
  g_autofree char *sysfs = fake_sysfs_new ();
  GSubprocess *holder = spawn_holder (sysfs);
  g_autofree char *pid = g_strdup_printf ("PID %s (sleep) through /dev/null", g_subprocess_get_identifier (holder));
  g_autofree char *who = NULL, *nobody = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (ql_host_device_holders ("0000:02:00.0", sysfs, "/proc", "/dev", &who, &error));
  g_assert_no_error (error);
  g_assert_nonnull (who);
  g_assert_nonnull (strstr (who, pid));
  stop_holder (holder);
  /* other processes of this host may hold /dev/null too; the sleeper is gone */
  g_assert_true (ql_host_device_holders ("0000:02:00.0", sysfs, "/proc", "/dev", &nobody, &error));
  g_assert_no_error (error);
  g_assert_true (nobody == NULL || strstr (nobody, pid) == NULL);
  g_clear_pointer (&nobody, g_free);
  g_assert_true (ql_host_device_holders ("0000:01:00.0", sysfs, "/proc", "/dev", &nobody, &error));
  g_assert_no_error (error);
  g_assert_null (nobody);
  fake_sysfs_remove (sysfs);
}

/* ---- sysfs ---- */

static void
write_at (const char *dir, const char *name, const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static char *
read_at (const char *sysfs, const char *relative)
{
  g_autofree char *path = g_build_filename (sysfs, relative, NULL);
  return ql_sysfs_read (path);
}

static void
add_vtconsole (const char *sysfs, const char *name, const char *what, const char *bind)
{
  g_autofree char *dir = g_build_filename (sysfs, "class", "vtconsole", name, NULL);

  write_at (dir, "name", what);
  write_at (dir, "bind", bind);
}

static void
test_vtconsoles (void)
{
  g_autofree char *sysfs = fake_sysfs_new ();
  g_autoptr(GPtrArray) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *after_unbind = NULL, *after_bind = NULL, *dummy = NULL;

  add_vtconsole (sysfs, "vtcon0", "(S) dummy device\n", "1\n");
  add_vtconsole (sysfs, "vtcon1", "(M) frame buffer device\n", "1\n");
  add_vtconsole (sysfs, "vtcon2", "(M) frame buffer device\n", "0\n");
  bound = ql_handover_read_vtconsoles (sysfs);
  g_assert_cmpuint (bound->len, ==, 1);
  g_assert_cmpstr (bound->pdata[0], ==, "vtcon1");

  g_assert_true (ql_handover_vtconsole_bind (sysfs, "vtcon1", FALSE, &error));
  g_assert_no_error (error);
  after_unbind = read_at (sysfs, "class/vtconsole/vtcon1/bind");
  g_assert_cmpstr (after_unbind, ==, "0");
  g_assert_true (ql_handover_vtconsole_bind (sysfs, "vtcon1", TRUE, &error));
  g_assert_no_error (error);
  after_bind = read_at (sysfs, "class/vtconsole/vtcon1/bind");
  g_assert_cmpstr (after_bind, ==, "1");
  dummy = read_at (sysfs, "class/vtconsole/vtcon0/bind");
  g_assert_cmpstr (dummy, ==, "1");

  /* a node that is gone fails and says which */
  g_assert_false (ql_handover_vtconsole_bind (sysfs, "vtcon7", TRUE, &error));
  g_assert_nonnull (strstr (error->message, "Cannot bind vtcon7: Cannot write '1' to '"));
  fake_sysfs_remove (sysfs);
}

static void
add_platform_driver (const char *sysfs, const char *driver, const char *device)
{
  g_autofree char *dir = g_build_filename (sysfs, "bus", "platform", "drivers", driver, NULL);
  g_autofree char *module_link = g_build_filename (dir, "module", NULL);

  write_at (dir, "bind", "");
  write_at (dir, "unbind", "");
  write_at (dir, "uevent", "");
  g_assert_cmpint (symlink ("../../../../module/x", module_link), ==, 0);
  if (device != NULL)
    {
      g_autofree char *target = g_build_filename (sysfs, "devices", "platform", device, NULL);
      g_autofree char *link = g_build_filename (dir, device, NULL);
      g_assert_cmpint (g_mkdir_with_parents (target, 0755), ==, 0);
      g_assert_cmpint (symlink (target, link), ==, 0);
    }
}

static void
test_framebuffers (void)
{
  g_autofree char *sysfs = fake_sysfs_new ();
  g_autofree char *link = g_build_filename (sysfs, "bus/platform/drivers/efi-framebuffer/efi-framebuffer.0", NULL);
  g_autoptr(GPtrArray) fbs = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *unbound = NULL, *bound = NULL;

  add_platform_driver (sysfs, "efi-framebuffer", "efi-framebuffer.0");
  add_platform_driver (sysfs, "simple-framebuffer", NULL);
  fbs = ql_handover_read_framebuffers (sysfs);
  g_assert_cmpuint (fbs->len, ==, 1);
  g_assert_cmpstr (((QlHostFramebuffer *) fbs->pdata[0])->driver, ==, "efi-framebuffer");
  g_assert_cmpstr (((QlHostFramebuffer *) fbs->pdata[0])->device, ==, "efi-framebuffer.0");

  g_assert_true (ql_handover_framebuffer_bind (sysfs, "efi-framebuffer", "efi-framebuffer.0", FALSE, &error));
  g_assert_no_error (error);
  unbound = read_at (sysfs, "bus/platform/drivers/efi-framebuffer/unbind");
  g_assert_cmpstr (unbound, ==, "efi-framebuffer.0");
  /* the kernel drops the link; binding again writes the device to bind */
  g_assert_cmpint (g_unlink (link), ==, 0);
  g_assert_true (ql_handover_framebuffer_bind (sysfs, "efi-framebuffer", "efi-framebuffer.0", TRUE, &error));
  g_assert_no_error (error);
  bound = read_at (sysfs, "bus/platform/drivers/efi-framebuffer/bind");
  g_assert_cmpstr (bound, ==, "efi-framebuffer.0");
  fake_sysfs_remove (sysfs);
}

static void
add_module (const char *sysfs, const char *name, const char *refcnt, const char *const *holders)
{
  g_autofree char *dir = g_build_filename (sysfs, "module", name, NULL);
  g_autofree char *holders_dir = g_build_filename (dir, "holders", NULL);

  g_assert_cmpint (g_mkdir_with_parents (holders_dir, 0755), ==, 0);
  if (refcnt == NULL)
    return;   /* built in: no initstate, no refcnt */
  write_at (dir, "initstate", "live\n");
  write_at (dir, "refcnt", refcnt);
  for (guint i = 0; holders != NULL && holders[i] != NULL; i++)
    {
      g_autofree char *link = g_build_filename (holders_dir, holders[i], NULL);
      g_assert_cmpint (symlink ("../../x", link), ==, 0);
    }
}

/* A module with users is never unloaded: the error says who they are. */
static void
test_module_users (void)
{
  static const char *const nvidia_holders[] = { "nvidia_uvm", "nvidia_modeset", NULL };
  static const char *const drm_holders[] = { "nvidia_drm", NULL };
  g_autofree char *sysfs = fake_sysfs_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *snd = NULL;

  add_module (sysfs, "nvidia", "3\n", nvidia_holders);
  add_module (sysfs, "drm_kms_helper", "1\n", drm_holders);
  add_module (sysfs, "snd_hda_intel", "2\n", NULL);
  add_module (sysfs, "fbcon", NULL, NULL);
  add_module (sysfs, NO_SUCH_MODULE, "0\n", NULL);
  g_assert_cmpint (ql_handover_module_state (sysfs, "nvidia"), ==, QL_HOST_MODULE_LOADED);
  g_assert_cmpint (ql_handover_module_state (sysfs, "fbcon"), ==, QL_HOST_MODULE_BUILTIN);
  g_assert_cmpint (ql_handover_module_state (sysfs, "nouveau"), ==, QL_HOST_MODULE_NOT_LOADED);

  g_assert_false (ql_handover_module_unload (sysfs, "nvidia", 1000, &error));
  g_assert_error (error, QL_ERROR, QL_ERROR_HOST);
  g_assert_cmpstr (error->message, ==, "Module nvidia is in use, not unloaded: used 3 times, held by modules "
                                       "nvidia_modeset, nvidia_uvm (unload them first: list them before it in "
                                       "unload-modules)");
  g_clear_error (&error);
  g_assert_false (ql_handover_module_unload (sysfs, "drm_kms_helper", 1000, &error));
  g_assert_cmpstr (error->message, ==, "Module drm_kms_helper is in use, not unloaded: used 1 time, held by module "
                                       "nvidia_drm (unload it first: list it before it in unload-modules)");
  g_clear_error (&error);
  snd = ql_handover_module_users (sysfs, "snd_hda_intel");
  g_assert_cmpstr (snd, ==, "used 2 times (refcnt; a process has its device open, or another part of the kernel "
                            "uses it)");
  g_assert_null (ql_handover_module_users (sysfs, NO_SUCH_MODULE));

  /* not loaded (any more): nothing to do */
  g_assert_true (ql_handover_module_unload (sysfs, "nouveau", 1000, &error));
  g_assert_no_error (error);
  /* no users: the real delete_module (2), in a child; the kernel has no
   * such module (ENOENT: fine), or refuses a user (EPERM), or this sandbox
   * has no such call (ENOSYS) */
  if (!ql_handover_module_unload (sysfs, NO_SUCH_MODULE, 5000, &error))
    {
      g_test_message ("%s", error->message);
      g_assert_true (g_str_equal (error->message, "Cannot unload module " NO_SUCH_MODULE ": Operation not permitted "
                                                  "(run qlaunch as root)") ||
                     g_str_equal (error->message, "Cannot unload module " NO_SUCH_MODULE ": Function not implemented "
                                                  "(the kernel cannot unload modules: CONFIG_MODULE_UNLOAD is off)"));
    }
  fake_sysfs_remove (sysfs);
}

/* The real modprobe (by argv) for a module no kernel has: the error says so. */
static void
test_module_load_fails (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *modprobe = g_find_program_in_path ("modprobe");

  g_assert_false (ql_handover_module_load (NO_SUCH_MODULE, 10000, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "Cannot load module " NO_SUCH_MODULE ": "));
  if (modprobe != NULL)
    g_assert_nonnull (strstr (error->message, "modprobe failed"));
}

/* The fake tree's kernel: unbinding from vfio-pci drops the driver link. */
typedef struct {
  char *unbind_path;
  char *driver_link;
  gboolean done;
} FakeUnbind;

static gpointer
fake_kernel_unbind (gpointer data)
{
  FakeUnbind *f = data;

  for (int i = 0; i < 500 && !f->done; i++)
    {
      g_autofree char *written = ql_sysfs_read (f->unbind_path);
      if (written != NULL && written[0] != '\0')
        {
          g_unlink (f->driver_link);
          f->done = TRUE;
        }
      g_usleep (2000);
    }
  return NULL;
}

static void
collect_line (const char *line, gpointer data)
{
  g_ptr_array_add (data, g_strdup (line));
}

/* Undone in reverse, the device comes back before its driver's module:
 * it leaves vfio-pci, its driver_override is cleared, and it waits without
 * a driver; the module's reload (here: loaded already) binds it. */
static void
test_give_back_without_driver (void)
{
  g_autofree char *sysfs = fake_sysfs_new ();
  g_autofree char *dir = g_dir_make_tmp ("ql-journal-XXXXXX", NULL);
  g_autoptr(QlJournal) journal = ql_journal_new (dir);
  g_autoptr(QlHostStep) unload = ql_host_step_new (QL_HOST_STEP_MODULE_UNLOAD, "[host] unload-modules");
  g_autoptr(QlHostStep) bind = ql_host_step_new (QL_HOST_STEP_VFIO_BIND, "[pci nic]");
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *override = NULL, *driver = NULL;
  FakeUnbind fake = { g_build_filename (sysfs, "bus/pci/drivers/vfio-pci/unbind", NULL),
                      g_build_filename (sysfs, "bus/pci/devices/0000:03:00.0/driver", NULL), FALSE };
  GThread *kernel;

  add_module (sysfs, NO_SUCH_MODULE, "0\n", NULL);
  unload->name = g_strdup (NO_SUCH_MODULE);
  g_strlcpy (bind->device, "0000:03:00.0", sizeof bind->device);
  bind->driver = g_strdup (NO_SUCH_MODULE);   /* no bus/pci/drivers/ dir: its module is not loaded */
  bind->iommu_group = 3;
  g_assert_true (ql_journal_record (journal, unload, &error));
  g_assert_true (ql_journal_record (journal, bind, &error));
  g_assert_no_error (error);

  kernel = g_thread_new ("fake-kernel", fake_kernel_unbind, &fake);
  g_assert_true (ql_host_undo (journal, sysfs, FALSE, collect_line, lines, &error));
  g_thread_join (kernel);
  g_assert_no_error (error);
  g_assert_cmpuint (lines->len, ==, 2);
  g_assert_cmpstr (lines->pdata[0], ==, "0000:03:00.0 is off vfio-pci and left without a driver until its module is "
                                        "loaded (" NO_SUCH_MODULE ")");
  g_assert_cmpstr (lines->pdata[1], ==, "module " NO_SUCH_MODULE " is loaded");
  driver = ql_vfio_current_driver (sysfs, "0000:03:00.0");
  g_assert_null (driver);
  override = read_at (sysfs, "bus/pci/devices/0000:03:00.0/driver_override");
  g_assert_cmpstr (override, ==, "");
  g_assert_false (ql_journal_exists (dir));
  g_free (fake.unbind_path);
  g_free (fake.driver_link);
  g_rmdir (dir);
  fake_sysfs_remove (sysfs);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_setenv ("QLAUNCH_SYSFS_TIMEOUT_MS", "2000", TRUE);
  g_test_add_func ("/handover/step-roundtrip", test_step_roundtrip);
  for (guint i = 0; i < G_N_ELEMENTS (step_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/handover/step-validation/%u", i);
      g_test_add_data_func (path, &step_cases[i], test_step_validation);
    }
  g_test_add_func ("/handover/journal-refused", test_journal_refused);
  g_test_add_func ("/handover/plan-order", test_plan_order);
  g_test_add_func ("/handover/plan-no-consoles", test_plan_no_consoles);
  g_test_add_func ("/handover/device-holders", test_device_holders);
  g_test_add_func ("/handover/vtconsoles", test_vtconsoles);
  g_test_add_func ("/handover/framebuffers", test_framebuffers);
  g_test_add_func ("/handover/module-users", test_module_users);
  g_test_add_func ("/handover/module-load-fails", test_module_load_fails);
  g_test_add_func ("/handover/give-back-without-driver", test_give_back_without_driver);
  return g_test_run ();
}
