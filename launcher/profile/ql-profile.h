#pragma once

#include <glib.h>
#include "ql-desktop.h"
#include "ql-enums.h"
#include "ql-pci-address.h"

/* A machine profile as the user wrote it, validated and with defaults
 * filled in.  Paths are absolute (relative ones are taken from the
 * profile's directory).  Nothing here depends on the host beyond the
 * existence of the files the profile names. */

typedef struct {
  char *id;              /* the section's NAME */
  char *file;
  QlDiskFormat format;   /* never AUTO after loading: probed from the file */
  QlDiskBus bus;
  QlDiskCache cache;
  QlDiskAio aio;
  gboolean discard;
  gboolean readonly;
  gboolean boot;
} QlDisk;

typedef struct {
  char *id;
  char *file;
  gboolean boot;
} QlCdrom;

typedef struct {
  char *id;
  QlNetMode mode;
  QlNetModel model;
  char *mac;             /* default derived from the VM and section names */
  GStrv forward;         /* user mode: "tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT" */
  /* mode=tap */
  char *ifname;          /* the tap on the host; default ql-<vm>-<n> */
  char *bridge;          /* NULL: the tap is left on its own */
  gboolean create_bridge;
  gboolean vhost;
  guint queues;          /* 1: single queue */
  guint mtu;             /* 0: the bridge's, or the kernel's default */
  char *where;           /* "FILE:LINE: [net NAME]" for errors found on the host */
} QlNet;

typedef struct {
  char *name;            /* opt/... */
  char *file;
} QlFwCfg;

/* [pci NAME]: a host PCI device passed through with VFIO. */
typedef struct {
  char *id;
  char *host;            /* as written: an address, or VENDOR:DEVICE[#N] */
  gboolean by_address;
  QlPciAddress address;  /* by_address */
  guint16 match_vendor, match_device;
  guint match_index;     /* #N, from 1 */
  guint8 functions;      /* bit per host function; 0: every function of the slot */
  int root_port;         /* slot << 3 | function on pcie.0; -1: automatic (1c.0, 1c.1, ...) */
  int vendor, device, sub_vendor, sub_device;   /* -1: what the host device says */
  char *rom;
  int rom_bar;           /* -1: QEMU's default, 0 off, 1 on */
  gboolean rom_acpi;     /* the ROM also through fw_cfg and an SSDT _ROM method (laptop dGPUs) */
  gboolean hotplug;      /* the root port's hotplug= (TRUE: QEMU's default) */
  char *rom_where;       /* "FILE:LINE: [pci NAME] rom" for errors found at start */
  gboolean x_vga;
  QlPciRelease release;  /* host: back to the driver it had; vfio: left on vfio-pci */
  QlPciPower power;      /* power/control written once the device is released */
  char *where;           /* "FILE:LINE: [pci NAME] host" for errors found on the host */
} QlPci;

/* [mdev NAME]: a mediated device (a GVT-g vGPU, ...) created on a parent
 * PCI device through sysfs for the run and passed through with VFIO. */
typedef struct {
  char *id;
  char *parent;          /* the parent: a PCI address (0000:00:02.0), or a device name under
                            /sys/class/mdev_bus (mbochs, the kernel's sample drivers) */
  gboolean parent_is_pci;
  QlPciAddress parent_address;   /* parent_is_pci */
  char *type;            /* a name of the parent's mdev_supported_types, like i915-GVTg_V5_4 */
  char *uuid;            /* default: ql_profile_default_mdev_uuid () */
  gboolean display;      /* QEMU's display=on: the vGPU's screen is a QEMU console */
  gboolean ramfb;        /* the firmware's output on a ramfb until the guest's driver runs */
  gboolean igd_opregion; /* x-igd-opregion: the host IGD's OpRegion (GVT-g's guest driver wants it) */
  guint xres, yres;      /* the display's resolution offered through EDID; 0: the device's */
  char *rom;             /* romfile */
  char *where;           /* "FILE:LINE: [mdev NAME]" for errors found on the host */
} QlMdev;

/* pin=, emulator-pin=, iothread-pin= */
typedef enum {
  QL_PIN_NONE,           /* left to the kernel's scheduler */
  QL_PIN_LIST,           /* cpus as written */
  QL_PIN_AUTO,           /* chosen from the host topology at start */
} QlPinMode;

typedef struct {
  QlPinMode mode;
  GArray *cpus;          /* guint host CPUs; QL_PIN_LIST only */
  char *where;           /* "FILE:LINE: [cpu] KEY" for errors found on the host */
} QlCpuPin;

