#pragma once

#include <glib.h>

/* The desktop sections of a profile: [audio], [usb], [input] and
 * [looking-glass], their enums and value grammars.  Pure. */

typedef enum {
  QL_AUDIO_BACKEND_PA, QL_AUDIO_BACKEND_PIPEWIRE, QL_AUDIO_BACKEND_ALSA, QL_AUDIO_BACKEND_NONE,
} QlAudioBackend;
typedef enum { QL_AUDIO_DEVICE_HDA, QL_AUDIO_DEVICE_USB } QlAudioDevice;
/* QEMU's input-linux grab-toggle values, spelled as QEMU spells them */
typedef enum {
  QL_GRAB_TOGGLE_DEFAULT, QL_GRAB_TOGGLE_CTRL_CTRL, QL_GRAB_TOGGLE_ALT_ALT, QL_GRAB_TOGGLE_SHIFT_SHIFT,
  QL_GRAB_TOGGLE_META_META, QL_GRAB_TOGGLE_SCROLLLOCK, QL_GRAB_TOGGLE_CTRL_SCROLLLOCK,
} QlGrabToggle;

extern const char *const ql_audio_backend_names[];
extern const char *const ql_audio_device_names[];
extern const char *const ql_grab_toggle_names[];

typedef struct {
  gboolean enabled;      /* the profile has an [audio] section */
  QlAudioBackend backend;
  QlAudioDevice device;
  gboolean output;
  gboolean input;
} QlAudio;

typedef struct {
  GStrv host;            /* VENDOR:PRODUCT or BUS-PORT, each valid (ql_usb_host_parse) */
  int tablet;            /* -1: unset (a tablet with a display), 0, 1 */
} QlUsb;

typedef struct {
  GStrv evdev;           /* absolute paths under /dev/input/ */
  QlGrabToggle grab_toggle;
  gboolean virtio;       /* virtio keyboard, mouse and tablet */
} QlInput;

typedef struct {
  gboolean enabled;      /* the profile has a [looking-glass] section */
  char *size_text;       /* as written; NULL: auto */
  char *resolution_text; /* as written; NULL: 1920x1080 */
  guint64 size;          /* bytes, resolved at load (auto: from the resolution) */
  guint width, height;   /* the guest resolution it is sized for */
} QlLookingGlass;

/* A [usb] host= item: VENDOR:PRODUCT (4 hex digits each) or BUS-PORT (the
 * bus number and the port path as sysfs names it, like 1-4 or 3-1.2). */
typedef struct {
  gboolean by_id;
  guint16 vendor, product;
  guint bus;
  char port[32];         /* "4", "1.2" */
} QlUsbHost;

gboolean ql_usb_host_parse (const char *text, QlUsbHost *ret, char **ret_message);

/* An evdev node: an absolute path under /dev/input/ without control characters. */
gboolean ql_evdev_path_is_valid (const char *path, char **ret_message);
/* Whether the node is a keyboard by its by-id/by-path name ("...-event-kbd"):
 * keyboards get grab_all and repeat. */
gboolean ql_evdev_is_keyboard (const char *path);

/* Looking Glass's formula: width × height × 4 bytes × 2 frames, plus 10 MiB,
 * rounded up to a power of two MiB. */
/* The largest file qlaunch makes, what 16384x16384 needs: a journal takes no larger one back. */
#define QL_LOOKING_GLASS_SIZE_MAX (G_GUINT64_CONSTANT (4) << 30)

guint64 ql_looking_glass_size_for (guint width, guint height);

/* "1920x1080" */
gboolean ql_resolution_parse (const char *text, guint *ret_width, guint *ret_height, char **ret_message);

/* /dev/shm/looking-glass-NAME under devfs */
char *ql_looking_glass_shm_path (const char *devfs, const char *vm_name);
