/* QEMU's capabilities: parsed from QMP replies, cached as JSON and read
 * back as untrusted, and probed from the real binaries (Debian 12's 7.2 and,
 * when tools/fetch-qemu.sh got it, 10.0). */
#include "ql-error.h"
#include "ql-qemu-caps.h"
#include "ql-qemu-probe.h"

#include <glib/gstdio.h>
#include <string.h>

static JsonNode *
parse (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  return json_node_copy (json_parser_get_root (parser));
}

static const char version_reply[] =
  "{\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": \"Debian 1:10.0.2\"}";
static const char machines_reply[] =
  "[{\"name\": \"pc-q35-10.0\", \"alias\": \"q35\", \"is-default\": false, \"deprecated\": false,"
  "  \"cpu-max\": 4096, \"hotpluggable-cpus\": true, \"numa-mem-supported\": false, \"acpi\": true},"
  " {\"name\": \"pc-i440fx-10.0\", \"alias\": \"pc\", \"is-default\": true, \"deprecated\": false},"
  " {\"name\": \"pc-q35-4.2\", \"is-default\": false, \"deprecated\": true},"
  " {\"name\": \"none\", \"is-default\": false, \"deprecated\": false}]";
static const char options_reply[] =
  "[{\"option\": \"chardev\", \"parameters\": [{\"name\": \"reconnect-ms\", \"type\": \"number\"}]},"
  " {\"option\": \"run-with\", \"parameters\": [{\"name\": \"user\", \"type\": \"string\"}]},"
  " {\"option\": \"drive\", \"parameters\": []}]";
static const char pc_machine_reply[] =
  "[{\"name\": \"hpet\", \"type\": \"bool\"}, {\"name\": \"acpi\", \"type\": \"OnOffAuto\"}]";
static const char nohotplug_reply[] = "[{\"name\": \"ramfb\", \"type\": \"bool\"}]";
static const char vfio_reply[] =
  "[{\"name\": \"x-igd-opregion\", \"type\": \"bool\"}, {\"name\": \"host\", \"type\": \"str\"}]";

static QlQemuCaps *
caps_from_replies (void)
{
  g_autoptr(JsonNode) version = parse (version_reply), machines = parse (machines_reply);
  g_autoptr(JsonNode) options = parse (options_reply), vfio = parse (vfio_reply);
  g_autoptr(JsonNode) pc = parse (pc_machine_reply), nohotplug = parse (nohotplug_reply);
  g_autoptr(GError) error = NULL;
  QlQemuCaps *caps = ql_qemu_caps_from_qmp (version, machines, options, pc, vfio, nohotplug, &error);

  g_assert_no_error (error);
  return caps;
}

static void
assert_caps_10 (const QlQemuCaps *caps)
{
  g_assert_cmpuint (caps->version, ==, 1000);
  g_assert_cmpuint (caps->micro, ==, 2);
  g_assert_cmpstr (ql_qemu_caps_resolve_alias (caps, "q35"), ==, "pc-q35-10.0");
  g_assert_true (ql_qemu_caps_find_machine_type (caps, "pc-q35-4.2")->deprecated);
  g_assert_false (ql_qemu_caps_find_machine_type (caps, "pc-q35-10.0")->deprecated);
  g_assert_null (ql_qemu_caps_find_machine_type (caps, "pc-q35-1.0"));
  g_assert_true (ql_qemu_caps_has_machine_prop (caps, "hpet"));
  g_assert_true (ql_qemu_caps_has_chardev_prop (caps, "reconnect-ms"));
  g_assert_false (ql_qemu_caps_has_chardev_prop (caps, "reconnect"));
  g_assert_true (ql_qemu_caps_has_run_with_user (caps));
  g_assert_true (ql_qemu_caps_has_vfio_pci_prop (caps, "x-igd-opregion"));
  g_assert_true (ql_qemu_caps_has_vfio_nohotplug_prop (caps, "ramfb"));
  g_assert_false (ql_qemu_caps_has_vfio_pci_prop (caps, "ramfb"));
  g_assert_true (ql_qemu_caps_describes_bridge_slots (caps));
  g_autofree char *types = ql_qemu_caps_q35_types (caps);
  g_assert_cmpstr (types, ==, "pc-q35-10.0, pc-q35-4.2");
}

static void
test_from_qmp (void)
{
  g_autoptr(QlQemuCaps) caps = caps_from_replies ();
  g_autoptr(JsonNode) version = parse (version_reply), machines = parse ("[{\"name\": \"pc q35\"}]");
  g_autoptr(JsonNode) options = parse (options_reply);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) bad = NULL;

  assert_caps_10 (caps);
  /* no vfio-pci in this QEMU: no properties, not an error */
  g_clear_pointer (&caps, ql_qemu_caps_free);
  caps = ql_qemu_caps_from_qmp (version, options /* a list, not of machines */, options, NULL, NULL, NULL, &error);
  g_assert_error (error, QL_ERROR, QL_ERROR_FAILED);
  g_clear_error (&error);
  bad = ql_qemu_caps_from_qmp (version, machines, options, NULL, NULL, NULL, &error);
  g_assert_null (bad);
  g_assert_nonnull (strstr (error->message, "query-machines"));
}

static void
test_json_round_trip (void)
{
  g_autoptr(QlQemuCaps) caps = caps_from_replies ();
  g_autoptr(JsonNode) node = ql_qemu_caps_to_json (caps);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) back = ql_qemu_caps_from_json (node, &error);

  g_assert_no_error (error);
  assert_caps_10 (back);
}

