/* Profile parsing and validation: every error class, with the exact message
 * and line a user sees. */
#include "ql-error.h"
#include "ql-profile.h"
#include "ql-value.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char *dir;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("ql-profile-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  for (const char *const *name = (const char *[]) { "disk.img", "a,b.img", "vmlinuz", "initrd", "blob.bin", "ssdt.aml", NULL };
       *name; name++)
    {
      g_autofree char *path = g_build_filename (f->dir, *name, NULL);
      g_assert_true (g_file_set_contents (path, "x", 1, NULL));
    }
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (dir)))
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static QlProfile *
load (Fixture *f, const char *text, GError **error)
{
  g_autofree char *path = g_build_filename (f->dir, "vm.ini", NULL);

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return ql_profile_load (path, error);
}

/* The error message with the temp dir replaced by "D", so tests read like what users see. */
static char *
load_error (Fixture *f, const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) profile = load (f, text, &error);
  g_autoptr(GString) message = NULL;

  g_assert_null (profile);
  g_assert_error (error, QL_ERROR, QL_ERROR_PROFILE);
  message = g_string_new (error->message);
  g_string_replace (message, f->dir, "D", 0);
  return g_string_free (g_steal_pointer (&message), FALSE);
}

static void
assert_cpus (const GArray *cpus, const char *expected)
{
  g_autofree char *text = NULL;

  g_assert_nonnull (cpus);
  text = ql_value_format_cpu_list (cpus);
  g_assert_cmpstr (text, ==, expected);
}

static void
test_pinning (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) p = load (f, "[cpu]\ncores = 3\nthreads = 2\npin = 9, 3-4,8 , 2,2\n"
                                    "emulator-pin = 0-1\niothreads = 2\niothread-pin = auto\n"
                                    "[memory]\nsize = 4G\nhugepages = 2M\nallocate = yes\n", &error);
  g_autoptr(QlProfile) defaults = load (f, "[cpu]\ncores = 2\n", &error);

  g_assert_no_error (error);
  /* the written order, repeats kept: vCPU i runs on the i-th */
  g_assert_cmpint (p->cpu.pin.mode, ==, QL_PIN_LIST);
  assert_cpus (p->cpu.pin.cpus, "9,3,4,8,2,2");
  g_assert_true (g_str_has_suffix (p->cpu.pin.where, "/vm.ini:4: [cpu] pin"));
  g_assert_cmpint (p->cpu.emulator_pin.mode, ==, QL_PIN_LIST);
  assert_cpus (p->cpu.emulator_pin.cpus, "0,1");
  g_assert_cmpuint (p->cpu.iothreads, ==, 2);
  g_assert_cmpint (p->cpu.iothread_pin.mode, ==, QL_PIN_AUTO);
  g_assert_true (p->memory.allocate);
  g_assert_true (g_str_has_suffix (p->memory.where, "/vm.ini:10: [memory] hugepages"));

  g_assert_cmpint (defaults->cpu.pin.mode, ==, QL_PIN_NONE);
  g_assert_cmpint (defaults->cpu.emulator_pin.mode, ==, QL_PIN_NONE);
  g_assert_cmpuint (defaults->cpu.iothreads, ==, 0);
  g_assert_false (defaults->memory.allocate);
}

static void
test_cpu_list_values (void)
{
  g_autoptr(GArray) cpus = NULL;
  g_autofree char *message = NULL;
  g_autofree char *set = NULL;

  g_assert_true (ql_value_parse_cpu_list ("8,0-3,3", &cpus, &message));
  assert_cpus (cpus, "8,0,1,2,3,3");
  set = ql_value_format_cpu_set (cpus);
  g_assert_cmpstr (set, ==, "0-3,8");
  for (const char *const *bad = (const char *[]) { "", "1,,2", "-1", "1-", "1-2-3", "x", "8192", " 2 - ", NULL }; *bad;
       bad++)
    {
      g_autoptr(GArray) none = NULL;
      g_autofree char *why = NULL;
      g_assert_false (ql_value_parse_cpu_list (*bad, &none, &why));
      g_assert_nonnull (strstr (why, "is not a list of host CPUs"));
    }
}

static void
test_defaults (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) p = load (f, "# nothing but a comment\n", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (p->vm.name, ==, "vm");           /* from the file name */
  g_assert_cmpint (p->vm.accel, ==, QL_ACCEL_AUTO);
  g_assert_cmpint (p->vm.firmware, ==, QL_FIRMWARE_UEFI);
  g_assert_true (p->vm.hyperv);
  g_assert_false (p->vm.hide_hypervisor);
  g_assert_cmpuint (p->cpu.sockets * p->cpu.cores * p->cpu.threads, ==, 2);
  g_assert_cmpuint (p->memory.size, ==, G_GUINT64_CONSTANT (2) << 30);
  g_assert_cmpuint (p->shutdown.timeout, ==, 120);
  g_assert_cmpuint (p->shutdown.powerdown_retries, ==, 3);
  g_assert_cmpuint (p->disks->len, ==, 0);
}

