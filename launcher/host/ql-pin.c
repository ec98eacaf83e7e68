#include "ql-pin.h"
#include "ql-error.h"
#include "ql-paths.h"
#include "ql-value.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

static void
thread_free (QlPinThread *thread)
{
  g_free (thread->name);
  g_free (thread);
}

static char *
read_comm (gint64 pid, gint64 tid)
{
  g_autofree char *path = g_strdup_printf ("%s/%" G_GINT64_FORMAT "/task/%" G_GINT64_FORMAT "/comm",
                                           ql_paths_procfs (), pid, tid);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("?");
  return g_strstrip (text);
}

static void
add_thread (GPtrArray *threads, QlPinThreadKind kind, guint index, gint64 pid, gint64 tid)
{
  QlPinThread *thread = g_new0 (QlPinThread, 1);

  thread->kind = kind;
  thread->index = index;
  thread->tid = tid;
  thread->name = read_comm (pid, tid);
  g_ptr_array_add (threads, thread);
}

static gboolean
is_listed (GPtrArray *threads, gint64 tid)
{
  for (guint i = 0; i < threads->len; i++)
    if (((QlPinThread *) threads->pdata[i])->tid == tid)
      return TRUE;
  return FALSE;
}

GPtrArray *
ql_pin_list_threads (gint64 pid, JsonNode *cpus_fast, JsonNode *iothreads, GError **error)
{
  g_autoptr(GPtrArray) threads = g_ptr_array_new_with_free_func ((GDestroyNotify) thread_free);
  g_autofree char *task_dir = g_strdup_printf ("%s/%" G_GINT64_FORMAT "/task", ql_paths_procfs (), pid);
  g_autoptr(GDir) dir = NULL;
  JsonArray *array;
  const char *name;

  if (cpus_fast == NULL || !JSON_NODE_HOLDS_ARRAY (cpus_fast) || iothreads == NULL || !JSON_NODE_HOLDS_ARRAY (iothreads))
    {
      g_set_error (error, QL_ERROR, QL_ERROR_QEMU, "QEMU's query-cpus-fast or query-iothreads did not return a list");
      return NULL;
    }
  array = json_node_get_array (cpus_fast);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *cpu = json_array_get_object_element (array, i);
      if (cpu != NULL)
        add_thread (threads, QL_PIN_THREAD_VCPU, json_object_get_int_member_with_default (cpu, "cpu-index", i), pid,
                    json_object_get_int_member_with_default (cpu, "thread-id", 0));
    }
  array = json_node_get_array (iothreads);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *io = json_array_get_object_element (array, i);
      const char *id = io ? json_object_get_string_member_with_default (io, "id", "") : "";
      guint64 n = i;

      if (io == NULL)
        continue;
      if (g_str_has_prefix (id, "io"))
        g_ascii_string_to_unsigned (id + 2, 10, 0, G_MAXUINT, &n, NULL);
      add_thread (threads, QL_PIN_THREAD_IOTHREAD, (guint) n, pid, json_object_get_int_member_with_default (io, "thread-id", 0));
    }

  dir = g_dir_open (task_dir, 0, error);
  if (dir == NULL)
    {
      g_prefix_error (error, "Cannot list QEMU's threads: ");
      return NULL;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      guint64 tid;
      if (g_ascii_string_to_unsigned (name, 10, 1, G_MAXINT, &tid, NULL) && !is_listed (threads, (gint64) tid))
        add_thread (threads, QL_PIN_THREAD_EMULATOR, 0, pid, (gint64) tid);
    }
  return g_steal_pointer (&threads);
}

char *
ql_pin_thread_describe (const QlPinThread *thread)
{
  switch (thread->kind)
    {
    case QL_PIN_THREAD_VCPU:
      return g_strdup_printf ("vCPU %u", thread->index);
    case QL_PIN_THREAD_IOTHREAD:
      return g_strdup_printf ("iothread io%u", thread->index);
    case QL_PIN_THREAD_EMULATOR:
    default:
      return g_strdup_printf ("emulator thread '%s'", thread->name);
    }
}

static gboolean
set_affinity (const QlPinThread *thread, const cpu_set_t *set, const char *cpus, GError **error)
{
  g_autofree char *what = NULL;
  int e;

  if (sched_setaffinity ((pid_t) thread->tid, sizeof *set, set) == 0)
    return TRUE;
  e = errno;
  if (e == ESRCH && thread->kind == QL_PIN_THREAD_EMULATOR)
    return TRUE;   /* a worker thread that finished meanwhile */
  what = ql_pin_thread_describe (thread);
  g_set_error (error, QL_ERROR, QL_ERROR_HOST, "Cannot pin %s (thread %" G_GINT64_FORMAT ") to host CPU%s %s: %s%s",
               what, thread->tid, strpbrk (cpus, ",-") ? "s" : "", cpus, g_strerror (e),
               e == EINVAL ? " (the CPUs are offline, or outside the cpuset qlaunch runs in)" : "");
  return FALSE;
}

