#include "ql-machine.h"
#include "ql-error.h"
#include "ql-runtime-files.h"

#include <string.h>
#include <sys/un.h>

/* QEMU 8.1 brought the pipewire audiodev */
#define QEMU_PIPEWIRE_VERSION 801

static gboolean
wants_tablet (const QlProfile *p)
{
  return p->usb.tablet == 1 || (p->usb.tablet < 0 && p->display.type != QL_DISPLAY_NONE);
}

gboolean
ql_machine_has_usb (const QlMachine *m)
{
  const QlProfile *p = m->profile;

  return p->display.type != QL_DISPLAY_NONE || wants_tablet (p) || (p->usb.host != NULL && p->usb.host[0] != NULL) ||
         (p->audio.enabled && p->audio.device == QL_AUDIO_DEVICE_USB);
}

/* A unix socket in the runtime directory unless listen= asks for TCP: no
 * port open to anyone on the host or the network. */
static gboolean
resolve_spice_socket (QlMachine *m, const QlProfile *p, GError **error)
{
  if (p->display.type != QL_DISPLAY_SPICE || p->display.listen != NULL)
    return TRUE;
  m->spice_socket = g_build_filename (m->runtime_dir, QL_RUNTIME_SPICE_SOCKET, NULL);
  return ql_machine_check_socket_path ("SPICE", m->spice_socket, ", or [display] listen=127.0.0.1:5930", error);
}

static gboolean
check_audio_backend (const QlProfile *p, const QlHostFacts *host, GError **error)
{
  if (!p->audio.enabled || p->audio.backend != QL_AUDIO_BACKEND_PIPEWIRE || host->qemu_version == 0 ||
      host->qemu_version >= QEMU_PIPEWIRE_VERSION)
    return TRUE;
  g_set_error (error, QL_ERROR, QL_ERROR_HOST,
               "[audio] backend=pipewire needs QEMU 8.1 or later, and %s is QEMU %u.%u; PipeWire also serves "
               "PulseAudio clients (pipewire-pulse): set backend=pa (Hint: apt install qemu-system-gui, which "
               "holds QEMU's PulseAudio driver)", host->qemu_binary, host->qemu_version / 100,
               host->qemu_version % 100);
  return FALSE;
}

static gboolean
resolve_looking_glass (QlMachine *m, const QlProfile *p, const QlHostFacts *host, guint *next_slot, GError **error)
{
  const char *devfs = host->devfs ? host->devfs : "/dev";

  if (!p->looking_glass.enabled)
    return TRUE;
  if (!ql_machine_take_slot (next_slot, &m->looking_glass_slot, error))
    return FALSE;
  if (host->kvmfr)
    m->looking_glass_path = g_build_filename (devfs, "kvmfr0", NULL);
  else
    {
      m->looking_glass_path = ql_looking_glass_shm_path (devfs, p->vm.name);
      m->looking_glass_shm = TRUE;
    }
  return TRUE;
}

gboolean
ql_machine_resolve_desktop (QlMachine *m, const QlProfile *p, const QlHostFacts *host, guint *next_slot,
                            GError **error)
{
  if (!resolve_spice_socket (m, p, error) || !check_audio_backend (p, host, error))
    return FALSE;
  m->usb_tablet = wants_tablet (p);
  if (p->usb.host != NULL && p->usb.host[0] != NULL)
    /* QEMU's usb-host waits for the device, and one it cannot open stays out without a word */
    g_ptr_array_add (m->notes, g_strdup ("[usb] host: QEMU opens each device's /dev/bus/usb/BUS/DEVICE node when "
                                         "it is plugged; when QEMU does not run as root, that node must be its "
                                         "user's (a udev rule: SUBSYSTEM==\"usb\", ATTR{idVendor}==\"VVVV\", "
                                         "ATTR{idProduct}==\"PPPP\", OWNER=\"USER\"), or the device stays out "
                                         "of the guest"));
  if (p->audio.enabled && p->audio.device == QL_AUDIO_DEVICE_HDA &&
      !ql_machine_take_slot (next_slot, &m->audio_slot, error))
    return FALSE;
  for (guint i = 0; p->input.virtio && i < G_N_ELEMENTS (m->input_slots); i++)
    if (!ql_machine_take_slot (next_slot, &m->input_slots[i], error))
      return FALSE;
  return resolve_looking_glass (m, p, host, next_slot, error);
}
