#include "ql-handover.h"
#include "ql-error.h"
#include "ql-host-step.h"
#include "ql-sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define VTCONSOLE_MAX 64

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static gboolean
vtconsole_is_bound_fb (const char *sysfs, const char *name)
{
  g_autofree char *bind_path = g_build_filename (sysfs, "class", "vtconsole", name, "bind", NULL);
  g_autofree char *name_path = g_build_filename (sysfs, "class", "vtconsole", name, "name", NULL);
  g_autofree char *bound = ql_sysfs_read (bind_path);
  g_autofree char *what = ql_sysfs_read (name_path);

  return g_strcmp0 (bound, "1") == 0 && what != NULL && strstr (what, "frame buffer") != NULL;
}

GPtrArray *
ql_handover_read_vtconsoles (const char *sysfs)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  /* the kernel numbers them from 0 without gaps; a few extra are cheap */
  for (guint i = 0; i < VTCONSOLE_MAX; i++)
    {
      g_autofree char *name = g_strdup_printf ("vtcon%u", i);

      if (vtconsole_is_bound_fb (sysfs, name))
        g_ptr_array_add (names, g_steal_pointer (&name));
    }
  return names;
}

static void
read_driver_devices (const char *sysfs, const char *driver, GPtrArray *out)
{
  g_autofree char *dir_path = g_build_filename (sysfs, "bus", "platform", "drivers", driver, NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *entry;

  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, entry, NULL);

      /* devices are links; "module" is the one link that is not */
      if (strcmp (entry, "module") != 0 && g_file_test (path, G_FILE_TEST_IS_SYMLINK) &&
          ql_host_driver_name_valid (entry))
        g_ptr_array_add (names, g_strdup (entry));
    }
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      QlHostFramebuffer *fb = g_new0 (QlHostFramebuffer, 1);
      fb->driver = g_strdup (driver);
      fb->device = g_strdup (names->pdata[i]);
      g_ptr_array_add (out, fb);
    }
}

GPtrArray *
ql_handover_read_framebuffers (const char *sysfs)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_host_framebuffer_free);

  for (guint i = 0; ql_host_framebuffer_drivers[i] != NULL; i++)
    read_driver_devices (sysfs, ql_host_framebuffer_drivers[i], out);
  return out;
}

QlHostModuleState
ql_handover_module_state (const char *sysfs, const char *name)
{
  g_autofree char *dir = g_build_filename (sysfs, "module", name, NULL);
  g_autofree char *initstate = g_build_filename (dir, "initstate", NULL);

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    return QL_HOST_MODULE_NOT_LOADED;
  return g_file_test (initstate, G_FILE_TEST_EXISTS) ? QL_HOST_MODULE_LOADED : QL_HOST_MODULE_BUILTIN;
}