void
ql_pin_to_cpu_set (const GArray *cpus, cpu_set_t *set)
{
  CPU_ZERO (set);
  for (guint i = 0; i < cpus->len; i++)
    {
      guint cpu = g_array_index (cpus, guint, i);
      if (cpu < CPU_SETSIZE)
        CPU_SET (cpu, set);
    }
}

gboolean
ql_pin_apply (const GPtrArray *threads, const QlPinPlan *plan, GError **error)
{
  cpu_set_t own, emulator, iothreads;
  g_autofree char *own_text = NULL, *emulator_text = NULL, *iothreads_text = NULL;

  if (sched_getaffinity (0, sizeof own, &own) != 0)
    {
      return ql_error_set_errno (error, errno, "sched_getaffinity");
    }
  own_text = g_strdup ("(unpinned)");
  emulator = own;
  iothreads = own;
  if (plan->emulator != NULL)
    {
      ql_pin_to_cpu_set (plan->emulator, &emulator);
      emulator_text = ql_value_format_cpu_set (plan->emulator);
    }
  if (plan->iothreads != NULL)
    {
      ql_pin_to_cpu_set (plan->iothreads, &iothreads);
      iothreads_text = ql_value_format_cpu_set (plan->iothreads);
    }

  for (guint i = 0; i < threads->len; i++)
    {
      const QlPinThread *thread = threads->pdata[i];
      cpu_set_t one;
      g_autofree char *one_text = NULL;

      switch (thread->kind)
        {
        case QL_PIN_THREAD_VCPU:
          if (plan->vcpus == NULL || thread->index >= plan->vcpus->len)
            {
              if (!set_affinity (thread, &own, own_text, error))
                return FALSE;
              break;
            }
          CPU_ZERO (&one);
          CPU_SET (g_array_index (plan->vcpus, guint, thread->index), &one);
          one_text = g_strdup_printf ("%u", g_array_index (plan->vcpus, guint, thread->index));
          if (!set_affinity (thread, &one, one_text, error))
            return FALSE;
          break;
        case QL_PIN_THREAD_IOTHREAD:
          if (!set_affinity (thread, &iothreads, iothreads_text ? iothreads_text : own_text, error))
            return FALSE;
          break;
        case QL_PIN_THREAD_EMULATOR:
        default:
          if (!set_affinity (thread, &emulator, emulator_text ? emulator_text : own_text, error))
            return FALSE;
          break;
        }
    }
  return TRUE;
}

char *
ql_pin_read_affinity (gint64 pid, gint64 tid)
{
  g_autofree char *path = g_strdup_printf ("%s/%" G_GINT64_FORMAT "/task/%" G_GINT64_FORMAT "/status",
                                           ql_paths_procfs (), pid, tid);
  g_autofree char *text = NULL;
  const char *line;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (line = strstr (text, "\nCpus_allowed_list:")) == NULL)
    return NULL;
  line += strlen ("\nCpus_allowed_list:");
  return g_strstrip (g_strndup (line, strcspn (line, "\n")));
}

JsonNode *
ql_pin_threads_to_json (gint64 pid, const GPtrArray *threads)
{
  static const char *const kinds[] = { "vcpu", "iothread", "emulator" };
  JsonArray *array = json_array_new ();
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (guint i = 0; i < threads->len; i++)
    {
      const QlPinThread *thread = threads->pdata[i];
      JsonObject *o = json_object_new ();
      g_autofree char *what = ql_pin_thread_describe (thread);
      g_autofree char *cpus = ql_pin_read_affinity (pid, thread->tid);

      json_object_set_string_member (o, "thread", what);
      json_object_set_string_member (o, "kind", kinds[thread->kind]);
      json_object_set_int_member (o, "index", thread->index);
      json_object_set_int_member (o, "tid", thread->tid);
      json_object_set_string_member (o, "name", thread->name);
      if (cpus != NULL)
        json_object_set_string_member (o, "cpus", cpus);
      else
        json_object_set_null_member (o, "cpus");
      json_array_add_object_element (array, o);
    }
  json_node_take_array (node, array);
  return node;
}