static void
test_full (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) p = load (f,
    "[vm]\nname = win11\naccel = KVM\nfirmware = uefi\nhide-hypervisor = yes\nhyperv = off\n"
    "uuid = 6F1E9C2A-0B5D-4A57-9D3E-2C4B8A7F1E00\nkernel = vmlinuz\ninitrd = ./initrd\nappend = console=ttyS0 quiet\n"
    "[cpu]\nmodel = host\nsockets = 1\ncores = 4\nthreads = 2\n"
    "[memory]\nsize = 8G\nhugepages = 2M\nprealloc-threads = 4\n"
    "[disk system]\nfile = disk.img\nbus = sata\ncache = none\naio = native\ndiscard = true\nboot = true\n"
    "[net lan]\nmodel = e1000e\nforward = tcp:127.0.0.1:2222-:22;udp::5353-:53\n"
    "[display]\ntype = spice\ngl = on\n"
    "[acpi]\ntable = ssdt.aml\n"
    "[fw_cfg]\nopt/com.example/blob = blob.bin\n"
    "[shutdown]\ntimeout = 90\npowerdown-retries = 2\n"
    "[qemu]\nargs = -device 'pci-testdev,id=t 1' -no-hpet\n", &error);
  g_autofree char *disk = g_build_filename (f->dir, "disk.img", NULL);
  g_autofree char *initrd = g_build_filename (f->dir, "initrd", NULL);
  QlDisk *d;
  QlNet *n;

  g_assert_no_error (error);
  g_assert_cmpstr (p->vm.name, ==, "win11");
  g_assert_cmpint (p->vm.accel, ==, QL_ACCEL_KVM);
  g_assert_true (p->vm.hide_hypervisor);
  g_assert_false (p->vm.hyperv);
  g_assert_cmpstr (p->vm.uuid, ==, "6f1e9c2a-0b5d-4a57-9d3e-2c4b8a7f1e00");
  g_assert_cmpstr (p->vm.initrd, ==, initrd);
  g_assert_cmpstr (p->vm.append, ==, "console=ttyS0 quiet");
  g_assert_cmpuint (p->cpu.threads, ==, 2);
  g_assert_cmpuint (p->memory.size, ==, G_GUINT64_CONSTANT (8) << 30);
  g_assert_cmpint (p->memory.hugepages, ==, QL_HUGEPAGES_2M);
  d = p->disks->pdata[0];
  g_assert_cmpstr (d->id, ==, "system");
  g_assert_cmpstr (d->file, ==, disk);
  g_assert_cmpint (d->format, ==, QL_DISK_FORMAT_RAW);   /* probed: no qcow2 magic */
  g_assert_cmpint (d->bus, ==, QL_DISK_BUS_SATA);
  g_assert_true (d->boot && d->discard);
  n = p->nets->pdata[0];
  g_assert_cmpint (n->model, ==, QL_NET_MODEL_E1000E);
  g_assert_cmpstr (n->forward[1], ==, "udp::5353-:53");
  g_assert_true (g_str_has_prefix (n->mac, "02:"));
  g_assert_cmpint (p->display.type, ==, QL_DISPLAY_SPICE);
  g_assert_cmpuint (p->fw_cfg->len, ==, 1);
  g_assert_cmpstr (p->qemu.args[1], ==, "pci-testdev,id=t 1");
  g_assert_cmpstr (p->qemu.args[2], ==, "-no-hpet");
}

static void
test_pci_release_power (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) p = load (f, "[pci gpu]\nhost = 01:00.0\nrelease = vfio\npower = auto\n"
                                    "[pci usb]\nhost = 02:00.0\n", &error);
  const QlPci *gpu, *usb;

  g_assert_no_error (error);
  gpu = p->pcis->pdata[0];
  usb = p->pcis->pdata[1];
  g_assert_cmpint (gpu->release, ==, QL_PCI_RELEASE_VFIO);
  g_assert_cmpint (gpu->power, ==, QL_PCI_POWER_AUTO);
  g_assert_cmpint (usb->release, ==, QL_PCI_RELEASE_HOST);
  g_assert_cmpint (usb->power, ==, QL_PCI_POWER_UNCHANGED);
}

typedef struct {
  const char *name;
  const char *text;
  const char *expected;
} ErrorCase;

