#include "ql-qemu-argv-desktop.h"
#include "ql-qemu-opts.h"

#define AUDIODEV_ID "audio0"
#define LOOKING_GLASS_ID "looking-glass"

static void
add_opts (GPtrArray *args, const char *option, QlQemuOpts *opts)
{
  g_ptr_array_add (args, g_strdup (option));
  g_ptr_array_add (args, ql_qemu_opts_finish (opts));
}

static void
add_pci_device (GPtrArray *args, QlQemuOpts *opts, guint slot)
{
  ql_qemu_opts_add (opts, "bus", "pcie.0");
  ql_qemu_opts_addf (opts, "addr", "%02x.0", slot);
  add_opts (args, "-device", opts);
}

static void
add_audio (GPtrArray *args, const QlMachine *m)
{
  const QlAudio *audio = &m->profile->audio;
  QlQemuOpts *opts;

  if (!audio->enabled)
    return;
  opts = ql_qemu_opts_new (ql_audio_backend_names[audio->backend]);
  ql_qemu_opts_add (opts, "id", AUDIODEV_ID);
  add_opts (args, "-audiodev", opts);

  if (audio->device == QL_AUDIO_DEVICE_USB)
    {
      opts = ql_qemu_opts_new ("usb-audio");
      ql_qemu_opts_add (opts, "id", "sound0");
      ql_qemu_opts_add (opts, "bus", "usb.0");
      ql_qemu_opts_add (opts, "audiodev", AUDIODEV_ID);
      add_opts (args, "-device", opts);
      return;
    }
  opts = ql_qemu_opts_new ("ich9-intel-hda");
  ql_qemu_opts_add (opts, "id", "sound0");
  add_pci_device (args, opts, m->audio_slot);
  /* hda-duplex: line-out and line-in, what Windows shows as speakers and a microphone */
  opts = ql_qemu_opts_new (audio->input ? "hda-duplex" : "hda-output");
  ql_qemu_opts_add (opts, "id", "sound0-codec0");
  ql_qemu_opts_add (opts, "bus", "sound0.0");
  ql_qemu_opts_add (opts, "audiodev", AUDIODEV_ID);
  add_opts (args, "-device", opts);
}

char *
ql_qemu_usb_host_device (const char *item, const char *id, char **ret_message)
{
  QlQemuOpts *opts;
  QlUsbHost host;

  if (!ql_usb_host_parse (item, &host, ret_message))
    return NULL;
  opts = ql_qemu_opts_new ("usb-host");
  ql_qemu_opts_add (opts, "id", id);
  ql_qemu_opts_add (opts, "bus", "usb.0");
  if (host.by_id)
    {
      ql_qemu_opts_addf (opts, "vendorid", "0x%04x", host.vendor);
      ql_qemu_opts_addf (opts, "productid", "0x%04x", host.product);
    }
  else
    {
      ql_qemu_opts_addf (opts, "hostbus", "%u", host.bus);
      ql_qemu_opts_add (opts, "hostport", host.port);
    }
  return ql_qemu_opts_finish (opts);
}

static void
add_usb (GPtrArray *args, const QlMachine *m)
{
  const QlUsb *usb = &m->profile->usb;

  for (guint i = 0; usb->host != NULL && usb->host[i] != NULL; i++)
    {
      g_autofree char *id = g_strdup_printf ("usb-host%u", i);
      g_autofree char *message = NULL;
      char *device = ql_qemu_usb_host_device (usb->host[i], id, &message);

      g_assert (device != NULL);   /* checked at load */
      g_ptr_array_add (args, g_strdup ("-device"));
      g_ptr_array_add (args, device);
    }
}

