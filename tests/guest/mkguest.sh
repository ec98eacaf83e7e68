#!/bin/bash
# Builds qlaunch's test and demo guest into OUTDIR: vmlinuz (Debian's kernel,
# fetched as a package and unpacked, never installed) and initrd.img (busybox
# plus the two modules the ACPI power button needs and virtio-net with its
# dependencies, listed in load order in lib/modules/net.list).  Idempotent.
set -euo pipefail
out=${1:?usage: mkguest.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ] && [ "$out/initrd.img" -nt "$here/init" ] \
   && [ "$out/initrd.img" -nt "$0" ] && [ "$out/initrd.img" -nt "$here/romeval/romeval.c" ]; then
  exit 0
fi

busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
  [ -x /bin/busybox ] && busybox=/bin/busybox
fi
[ -x "$busybox" ] || { echo "mkguest: busybox not found (apt install busybox-static)" >&2; exit 1; }
command -v cpio >/dev/null || { echo "mkguest: cpio not found (apt install cpio)" >&2; exit 1; }
depmod=$(command -v depmod || echo /sbin/depmod)
modprobe=$(command -v modprobe || echo /sbin/modprobe)
[ -x "$depmod" ] || { echo "mkguest: depmod not found (apt install kmod)" >&2; exit 1; }

deb=$(ls "$out"/linux-image-*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$pkg" ] || { echo "mkguest: cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }
  (cd "$out" && apt-get download -q "$pkg" >/dev/null 2>&1) || { echo "mkguest: apt-get download $pkg failed" >&2; exit 1; }
  deb=$(ls "$out"/linux-image-*.deb | head -n1)
fi

build_romeval() { # KVER
  local kver=$1 hdr="$out/headers" pkgs p
  command -v make >/dev/null || { echo "mkguest: make not found (apt install make)" >&2; return 1; }
  if [ ! -d "$hdr/usr/src/linux-headers-$kver" ]; then
    pkgs="linux-headers-$kver $(apt-cache depends "linux-headers-$kver" 2>/dev/null |
      awk '/Depends: linux-(headers|kbuild)-/ {print $2}')"
    rm -rf "$hdr.tmp" && mkdir -p "$hdr.tmp/debs"
    (cd "$hdr.tmp/debs" && apt-get download -q $pkgs >/dev/null 2>&1) ||
      { echo "mkguest: apt-get download $pkgs failed" >&2; return 1; }
    for p in "$hdr.tmp"/debs/*.deb; do dpkg-deb -x "$p" "$hdr.tmp"; done
    rm -rf "$hdr.tmp/debs" "$hdr" && mv "$hdr.tmp" "$hdr"
    # the arch package includes the common one by absolute path
    sed -i "s#/usr/src/#$hdr/usr/src/#" "$hdr/usr/src/linux-headers-$kver/Makefile"
  fi
  rm -rf "$out/romeval" && mkdir -p "$out/romeval"
  cp "$here/romeval/romeval.c" "$here/romeval/Kbuild" "$out/romeval/"
  make -s -C "$hdr/usr/src/linux-headers-$kver" M="$out/romeval" modules >"$out/romeval/build.log" 2>&1 ||
    { echo "mkguest: building romeval.ko failed (see $out/romeval/build.log)" >&2; return 1; }
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards './boot/vmlinuz-*' './lib/modules/*'
kver=$(ls "$work/lib/modules" | head -n1)
"$depmod" -b "$work" "$kver"

root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,etc,lib/modules}
cp "$busybox" "$root/bin/busybox"
find "$work/lib" -name button.ko -exec cp {} "$root/lib/modules/" \;
find "$work/lib" -name evdev.ko -exec cp {} "$root/lib/modules/" \;
copy_modules() { # LIST MODULE...: the modules and their dependencies, in load order in lib/modules/LIST
  local list=$1 m; shift
  for m in "$@"; do
    "$modprobe" -d "$work" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
  done | awk '!seen[$0]++' | while read -r ko; do
    cp "$ko" "$root/lib/modules/"
    basename "$ko" >> "$root/lib/modules/$list"
  done
}
copy_modules net.list virtio_pci virtio_net
copy_modules acpi.list qemu_fw_cfg battery ac

# romeval.ko, which evaluates _ROM in the guest, built against the guest
# kernel's headers (fetched and unpacked like the kernel).  Without them the
# tests that need it SKIP.
if build_romeval "$kver"; then
  cp "$out/romeval/romeval.ko" "$root/lib/modules/"
else
  echo "mkguest: romeval.ko not built: the in-guest _ROM tests will SKIP" >&2
  rm -f "$out/romeval/romeval.ko"
fi
cp "$here/init" "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 > "$out/initrd.img.tmp")
mv "$out/initrd.img.tmp" "$out/initrd.img"
cp "$work"/boot/vmlinuz-* "$out/vmlinuz.tmp"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
echo "mkguest: guest in $out ($(basename "$deb"))"