/* Each message is what the user reads: file, line, section, key, what is wrong. */
static const ErrorCase error_cases[] = {
  { "syntax", "[vm]\nname = x\nthis line is wrong\n",
    "D/vm.ini:3: 'this line is wrong' is neither 'key = value' nor a [section] header" },
  { "bad-header", "[vm\nname = x\n",
    "D/vm.ini:1: '[vm' is not a valid section header; write [section] or [section NAME]" },
  { "key-before-section", "name = x\n[vm]\n",
    "D/vm.ini:1: 'name = x' stands before any [section]" },
  { "duplicate-key", "[vm]\nname = a\n\nname = b\n",
    "D/vm.ini:4: [vm] name: set twice (first at line 2); keep one" },
  { "duplicate-section", "[cpu]\ncores = 2\n[vm]\n[cpu]\nthreads = 2\n",
    "D/vm.ini:4: [cpu] appears twice (first at line 1); merge the two sections" },
  /* a duplicate does not hide the value errors of the same file */
  { "duplicate-and-values", "[cpu]\ncores = 2\n[memory]\nsize = 12Q\n[cpu]\nthreads = many\n",
    "D/vm.ini:4: [memory] size: '12Q' has an unknown unit 'Q'; use K, M, G or T\n"
    "D/vm.ini:5: [cpu] appears twice (first at line 1); merge the two sections\n"
    "D/vm.ini:6: [cpu] threads: 'many' is not a whole number" },
  { "unknown-section", "[vm]\n[memroy]\nsize = 1G\n",
    "D/vm.ini:2: [memroy]: unknown section; did you mean 'memory'?" },
  { "unknown-section-far", "[vm]\n[frobnicate]\n",
    "D/vm.ini:2: [frobnicate]: unknown section" },
  /* the desktop sections: each bad value names its key and what works */
  { "audio-bad-backend", "[audio]\nbackend = pulse\n",
    "D/vm.ini:2: [audio] backend: 'pulse' is not one of pa, pipewire, alsa or none" },
  { "audio-bad-device", "[audio]\ndevice = hda\n",
    "D/vm.ini:2: [audio] device: 'hda' is not one of ich9-intel-hda or usb-audio" },
  { "audio-nothing", "[audio]\noutput = false\n",
    "D/vm.ini:2: [audio] output: false with input=false leaves no sound device; remove [audio] (no sound card), "
    "or set output=true" },
  { "audio-usb-input", "[audio]\ndevice = usb-audio\ninput = true\n",
    "D/vm.ini:3: [audio] input: usb-audio only plays sound; for a microphone set device=ich9-intel-hda" },
  { "usb-bad-host", "[usb]\nhost = 046d:c52b 46d:c52 1-2.x\n",
    "D/vm.ini:2: [usb] host: '46d:c52' is not VENDOR:PRODUCT (like 046d:c52b) or BUS-PORT (like 1-4 or 3-1.2); "
    "'lsusb' shows the ids, 'lsusb -t' the bus and ports\n"
    "D/vm.ini:2: [usb] host: '1-2.x' is not VENDOR:PRODUCT (like 046d:c52b) or BUS-PORT (like 1-4 or 3-1.2); "
    "'lsusb' shows the ids, 'lsusb -t' the bus and ports" },
  { "usb-twice", "[usb]\nhost = 046D:C52B 046d:c52b\n",
    "D/vm.ini:2: [usb] host: '046d:c52b' is listed twice" },
  { "usb-bad-tablet", "[usb]\ntablet = maybe\n",
    "D/vm.ini:2: [usb] tablet: 'maybe' is not a boolean; use true or false" },
  { "usb-unknown-key", "[usb]\ndevice = 1-2\n",
    "D/vm.ini:2: [usb] device: unknown key" },
  { "input-bad-evdev", "[input]\nevdev = /dev/sda\n",
    "D/vm.ini:2: [input] evdev: '/dev/sda' is not an input device node; name one under /dev/input/by-id/ "
    "(like /dev/input/by-id/usb-Logitech_USB_Keyboard-event-kbd)" },
  { "input-toggle-alone", "[input]\ngrab-toggle = ctrl-ctrl\n",
    "D/vm.ini:2: [input] grab-toggle: switches the evdev= devices between host and guest, and none is listed; "
    "add evdev=/dev/input/by-id/...-event-kbd" },
  { "input-bad-toggle", "[input]\nevdev = /dev/input/event3\ngrab-toggle = alt\n",
    "D/vm.ini:3: [input] grab-toggle: 'alt' is not one of default, ctrl-ctrl, alt-alt, shift-shift, "
    "meta-meta, scrolllock or ctrl-scrolllock" },
  { "looking-glass-not-power-of-two", "[looking-glass]\nsize = 48M\n",
    "D/vm.ini:2: [looking-glass] size: 48M is not a power of two in MiB, which Looking Glass needs; use size=32M "
    "for 1920x1080, or size=auto" },
  { "looking-glass-too-small", "[looking-glass]\nsize = 32M\nresolution = 3840x2160\n",
    "D/vm.ini:2: [looking-glass] size: 32M is too small for 3840x2160 (two frames of width × height × 4 bytes "
    "and 10 MiB, rounded up to a power of two); use size=128M, or size=auto" },
  { "looking-glass-bad-resolution", "[looking-glass]\nresolution = 1080p\n",
    "D/vm.ini:2: [looking-glass] resolution: '1080p' is not a resolution WIDTHxHEIGHT (like 1920x1080; 320x200 "
    "to 16384x16384)" },
  { "looking-glass-bad-size", "[looking-glass]\nsize = big\n",
    "D/vm.ini:2: [looking-glass] size: 'big' is not a size; write a number with a unit, e.g. 512M or 8G, or auto "
    "(32 MiB for 1920x1080)" },
  { "display-rendernode-without-gl", "[display]\ntype = spice\nrendernode = /dev/dri/renderD128\n",
    "D/vm.ini:3: [display] rendernode: is the GPU that renders for gl=true; set gl=true as well" },
  { "display-rendernode-gtk", "[display]\ntype = gtk\ngl = true\nrendernode = /dev/dri/renderD128\n",
    "D/vm.ini:4: [display] rendernode: works with type=spice or type=vnc (egl-headless); gtk renders on the GPU "
    "of its window; remove rendernode=" },
  { "display-gl-tcp", "[display]\ntype = spice\ngl = true\nlisten = 127.0.0.1:5930\n",
    "D/vm.ini:4: [display] listen: SPICE with gl=true works on its unix socket only; remove listen= (the viewer "
    "connects with 'qlaunch view')" },
  { "display-bad-rendernode", "[display]\ntype = spice\ngl = true\nrendernode = /dev/sda\n",
    "D/vm.ini:4: [display] rendernode: '/dev/sda' is not a DRM render node; name one like /dev/dri/renderD128" },
  { "pci-needs-host", "[pci gpu]\nx-vga = true\n",
    "D/vm.ini:1: [pci gpu]: needs host= (an address like 01:00.0, or VENDOR:DEVICE; see 'qlaunch devices')" },
  /* found by fuzz-profile: an empty host= reached g_strsplit as NULL */
  { "pci-empty-host", "[pci gpu]\nhost =\n",
    "D/vm.ini:2: [pci gpu] host: '' is not a PCI address (like 01:00.0 or 0000:01:00.0) or VENDOR:DEVICE[#N] (like 10de:1bb6)" },
  { "pci-bad-host", "[pci gpu]\nhost = 1:0.0\n",
    "D/vm.ini:2: [pci gpu] host: '1:0.0' is not a PCI address (like 01:00.0 or 0000:01:00.0) or VENDOR:DEVICE[#N] (like 10de:1bb6)" },
  { "pci-bad-index", "[pci gpu]\nhost = 10de:1bb6#0\n",
    "D/vm.ini:2: [pci gpu] host: '10de:1bb6#0' is not a PCI address (like 01:00.0 or 0000:01:00.0) or VENDOR:DEVICE[#N] (like 10de:1bb6)" },
  { "pci-bad-functions", "[pci gpu]\nhost = 01:00.0\nfunctions = 0,8\n",
    "D/vm.ini:3: [pci gpu] functions: '0,8' is not 'all' or a list of function numbers 0-7 (like 0,1)" },
  { "pci-bad-id", "[pci gpu]\nhost = 01:00.0\nsub-vendor = 0x10289\n",
    "D/vm.ini:3: [pci gpu] sub-vendor: '0x10289' is not a 16-bit hex id (like 10de or 0x10de)" },
  { "pci-bad-root-port", "[pci gpu]\nhost = 01:00.0\nroot-port = 03.0\n",
    "D/vm.ini:3: [pci gpu] root-port: '03.0' is not a free slot on q35's root bus; use 1c.0-1e.7" },
  { "pci-same-host", "[pci a]\nhost = 01:00.0\n[pci b]\nhost = 01:00.0\n",
    "D/vm.ini:4: [pci b] host: '01:00.0' is already passed through by [pci a]" },
  { "pci-bad-release", "[pci gpu]\nhost = 01:00.0\nrelease = guest\n",
    "D/vm.ini:3: [pci gpu] release: 'guest' is not one of host or vfio" },
  { "pci-bad-power", "[pci gpu]\nhost = 01:00.0\npower = d3cold\n",
    "D/vm.ini:3: [pci gpu] power: 'd3cold' is not one of unchanged, on or auto" },
  { "pci-two-vgas", "[pci a]\nhost = 01:00.0\nx-vga = true\n[pci b]\nhost = 02:00.0\nx-vga = on\n",
    "D/vm.ini:6: [pci b] x-vga: only one device can be the guest's primary VGA" },
  { "pci-x-vga-and-vga", "[display]\ntype = vnc\nvga = std\n[pci a]\nhost = 01:00.0\nx-vga = true\n",
    "D/vm.ini:3: [display] vga: a [pci] device with x-vga=true is the guest's VGA; set vga=none" },
  { "pci-rom-acpi-needs-rom", "[pci gpu]\nhost = 01:00.0\nrom-acpi = true\n",
    "D/vm.ini:3: [pci gpu] rom-acpi: needs rom= (the vBIOS file the guest's driver reads through ACPI _ROM)" },
  { "pci-rom-acpi-fw-cfg-taken", "[pci gpu]\nhost = 01:00.0\nrom = /dev/null\nrom-acpi = true\n[fw_cfg]\nopt/org.qlaunch/gpu-rom = /dev/null\n",
    "D/vm.ini:6: [fw_cfg] opt/org.qlaunch/gpu-rom: is the name qlaunch gives the ROM of [pci gpu] (rom-acpi=true)" },
  { "pci-bad-hotplug", "[pci gpu]\nhost = 01:00.0\nhotplug = maybe\n",
    "D/vm.ini:3: [pci gpu] hotplug: 'maybe' is not a boolean; use true or false" },
  { "vm-bad-pci-hotplug", "[vm]\npci-hotplug = shpc\n",
    "D/vm.ini:2: [vm] pci-hotplug: 'shpc' is not one of acpi or native" },
  { "acpi-bad-battery", "[acpi]\nfake-battery = 2\n",
    "D/vm.ini:2: [acpi] fake-battery: '2' is not a boolean; use true or false" },
  { "unknown-key", "[cpu]\ncors = 4\n",
    "D/vm.ini:2: [cpu] cors: unknown key; did you mean 'cores'?" },
  { "isolate-needs-pin", "[cpu]\ncores = 2\nisolate = true\n",
    "D/vm.ini:3: [cpu] isolate: keeps the host off the vCPUs' CPUs, and the vCPUs are not pinned; "
    "set pin=auto or pin=LIST as well" },
  { "inhibit-sleep-bad", "[vm]\ninhibit-sleep = always\n",
    "D/vm.ini:2: [vm] inhibit-sleep: 'always' is not one of auto, block, delay or no" },
  { "autostart-bad-bool", "[vm]\nautostart = sometimes\n",
    "D/vm.ini:2: [vm] autostart: 'sometimes' is not a boolean; use true or false" },
  { "systemd-unknown-key", "[systemd]\nbefore = a.service\n",
    "D/vm.ini:2: [systemd] before: unknown key" },
  { "systemd-no-type", "[systemd]\nafter = network-online\n",
    "D/vm.ini:2: [systemd] after: 'network-online' is not a unit name: it needs a prefix and a type, like "
    "network-online.target or nfs.mount" },
  { "systemd-bad-chars", "[systemd]\nwants = a.service b;c.service\n",
    "D/vm.ini:2: [systemd] wants: 'b;c.service' is not a unit name (at most 255 letters, digits and ':-_.\\@')" },
  { "systemd-template", "[systemd]\nrequires = getty@.service\n",
    "D/vm.ini:2: [systemd] requires: 'getty@.service' is not a unit name a dependency can name: a template "
    "needs one instance, like getty@tty1.service" },
  { "systemd-no-prefix", "[systemd]\nafter = .target\n",
    "D/vm.ini:2: [systemd] after: '.target' is not a unit name: it needs a prefix and a type, like "
    "network-online.target or nfs.mount" },
  { "host-unit-no-type", "[host]\nrelease-units = display-manager\n",
    "D/vm.ini:2: [host] release-units: 'display-manager' is not a unit name: it needs a prefix and a type, like "
    "network-online.target or nfs.mount" },
  { "host-unit-bad-chars", "[host]\nrelease-units = gdm.service $(reboot).service\n",
    "D/vm.ini:2: [host] release-units: '$(reboot).service' is not a unit name (at most 255 letters, digits and "
    "':-_.\\@')" },
  { "host-consoles-bad-bool", "[vm]\n[host]\nunbind-consoles = maybe\n",
    "D/vm.ini:3: [host] unbind-consoles: 'maybe' is not a boolean; use true or false" },
  { "host-module-path", "[host]\nunload-modules = nvidia ../../etc/x\n",
    "D/vm.ini:2: [host] unload-modules: '../../etc/x' is not a kernel module name (1-55 letters, digits, '_' "
    "and '-', like nvidia_drm)" },
  { "host-module-too-long", "[host]\nunload-modules = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
    "D/vm.ini:2: [host] unload-modules: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' is not a kernel "
    "module name (1-55 letters, digits, '_' and '-', like nvidia_drm)" },
  { "host-unknown-key", "[host]\nunload-module = nvidia\n",
    "D/vm.ini:2: [host] unload-module: unknown key; did you mean 'unload-modules'?" },
  { "run-as-not-a-user", "[vm]\nrun-as = ../root\n",
    "D/vm.ini:2: [vm] run-as: '../root' is not a user name (1-32 lower-case letters, digits, '_' and '-', "
    "starting with a letter or '_', like qemu)" },
  { "run-as-empty", "[vm]\nrun-as =\n",
    "D/vm.ini:2: [vm] run-as: '' is not a user name (1-32 lower-case letters, digits, '_' and '-', "
    "starting with a letter or '_', like qemu)" },
  { "pin-bad-list", "[cpu]\npin = 2-a\n",
    "D/vm.ini:2: [cpu] pin: '2-a' is not a list of host CPUs; write numbers and ranges as in "
    "/sys/devices/system/cpu/online, e.g. 2-5 or 2,3,6,7, or auto, or none" },
  { "pin-reversed-range", "[cpu]\npin = 5-2\n",
    "D/vm.ini:2: [cpu] pin: '5-2' is not a list of host CPUs; write numbers and ranges as in "
    "/sys/devices/system/cpu/online, e.g. 2-5 or 2,3,6,7, or auto, or none" },
  { "pin-count", "[cpu]\ncores = 4\nthreads = 2\npin = 2-5\n",
    "D/vm.ini:4: [cpu] pin: lists 4 host CPUs for 8 vCPUs (sockets × cores × threads); give one host CPU per "
    "vCPU, in vCPU order, or write pin=auto" },
  { "iothread-pin-alone", "[cpu]\niothread-pin = 3\n",
    "D/vm.ini:2: [cpu] iothread-pin: there are no iothreads to pin; set iothreads=N as well" },
  { "emulator-pin-auto-alone", "[cpu]\nemulator-pin = auto\n",
    "D/vm.ini:2: [cpu] emulator-pin: auto means the host CPUs the vCPUs leave free, and pin= is not set; "
    "list the CPUs, or set pin= as well" },
  { "iothreads-range", "[cpu]\niothreads = 17\n",
    "D/vm.ini:2: [cpu] iothreads: 17 is out of range (0..16)" },
  { "allocate-alone", "[memory]\nallocate = true\n",
    "D/vm.ini:2: [memory] allocate: grows the hugepage pool; it needs hugepages=2M or hugepages=1G" },
  { "bad-enum", "[vm]\naccel = kmv\n",
    "D/vm.ini:2: [vm] accel: 'kmv' is not one of auto, kvm or tcg; did you mean 'kvm'?" },
  { "bad-bool", "[vm]\nhyperv = maybe\n",
    "D/vm.ini:2: [vm] hyperv: 'maybe' is not a boolean; use true or false" },
  { "bad-int", "[cpu]\ncores = four\n",
    "D/vm.ini:2: [cpu] cores: 'four' is not a whole number" },
  { "out-of-range", "[cpu]\nsockets = 0\n",
    "D/vm.ini:2: [cpu] sockets: 0 is out of range (1..16)" },
  { "size-no-unit", "[memory]\nsize = 4096\n",
    "D/vm.ini:2: [memory] size: '4096' has no unit; write e.g. 4096M or 4096G" },
  { "size-bad-unit", "[memory]\nsize = 4X\n",
    "D/vm.ini:2: [memory] size: '4X' has an unknown unit 'X'; use K, M, G or T" },
  { "size-too-small", "[memory]\nsize = 1M\n",
    "D/vm.ini:2: [memory] size: 1M is out of range (16 MiB..16 TiB)" },
  { "missing-file", "[disk system]\nfile = nope.img\n",
    "D/vm.ini:2: [disk system] file: file 'D/nope.img' does not exist" },
  { "directory", "[vm]\nkernel = .\n",
    "D/vm.ini:2: [vm] kernel: 'D' is a directory, not a file" },
  { "unnamed-disk", "[disk]\nfile = disk.img\n",
    "D/vm.ini:1: [disk]: needs a name, like [disk NAME]" },
  { "named-vm", "[vm main]\n",
    "D/vm.ini:1: [vm main]: takes no name; write [vm]" },
  { "bad-section-name", "[disk sys.tem]\nfile = disk.img\n",
    "D/vm.ini:1: [disk sys.tem]: name 'sys.tem' must start with a letter and hold at most 20 letters, digits, '-' or '_'" },
  { "disk-without-file", "[disk data]\nbus = sata\n",
    "D/vm.ini:1: [disk data]: needs file=" },
  { "aio-native-needs-direct", "[disk system]\nfile = disk.img\naio = native\n",
    "D/vm.ini:3: [disk system] aio: native needs cache=none or cache=directsync (O_DIRECT)" },
  { "hugepage-multiple", "[memory]\nsize = 1536M\nhugepages = 1G\n",
    "D/vm.ini:2: [memory] size: 1.5 GiB is not a multiple of the 1G hugepage size" },
  { "initrd-without-kernel", "[vm]\ninitrd = initrd\n",
    "D/vm.ini:2: [vm] initrd: needs kernel= as well" },
  { "secure-boot-bios", "[vm]\nfirmware = bios\nsecure-boot = true\n",
    "D/vm.ini:3: [vm] secure-boot: needs firmware=uefi" },
  { "bad-uuid", "[vm]\nuuid = 1234\n",
    "D/vm.ini:2: [vm] uuid: '1234' is not a UUID (like 6f1e9c2a-0b5d-4a57-9d3e-2c4b8a7f1e00)" },
  { "multicast-mac", "[net lan]\nmac = 01:00:5e:00:00:01\n",
    "D/vm.ini:2: [net lan] mac: '01:00:5e:00:00:01' is not a unicast MAC address (like 02:00:00:12:34:56)" },
  { "forward-needs-user", "[net lan]\nmode = none\nforward = tcp::2222-:22\n",
    "D/vm.ini:3: [net lan] forward: only works with mode=user" },
  { "gl-needs-display", "[display]\ntype = none\ngl = true\n",
    "D/vm.ini:3: [display] gl: needs type=spice, type=vnc (egl-headless) or type=gtk" },
  { "fw-cfg-prefix", "[fw_cfg]\netc/blob = blob.bin\n",
    "D/vm.ini:2: [fw_cfg] etc/blob: fw_cfg names must start with 'opt/' (like opt/com.example/blob)" },
  { "bad-args", "[qemu]\nargs = -device 'unterminated\n",
    "D/vm.ini:2: [qemu] args: cannot be split into arguments: Text ended before matching quote was found for '. (The text was “-device 'unterminated”)" },
  /* QEMU's own confinement and user are qlaunch's: args may not replace them */
  { "args-sandbox-off", "[qemu]\nargs = -sandbox off\n",
    "D/vm.ini:2: [qemu] args: '-sandbox' is not allowed: qlaunch runs QEMU with -sandbox on,obsolete=deny,"
    "elevateprivileges=deny,spawn=deny,resourcecontrol=deny and decides its user; remove it" },
  { "args-run-with", "[qemu]\nargs = -no-hpet --run-with user=root\n",
    "D/vm.ini:2: [qemu] args: '--run-with' is not allowed: qlaunch runs QEMU with -sandbox on,obsolete=deny,"
    "elevateprivileges=deny,spawn=deny,resourcecontrol=deny and decides its user; remove it" },
  { "args-runas", "[qemu]\nargs = -runas nobody\n",
    "D/vm.ini:2: [qemu] args: '-runas' is not allowed: qlaunch runs QEMU with -sandbox on,obsolete=deny,"
    "elevateprivileges=deny,spawn=deny,resourcecontrol=deny and decides its user; remove it" },
  { "args-chroot", "[qemu]\nargs = -chroot /tmp\n",
    "D/vm.ini:2: [qemu] args: '-chroot' is not allowed: qlaunch runs QEMU with -sandbox on,obsolete=deny,"
    "elevateprivileges=deny,spawn=deny,resourcecontrol=deny and decides its user; remove it" },
  { "bad-name", "[vm]\nname = .hidden\n",
    "D/vm.ini:2: [vm] name: the VM name '.hidden' must not start with '.'" },
  { "too-many-cpus", "[cpu]\nsockets = 16\ncores = 32\n",
    "D/vm.ini:1: [cpu]: sockets × cores × threads = 512 vCPUs; q35 allows at most 288" },
  { "duplicate-name", "[disk a]\nfile = disk.img\n[disk a]\nfile = disk.img\n",
    "D/vm.ini:3: [disk a] appears twice (first at line 1); merge the two sections\n"
    "D/vm.ini:4: [disk a] file: set twice (first at line 2); keep one" },
  { "tap-keys-need-tap", "[net lan]\nmode = user\nbridge = br0\nqueues = 2\n",
    "D/vm.ini:3: [net lan] bridge: only works with mode=tap\n"
    "D/vm.ini:4: [net lan] queues: only works with mode=tap" },
  { "tap-multiqueue-model", "[net lan]\nmode = tap\nmodel = e1000e\nqueues = 4\nvhost = true\n",
    "D/vm.ini:4: [net lan] queues: multiqueue needs model=virtio; e1000e has one queue\n"
    "D/vm.ini:5: [net lan] vhost: vhost-net only serves model=virtio, not e1000e" },
  { "tap-create-bridge-alone", "[net lan]\nmode = tap\ncreate-bridge = true\n",
    "D/vm.ini:3: [net lan] create-bridge: needs bridge= (the name of the bridge to create)" },
  { "tap-bad-ifname", "[net lan]\nmode = tap\nifname = much-too-long-name\nbridge = br 0\n",
    "D/vm.ini:3: [net lan] ifname: 'much-too-long-name' is not an interface name (1-15 characters, no '/', ':', '%' or spaces)\n"
    "D/vm.ini:4: [net lan] bridge: 'br 0' is not an interface name (1-15 characters, no '/', ':', '%' or spaces)" },
  /* the kernel would read "br%d" as a template and make "br0" */
  { "ifname-template", "[net lan]\nmode = tap\nbridge = br%d\n",
    "D/vm.ini:3: [net lan] bridge: 'br%d' is not an interface name (1-15 characters, no '/', ':', '%' or spaces)" },
  { "tap-same-ifname", "[net a]\nmode = tap\nifname = tap0\n[net b]\nmode = tap\nifname = tap0\n",
    "D/vm.ini:6: [net b] ifname: 'tap0' is already the tap of [net a]" },
  { "tap-queues-range", "[net lan]\nmode = tap\nqueues = 0\nmtu = 9\n",
    "D/vm.ini:3: [net lan] queues: 0 is out of range (1..16)\n"
    "D/vm.ini:4: [net lan] mtu: 9 is out of range (68..65535)" },
  /* every problem at once, in line order */
  { "all-at-once", "[vm]\naccel = fast\n[cpu]\ncores = 0\n[memory]\nsize = lots\n[disk d]\nfile = none.img\n",
    "D/vm.ini:2: [vm] accel: 'fast' is not one of auto, kvm or tcg\n"
    "D/vm.ini:4: [cpu] cores: 0 is out of range (1..256)\n"
    "D/vm.ini:6: [memory] size: 'lots' is not a size; write a number with a unit, e.g. 512M or 8G\n"
    "D/vm.ini:8: [disk d] file: file 'D/none.img' does not exist" },
};

