# The lab's [mdev] checks, sourced by tests/lab/scenario.sh (its helpers:
# ok, not_ok, info, write_profile, wait_serial, status_field, wait_gone,
# host_clean; $QL, $T, $rt).  The parent is the kernel's mdpy sample driver
# (samples/vfio-mdev, built by tests/lab/mklab.sh against the guest kernel's
# headers): a virtual display, 1b36:000f, that a nested guest sees on its PCI
# bus.  Without mdpy.ko the checks SKIP with mklab's reason.
mdev_skip=$(cat "$QL_BUILD/lab/mdev-skip.txt" 2>/dev/null)
[ -e "$QL_BUILD/lab/mdpy/mdpy.ko" ] || mdev_skip=${mdev_skip:-"no mdpy.ko (tests/lab/mklab.sh)"}
if [ -n "$mdev_skip" ]; then
  ok "mdev: create, pass through and remove an mdpy mdev # SKIP $mdev_skip"
  return 0
fi
if modprobe mdpy > $T/mdpy.log 2>&1 && [ -d /sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga ]; then
  ok "mdev: mdpy.ko loads and offers its types in /sys/class/mdev_bus/mdpy"
else
  not_ok "mdev: modprobe mdpy: $(tr '\n' ' ' < $T/mdpy.log) $(ls /sys/class/mdev_bus 2>&1)"
  return 0
fi
mdev_free() { cat /sys/class/mdev_bus/mdpy/mdev_supported_types/mdpy-vga/available_instances; }
free_before=$(mdev_free)

"$QL" devices --json > $T/mdev-devices.json 2>&1
if python3 - $T/mdev-devices.json "$free_before" <<'PY'
import json, sys
parents = [d for d in json.load(open(sys.argv[1])) if d.get("mdev-parent") == "mdpy"]
assert len(parents) == 1, parents
types = {t["type"]: t for t in parents[0]["mdev-types"]}
assert types["mdpy-vga"]["available-instances"] == int(sys.argv[2]), types
assert types["mdpy-vga"]["device-api"] == "vfio-pci", types
PY
then ok "mdev: devices --json lists mdpy with its types and free instances"
else not_ok "mdev: devices --json: $(head -c 1500 $T/mdev-devices.json)"; fi
"$QL" devices | sed -n '/^Mediated/,$p' | sed 's/^/LAB: info   /'

# display=off: plain vfio-pci; QEMU as root here (run-as below)
write_profile mdev "run-as=root" <<PROFILE
[mdev fb]
parent=mdpy
type=mdpy-vga
PROFILE
"$QL" plan --json mdev > $T/mdev-plan.json 2>&1
uuid=$(python3 -c 'import json,sys; print([s["uuid"] for s in json.load(open(sys.argv[1]))["steps"] if s["kind"] == "mdev-create"][0])' $T/mdev-plan.json 2>/dev/null)
mdev_dir=/sys/bus/mdev/devices/$uuid
if "$QL" plan mdev 2>&1 | grep -q "create mdev $uuid of mdpy-vga on mdpy" && [ ! -e "$mdev_dir" ]; then
  ok "mdev: plan lists the creation ($uuid) and makes nothing"
else not_ok "mdev: plan: $(head -c 1000 $T/mdev-plan.json)"; fi
if "$QL" check mdev 2>&1 | grep -q "ok    mdev fb  *mdpy offers mdpy-vga ($free_before free)"; then
  ok "mdev: check finds the type with a free instance"
else not_ok "mdev: check: $("$QL" check mdev 2>&1 | grep mdev | tr '\n' ' ')"; fi

write_profile mdev-bad "run-as=root" <<PROFILE
[mdev fb]
parent=mdpy
type=mdpy-4k
PROFILE
if ! "$QL" start mdev-bad > $T/mdev-bad.log 2>&1 &&
   grep -q "\[mdev fb\] type: 'mdpy-4k' is not an mdev type of mdpy; it has: .*mdpy-vga ($free_before free)" $T/mdev-bad.log &&
   [ -z "$(ls /sys/bus/mdev/devices 2>/dev/null)" ]; then
  ok "mdev: a type the parent does not offer is refused with its types, nothing made"
else not_ok "mdev: bad type: $(tr '\n' ' ' < $T/mdev-bad.log)"; fi

# kill -9 of the supervisor, then recover: the mdev stays, then goes
if "$QL" start mdev --detach > $T/mdev-start.log 2>&1 && [ -d "$mdev_dir" ] &&
   "$QL" qmp lab query-pci | grep -q '"vendor" : 6966'; then
  ok "mdev: start creates $uuid and QEMU has it on its PCI bus (1b36:000f)"
