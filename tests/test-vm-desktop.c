/* The desktop devices in a real QEMU: SPICE on its unix socket answering a
 * client, QXL, HDA, the xhci controller with a tablet and a USB host device,
 * virtio input and Looking Glass's ivshmem with its /dev/shm file (made
 * with its size for the run, gone after); 'qlaunch view' running the
 * viewer it should with the right address; usb-add's device_add arguments
 * taken by QEMU; SPICE for a QEMU that runs as another user (nobody), in
 * a directory of that user's. */
#include "vm-harness.h"
#include "ql-desktop.h"
#include "ql-qemu-argv-desktop.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <grp.h>
#include <pwd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define VM "test-desktop"
/* these tests are not about QEMU's user: qlaunch's system user, when
 * another test made it, must not change what they see */
#define RUN_AS_ROOT "run-as = root\n"

static const char sections[] =
  "[display]\ntype = spice\nvga = qxl\n"
  "[audio]\nbackend = none\ninput = true\n"
  "[usb]\nhost = 1d6b:0104\ntablet = true\n"
  "[input]\nvirtio = true\n"
  "[looking-glass]\nsize = auto\n";

/* "SS:s.f vvvv:dddd" per device of bus 0 */
static GPtrArray *
pci_ids (QlQmpClient *client)
{
  g_autoptr(JsonNode) pci = qmp (client, "query-pci");
  JsonArray *devices = json_object_get_array_member (json_array_get_object_element (json_node_get_array (pci), 0),
                                                     "devices");
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < json_array_get_length (devices); i++)
    {
      JsonObject *d = json_array_get_object_element (devices, i);
      JsonObject *id = json_object_get_object_member (d, "id");
      g_ptr_array_add (ids, g_strdup_printf ("%02x.%x %04x:%04x", (guint) json_object_get_int_member (d, "slot"),
                                             (guint) json_object_get_int_member (d, "function"),
                                             (guint) json_object_get_int_member (id, "vendor"),
                                             (guint) json_object_get_int_member (id, "device")));
    }
  return ids;
}

static gboolean
has_string (GPtrArray *strings, const char *s)
{
  for (guint i = 0; i < strings->len; i++)
    if (strcmp (strings->pdata[i], s) == 0)
      return TRUE;
  return FALSE;
}

static GPtrArray *
peripherals (QlQmpClient *client)
{
  g_autoptr(JsonNode) list = qmp_with (client, "qom-list", "path", "/machine/peripheral", NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < json_array_get_length (json_node_get_array (list)); i++)
    g_ptr_array_add (names, g_strdup (json_object_get_string_member (
                                json_array_get_object_element (json_node_get_array (list), i), "name")));
  return names;
}

/* A SPICE client's first bytes: a SpiceLinkHeader (magic "REDQ", protocol
 * 2.2, the size of what follows) and a SpiceLinkMess for the main channel.
 * The server answers with a header of its own, magic "REDQ" too. */
static gboolean
spice_answers (const char *socket_path)
{
  static const guint8 link[16 + 18] = {
    'R', 'E', 'D', 'Q', 2, 0, 0, 0, 2, 0, 0, 0, 18, 0, 0, 0,
    0, 0, 0, 0, /* connection id */ 1, /* main channel */ 0, /* channel id */
    0, 0, 0, 0, 0, 0, 0, 0, /* no caps */ 18, 0, 0, 0, /* caps offset */
  };
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  struct timeval tv = { 10, 0 };
  char reply[16] = { 0 };
  gsize got = 0;
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  gboolean ok;

  g_strlcpy (addr.sun_path, socket_path, sizeof addr.sun_path);
  ok = fd >= 0 && connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0 &&
       setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 && write (fd, link, sizeof link) == sizeof link;
  while (ok && got < sizeof reply)
    {
      gssize n = read (fd, reply + got, sizeof reply - got);
      ok = n > 0;
      got += ok ? (gsize) n : 0;
    }
  if (fd >= 0)
    close (fd);
  /* magic "REDQ", major version 2 */
  return ok && memcmp (reply, "REDQ", 4) == 0 && reply[4] == 2;
}

static void
assert_spice_answers (const char *socket_path)
{
  g_assert_true (spice_answers (socket_path));
}