static void
test_error (Fixture *f, gconstpointer data)
{
  const ErrorCase *c = data;
  g_autofree char *message = load_error (f, c->text);

  g_assert_cmpstr (message, ==, c->expected);
}

/* Bytes that are not text stop the load with their line, never silently. */
static void
test_not_text (Fixture *f, gconstpointer data)
{
  static const struct { const char *bytes; gsize len; const char *expect; } cases[] = {
    { "[memory]\nsize = 256\0M\n", 21, "vm.ini:2: a NUL byte; a profile is text" },
    { "[vm]\nname = caf\xe9\n", 16, "vm.ini:2: not UTF-8 text (byte 0xe9); save the file as UTF-8" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename (f->dir, "vm.ini", NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(QlProfile) p = NULL;

      g_assert_true (g_file_set_contents (path, cases[i].bytes, (gssize) cases[i].len, NULL));
      p = ql_profile_load (path, &error);
      g_assert_null (p);
      g_assert_error (error, QL_ERROR, QL_ERROR_PROFILE);
      g_assert_true (g_str_has_suffix (error->message, cases[i].expect));
    }
}

static void
test_missing_profile (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) p = ql_profile_load ("/nonexistent/qlaunch-test.ini", &error);

  g_assert_null (p);
  g_assert_error (error, QL_ERROR, QL_ERROR_NOT_FOUND);
}

static void
test_sizes (void)
{
  static const struct { const char *text; guint64 bytes; } ok[] = {
    { "512M", 512ull << 20 }, { "8G", 8ull << 30 }, { "1.5G", 3ull << 29 }, { "2MiB", 2ull << 20 },
    { "4096k", 4ull << 20 }, { "1T", 1ull << 40 }, { "64MB", 64ull << 20 },
  };
  static const char *const bad[] = { "", "G", "12", "1Q", "1GiBs", "-1G", "99999999999999999999G" };

  for (guint i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autofree char *message = NULL;
      guint64 bytes = 0;
      g_assert_true (ql_value_parse_size (ok[i].text, &bytes, &message));
      g_assert_cmpuint (bytes, ==, ok[i].bytes);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *message = NULL;
      guint64 bytes = 0;
      g_assert_false (ql_value_parse_size (bad[i], &bytes, &message));
      g_assert_nonnull (message);
    }
}

static void
test_default_mac (void)
{
  g_autofree char *a = ql_profile_default_mac ("win11", "lan");
  g_autofree char *b = ql_profile_default_mac ("win11", "lan");
  g_autofree char *c = ql_profile_default_mac ("win11", "wan");

  /* stable across runs, distinct per NIC, locally administered unicast */
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpstr (a, !=, c);
  g_assert_true (g_str_has_prefix (a, "02:"));
  g_assert_cmpuint (strlen (a), ==, 17);
}

static void
test_tap (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) p = load (f, "[vm]\nname = win11\n"
                                    "[net lan]\nmode = tap\nbridge = br0\nqueues = 4\nvhost = true\nmtu = 9000\n"
                                    "[net slirp]\nmode = user\n"
                                    "[net wan]\nmode = tap\nifname = wan0\nmodel = e1000e\n", &error);
  QlNet *lan, *slirp, *wan;

  g_assert_no_error (error);
  lan = p->nets->pdata[0];
  slirp = p->nets->pdata[1];
  wan = p->nets->pdata[2];
  g_assert_cmpint (lan->mode, ==, QL_NET_MODE_TAP);
  g_assert_cmpstr (lan->ifname, ==, "ql-win11-0");
  g_assert_cmpstr (lan->bridge, ==, "br0");
  g_assert_false (lan->create_bridge);
  g_assert_cmpuint (lan->queues, ==, 4);
  g_assert_true (lan->vhost);
  g_assert_cmpuint (lan->mtu, ==, 9000);
  g_assert_true (g_str_has_suffix (lan->where, "vm.ini:3: [net lan]"));
  /* taps are numbered among taps only; other modes have none */
  g_assert_null (slirp->ifname);
  g_assert_cmpuint (slirp->queues, ==, 1);
  g_assert_cmpstr (wan->ifname, ==, "wan0");
  g_assert_null (wan->bridge);
}