typedef struct {
  char *path;            /* the profile file */

  struct {
    char *name;
    QlAccel accel;
    QlFirmware firmware;
    gboolean secure_boot;
    gboolean hide_hypervisor;
    gboolean hyperv;
    char *uuid;
    char *machine;       /* [vm] machine: the versioned machine type (pc-q35-X.Y); NULL: pinned at first start */
    char *kernel;
    char *initrd;
    char *append;
    QlPciHotplug pci_hotplug;  /* how the guest hotplugs behind root ports: ACPI (QEMU's default) or PCIe native */
    gboolean autostart;  /* qlaunch-generator makes the VM's unit start with the service manager */
    QlInhibitSleep inhibit_sleep;  /* auto: block while [pci] devices are passed through */
    char *run_as;        /* the user QEMU runs as when root starts the VM; NULL: the default */
    char *run_as_where;  /* "FILE:LINE: [vm] run-as" when set */
  } vm;

  struct {
    char *model;         /* NULL: host under KVM, max under TCG */
    guint sockets, cores, threads;
    QlCpuPin pin;        /* LIST: vCPU i runs on cpus[i] */
    QlCpuPin emulator_pin;   /* a set: QEMU's threads other than vCPUs and iothreads */
    guint iothreads;     /* virtio disks are spread over them */
    QlCpuPin iothread_pin;   /* a set shared by the iothreads */
    gboolean isolate;    /* host units kept off the vCPUs' CPUs while the VM runs (needs pin) */
  } cpu;

  struct {
    guint64 size;
    QlHugepages hugepages;
    gboolean prealloc;
    guint prealloc_threads;  /* 0: the pinned vCPUs' count, or QEMU's default */
    gboolean allocate;   /* grow the hugepage pool for the VM, shrink it back after */
    char *where;         /* "FILE:LINE: [memory] hugepages" for errors found on the host */
  } memory;

  GPtrArray *disks;      /* QlDisk*, in file order */
  GPtrArray *cdroms;     /* QlCdrom* */
  GPtrArray *nets;       /* QlNet* */
  GPtrArray *pcis;       /* QlPci*, in file order */
  GPtrArray *mdevs;      /* QlMdev*, in file order */

  struct {
    QlDisplayType type;
    char *listen;
    char *password_file;  /* the password QEMU reads (never on its command line); NULL: none */
    gboolean gl;
    char *rendernode;    /* gl=true: the DRM render node (/dev/dri/renderD128); NULL: QEMU's choice */
    QlVga vga;           /* AUTO: std with a display, none without */
  } display;

  QlAudio audio;
  QlUsb usb;
  QlInput input;
  QlLookingGlass looking_glass;

  GStrv acpi_tables;
  gboolean fake_battery; /* [acpi] fake-battery: a battery and an AC adapter under the LPC bridge */
  GPtrArray *fw_cfg;     /* QlFwCfg* */

  struct {
    guint timeout;       /* seconds from the first power button press to QMP quit */
    guint powerdown_retries;
  } shutdown;

  /* [systemd]: dependencies of the VM's unit, valid unit names (NULL: none) */
  struct {
    GStrv after;
    GStrv wants;
    GStrv requires;
  } systemd;

  /* [host]: single-GPU handover, undone in reverse after the VM (NULL: none) */
  struct {
    GStrv release_units;     /* valid unit names, stopped in order */
    gboolean unbind_consoles;  /* framebuffer vtconsoles and efi/simple/vesa framebuffers */
    GStrv unload_modules;    /* valid module names as /sys/module spells them */
  } host;

  struct {
    char *binary;        /* NULL: qemu-system-x86_64 from PATH */
    GStrv args;          /* appended verbatim */
  } qemu;
} QlProfile;

/* "opt/org.qlaunch/NAME-rom": the fw_cfg file that carries the ROM of a
 * [pci NAME] with rom-acpi=true. */
char *ql_profile_rom_fw_cfg_name (const char *pci_id);

/* A stable UUID for [mdev id] of VM vm_name: a name-based (version 5)
 * UUID of the two names, the same at every start. */
char *ql_profile_default_mdev_uuid (const char *vm_name, const char *mdev_id);

/* An mdev type name as sysfs spells it (a directory name of
 * mdev_supported_types): 1-64 of letters, digits, '-', '_', '.', not "." or
 * "..".  It goes into a sysfs path. */
gboolean ql_profile_mdev_type_is_valid (const char *type);

/* An mdev parent as /sys/class/mdev_bus names it and a journal holds it: a
 * PCI address in full (0000:00:02.0), or a device name of 1-64 letters,
 * digits, '-', '_' and '.' (no ':', not "." or ".."). */
gboolean ql_profile_mdev_parent_is_valid (const char *parent);

/* The number of [mdev] sections (0 for a profile not made by the loader). */
guint ql_profile_n_mdevs (const QlProfile *profile);

/* Whether any of pin=, emulator-pin=, iothread-pin= is set. */
gboolean ql_profile_pins_threads (const QlProfile *profile);

/* Whether [host] asks for any handover step. */
gboolean ql_profile_has_handover (const QlProfile *profile);

/* sockets × cores × threads */
guint ql_profile_vcpus (const QlProfile *profile);

void ql_profile_free (QlProfile *profile);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlProfile, ql_profile_free)

/* Reads and validates a profile.  On failure the QL_ERROR_PROFILE message
 * holds every problem found, one "FILE:LINE: [section] key: what" per line. */
QlProfile *ql_profile_load (const char *path, GError **error);

/* The same, except that the files the profile names need not exist: what
 * a systemd unit is written from, at boot, before every filesystem is
 * mounted.  'qlaunch start' checks them. */
QlProfile *ql_profile_load_for_unit (const char *path, GError **error);

/* The same, and no file the profile names is opened (a disk's format is
 * left auto): what root's host-setup reads a user's profile with. */
QlProfile *ql_profile_load_for_setup (const char *path, GError **error);

/* The same from text; display_path is used in messages and its directory
 * resolves relative paths. */
QlProfile *ql_profile_load_from_data (const char *text, const char *display_path, GError **error);

/* A VM name is used as a directory name and inside QEMU options. */
gboolean ql_profile_name_is_valid (const char *name, char **ret_message);

/* 02:xx:xx:xx:xx:xx, locally administered, stable for a VM and NIC name. */
char *ql_profile_default_mac (const char *vm_name, const char *net_id);

/* ql-<vm>-<n> for the n-th tap of a VM (from 0), shortened with a hash of
 * the name when it would not fit in IFNAMSIZ or holds other characters
 * than letters, digits, '-' and '_'. */
char *ql_profile_default_ifname (const char *vm_name, guint n);

/* A Linux interface name: 1-15 printable ASCII characters, none of '/', ':', whitespace, and no
 * '%' (the kernel reads "br%d" as a template and makes "br0"). */
gboolean ql_profile_ifname_is_valid (const char *name);