static void
become (uid_t uid, gid_t gid)
{
  if (setgroups (0, NULL) != 0 || setgid (gid) != 0 || setuid (uid) != 0)
    _exit (3);
}

/* The same, from a child that is uid:gid (QEMU's user, as a viewer would be) */
static void
assert_spice_answers_as (const char *socket_path, uid_t uid, gid_t gid)
{
  int status = 0;
  pid_t pid = fork ();

  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      become (uid, gid);
      _exit (spice_answers (socket_path) ? 0 : 1);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* A remote-viewer on PATH that writes its arguments where the test reads them. */
static char *
fake_viewer (char **ret_record)
{
  g_autofree char *bin = g_build_filename (tmp_root, "viewer-bin", NULL);
  g_autofree char *script_path = g_build_filename (bin, "remote-viewer", NULL);
  g_autofree char *record = g_build_filename (tmp_root, "viewer-argv", NULL);
  g_autofree char *script = g_strdup_printf ("#!/bin/sh\nfor a in \"$0\" \"$@\"; do echo \"$a\"; done > '%s'\n", record);

  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  g_assert_true (g_file_set_contents (script_path, script, -1, NULL));
  g_assert_cmpint (g_chmod (script_path, 0755), ==, 0);
  *ret_record = g_steal_pointer (&record);
  return g_steal_pointer (&bin);
}

/* 'qlaunch view VM' with PATH set to path; returns its exit status */
static int
run_view (const char *path, char **ret_err)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                                       G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_auto(GStrv) env = g_environ_setenv (child_env (), "PATH", path, TRUE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  g_subprocess_launcher_set_environ (launcher, env);
  proc = g_subprocess_launcher_spawn (launcher, &error, qlaunch, "view", VM, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, ret_err, &error));
  g_assert_no_error (error);
  return g_subprocess_get_exit_status (proc);
}

static void
test_view (const char *spice_socket)
{
  g_autofree char *record = NULL, *err = NULL, *argv_text = NULL, *expected = NULL;
  g_autofree char *bin = fake_viewer (&record);

  /* no viewer at all: the package to install is named */
  g_assert_cmpint (run_view ("/nonexistent", &err), ==, 1);
  g_assert_nonnull (strstr (err, "apt install virt-viewer"));
  g_clear_pointer (&err, g_free);
  /* the fake one: run (exec'd, so it is the viewer that exits) with the socket's URI */
  g_assert_cmpint (run_view (bin, &err), ==, 0);
  g_assert_true (g_file_get_contents (record, &argv_text, NULL, NULL));
  expected = g_strdup_printf ("%s/remote-viewer\nspice+unix://%s\n", bin, spice_socket);
  g_assert_cmpstr (argv_text, ==, expected);
}