static void
test_default_ifname (void)
{
  static const char *const names[] = { "w", "win11", "gaming-rig-2", "a-very-long-vm-name", "a-very-long-vm-nameX",
                                       "x,id=y", "Spiele PC", "ünï" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    for (guint n = 0; n < 12; n += 11)
      {
        g_autofree char *ifname = ql_profile_default_ifname (names[i], n);
        g_autofree char *suffix = g_strdup_printf ("-%u", n);

        g_assert_true (ql_profile_ifname_is_valid (ifname));
        g_assert_true (g_str_has_prefix (ifname, "ql-"));
        g_assert_true (g_str_has_suffix (ifname, suffix));
        for (guint j = 0; j < i; j++)
          {
            g_autofree char *other = ql_profile_default_ifname (names[j], n);
            g_assert_cmpstr (ifname, !=, other);
          }
      }
  {
    g_autofree char *plain = ql_profile_default_ifname ("win11", 1);
    g_autofree char *longer = ql_profile_default_ifname ("gaming-rig-2", 1);

    g_assert_cmpstr (plain, ==, "ql-win11-1");
    /* cut to fit IFNAMSIZ, with 4 hex digits of the full name's hash */
    g_assert_true (g_str_has_prefix (longer, "ql-gaming"));
    g_assert_cmpuint (strlen (longer), ==, 15);
    g_assert_true (g_ascii_isxdigit (longer[9]) && g_ascii_isxdigit (longer[12]));
  }
}

/* [vm] autostart and [systemd]: off and empty by default, lists kept in order */
static void
test_systemd (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) plain = load (f, "[vm]\nname = a\n", &error);
  g_autoptr(QlProfile) profile = NULL;

  g_assert_no_error (error);
  g_assert_false (plain->vm.autostart);
  g_assert_null (plain->systemd.after);
  g_assert_null (plain->systemd.wants);
  g_assert_null (plain->systemd.requires);
  profile = load (f, "[vm]\nautostart = true\n[systemd]\nafter = network-online.target  nfs.mount\n"
                  "wants = network-online.target\nrequires = getty@tty1.service sys-devices-x.device\n", &error);
  g_assert_no_error (error);
  g_assert_true (profile->vm.autostart);
  g_assert_cmpstrv (profile->systemd.after, ((const char *[]) { "network-online.target", "nfs.mount", NULL }));
  g_assert_cmpstrv (profile->systemd.wants, ((const char *[]) { "network-online.target", NULL }));
  g_assert_cmpstrv (profile->systemd.requires, ((const char *[]) { "getty@tty1.service", "sys-devices-x.device", NULL }));
}

