#include "ql-commands.h"
#include "ql-verbs.h"

static const QlVerb verbs[] = {
  { "start", ql_cmd_start, "Start a VM from its profile and supervise it" },
  { "stop", ql_cmd_stop, "Stop a VM: power button, then force after a timeout" },
  { "kill", ql_cmd_kill, "Stop a VM at once" },
  { "status", ql_cmd_status, "Show whether VMs run, with PIDs and uptime" },
  { "argv", ql_cmd_argv, "Print the QEMU command line of a VM (no side effects)" },
  { "list", ql_cmd_list, "List the profiles in the profile directories" },
  { "plan", ql_cmd_plan, "Show what a start would change on the host (no side effects)" },
  { "check", ql_cmd_check, "Check the host (and a VM) for passthrough; each problem with its fix" },
  { "console", ql_verbs_exec_console, "Talk to a running VM: shut it down, pause, its CPUs, PCI tree, raw QMP" },
  { "view", ql_cmd_view, "Open a viewer (remote-viewer) on a running VM's SPICE or VNC display" },
  { "qmp", ql_cmd_qmp, "Send one QMP command to a running VM and print the reply (for scripts)" },
  { "detach", ql_cmd_detach, "Take a passed-through device out of the running guest, back to the host" },
  { "attach", ql_cmd_attach, "Put a detached device back into the running guest" },
  { "events", ql_cmd_events, "Print a running VM's QMP events as they come" },
  { "pin", ql_cmd_pin, "Pin a running VM's vCPU, iothread and emulator threads again, or move them" },
  { "hugepages", ql_cmd_hugepages, "Show the hugepage pools, or reserve and release pages" },
  { "recover", ql_cmd_recover, "Give back what a VM whose supervisor died still holds" },
  { "rom", ql_cmd_rom, "Inspect, extract and check vBIOS images (info, patch, from-reg, dump)" },
  { "acpi", ql_cmd_acpi, "Write the SSDT a VM gets (_ROM for rom-acpi, the fake battery)" },
  { "devices", ql_cmd_devices, "List the host's PCI devices with IOMMU groups and drivers" },
  { "bind", ql_cmd_bind, "Give host PCI devices to vfio-pci by hand" },
  { "unbind", ql_cmd_unbind, "Give host PCI devices back from vfio-pci" },
  { "host-setup", ql_cmd_host_setup, "Make a VM's taps persistent for a user, once, as root" },
  { "unit", ql_cmd_unit, "Print or install a VM's systemd unit" },
  { "import", ql_verbs_exec_xml_import, "Write a profile from a libvirt domain XML or a Proxmox VM configuration" },
  { "export", ql_verbs_exec_xml_export, "Write a VM as a libvirt domain XML" },
};

int
main (int argc, char **argv)
{
  return ql_verbs_dispatch (verbs, G_N_ELEMENTS (verbs), argc, argv);
}
