/* Commands as people type them (the console, 'qlaunch qmp') and QMP data
 * drawn for them: pure functions, checked against what QEMU 7.2 sends. */
#include "ql-qmp-command.h"
#include "ql-qmp-render.h"
#include "ql-qmp-client.h"

#include <string.h>

static char *
to_json (JsonNode *node)
{
  return node ? json_to_string (node, FALSE) : g_strdup ("(none)");
}

static void
test_words (void)
{
  static const struct {
    const char *words[6];
    const char *command, *arguments;
  } cases[] = {
    { { "query-status" }, "query-status", "(none)" },
    { { "device_del", "id=gpu" }, "device_del", "{\"id\":\"gpu\"}" },
    { { "human-monitor-command", "command-line=info pci" }, "human-monitor-command", "{\"command-line\":\"info pci\"}" },
    { { "x", "n=12", "b=true", "z=null", "s=\"12\"" }, "x", "{\"n\":12,\"b\":true,\"z\":null,\"s\":\"12\"}" },
    { { "x", "addr=01:00.0", "e=" }, "x", "{\"addr\":\"01:00.0\",\"e\":\"\"}" },
    { { "x", "a.b=1", "a.c=x" }, "x", "{\"a\":{\"b\":1,\"c\":\"x\"}}" },
    { { "x", "l=[1,2]", "o={\"k\":1}" }, "x", "{\"l\":[1,2],\"o\":{\"k\":1}}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) arguments = NULL;
      g_autofree char *command = ql_qmp_command_from_words (cases[i].words, &arguments, &error);
      g_autofree char *text = NULL;

      g_assert_no_error (error);
      g_assert_cmpstr (command, ==, cases[i].command);
      text = to_json (arguments);
      g_assert_cmpstr (text, ==, cases[i].arguments);
    }
}

static void
test_words_refused (void)
{
  static const char *const cases[][4] = {
    { "" }, { "x", "novalue" }, { "x", "=1" }, { "x", "a=1", "a=2" }, { "x", "a=1", "a.b=2" }, { "x", "a..b=1" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) arguments = NULL;
      g_autofree char *command = ql_qmp_command_from_words (cases[i], &arguments, &error);

      g_assert_null (command);
      g_assert_null (arguments);
      g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_GENERIC);
    }
}

static void
test_json (void)
{
  static const char *const refused[] = {
    "", "{", "[]", "\"query-status\"", "{\"arguments\": {}}", "{\"execute\": 1}",
    "{\"execute\": \"x\", \"arguments\": [1]}",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) arguments = NULL;
  g_autofree char *command = ql_qmp_command_from_json ("{\"execute\": \"device_del\", \"arguments\": {\"id\": \"gpu\"}, \"id\": 5}",
                                                        &arguments, &error);
  g_autofree char *text = to_json (arguments);

  g_assert_no_error (error);
  g_assert_cmpstr (command, ==, "device_del");
  g_assert_cmpstr (text, ==, "{\"id\":\"gpu\"}");
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(GError) e = NULL;
      g_autoptr(JsonNode) a = NULL;
      g_autofree char *c = ql_qmp_command_from_json (refused[i], &a, &e);
      g_assert_null (c);
      g_assert_nonnull (e);
    }
}

/* query-pci of a q35 guest with a root port and a passed-through GPU, as
 * QEMU 7.2 returns it (trimmed to the members drawn). */
static const char pci_json[] =
  "[{\"bus\": 0, \"devices\": ["
  "{\"bus\": 0, \"slot\": 0, \"function\": 0, \"class_info\": {\"class\": 1536, \"desc\": \"Host bridge\"},"
  " \"id\": {\"vendor\": 32902, \"device\": 10688}, \"qdev_id\": \"\"},"
  "{\"bus\": 0, \"slot\": 28, \"function\": 0, \"class_info\": {\"class\": 1540, \"desc\": \"PCI bridge\"},"
  " \"id\": {\"vendor\": 6966, \"device\": 12}, \"qdev_id\": \"rp0\","
  " \"pci_bridge\": {\"bus\": {\"number\": 1, \"secondary\": 1, \"subordinate\": 1}, \"devices\": ["
  "   {\"bus\": 1, \"slot\": 0, \"function\": 0, \"class_info\": {\"class\": 768, \"desc\": \"VGA controller\"},"
  "    \"id\": {\"vendor\": 4318, \"device\": 7200}, \"qdev_id\": \"gpu\"},"
  "   {\"bus\": 1, \"slot\": 0, \"function\": 1, \"class_info\": {\"class\": 1027},"
  "    \"id\": {\"vendor\": 4318, \"device\": 4315}, \"qdev_id\": \"gpu.1\"}]}},"
  "{\"bus\": 0, \"slot\": 31, \"function\": 3, \"class_info\": {\"class\": 3077, \"desc\": \"SMBus\"},"
  " \"id\": {\"vendor\": 32902, \"device\": 10544}, \"qdev_id\": \"\"}]}]";