gboolean
ql_handover_vtconsole_bind (const char *sysfs, const char *name, gboolean bind, GError **error)
{
  g_autofree char *path = g_build_filename (sysfs, "class", "vtconsole", name, "bind", NULL);
  g_autofree char *now = ql_sysfs_read (path);

  if (g_strcmp0 (now, bind ? "1" : "0") == 0)
    return TRUE;
  if (!ql_sysfs_write (path, bind ? "1" : "0", ql_sysfs_timeout_ms (), error))
    {
      g_prefix_error (error, "Cannot %s %s: ", bind ? "bind" : "unbind", name);
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_handover_framebuffer_bind (const char *sysfs, const char *driver, const char *device, gboolean bind,
                              GError **error)
{
  g_autofree char *path = g_build_filename (sysfs, "bus", "platform", "drivers", driver, bind ? "bind" : "unbind",
                                            NULL);
  g_autofree char *link = g_build_filename (sysfs, "bus", "platform", "drivers", driver, device, NULL);

  /* a step journaled but not made, or undone by hand */
  if (g_file_test (link, G_FILE_TEST_IS_SYMLINK) == bind)
    return TRUE;
  if (!ql_sysfs_write (path, device, ql_sysfs_timeout_ms (), error))
    {
      g_prefix_error (error, "Cannot %s %s %s %s: ", bind ? "bind" : "unbind", device, bind ? "to" : "from", driver);
      return FALSE;
    }
  return TRUE;
}

static char *
module_holders (const char *sysfs, const char *name)
{
  g_autofree char *path = g_build_filename (sysfs, "module", name, "holders", NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *entry;

  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (entry));
  if (names->len == 0)
    return NULL;
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (", ", (char **) names->pdata);
}

char *
ql_handover_module_users (const char *sysfs, const char *name)
{
  g_autofree char *refcnt_path = g_build_filename (sysfs, "module", name, "refcnt", NULL);
  g_autofree char *refcnt = ql_sysfs_read (refcnt_path);
  g_autofree char *holders = module_holders (sysfs, name);
  guint64 count = 0;

  if (refcnt != NULL)
    g_ascii_string_to_unsigned (refcnt, 10, 0, G_MAXUINT32, &count, NULL);
  if (count == 0 && holders == NULL)
    return NULL;
  if (holders == NULL)
    return g_strdup_printf ("used %" G_GUINT64_FORMAT " time%s (refcnt; a process has its device open, or another "
                            "part of the kernel uses it)", count, count == 1 ? "" : "s");
  return g_strdup_printf ("used %" G_GUINT64_FORMAT " time%s, held by module%s %s (unload %s first: list %s "
                          "before it in unload-modules)", count, count == 1 ? "" : "s",
                          strchr (holders, ',') ? "s" : "", holders, strchr (holders, ',') ? "them" : "it",
                          strchr (holders, ',') ? "them" : "it");
}

/* In the child: only the syscall. */
static int
delete_module_op (gconstpointer data)
{
  return syscall (SYS_delete_module, (const char *) data, O_NONBLOCK) == 0 ? 0 : errno;
}

gboolean
ql_handover_module_unload (const char *sysfs, const char *name, guint timeout_ms, GError **error)
{
  g_autofree char *users = NULL;
  int err;

  if (ql_handover_module_state (sysfs, name) == QL_HOST_MODULE_NOT_LOADED)
    return TRUE;
  users = ql_handover_module_users (sysfs, name);
  if (users != NULL)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Module %s is in use, not unloaded: %s", name, users);
      return FALSE;
    }
  err = ql_sysfs_run_timed (delete_module_op, name, timeout_ms);
  if (err == 0 || err == ENOENT)
    return TRUE;
  if (err == -ETIMEDOUT)
    g_set_error (error, QL_ERROR, QL_ERROR_TIMEOUT, "Unloading module %s did not finish within %u ms", name,
                 timeout_ms);
  else
    g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot unload module %s: %s%s", name, g_strerror (ABS (err)),
                 err == EWOULDBLOCK ? " (something started using it)" :
                 err == EPERM ? " (run qlaunch as root)" :
                 err == ENOSYS ? " (the kernel cannot unload modules: CONFIG_MODULE_UNLOAD is off)" : "");
  return FALSE;
}

static void
store_result (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Its stderr, or NULL with error when it could not run or timed out. */
static char *
run_modprobe (GSubprocess *proc, const char *name, guint timeout_ms, GError **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GSource) timer = g_timeout_source_new (timeout_ms);
  g_autoptr(GAsyncResult) result = NULL;
  g_autofree char *err_text = NULL;
  gboolean expired = FALSE;

  g_main_context_push_thread_default (context);
  g_source_set_callback (timer, set_flag, &expired, NULL);
  g_source_attach (timer, context);
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, store_result, &result);
  while (result == NULL && !expired)
    g_main_context_iteration (context, TRUE);
  if (result == NULL)
    {
      g_subprocess_force_exit (proc);
      while (result == NULL)
        g_main_context_iteration (context, TRUE);
    }
  g_source_destroy (timer);
  g_main_context_pop_thread_default (context);
  if (!g_subprocess_communicate_utf8_finish (proc, result, NULL, &err_text, error))
    return NULL;
  if (expired)
    {
      g_set_error (error, QL_ERROR, QL_ERROR_TIMEOUT, "modprobe %s did not finish within %u ms", name, timeout_ms);
      return NULL;
    }
  return err_text ? g_steal_pointer (&err_text) : g_strdup ("");
}

gboolean
ql_handover_module_load (const char *name, guint timeout_ms, GError **error)
{
  g_autoptr(GSubprocess) proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                                  error, "modprobe", "--", name, NULL);
  g_autofree char *err_text = NULL;

  if (proc == NULL)
    {
      g_prefix_error (error, "Cannot load module %s: ", name);
      return FALSE;
    }
  err_text = run_modprobe (proc, name, timeout_ms, error);
  if (err_text == NULL)
    return FALSE;
  if (!g_subprocess_get_successful (proc))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot load module %s: modprobe failed%s%s", name,
                   err_text[0] ? ": " : "", g_strstrip (err_text));
      return FALSE;
    }
  return TRUE;
}