/* [host]: the handover keys, module names in /sys/module's spelling. */
static void
test_host_handover (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) plain = load (f, "[vm]\nname = a\n", &error);
  g_autoptr(QlProfile) profile = NULL;

  g_assert_no_error (error);
  g_assert_null (plain->host.release_units);
  g_assert_false (plain->host.unbind_consoles);
  g_assert_null (plain->host.unload_modules);
  g_assert_false (ql_profile_has_handover (plain));
  profile = load (f, "[vm]\nname = a\n[host]\nrelease-units = display-manager.service  nvidia-persistenced.service\n"
                  "unbind-consoles = true\nunload-modules = nvidia-drm nvidia_modeset nvidia\n", &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (profile->host.release_units,
                    ((const char *[]) { "display-manager.service", "nvidia-persistenced.service", NULL }));
  g_assert_true (profile->host.unbind_consoles);
  g_assert_cmpstrv (profile->host.unload_modules, ((const char *[]) { "nvidia_drm", "nvidia_modeset", "nvidia", NULL }));
  g_assert_true (ql_profile_has_handover (profile));
}

/* For a unit, the files a profile names need not exist yet; everything else is checked. */
static void
test_for_unit (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "vm.ini", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlProfile) profile = NULL;

  g_assert_true (g_file_set_contents (path, "[vm]\nautostart = on\n[disk system]\nfile = /not/mounted/yet.img\n", -1, NULL));
  profile = ql_profile_load_for_unit (path, &error);
  g_assert_no_error (error);
  g_assert_true (profile->vm.autostart);
  g_clear_pointer (&profile, ql_profile_free);
  profile = ql_profile_load (path, &error);
  g_assert_error (error, QL_ERROR, QL_ERROR_PROFILE);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, "[vm]\nautostart = on\n[systemd]\nafter = x\n", -1, NULL));
  profile = ql_profile_load_for_unit (path, &error);
  g_assert_error (error, QL_ERROR, QL_ERROR_PROFILE);
  g_assert_nonnull (strstr (error->message, "vm.ini:4: [systemd] after: 'x' is not a unit name"));
}

