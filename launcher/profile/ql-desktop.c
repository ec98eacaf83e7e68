#include "ql-desktop.h"

#include <string.h>

const char *const ql_audio_backend_names[] = { "pa", "pipewire", "alsa", "none", NULL };
const char *const ql_audio_device_names[] = { "ich9-intel-hda", "usb-audio", NULL };
const char *const ql_grab_toggle_names[] = {
  "default", "ctrl-ctrl", "alt-alt", "shift-shift", "meta-meta", "scrolllock", "ctrl-scrolllock", NULL,
};

static gboolean
parse_hex4 (const char *text, gsize len, guint16 *ret)
{
  guint v = 0;

  if (len != 4)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isxdigit (text[i]))
        return FALSE;
      v = v << 4 | g_ascii_xdigit_value (text[i]);
    }
  *ret = (guint16) v;
  return TRUE;
}

/* "4", "1.2.3": what sysfs calls the port path, at most 7 levels of hubs (USB's limit) */
static gboolean
port_path_is_valid (const char *port)
{
  guint levels = 0;

  if (port[0] == '\0' || strlen (port) >= sizeof ((QlUsbHost *) NULL)->port)
    return FALSE;
  for (const char *p = port; *p; p++)
    {
      if (*p == '.')
        {
          if (p == port || p[1] == '\0' || p[1] == '.')
            return FALSE;
          levels++;
        }
      else if (!g_ascii_isdigit (*p))
        return FALSE;
    }
  return levels < 7;
}

gboolean
ql_usb_host_parse (const char *text, QlUsbHost *ret, char **ret_message)
{
  const char *colon = strchr (text, ':');
  const char *dash = strchr (text, '-');
  QlUsbHost host = { 0 };

  if (colon != NULL && parse_hex4 (text, colon - text, &host.vendor) &&
      parse_hex4 (colon + 1, strlen (colon + 1), &host.product))
    {
      host.by_id = TRUE;
      *ret = host;
      return TRUE;
    }
  if (colon == NULL && dash != NULL && dash > text)
    {
      g_autofree char *bus = g_strndup (text, dash - text);
      guint64 n;

      if (g_ascii_string_to_unsigned (bus, 10, 1, 255, &n, NULL) && port_path_is_valid (dash + 1))
        {
          host.bus = (guint) n;
          g_strlcpy (host.port, dash + 1, sizeof host.port);
          *ret = host;
          return TRUE;
        }
    }
  *ret_message = g_strdup_printf ("'%s' is not VENDOR:PRODUCT (like 046d:c52b) or BUS-PORT (like 1-4 or 3-1.2); "
                                  "'lsusb' shows the ids, 'lsusb -t' the bus and ports", text);
  return FALSE;
}

gboolean
ql_evdev_path_is_valid (const char *path, char **ret_message)
{
  if (!g_str_has_prefix (path, "/dev/input/") || strlen (path) <= strlen ("/dev/input/"))
    {
      *ret_message = g_strdup_printf ("'%s' is not an input device node; name one under /dev/input/by-id/ "
                                      "(like /dev/input/by-id/usb-Logitech_USB_Keyboard-event-kbd)", path);
      return FALSE;
    }
  for (const char *p = path; *p; p++)
    if (g_ascii_iscntrl (*p) || strncmp (p, "/..", 3) == 0)
      {
        *ret_message = g_strdup_printf ("'%s' holds a control character or '..'", path);
        return FALSE;
      }
  return TRUE;
}

gboolean
ql_evdev_is_keyboard (const char *path)
{
  return g_str_has_suffix (path, "-event-kbd");
}

guint64
ql_looking_glass_size_for (guint width, guint height)
{
  guint64 bytes = (guint64) width * height * 4 * 2 + (G_GUINT64_CONSTANT (10) << 20);
  guint64 mib = (bytes + (1 << 20) - 1) >> 20;
  guint64 size = 1;

  while (size < mib)
    size <<= 1;
  return size << 20;
}

gboolean
ql_resolution_parse (const char *text, guint *ret_width, guint *ret_height, char **ret_message)
{
  g_auto(GStrv) parts = g_strsplit (text, "x", -1);
  guint64 w, h;

  if (g_strv_length (parts) != 2 || !g_ascii_string_to_unsigned (parts[0], 10, 320, 16384, &w, NULL) ||
      !g_ascii_string_to_unsigned (parts[1], 10, 200, 16384, &h, NULL))
    {
      *ret_message = g_strdup_printf ("'%s' is not a resolution WIDTHxHEIGHT (like 1920x1080; 320x200 to 16384x16384)",
                                      text);
      return FALSE;
    }
  *ret_width = (guint) w;
  *ret_height = (guint) h;
  return TRUE;
}

char *
ql_looking_glass_shm_path (const char *devfs, const char *vm_name)
{
  g_autofree char *file = g_strconcat ("looking-glass-", vm_name, NULL);
  return g_build_filename (devfs, "shm", file, NULL);
}