static void
test_pci_tree (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *tree = NULL;

  g_assert_true (json_parser_load_from_data (parser, pci_json, -1, NULL));
  tree = ql_qmp_render_pci_tree (json_parser_get_root (parser));
  g_assert_cmpstr (tree, ==,
                   "[0000:00]\n"
                   " +-00.0  8086:29c0  Host bridge\n"
                   " +-1c.0  1b36:000c  PCI bridge  [rp0]  -> bus 01\n"
                   " | +-00.0  10de:1c20  VGA controller  [gpu]\n"
                   " | \\-00.1  10de:10db  (unknown class)  [gpu.1]\n"
                   " \\-1f.3  8086:2930  SMBus\n");
}

/* What a broken QEMU might send is drawn as far as it goes, never crashes. */
static void
test_pci_tree_hostile (void)
{
  static const char *const inputs[] = {
    "{}", "[]", "[1, \"x\", {}]", "[{\"bus\": \"x\", \"devices\": {}}]",
    "[{\"bus\": 0, \"devices\": [{\"slot\": 999999, \"id\": 3, \"pci_bridge\": {\"devices\": 5}}]}]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autofree char *tree = NULL;

      g_assert_true (json_parser_load_from_data (parser, inputs[i], -1, NULL));
      tree = ql_qmp_render_pci_tree (json_parser_get_root (parser));
      g_assert_nonnull (tree);
    }
}

static void
test_event_and_reply (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *json = NULL, *human = NULL, *ret = NULL, *err = NULL, *hmp = NULL;
  JsonObject *reply;

  g_assert_true (json_parser_load_from_data (parser, "{\"reason\": \"host-qmp-quit\"}", -1, NULL));
  json = ql_qmp_render_event ("SHUTDOWN", json_parser_get_root (parser), 1700000000000005, TRUE);
  g_assert_cmpstr (json, ==, "{\"event\":\"SHUTDOWN\",\"data\":{\"reason\":\"host-qmp-quit\"},"
                             "\"timestamp\":{\"seconds\":1700000000,\"microseconds\":5}}");
  human = ql_qmp_render_event ("STOP", NULL, 1700000000000005, FALSE);
  g_assert_true (g_str_has_suffix (human, ".000005 STOP"));

  g_assert_true (json_parser_load_from_data (parser, "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"no gpu\"}}", -1, NULL));
  reply = json_node_get_object (json_parser_get_root (parser));
  err = ql_qmp_render_reply (reply);
  g_assert_cmpstr (err, ==, "error: DeviceNotFound: no gpu");
  g_assert_true (json_parser_load_from_data (parser, "{\"return\": \"VM status: running\\r\\n\"}", -1, NULL));
  hmp = ql_qmp_render_reply (json_node_get_object (json_parser_get_root (parser)));
  g_assert_cmpstr (hmp, ==, "VM status: running\n");
  g_assert_true (json_parser_load_from_data (parser, "{\"return\": {}}", -1, NULL));
  ret = ql_qmp_render_reply (json_node_get_object (json_parser_get_root (parser)));
  g_assert_cmpstr (ret, ==, "{}");
}

/* What QEMU says cannot drive the user's terminal. */
static void
test_for_terminal (void)
{
  g_autofree char *text = ql_qmp_render_for_terminal (g_strdup ("ok\r\n\ttab\r \x1b]0;title\x07 \x1b[2J \xc2\x9b" "1m \xff é"));
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *err = NULL;

  g_assert_cmpstr (text, ==, "ok\n\ttab? ?]0;title? ?[2J ?1m \xef\xbf\xbd é");
  g_assert_true (json_parser_load_from_data (parser, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"\\u001b[31mred\"}}",
                                             -1, NULL));
  err = ql_qmp_render_reply (json_node_get_object (json_parser_get_root (parser)));
  g_assert_cmpstr (err, ==, "error: GenericError: ?[31mred");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qmp-command/words", test_words);
  g_test_add_func ("/qmp-command/words-refused", test_words_refused);
  g_test_add_func ("/qmp-command/json", test_json);
  g_test_add_func ("/qmp-render/pci-tree", test_pci_tree);
  g_test_add_func ("/qmp-render/pci-tree-hostile", test_pci_tree_hostile);
  g_test_add_func ("/qmp-render/event-and-reply", test_event_and_reply);
  g_test_add_func ("/qmp-render/for-terminal", test_for_terminal);
  return g_test_run ();
}