/* What the cache reads back is checked: each of these is refused. */
static void
test_json_refused (void)
{
  static const char *const bad[] = {
    "[]",
    "{}",
    "{\"version\": 1000, \"micro\": 2}",
    "{\"version\": \"10.0\", \"micro\": 2, \"machine-types\": [], \"machine-props\": [], \"chardev-props\": [],"
    " \"run-with-props\": [], \"vfio-pci-props\": [], \"vfio-pci-nohotplug-props\": []}",
    "{\"version\": 1000, \"micro\": 2, \"machine-types\": [{\"name\": \"\"}], \"machine-props\": [],"
    " \"chardev-props\": [], \"run-with-props\": [], \"vfio-pci-props\": [], \"vfio-pci-nohotplug-props\": []}",
    "{\"version\": 1000, \"micro\": 2, \"machine-types\": [], \"machine-props\": [\"a b\"],"
    " \"chardev-props\": [], \"run-with-props\": [], \"vfio-pci-props\": [], \"vfio-pci-nohotplug-props\": []}",
    "{\"version\": 1000, \"micro\": 2, \"machine-types\": [], \"machine-props\": [1],"
    " \"chardev-props\": [], \"run-with-props\": [], \"vfio-pci-props\": [], \"vfio-pci-nohotplug-props\": []}",
    "{\"version\": 1000, \"micro\": 2, \"machine-types\": [], \"machine-props\": [],"
    " \"chardev-props\": [], \"run-with-props\": []}",
    "{\"version\": -1, \"micro\": 2, \"machine-types\": [], \"machine-props\": [],"
    " \"chardev-props\": [], \"run-with-props\": [], \"vfio-pci-props\": [], \"vfio-pci-nohotplug-props\": []}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) node = parse (bad[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(QlQemuCaps) caps = ql_qemu_caps_from_json (node, &error);

      g_assert_null (caps);
      g_assert_nonnull (error);
    }
}

/* The real binaries, probed, then cached: a second get reads the cache, a
 * corrupt cache is probed again, a changed binary too. */
static void
probe_binary (const char *binary, guint expected_min)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-caps-XXXXXX", NULL);
  g_autofree char *cache = g_build_filename (dir, "cache", NULL);
  g_autofree char *path = ql_qemu_caps_cache_path (binary, cache);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) caps = ql_qemu_caps_get (binary, cache, &error);
  g_autoptr(QlQemuCaps) again = NULL, reprobed = NULL;
  g_autoptr(JsonNode) entry = NULL;
  g_autofree char *planted = NULL;

  g_assert_no_error (error);
  g_test_message ("%s: QEMU %u.%u.%u", binary, caps->version / 100, caps->version % 100, caps->micro);
  g_assert_cmpuint (caps->version, >=, expected_min);
  g_assert_nonnull (ql_qemu_caps_resolve_alias (caps, "q35"));
  g_assert_true (g_str_has_prefix (ql_qemu_caps_resolve_alias (caps, "q35"), "pc-q35-"));
  g_assert_true (ql_qemu_caps_has_machine_prop (caps, "hpet"));
  g_assert_true (ql_qemu_caps_has_vfio_pci_prop (caps, "x-igd-opregion"));
  g_assert_true (ql_qemu_caps_has_vfio_nohotplug_prop (caps, "ramfb"));
  g_assert_cmpint (ql_qemu_caps_has_run_with_user (caps), ==, caps->version >= 901);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));

  /* the cache is what a second get returns: a planted micro shows it */
  entry = parse (text);
  json_object_set_int_member (json_object_get_object_member (json_node_get_object (entry), "caps"), "micro", 999);
  planted = json_to_string (entry, FALSE);
  g_assert_true (g_file_set_contents_full (path, planted, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
  again = ql_qemu_caps_get (binary, cache, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->micro, ==, 999);

  /* corrupt: asked again, and the cache is whole again */
  g_assert_true (g_file_set_contents_full (path, "{\"binary\": ", -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
  reprobed = ql_qemu_caps_get (binary, cache, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (reprobed->micro, ==, caps->micro);
  g_clear_pointer (&text, g_free);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"machine-types\""));

  g_unlink (path);
  g_rmdir (cache);
  g_rmdir (dir);
}

static void
test_probe_system (void)
{
  g_autofree char *binary = g_find_program_in_path ("qemu-system-x86_64");

  if (binary == NULL)
    {
      g_test_skip ("qemu-system-x86_64 is not installed (apt install qemu-system-x86)");
      return;
    }
  probe_binary (binary, 702);
}

static void
test_probe_qemu10 (void)
{
  g_autofree char *binary = g_build_filename (g_getenv ("QL_BUILD_ROOT"), "qemu-10", "qemu-system-x86_64", NULL);

  if (!g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("QEMU 10.0 is not in the build tree: 'tools/fetch-qemu.sh build/qemu-10' failed or was not run");
      return;
    }
  probe_binary (binary, 1000);
}

/* A binary that is no QEMU: a clear error, nothing cached. */
static void
test_probe_not_qemu (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ql-caps-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) caps = ql_qemu_caps_get ("/bin/false", dir, &error);
  g_autofree char *path = ql_qemu_caps_cache_path ("/bin/false", dir);

  g_assert_null (caps);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/bin/false"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qemu-caps/from-qmp", test_from_qmp);
  g_test_add_func ("/qemu-caps/json-round-trip", test_json_round_trip);
  g_test_add_func ("/qemu-caps/json-refused", test_json_refused);
  g_test_add_func ("/qemu-caps/probe/system", test_probe_system);
  g_test_add_func ("/qemu-caps/probe/qemu10", test_probe_qemu10);
  g_test_add_func ("/qemu-caps/probe/not-qemu", test_probe_not_qemu);
  return g_test_run ();
}
