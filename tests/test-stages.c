/* The stages of a start as data: timed in order, written as JSON and read
 * back only when well formed; and the stage lines a detached supervisor
 * sends its parent, refused when malformed. */
#include "ql-progress.h"
#include "ql-stages.h"

#include <string.h>
#include <unistd.h>

typedef struct {
  GString *events;
} Heard;

static void
hear (QlStageEvent event, const char *stage, const char *detail, gint64 elapsed_us, gpointer data)
{
  Heard *heard = data;
  static const char letters[] = "bpe";

  g_assert_cmpint (elapsed_us, >=, 0);
  g_string_append_printf (heard->events, "%c:%s%s%s;", letters[event], stage, detail ? "=" : "", detail ? detail : "");
}

static JsonNode *
stages_json (QlStages *stages)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  ql_stages_add_json (stages, b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
test_order_and_json (void)
{
  g_autoptr(GString) events = g_string_new (NULL);
  Heard heard = { events };
  g_autoptr(QlStages) stages = ql_stages_new (hear, &heard);
  g_autoptr(JsonNode) root = NULL;
  JsonObject *o;
  JsonArray *list;
  gint64 sum = 0;

  ql_stages_begin (stages, "bind %s", "0000:01:00.0");
  g_usleep (2000);
  ql_stages_progress (stages, "%d of %d", 1, 2);
  ql_stages_begin (stages, "start\tQEMU\n");     /* control characters never reach a terminal */
  ql_stages_end (stages);
  ql_stages_end (stages);                        /* nothing under way: nothing heard */
  ql_stages_progress (stages, "late");
  g_assert_cmpstr (events->str, ==, "b:bind 0000:01:00.0;p:bind 0000:01:00.0=1 of 2;e:bind 0000:01:00.0;"
                                    "b:start QEMU ;e:start QEMU ;");

  root = stages_json (stages);
  o = json_node_get_object (root);
  g_assert_true (ql_stages_json_valid (json_object_get_member (o, "start-stages")));
  list = json_object_get_array_member (o, "start-stages");
  g_assert_cmpuint (json_array_get_length (list), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (list, 0), "stage"), ==,
                   "bind 0000:01:00.0");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (list, 0), "usec"), >=, 2000);
  for (guint i = 0; i < json_array_get_length (list); i++)
    sum += json_object_get_int_member (json_array_get_object_element (list, i), "usec");
  g_assert_cmpint (json_object_get_int_member (o, "start-usec"), ==, sum);

  /* NULL stages: every call does nothing */
  ql_stages_begin (NULL, "x");
  ql_stages_progress (NULL, "y");
  ql_stages_end (NULL);
}

static void
test_bounds (void)
{
  g_autoptr(QlStages) stages = ql_stages_new (NULL, NULL);
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *long_name = g_strnfill (1000, 'a');
  JsonArray *list;

  for (guint i = 0; i < QL_STAGES_MAX + 10; i++)
    ql_stages_begin (stages, "%s", long_name);
  ql_stages_end (stages);
  root = stages_json (stages);
  list = json_object_get_array_member (json_node_get_object (root), "start-stages");
  g_assert_cmpuint (json_array_get_length (list), ==, QL_STAGES_MAX);
  g_assert_cmpuint (strlen (json_object_get_string_member (json_array_get_object_element (list, 0), "stage")), ==,
                    QL_STAGE_NAME_MAX);
  g_assert_true (ql_stages_json_valid (json_object_get_member (json_node_get_object (root), "start-stages")));
}

static void
test_hostile_json (void)
{
  static const char *const bad[] = {
    "{}",
    "[1]",
    "[{\"stage\": \"x\"}]",
    "[{\"stage\": \"x\", \"usec\": -1}]",
    "[{\"stage\": \"x\", \"usec\": 1.5}]",
    "[{\"stage\": \"x\", \"usec\": \"1\"}]",
    "[{\"stage\": 1, \"usec\": 1}]",
    "[{\"stage\": \"\\u001b[2J\", \"usec\": 1}]",
    "[{\"stage\": \"x\", \"usec\": 99999999999999999}]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) node = json_from_string (bad[i], NULL);

      g_assert_nonnull (node);
      g_assert_false (ql_stages_json_valid (node));
    }
  g_assert_false (ql_stages_json_valid (NULL));
}

static void
test_pipe_lines (void)
{
  static const char *const bad[] = {
    "STAGE\tb\t0\tx",                /* a field short */
    "STAGE\tx\t0\tname\t",           /* no such event */
    "STAGE\tbb\t0\tname\t",
    "STAGE\tb\t-1\tname\t",
    "STAGE\tb\t1e3\tname\t",
    "STAGE\tb\t0\t\t",               /* no name */
    "STAGE\tb\t0\tname\t\t",         /* a field too many */
    "STAGE\tb\t0\tna\033me\t",
    "stage\tb\t0\tname\t",
    "READY",
  };
  g_autoptr(QlProgress) progress = ql_progress_new (QL_PROGRESS_QUIET, "vm");
  g_autofree char *too_long = g_strdup_printf ("STAGE\tb\t0\t%0*d\t", QL_STAGE_NAME_MAX + 1, 0);
  int fds[2];
  char buf[512];
  gssize n;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (ql_progress_receive (progress, bad[i]));
  g_assert_false (ql_progress_receive (progress, too_long));
  g_assert_true (ql_progress_receive (progress, "STAGE\tb\t0\tbind 0000:01:00.0 -> vfio-pci\t"));
  g_assert_true (ql_progress_receive (progress, "STAGE\tp\t1500000\tstart QEMU\t0.5 of 1.0 GiB in memory"));
  g_assert_true (ql_progress_receive (progress, "STAGE\te\t12\tstart QEMU\t"));

  /* what the sender writes, the receiver takes */
  g_assert_cmpint (pipe (fds), ==, 0);
  ql_progress_send (QL_STAGE_PROGRESS, "start QEMU", "1.0 of 2.0 GiB", 42, GINT_TO_POINTER (fds[1]));
  n = read (fds[0], buf, sizeof buf - 1);
  g_assert_cmpint (n, >, 0);
  buf[n] = '\0';
  g_assert_cmpstr (buf, ==, "STAGE\tp\t42\tstart QEMU\t1.0 of 2.0 GiB\n");
  buf[n - 1] = '\0';
  g_assert_true (ql_progress_receive (progress, buf));
  close (fds[0]);
  close (fds[1]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/stages/order-and-json", test_order_and_json);
  g_test_add_func ("/stages/bounds", test_bounds);
  g_test_add_func ("/stages/hostile-json", test_hostile_json);
  g_test_add_func ("/stages/pipe-lines", test_pipe_lines);
  return g_test_run ();
}