else not_ok "mdev: start: $(tr '\n' ' ' < $T/mdev-start.log) $(ls /sys/bus/mdev/devices 2>&1)"; fi
[ "$(mdev_free)" = $((free_before - 1)) ] && ok "mdev: one instance fewer is free while the VM runs" ||
  not_ok "mdev: available_instances $(mdev_free), was $free_before"
qemu_pid=$(status_field qemu-pid)
kill -9 "$(status_field supervisor-pid)"
wait_gone "$qemu_pid" 30
[ -d "$mdev_dir" ] && ok "mdev: after kill -9 of the supervisor the mdev is still there" ||
  not_ok "mdev: gone without recover"
"$QL" recover lab > $T/mdev-recover.log 2>&1
if [ ! -e "$mdev_dir" ] && grep -q "mdev $uuid removed" $T/mdev-recover.log; then
  ok "mdev: recover removes the mdev"
else not_ok "mdev: recover: $(tr '\n' ' ' < $T/mdev-recover.log) $(ls /sys/bus/mdev/devices 2>&1)"; fi
host_clean "mdev: recover leaves nothing behind"

# run-as: QEMU as nobody opens the mdev's VFIO group, whose node qlaunch
# hands it right after making the mdev, and takes back before removing it
write_profile mdev-user "run-as=nobody" <<PROFILE
[mdev fb]
parent=mdpy
type=mdpy-vga
PROFILE
if "$QL" start mdev-user --detach > $T/mdev-user.log 2>&1 && [ -d "$mdev_dir" ]; then
  group=$(basename "$(readlink "$mdev_dir/iommu_group")")
  sup_pid=$(status_field supervisor-pid)
  quser=$(stat -c %U "/proc/$(status_field qemu-pid)")
  if [ "$quser" = nobody ] && [ "$(stat -c %U /dev/vfio/$group)" = nobody ] &&
     "$QL" qmp lab query-pci | grep -q '"vendor" : 6966'; then
    ok "mdev: run-as: QEMU runs as nobody with /dev/vfio/$group, the mdev's group, given to it"
  else not_ok "mdev: run-as: QEMU as $quser, /dev/vfio/$group $(stat -c %U /dev/vfio/$group)"; fi
  "$QL" kill lab > $T/mdev-user-kill.log 2>&1
  wait_gone "$sup_pid" 60
  [ ! -e "$mdev_dir" ] && ok "mdev: run-as: kill ends the VM and removes the mdev" ||
    not_ok "mdev: run-as: after kill: $(ls /sys/bus/mdev/devices)"
else not_ok "mdev: run-as: start: $(tr '\n' ' ' < $T/mdev-user.log)"; "$QL" kill lab > /dev/null 2>&1; fi
host_clean "mdev: run-as: nothing is left"

# display=on with a ramfb (vfio-pci-nohotplug), an L3 guest that lists its
# PCI bus, then stop: the mdev goes with the VM
write_profile mdev-l3 "run-as=root
kernel=$QL_BUILD/guest/vmlinuz
initrd=$QL_BUILD/guest/initrd.img
append=console=ttyS0 quiet panic=-1 ql.mode=acpi" <<PROFILE
[cpu]
cores=1
[net lan]
mode=none
[mdev fb]
parent=mdpy
type=mdpy-vga
display=on
ramfb=on
PROFILE
t0=$(now_ms)
if "$QL" start mdev-l3 --detach > $T/mdev-l3.log 2>&1 && [ -d "$mdev_dir" ] &&
   wait_serial "QL: ready, waiting for the power button" 900; then
  info "mdev: the L3 guest was up after $(( ($(now_ms) - t0) / 1000 )) s"
  tr -d '\r' < "$rt/serial.log" | grep '^QL: pci ' | sed 's/^/LAB: info   [mdev] /'
  if tr -d '\r' < "$rt/serial.log" | grep -q '^QL: pci 00:0[0-9a-f].0 1b36:000f'; then
    ok "mdev: the nested guest sees the mdev on its PCI bus (1b36:000f, display=on, ramfb)"
  else not_ok "mdev: no 1b36:000f in the guest's PCI list"; fi
  "$QL" stop lab --timeout 120 > $T/mdev-stop.log 2>&1
  if [ ! -e "$mdev_dir" ]; then ok "mdev: stop ends the VM and removes the mdev"
  else not_ok "mdev: after stop: $(tr '\n' ' ' < $T/mdev-stop.log) $(ls /sys/bus/mdev/devices)"; fi
else
  not_ok "mdev: start with display=on: $(tr '\n' ' ' < $T/mdev-l3.log) $(tr -d '\r' < $rt/serial.log 2>/dev/null | tail -n 5 | tr '\n' '|')"
  "$QL" kill lab > /dev/null 2>&1
fi
host_clean "mdev: stop leaves nothing behind"
[ "$(mdev_free)" = "$free_before" ] && ok "mdev: every instance is free again" ||
  not_ok "mdev: available_instances $(mdev_free), was $free_before"