static void
test_unit_names (void)
{
  const char *valid[] = { "a.service", "network-online.target", "getty@tty1.service", "dev-disk-by\\x2dlabel.device",
                          "x:y_z.mount", "a.b.c.slice", NULL };
  const char *invalid[] = { "", "a", "a.", "a.unknown", "@x.service", "a@.service", "a@b@c.service", "a b.service",
                            "ä.service", "a/b.service", NULL };
  g_autofree char *a250 = g_strnfill (250, 'a');
  g_autofree char *long_name = g_strdup_printf ("%s.service", a250);

  for (guint i = 0; valid[i]; i++)
    {
      g_autofree char *message = NULL;
      g_assert_true (ql_value_unit_name_is_valid (valid[i], &message));
    }
  for (guint i = 0; invalid[i]; i++)
    {
      g_autofree char *message = NULL;
      g_assert_false (ql_value_unit_name_is_valid (invalid[i], &message));
      g_assert_nonnull (message);
    }
  {
    g_autofree char *message = NULL;
    g_assert_false (ql_value_unit_name_is_valid (long_name, &message));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/profile/defaults", Fixture, NULL, setup, test_defaults, teardown);
  g_test_add ("/profile/full", Fixture, NULL, setup, test_full, teardown);
  g_test_add ("/profile/pci-release-power", Fixture, NULL, setup, test_pci_release_power, teardown);
  for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/profile/error/%s", error_cases[i].name);
      g_test_add (path, Fixture, &error_cases[i], setup, test_error, teardown);
    }
  g_test_add_func ("/profile/missing", test_missing_profile);
  g_test_add ("/profile/systemd", Fixture, NULL, setup, test_systemd, teardown);
  g_test_add ("/profile/for-unit", Fixture, NULL, setup, test_for_unit, teardown);
  g_test_add ("/profile/host-handover", Fixture, NULL, setup, test_host_handover, teardown);
  g_test_add_func ("/value/unit-names", test_unit_names);
  g_test_add ("/profile/not-text", Fixture, NULL, setup, test_not_text, teardown);
  g_test_add_func ("/value/sizes", test_sizes);
  g_test_add_func ("/profile/default-mac", test_default_mac);
  g_test_add ("/profile/tap", Fixture, NULL, setup, test_tap, teardown);
  g_test_add ("/profile/pinning", Fixture, NULL, setup, test_pinning, teardown);
  g_test_add_func ("/profile/cpu-list-values", test_cpu_list_values);
  g_test_add_func ("/profile/default-ifname", test_default_ifname);
  return g_test_run ();
}
