#!/bin/bash
# The passthrough lab (TAP): boots an L2 guest under TCG with an emulated
# intel-iommu and stand-in devices, and runs tests/lab/scenario.sh in it
# against the built qlaunch and the host's QEMU (the host's root is shared
# read-only over 9p).  Needs build/guest/vmlinuz and build/lab/initrd.img
# (tests/guest/mkguest.sh, tests/lab/mklab.sh); SKIPs without them.
set -u
src=${QL_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${QL_BUILD_ROOT:-$src/build}
kernel=$build/guest/vmlinuz
initrd=$build/lab/initrd.img
qemu=$(command -v qemu-system-x86_64 || true)

skip() { echo "1..0 # SKIP $*"; exit 0; }
[ -n "$qemu" ] || skip "qemu-system-x86_64 is not installed"
[ -s "$kernel" ] || skip "no guest kernel $kernel (run tests/guest/mkguest.sh build/guest)"
[ -s "$initrd" ] || skip "no lab initramfs $initrd (run tests/lab/mklab.sh build/lab build/guest)"
[ "$(id -u)" -eq 0 ] || skip "the lab shares the host's root with the L2 guest and runs as root there; run as root"

log=$build/lab/l2-console.log
rm -f "$log"
start=$(date +%s)
timeout -k 10 2700 "$qemu" -name lab-l2 \
  -machine q35,accel=tcg,kernel-irqchip=split -cpu max -smp 2 -m 2048 \
  -device intel-iommu,intremap=on,caching-mode=on \
  -nodefaults -no-user-config -display none -no-reboot -serial "file:$log" \
  -device pcie-root-port,id=rp1,bus=pcie.0,addr=1c.0,chassis=1 \
  -netdev user,id=n1,restrict=on -device e1000e,bus=rp1,addr=00.0,netdev=n1 \
  -device pcie-root-port,id=rp2,bus=pcie.0,addr=1d.0,chassis=2 \
  -netdev user,id=n2,restrict=on -device e1000e,bus=rp2,addr=00.0,multifunction=on,netdev=n2 \
  -device ich9-intel-hda,bus=rp2,addr=00.1,id=hda -audiodev none,id=snd0 -device hda-duplex,bus=hda.0,audiodev=snd0 \
  -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
  -kernel "$kernel" -initrd "$initrd" \
  -append "console=ttyS0 intel_iommu=on panic=-1 loglevel=4 ql.script=$src/tests/lab/scenario.sh ql.build=$build"
rc=$?
wall=$(( $(date +%s) - start ))

n=0
while IFS= read -r line; do
  case "$line" in
    "LAB: ok - "*) n=$((n + 1)); echo "ok $n - ${line#LAB: ok - }" ;;
    "LAB: not ok - "*) n=$((n + 1)); echo "not ok $n - ${line#LAB: not ok - }" ;;
    "LAB: "*) echo "# ${line#LAB: }" ;;
  esac
done < <(tr -d '\r' < "$log" 2>/dev/null)
echo "# L2 wall time ${wall} s (QEMU rc=$rc)"
if ! grep -q "LAB: exit 0" "$log" 2>/dev/null; then
  n=$((n + 1)); echo "not ok $n - the lab scenario ran to its end (see $log)"
  tail -n 30 "$log" 2>/dev/null | sed 's/^/# /'
fi
echo "1..$n"
