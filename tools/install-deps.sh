#!/bin/bash
# Installs what qlaunch needs to build, run its demo and run its tests on
# Debian 12.  Idempotent.  Run it as root, or as a user with sudo: it asks
# sudo for root itself (a fresh Debian where you are root may have no sudo).
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run this as root (sudo is not installed)" >&2; exit 1; }
  exec sudo bash "$0" "$@"
fi
packages=(
  meson ninja-build pkg-config gcc
  libglib2.0-dev libjson-glib-dev libpci-dev pci.ids libnl-3-dev libnl-route-3-dev libreadline-dev libseccomp-dev libcap-ng-dev
  qemu-system-x86 ovmf seabios
  busybox-static cpio kmod python3 iproute2 acpica-tools make
  # the kernel's mdev sample drivers (samples/vfio-mdev: mbochs), built by
  # tests/lab/mklab.sh for the lab's [mdev] checks against the guest kernel's headers
  linux-source-6.1 xz-utils
  dbus-daemon python3-dbusmock systemd-container
  libxml2-dev libvirt-clients
  # test-import: virsh domxml-to-native against a session libvirtd started by
  # the test (not libvirt-daemon-system: no system daemon, no users, no units)
  libvirt-daemon libvirt-daemon-driver-qemu
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# the guest kernel is fetched by tests/guest/mkguest.sh with apt-get download, which needs package lists
if [ ${#missing[@]} -gt 0 ] || [ -z "$(ls /var/lib/apt/lists/*_Packages 2>/dev/null | head -n1)" ]; then
  apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
