#!/bin/bash
# Builds the passthrough lab's L2 initramfs into OUTDIR from the Debian kernel
# package that tests/guest/mkguest.sh fetched into GUESTDIR: busybox, the
# modules the lab needs (9p for the host's root, e1000e and snd-hda-intel for
# the stand-in GPU and its audio function, vfio-pci for qlaunch to load) with
# their dependencies, and tests/lab/init.  Idempotent; about 5 s.
# With the kernel's sources (linux-source-6.1) and the headers mkguest.sh
# fetched, it also builds the mdpy sample mdev driver (samples/vfio-mdev) for
# the lab's [mdev] checks, with mdev.ko; when that cannot be built,
# OUTDIR/mdev-skip.txt says why and those checks SKIP (about 45 s more, once).
set -euo pipefail
out=${1:?usage: mklab.sh OUTDIR GUESTDIR}
guest=${2:?usage: mklab.sh OUTDIR GUESTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

deb=$(ls "$guest"/linux-image-*.deb 2>/dev/null | head -n1 || true)
[ -n "$deb" ] || { echo "mklab: no kernel package in $guest (run tests/guest/mkguest.sh first)" >&2; exit 1; }
if [ -s "$out/initrd.img" ] && [ "$out/initrd.img" -nt "$here/init" ] && [ "$out/initrd.img" -nt "$0" ] \
   && [ "$out/initrd.img" -nt "$deb" ]; then
  exit 0
fi
depmod=$(command -v depmod || echo /sbin/depmod)
modprobe=$(command -v modprobe || echo /sbin/modprobe)
[ -x "$depmod" ] || { echo "mklab: depmod not found (apt install kmod)" >&2; exit 1; }
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "mklab: busybox not found (apt install busybox-static)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards './lib/modules/*'
kver=$(ls "$work/lib/modules" | head -n1)
"$depmod" -b "$work" "$kver"

# mdpy.ko: a virtual display the nested guest sees as a PCI device, made
# through sysfs as an mdev; built like tests/guest/mkguest.sh builds
# romeval.ko, against the same headers
build_mdpy() { # KVER
  local kver=$1 hdr="$guest/headers/usr/src/linux-headers-$kver" tarball=${QL_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}
  local dir="$out/mdpy"
  [ -d "$hdr" ] || { echo "no kernel headers in $guest/headers (tests/guest/mkguest.sh fetches them)"; return 1; }
  [ -s "$tarball" ] || { echo "no $tarball (apt install linux-source-6.1)"; return 1; }
  command -v make >/dev/null || { echo "make not found (apt install make)"; return 1; }
  if [ ! -s "$dir/mdpy.c" ] || [ "$dir/mdpy.c" -ot "$tarball" ]; then
    rm -rf "$dir" "$dir.tmp" && mkdir -p "$dir.tmp"
    tar -xJf "$tarball" -C "$dir.tmp" --strip-components=3 --wildcards \
      'linux-source-6.1/samples/vfio-mdev/mdpy.c' 'linux-source-6.1/samples/vfio-mdev/mdpy-defs.h' ||
      { echo "cannot extract samples/vfio-mdev/mdpy.c from $tarball"; return 1; }
    mv "$dir.tmp" "$dir"
  fi
  echo 'obj-m := mdpy.o' > "$dir/Kbuild"
  make -s -C "$hdr" M="$dir" modules > "$dir/build.log" 2>&1 ||
    { echo "building mdpy.ko failed (see $dir/build.log)"; return 1; }
}

root="$work/root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,etc,tmp,host,lib/modules/"$kver"}
for m in virtio_pci 9pnet_virtio 9p e1000e snd-hda-intel snd-hda-codec-generic vfio-pci mdev; do
  "$modprobe" -d "$work" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | sort -u | while read -r ko; do
  rel=${ko#"$work"/}
  mkdir -p "$root/$(dirname "$rel")"
  cp "$ko" "$root/$rel"
done
cp "$work/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kver/"
rm -f "$out/mdev-skip.txt"
if why=$(build_mdpy "$kver"); then
  mkdir -p "$root/lib/modules/$kver/extra"
  cp "$out/mdpy/mdpy.ko" "$root/lib/modules/$kver/extra/"
else
  echo "mklab: mdpy.ko not built, the lab's [mdev] checks will SKIP: $why" >&2
  echo "$why" > "$out/mdev-skip.txt"
fi
"$depmod" -b "$root" "$kver"

cp "$busybox" "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 > "$out/initrd.img.tmp")
mv "$out/initrd.img.tmp" "$out/initrd.img"
echo "mklab: lab initramfs in $out ($kver, $(find "$root" -name '*.ko' | wc -l) modules)"