static void
add_input (GPtrArray *args, const QlMachine *m)
{
  static const char *const virtio_devices[] = { "virtio-keyboard-pci", "virtio-mouse-pci", "virtio-tablet-pci" };
  static const char *const virtio_ids[] = { "input-keyboard", "input-mouse", "input-tablet" };
  const QlInput *input = &m->profile->input;

  for (guint i = 0; input->evdev != NULL && input->evdev[i] != NULL; i++)
    {
      QlQemuOpts *opts = ql_qemu_opts_new ("input-linux");

      ql_qemu_opts_addf (opts, "id", "evdev%u", i);
      ql_qemu_opts_add (opts, "evdev", input->evdev[i]);
      if (ql_evdev_is_keyboard (input->evdev[i]))
        {
          /* the keyboard's grab takes the other devices with it; repeat:
           * the guest sees the host's key repeat, not its own */
          ql_qemu_opts_add_bool (opts, "grab_all", TRUE);
          ql_qemu_opts_add_bool (opts, "repeat", TRUE);
        }
      if (input->grab_toggle != QL_GRAB_TOGGLE_DEFAULT)
        ql_qemu_opts_add (opts, "grab-toggle", ql_grab_toggle_names[input->grab_toggle]);
      add_opts (args, "-object", opts);
    }
  for (guint i = 0; i < G_N_ELEMENTS (m->input_slots); i++)
    if (m->input_slots[i] != 0)
      {
        QlQemuOpts *opts = ql_qemu_opts_new (virtio_devices[i]);
        ql_qemu_opts_add (opts, "id", virtio_ids[i]);
        add_pci_device (args, opts, m->input_slots[i]);
      }
}

/* Looking Glass: the guest's frames in memory the host's client maps too */
static void
add_looking_glass (GPtrArray *args, const QlMachine *m)
{
  QlQemuOpts *opts;

  if (m->looking_glass_slot == 0)
    return;
  opts = ql_qemu_opts_new ("memory-backend-file");
  ql_qemu_opts_add (opts, "id", LOOKING_GLASS_ID);
  ql_qemu_opts_add (opts, "mem-path", m->looking_glass_path);
  ql_qemu_opts_addf (opts, "size", "%" G_GUINT64_FORMAT "M", m->profile->looking_glass.size >> 20);
  ql_qemu_opts_add_bool (opts, "share", TRUE);
  add_opts (args, "-object", opts);

  opts = ql_qemu_opts_new ("ivshmem-plain");
  ql_qemu_opts_add (opts, "id", "looking-glass0");
  ql_qemu_opts_add (opts, "memdev", LOOKING_GLASS_ID);
  add_pci_device (args, opts, m->looking_glass_slot);
}

void
ql_qemu_argv_add_desktop (GPtrArray *args, const QlMachine *m)
{
  add_audio (args, m);
  add_usb (args, m);
  add_input (args, m);
  add_looking_glass (args, m);
}

JsonNode *
ql_qemu_usb_host_arguments (const char *item, char **ret_id, char **ret_message)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *id = NULL;
  QlUsbHost host;

  if (!ql_usb_host_parse (item, &host, ret_message))
    return NULL;
  id = host.by_id ? g_strdup_printf ("usb-%04x-%04x", host.vendor, host.product)
                  : g_strdelimit (g_strdup_printf ("usb-bus%u-%s", host.bus, host.port), ".", '_');
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "driver");
  json_builder_add_string_value (b, "usb-host");
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, id);
  json_builder_set_member_name (b, "bus");
  json_builder_add_string_value (b, "usb.0");
  if (host.by_id)
    {
      json_builder_set_member_name (b, "vendorid");
      json_builder_add_int_value (b, host.vendor);
      json_builder_set_member_name (b, "productid");
      json_builder_add_int_value (b, host.product);
    }
  else
    {
      json_builder_set_member_name (b, "hostbus");
      json_builder_add_int_value (b, host.bus);
      json_builder_set_member_name (b, "hostport");
      json_builder_add_string_value (b, host.port);
    }
  json_builder_end_object (b);
  *ret_id = g_steal_pointer (&id);
  return json_builder_get_root (b);
}
