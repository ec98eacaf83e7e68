#pragma once

#include <glib.h>
#include "ql-host-facts.h"
#include "ql-pin-plan.h"
#include "ql-profile.h"

/* The machine a profile describes on this host: every decision that
 * depends on the host (accelerator, CPU model, firmware files) and every
 * guest address, resolved once, without I/O.  The QEMU argv is a function of
 * this alone. */

/* File descriptors QEMU inherits from the supervisor, at these numbers. */
#define QL_MACHINE_QMP_FD 3
#define QL_MACHINE_SERIAL_FD 4
/* then the fds of each mode=tap NIC: a tap fd per queue, a vhost-net fd per queue */
#define QL_MACHINE_FIRST_NET_FD 5

/* A mode=tap NIC: the supervisor opens the tap queues (and vhost-net) and
 * QEMU inherits them at these numbers. */
typedef struct {
  const QlNet *net;
  int tap_fd;                 /* net->queues fds from here */
  int vhost_fd;               /* net->queues fds from here; -1 without vhost */
} QlMachineTap;

/* One host function of a passed-through device, as the guest sees it. */
typedef struct {
  char host[QL_PCI_ADDRESS_LEN];
  guint guest_function;       /* behind the root port, at 00.N */
  char *id;                   /* QEMU device id */
} QlMachineFunction;

/* A [pci] section: a pcie-root-port on pcie.0 with the device at 00.0 behind it. */
typedef struct {
  const QlPci *pci;
  guint port_devfn;           /* slot << 3 | function of the root port */
  guint16 host_vendor, host_device;   /* of the host function 0 passed through */
  guint chassis;
  char *port_id;
  GPtrArray *functions;       /* QlMachineFunction*, guest function order */
  char *acpi_path;            /* the guest device at 00.0: \_SB.PCI0.S<port>.S00 */
  char *rom_fw_cfg_name;      /* rom-acpi=true: the fw_cfg file with the ROM; else NULL */
  gboolean acpi_define_device;  /* QEMU does not describe acpi_path: the SSDT defines it */
} QlMachineHostdev;

typedef struct {
  const QlProfile *profile;   /* borrowed; outlives the machine */
  QlAccel accel;              /* KVM or TCG, never AUTO */
  char *qemu_binary;
  char *machine_type;         /* -machine's type: pc-q35-X.Y, or q35 when QEMU was not asked */
  gboolean pin_machine_type;  /* the first start: start records machine_type in the state dir */
  char *cpu_model;            /* -cpu, unescaped */
  GPtrArray *cpu_flags;       /* char*: "kvm=off", "hv_relaxed", ... in order */
  GPtrArray *notes;           /* what was decided for the user, one line each */

  gboolean uefi;
  gboolean smm;
  char *firmware_code;
  char *firmware_vars_template;
  char *firmware_vars;        /* the per-VM copy in the state dir */

  char *hugetlbfs;            /* mem-path when hugepages are used */
  guint prealloc_threads;     /* 0: QEMU's default */

  QlPinPlan *pin;             /* NULL: nothing pinned */

  char *runtime_dir;
  char *state_dir;
  char *qmp_socket;           /* the supervisor's relay: status, pin, console, scripts */
  char *serial_log;
  char *ssdt;                 /* qlaunch's generated SSDT (rom-acpi, fake-battery), written at start; or NULL */

  /* PCI slots on pcie.0, fixed so the guest sees a stable topology */
  guint vga_slot;             /* 0: none */
  guint usb_slot;             /* 0: none */
  guint scsi_slot;            /* 0: none */
  GArray *disk_slots;         /* guint per disk; 0 for sata (on the ICH9 AHCI) */
  GArray *net_slots;          /* guint per net; 0 for mode=none */
  GArray *mdev_slots;         /* guint per [mdev], profile order */
  GArray *taps;               /* QlMachineTap, one per mode=tap net, profile order */
  GPtrArray *hostdevs;        /* QlMachineHostdev*, profile order */

  /* the desktop devices (ql-desktop-devices.c) */
  char *spice_socket;         /* type=spice on a unix socket (no listen=): its path; else NULL */
  gboolean usb_tablet;        /* a usb-tablet on the xhci controller */
  guint audio_slot;           /* ich9-intel-hda; 0: none */
  guint input_slots[3];       /* [input] virtio: keyboard, mouse, tablet; 0: none */
  guint looking_glass_slot;   /* ivshmem-plain; 0: none */
  char *looking_glass_path;   /* its memory: DEVFS/kvmfr0, or a file DEVFS/shm/looking-glass-NAME */
  gboolean looking_glass_shm; /* the path is a file qlaunch makes for the run and removes after */
} QlMachine;

/* The next free slot on pcie.0 into ret_slot; QL_ERROR_PROFILE when none is left. */
/* A unix socket's PATH fits in sun_path; else an error naming WHAT (QMP,
 * SPICE) and the fixes, OTHER_FIX (", or …") added to the usual ones. */
gboolean ql_machine_check_socket_path (const char *what, const char *path, const char *other_fix, GError **error);

gboolean ql_machine_take_slot (guint *next, guint *ret_slot, GError **error);

/* ql-desktop-devices.c: the spice socket, the USB controller and tablet,
 * sound, virtio input and Looking Glass's shared memory, in the slots after
 * the disks'. */
gboolean ql_machine_resolve_desktop (QlMachine *machine, const QlProfile *profile, const QlHostFacts *host,
                                     guint *next_slot, GError **error);
/* Whether the machine has a USB controller (qemu-xhci, id "usb"). */
gboolean ql_machine_has_usb (const QlMachine *machine);

void ql_machine_free (QlMachine *machine);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlMachine, ql_machine_free)

/* "io0", "io1", ...: the iothread a virtio disk (by profile index) or the
 * virtio-scsi controller (disk index -1) runs on; NULL without iothreads. */
char *ql_machine_iothread_for_disk (const QlMachine *machine, int disk_index);

gboolean ql_machine_has_x_vga (const QlMachine *machine);
/* NULL when net is not a mode=tap NIC of this machine. */
const QlMachineTap *ql_machine_tap_for (const QlMachine *machine, const QlNet *net);

QlMachine *ql_machine_resolve (const QlProfile *profile, const QlHostFacts *host,
                               const char *runtime_dir, const char *state_dir, GError **error);