static void
test_desktop_devices (void)
{
  g_autofree char *path = NULL, *spice_socket = NULL, *shm = NULL, *id = NULL, *message = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(QlQmpClient) client = NULL;
  g_autoptr(GPtrArray) ids = NULL, names = NULL;
  g_autoptr(JsonNode) audiodev = NULL, added = NULL, usb_args = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = NULL;
  struct stat st;

  if (skip_if_unavailable ())
    return;
  path = write_guest_profile (VM, "acpi", RUN_AS_ROOT, sections);
  shm = ql_looking_glass_shm_path ("/dev", VM);
  g_unlink (shm);
  proc = start_foreground (path);
  wait_running (VM);
  client = qmp_connect (VM);

  /* every device on pcie.0: QXL, xhci, HDA, virtio keyboard, mouse, tablet, ivshmem */
  ids = pci_ids (client);
  g_assert_true (has_string (ids, "01.0 1b36:0100"));
  g_assert_true (has_string (ids, "02.0 1b36:000d"));
  g_assert_true (has_string (ids, "03.0 8086:293e"));
  g_assert_true (has_string (ids, "04.0 1af4:1052"));
  g_assert_true (has_string (ids, "05.0 1af4:1052"));
  g_assert_true (has_string (ids, "06.0 1af4:1052"));
  g_assert_true (has_string (ids, "07.0 1af4:1110"));
  names = peripherals (client);
  for (const char *const *n = (const char *const[]) { "video0", "usb", "tablet", "sound0", "sound0-codec0",
                                                       "usb-host0", "input-keyboard", "input-mouse", "input-tablet",
                                                       "looking-glass0", NULL }; *n; n++)
    {
      if (!has_string (names, *n))
        g_test_message ("no %s in /machine/peripheral", *n);
      g_assert_true (has_string (names, *n));
    }
  /* the codec plays to the audiodev (QEMU 7.2 has no query-audiodevs: its property says) */
  audiodev = qmp_with (client, "qom-get", "path", "/machine/peripheral/sound0-codec0", "property", "audiodev", NULL);
  g_assert_cmpstr (json_node_get_string (audiodev), ==, "audio0");

  /* Looking Glass's memory: the file made for the run, 32 MiB for 1080p, mode 0660 */
  g_assert_cmpint (lstat (shm, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_assert_cmpint (st.st_size, ==, 32 << 20);
  g_assert_cmpint (st.st_mode & 07777, ==, 0660);
  g_assert_cmpint (st.st_uid, ==, geteuid ());

  /* SPICE: on its unix socket in the runtime dir's display dir, answering a client */
  spice_socket = runtime_file (VM, "display/spice.sock");
  assert_spice_answers (spice_socket);
  test_view (spice_socket);

  /* usb-add's device_add for a device that is not plugged: QEMU takes it and waits */
  usb_args = ql_qemu_usb_host_arguments ("1-9.3", &id, &message);
  reply = ql_qmp_client_execute_sync (client, "device_add", usb_args, 10000, &error);
  g_assert_no_error (error);
  g_clear_pointer (&names, g_ptr_array_unref);
  names = peripherals (client);
  g_assert_true (has_string (names, id));
  g_clear_pointer (&reply, json_node_unref);
  reply = qmp_with (client, "device_del", "id", id, NULL);
  ql_qmp_client_close (client);

  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", VM, NULL), ==, 0);
  wait_exit (proc, NULL);
  /* gone with the run, like everything else it made */
  g_assert_cmpint (lstat (shm, &st), ==, -1);
  assert_nothing_left (VM);
}

/* A file someone else left at the path: the start refuses, and leaves it. */
static void
test_looking_glass_file_taken (void)
{
  g_autofree char *path = NULL, *shm = NULL, *err = NULL;
  struct stat st;

  if (skip_if_unavailable ())
    return;
  path = write_guest_profile (VM "-lg", "acpi", RUN_AS_ROOT, "[looking-glass]\nsize = 64M\n");
  shm = ql_looking_glass_shm_path ("/dev", VM "-lg");
  g_assert_true (g_file_set_contents (shm, "someone's", -1, NULL));
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", "--detach", path, NULL), !=, 0);
  g_assert_nonnull (strstr (err, "exists already"));
  g_assert_cmpint (lstat (shm, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 9);
  g_unlink (shm);
  assert_nothing_left (VM "-lg");

  /* one of the size and owner the start would make (a client still holding
   * it, a VM of that name run by someone else): refused, and the failed
   * start's undo leaves it too */
  g_clear_pointer (&err, g_free);
  g_assert_true (g_file_set_contents (shm, "", 0, NULL));
  g_assert_cmpint (truncate (shm, 64 << 20), ==, 0);
  g_assert_cmpint (run_qlaunch (NULL, &err, "start", "--detach", path, NULL), !=, 0);
  g_assert_nonnull (strstr (err, "exists already"));
  g_assert_cmpint (lstat (shm, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 64 << 20);
  g_unlink (shm);
  assert_nothing_left (VM "-lg");
}

/* kill -9 of the supervisor: QEMU goes with it, the file stays until
 * 'qlaunch recover' undoes the journal */
static void
test_looking_glass_recover (void)
{
  g_autofree char *path = NULL, *shm = NULL, *out = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  struct stat st;

  if (skip_if_unavailable ())
    return;
  path = write_guest_profile (VM "-rec", "acpi", RUN_AS_ROOT, "[looking-glass]\nresolution = 3840x2160\n");
  shm = ql_looking_glass_shm_path ("/dev", VM "-rec");
  g_unlink (shm);
  proc = start_foreground (path);
  wait_running (VM "-rec");
  g_assert_cmpint (lstat (shm, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 128 << 20);
  kill_supervisor (VM "-rec");
  g_assert_true (g_subprocess_wait (proc, NULL, NULL));
  g_assert_cmpint (lstat (shm, &st), ==, 0);
  g_assert_cmpint (run_qlaunch (&out, NULL, "recover", VM "-rec", NULL), ==, 0);
  g_assert_cmpint (lstat (shm, &st), ==, -1);
  assert_nothing_left (VM "-rec");
}

/* evdev needs a real input device: the container running the tests may have none */
static void
test_evdev (void)
{
  g_autoptr(GDir) dir = NULL;
  g_autofree char *path = NULL, *sections_text = NULL, *event = NULL, *err = NULL;
  g_autoptr(QlQmpClient) client = NULL;
  g_autoptr(JsonNode) evdev = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  const char *name;

  if (skip_if_unavailable ())
    return;
  dir = g_dir_open ("/dev/input", 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL && event == NULL)
    if (g_str_has_prefix (name, "event"))
      event = g_build_filename ("/dev/input", name, NULL);
  if (event == NULL)
    {
      g_test_skip ("no /dev/input/event* on this host (a container, or no uinput): input-linux needs a real device");
      return;
    }
  sections_text = g_strdup_printf ("[input]\nevdev = %s\ngrab-toggle = scrolllock\n", event);
  path = write_guest_profile (VM "-ev", "acpi", RUN_AS_ROOT, sections_text);
  proc = start_foreground (path);
  wait_running (VM "-ev");
  client = qmp_connect (VM "-ev");
  evdev = qmp_with (client, "qom-get", "path", "/objects/evdev0", "property", "evdev", NULL);
  g_assert_cmpstr (json_node_get_string (evdev), ==, event);
  ql_qmp_client_close (client);
  g_assert_cmpint (run_qlaunch (NULL, &err, "kill", VM "-ev", NULL), ==, 0);
  wait_exit (proc, NULL);
  assert_nothing_left (VM "-ev");
}

/* VNC: the address QEMU reports; remote-viewer's vnc:// URI (--print shows it) */
static void
test_view_vnc (void)
{
  g_autofree char *path = NULL, *record = NULL, *bin = NULL, *out = NULL, *err = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL, view = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) env = NULL;

  if (skip_if_unavailable ())
    return;
  path = write_guest_profile (VM "-vnc", "acpi", RUN_AS_ROOT, "[display]\ntype = vnc\nlisten = 127.0.0.1:57\n");
  proc = start_foreground (path);
  wait_running (VM "-vnc");
  bin = fake_viewer (&record);
  env = g_environ_setenv (child_env (), "PATH", bin, TRUE);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_environ (launcher, env);
  view = g_subprocess_launcher_spawn (launcher, &error, qlaunch, "view", "--print", VM "-vnc", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (view, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  g_test_message ("view: %s%s", out, err);
  /* display 57 is port 5957 */
  g_assert_cmpstr (out, ==, "remote-viewer vnc://127.0.0.1:5957\n");
  g_assert_cmpint (run_qlaunch (NULL, NULL, "kill", VM "-vnc", NULL), ==, 0);
  wait_exit (proc, NULL);
  assert_nothing_left (VM "-vnc");
}

typedef struct {
  uid_t uid;
  gid_t gid;
} Ids;

static void
become_ids (gpointer data)
{
  const Ids *ids = data;

  become (ids->uid, ids->gid);
}

/* 'qlaunch view --print NAME' run as uid:gid; returns its exit status */
static int
run_view_as (const char *name, const char *path, uid_t uid, gid_t gid, char **ret_out, char **ret_err)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                                       G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_auto(GStrv) env = g_environ_setenv (child_env (), "PATH", path, TRUE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  Ids ids = { uid, gid };

  g_subprocess_launcher_set_environ (launcher, env);
  g_subprocess_launcher_set_child_setup (launcher, become_ids, &ids, NULL);
  proc = g_subprocess_launcher_spawn (launcher, &error, qlaunch, "view", "--print", name, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, ret_out, ret_err, &error));
  g_assert_no_error (error);
  g_test_message ("view as %u: %s%s", uid, *ret_out, *ret_err);
  return g_subprocess_get_exit_status (proc);
}

static gboolean
find_nobody (uid_t *ret_uid, gid_t *ret_gid)
{
  struct passwd *pw = getpwnam ("nobody");

  if (skip_if_unavailable ())
    return FALSE;
  if (geteuid () != 0)
    {
      g_test_skip ("run-as is root's: the test must run as root");
      return FALSE;
    }
  if (pw == NULL || pw->pw_uid == 0)
    {
      g_test_skip ("this host has no user 'nobody'");
      return FALSE;
    }
  *ret_uid = pw->pw_uid;
  *ret_gid = pw->pw_gid;
  return TRUE;
}

static void
assert_dir_owner (const char *path, uid_t uid, gid_t gid, mode_t mode)
{
  struct stat st;

  g_assert_cmpint (lstat (path, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpuint (st.st_uid, ==, uid);
  g_assert_cmpuint (st.st_gid, ==, gid);
  g_assert_cmpuint (st.st_mode & 07777, ==, mode);
}

/* A root start whose QEMU runs as nobody (as 'sudo qlaunch start' runs it as
 * the sudo user): the SPICE socket is in RUNTIME/display, nobody's and
 * closed to others; nobody reaches it, and 'qlaunch view' run as nobody
 * (who cannot ask the root VM's QMP relay) finds it; another user is told
 * whose it is.  The directory is gone after stop, and after kill -9 of
 * the supervisor and 'qlaunch recover'. */
static void
test_spice_run_as (void)
{
  uid_t uid;
  gid_t gid;

  if (!find_nobody (&uid, &gid))
    return;
  for (guint round = 0; round < 2; round++)
    {
      const char *name = round == 0 ? VM "-ra" : VM "-ra-kill";
      g_autofree char *path = write_guest_profile (name, "acpi", "run-as = nobody\n", "[display]\ntype = spice\n");
      g_autofree char *display = runtime_file (name, "display");
      g_autofree char *socket = runtime_file (name, "display/spice.sock");
      g_autofree char *record = NULL, *bin = fake_viewer (&record);
      g_autofree char *out = NULL, *err = NULL, *expected = NULL;
      g_autoptr(GSubprocess) proc = NULL;

      g_assert_cmpint (g_chmod (bin, 0755), ==, 0);
      proc = start_foreground (path);
      wait_running (name);
      assert_dir_owner (display, uid, gid, 0700);
      assert_dir_owner (runtime_base, 0, 0, 0701);
      assert_spice_answers_as (socket, uid, gid);
      g_assert_cmpint (run_view_as (name, bin, uid, gid, &out, &err), ==, 0);
      expected = g_strdup_printf ("remote-viewer spice+unix://%s\n", socket);
      g_assert_cmpstr (out, ==, expected);
      g_clear_pointer (&out, g_free);
      g_clear_pointer (&err, g_free);
      /* a user who is not QEMU's cannot reach it, and is told who can */
      g_assert_cmpint (run_view_as (name, bin, 4711, 4711, &out, &err), ==, 1);
      g_assert_nonnull (strstr (err, "run 'qlaunch view " ));
      g_assert_nonnull (strstr (err, "as that user"));
      if (round == 0)
        {
          g_assert_cmpint (run_qlaunch (NULL, NULL, "stop", name, NULL), ==, 0);
          g_assert_cmpint (wait_exit (proc, NULL), ==, 0);
        }
      else
        {
          g_autofree char *recovered = NULL;

          kill_supervisor (name);
          g_assert_true (g_subprocess_wait (proc, NULL, NULL));
          assert_dir_owner (display, uid, gid, 0700);
          g_assert_cmpint (run_qlaunch (&recovered, NULL, "recover", name, NULL), ==, 0);
        }
      g_assert_false (g_file_test (display, G_FILE_TEST_EXISTS));
      assert_nothing_left (name);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  vm_harness_init ();
  g_test_add_func ("/vm-desktop/devices", test_desktop_devices);
  g_test_add_func ("/vm-desktop/looking-glass-file-taken", test_looking_glass_file_taken);
  g_test_add_func ("/vm-desktop/looking-glass-recover", test_looking_glass_recover);
  g_test_add_func ("/vm-desktop/evdev", test_evdev);
  g_test_add_func ("/vm-desktop/view-vnc", test_view_vnc);
  g_test_add_func ("/vm-desktop/spice-run-as", test_spice_run_as);
  /* QEMU's user passes through to the runtime dirs */
  g_assert_cmpint (g_chmod (tmp_root, 0711), ==, 0);
  return g_test_run ();
}
