#!/bin/bash
# Builds the passthrough lab's L2 initramfs into OUTDIR from the Debian kernel
# package that tests/guest/mkguest.sh fetched into GUESTDIR: busybox, the
# modules the lab needs (9p for the host's root, e1000e and snd-hda-intel for
# the stand-in GPU and its audio function, vfio-pci for qlaunch to load) with
# their dependencies, and tests/lab/init.  Idempotent; about 5 s.
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

root="$work/root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,etc,tmp,host,lib/modules/"$kver"}
for m in virtio_pci 9pnet_virtio 9p e1000e snd-hda-intel snd-hda-codec-generic vfio-pci; do
  "$modprobe" -d "$work" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | sort -u | while read -r ko; do
  rel=${ko#"$work"/}
  mkdir -p "$root/$(dirname "$rel")"
  cp "$ko" "$root/$rel"
done
cp "$work/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kver/"
"$depmod" -b "$root" "$kver"

cp "$busybox" "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 > "$out/initrd.img.tmp")
mv "$out/initrd.img.tmp" "$out/initrd.img"
echo "mklab: lab initramfs in $out ($kver, $(find "$root" -name '*.ko' | wc -l) modules)"
