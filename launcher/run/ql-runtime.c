#include "ql-runtime.h"
#include "ql-error.h"
#include "ql-json.h"
#include "ql-log-move.h"
#include "ql-paths.h"
#include "ql-runtime-files.h"

#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct _QlLock {
  char *path;
  int fd;
};

static gboolean
make_private_dir (const char *dir, GError **error)
{
  if (!ql_paths_make_own_dir (dir, error))
    return FALSE;
  if (chmod (dir, 0700) != 0)
    return ql_error_set_errno (error, errno, "Cannot make '%s' private", dir);
  return TRUE;
}

QlLock *
ql_lock_acquire (const char *runtime_dir, const char *vm_name, GError **error)
{
  g_autofree char *path = g_build_filename (runtime_dir, QL_RUNTIME_LOCK, NULL);

  if (!make_private_dir (runtime_dir, error))
    return NULL;

  /* Another supervisor may unlink the file between our open and flock; then
   * we hold a lock on a dead inode and must try again. */
  for (int attempt = 0; attempt < 10; attempt++)
    {
      struct stat by_fd, by_path;
      int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);

      if (fd < 0)
        {
          ql_error_set_errno (error, errno, "Cannot open lock '%s'", path);
          return NULL;
        }
      if (fstat (fd, &by_fd) != 0 || !S_ISREG (by_fd.st_mode))
        {
          close (fd);
          g_set_error (error, QL_ERROR, QL_ERROR_HOST, "'%s' is not a lock file qlaunch made; remove it", path);
          return NULL;
        }
      if (flock (fd, LOCK_EX | LOCK_NB) != 0)
        {
          int e = errno;
          close (fd);
          if (e == EWOULDBLOCK)
            g_set_error (error, QL_ERROR, QL_ERROR_BUSY,
                         "VM '%s' is already running (lock '%s' is held); see 'qlaunch status %s'",
                         vm_name, path, vm_name);
          else
            g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e),
                         "Cannot lock '%s': %s", path, g_strerror (e));
          return NULL;
        }
      if (fstat (fd, &by_fd) == 0 && stat (path, &by_path) == 0 &&
          by_fd.st_ino == by_path.st_ino && by_fd.st_dev == by_path.st_dev)
        {
          QlLock *lock = g_new0 (QlLock, 1);
          lock->path = g_steal_pointer (&path);
          lock->fd = fd;
          return lock;
        }
      close (fd);
    }
  g_set_error (error, QL_ERROR, QL_ERROR_BUSY, "Cannot take lock '%s': it keeps changing", path);
  return NULL;
}

void
ql_lock_release (QlLock *lock)
{
  if (lock == NULL)
    return;
  g_unlink (lock->path);
  close (lock->fd);
  g_free (lock->path);
  g_free (lock);
}

gboolean
ql_lock_is_held (const char *runtime_dir)
{
  g_autofree char *path = g_build_filename (runtime_dir, QL_RUNTIME_LOCK, NULL);
  struct stat st;
  gboolean held;
  int fd;

  /* a runtime dir that is not ours (a symlink, another user's) holds no VM of ours */
  if (!ql_paths_check_own_dir (runtime_dir, NULL))
    return FALSE;
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return FALSE;
  held = fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && flock (fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close (fd);
  return held;
}

void
ql_runtime_state_free (QlRuntimeState *state)
{
  if (state == NULL)
    return;
  g_free (state->accel);
  g_free (state->profile);
  g_clear_pointer (&state->stages, json_node_unref);
  g_free (state);
}

static void
add_process (JsonBuilder *b, const char *pid_name, const char *start_name, const QlProcessId *id)
{
  json_builder_set_member_name (b, pid_name);
  json_builder_add_int_value (b, id->pid);
  json_builder_set_member_name (b, start_name);
  json_builder_add_int_value (b, (gint64) id->start_time);
}

gboolean
ql_runtime_state_write (const char *runtime_dir, const QlRuntimeState *state, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *path = g_build_filename (runtime_dir, QL_RUNTIME_STATE, NULL);

  json_builder_begin_object (b);
  add_process (b, "supervisor-pid", "supervisor-start-time", &state->supervisor);
  add_process (b, "qemu-pid", "qemu-start-time", &state->qemu);
  json_builder_set_member_name (b, "started-usec");
  json_builder_add_int_value (b, state->started_usec);
  json_builder_set_member_name (b, "accel");
  json_builder_add_string_value (b, state->accel);
  json_builder_set_member_name (b, "profile");
  json_builder_add_string_value (b, state->profile);
  json_builder_set_member_name (b, "stop-timeout");
  json_builder_add_int_value (b, state->stop_timeout_s);
  ql_stages_add_json (state->stages_out, b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return ql_json_write_file (path, root, error);
}

static gboolean
read_process (JsonObject *o, const char *pid_name, const char *start_name, gboolean optional, QlProcessId *ret,
              GError **error)
{
  gint64 start_time;

  if (!ql_json_get_int (o, pid_name, optional ? 0 : 2, QL_PROCESS_PID_MAX, NULL, &ret->pid, error) ||
      !ql_json_get_int (o, start_name, 0, G_MAXINT64, NULL, &start_time, error))
    return FALSE;
  if (ret->pid != 0 && !ql_process_pid_valid (ret->pid))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' is not a process id", pid_name);
      return FALSE;
    }
  ret->start_time = (guint64) start_time;
  return TRUE;
}

static const char *
read_string (JsonObject *o, const char *member)
{
  JsonNode *node = json_object_get_member (o, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return "";
  return json_node_get_string (node);
}

QlRuntimeState *
ql_runtime_state_read (const char *runtime_dir, GError **error)
{
  g_autofree char *path = g_build_filename (runtime_dir, QL_RUNTIME_STATE, NULL);
  g_autoptr(JsonObject) o = ql_json_read_object (path, error);
  g_autoptr(QlRuntimeState) state = NULL;
  g_autoptr(GError) local_error = NULL;
  /* a day of clock skew at most: an uptime is never computed from a planted time */
  gint64 latest = g_get_real_time () + G_TIME_SPAN_DAY;

  if (o == NULL)
    return NULL;
  state = g_new0 (QlRuntimeState, 1);
  if (!read_process (o, "supervisor-pid", "supervisor-start-time", FALSE, &state->supervisor, &local_error) ||
      !read_process (o, "qemu-pid", "qemu-start-time", TRUE, &state->qemu, &local_error) ||
      !ql_json_get_int (o, "started-usec", 0, latest, NULL, &state->started_usec, &local_error) ||
      !ql_json_get_int (o, "stop-timeout", 1, 3600, NULL, &state->stop_timeout_s, &local_error))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_FAILED, "'%s' is not a state file qlaunch wrote: %s", path,
                   local_error->message);
      return NULL;
    }
  state->supervisor.kind = QL_PROCESS_QLAUNCH;
  state->qemu.kind = QL_PROCESS_QEMU;
  state->accel = g_strdup (read_string (o, "accel"));
  state->profile = g_strdup (read_string (o, "profile"));
  if (ql_stages_json_valid (json_object_get_member (o, "start-stages")))
    state->stages = json_node_copy (json_object_get_member (o, "start-stages"));
  return g_steal_pointer (&state);
}

void
ql_runtime_keep_logs (const char *runtime_dir, const char *state_dir)
{
  static const char *const logs[] = { QL_RUNTIME_LOG_FILES };

  for (guint i = 0; i < G_N_ELEMENTS (logs); i++)
    {
      g_autofree char *from = g_build_filename (runtime_dir, logs[i], NULL);
      g_autofree char *to = g_build_filename (state_dir, logs[i], NULL);
      g_autoptr(GError) error = NULL;

      if (!g_file_test (from, G_FILE_TEST_EXISTS))
        continue;
      if (!ql_paths_make_own_dir (state_dir, &error) || !ql_log_move (from, to, &error))
        g_warning ("cannot keep %s in '%s': %s, ignoring", logs[i], state_dir, error->message);
    }
}

void
ql_runtime_remove_run_files (const char *runtime_dir)
{
  static const char *const files[] = { QL_RUNTIME_RUN_FILES };
  static const char *const dirs[] = { QL_RUNTIME_RUN_DIRS };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (runtime_dir, files[i], NULL);

      if (g_unlink (path) != 0 && errno != ENOENT)
        g_warning ("cannot remove '%s': %s, ignoring", path, g_strerror (errno));
    }
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = g_build_filename (runtime_dir, dirs[i], NULL);

      if (g_rmdir (path) != 0 && errno != ENOENT)
        g_warning ("cannot remove '%s': %s, ignoring", path, g_strerror (errno));
    }
}

/* RUNTIME/display: made here, 0700 and the supervisor's, and handed to
 * QEMU's user by a journaled chown step when QEMU runs as another; QEMU
 * makes its SPICE socket there, where the VM's runtime dir stays root's. */
gboolean
ql_runtime_make_display_dir (const char *runtime_dir, GError **error)
{
  g_autofree char *path = g_build_filename (runtime_dir, QL_RUNTIME_DISPLAY_DIR, NULL);

  if (g_mkdir (path, 0700) != 0 && errno != EEXIST)
    return ql_error_set_errno (error, errno, "Cannot create directory '%s'", path);
  return ql_paths_check_own_dir (path, error);
}

static gboolean
member_is (JsonObject *o, const char *member, GType type)
{
  JsonNode *node = json_object_get_member (o, member);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

JsonObject *
ql_runtime_last_exit_read (const char *state_dir)
{
  g_autofree char *path = g_build_filename (state_dir, QL_STATE_LAST_EXIT, NULL);
  g_autoptr(JsonObject) o = ql_json_read_object (path, NULL);
  gint64 latest = g_get_real_time () + G_TIME_SPAN_DAY;

  if (o == NULL || !member_is (o, "message", G_TYPE_STRING) || !member_is (o, "reason", G_TYPE_STRING) ||
      !member_is (o, "exit-status", G_TYPE_INT64) || !member_is (o, "ended-usec", G_TYPE_INT64) ||
      json_object_get_int_member (o, "ended-usec") < 0 || json_object_get_int_member (o, "ended-usec") > latest)
    return NULL;
  if (!ql_stages_json_valid (json_object_get_member (o, "start-stages")) ||
      !member_is (o, "start-usec", G_TYPE_INT64))
    {
      json_object_remove_member (o, "start-stages");
      json_object_remove_member (o, "start-usec");
    }
  return g_steal_pointer (&o);
}
