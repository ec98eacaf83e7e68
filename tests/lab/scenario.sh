#!/bin/bash
# The passthrough lab's scenario, run by tests/lab/init inside the L2 guest
# (a chroot of the host's root over 9p, with an emulated intel-iommu).  The
# stand-ins: GPU = an e1000e alone behind a root port; PAIR = an e1000e at
# 00.0 with an ich9-intel-hda at 00.1 (one IOMMU group, like a GPU and its
# HDMI audio).  Prints "LAB: ok - NAME" / "LAB: not ok - NAME: WHY" lines for
# tests/lab/run-lab.sh, and "LAB: info ..." for the log.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
QL="$QL_BUILD/launcher/qlaunch"
qmp() { python3 "$here/labqmp.py" "$@"; }
T=/run/lab   # tests/lab/init's tmpfs; the host's /tmp is read-only here
export QLAUNCH_RUNTIME_DIR=/run/qlaunch QLAUNCH_STATE_DIR=$T/state QLAUNCH_PROFILE_PATH=$T/profiles QLAUNCH_CACHE_DIR=$T/cache
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS="suppressions=$src/tests/lsan.supp:print_suppressions=0"
mkdir -p $T/profiles $T/state
rt=$QLAUNCH_RUNTIME_DIR/lab

ok() { echo "LAB: ok - $*"; }
not_ok() { echo "LAB: not ok - $*"; }
info() { echo "LAB: info $*"; }
driver_of() { local l; l=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null) && basename "$l" || echo none; }
expect_driver() { # NAME ADDRESS DRIVER
  local now; now=$(driver_of "$2")
  if [ "$now" = "$3" ]; then ok "$1"; else not_ok "$1: $2 is on $now, expected $3"; fi
}
wait_driver() { # ADDRESS DRIVER SECONDS: a driver that binds after modprobe returns
  local i; for ((i = 0; i < $3 * 10; i++)); do [ "$(driver_of "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
wait_gone() { # PID SECONDS
  local i; for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1
}
json_field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], ""))' "$@"; }
status_field() { "$QL" status lab --json | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d.get(sys.argv[1], ""))' "$1"; }
host_clean() { # NAME: no journal, no runtime dir, no QEMU
  if [ ! -e "$rt" ] && ! pgrep -f qemu-system >/dev/null; then ok "$1"
  else not_ok "$1: left behind: $(ls "$rt" 2>/dev/null | tr '\n' ' ') $(pgrep -af qemu-system)"; fi
}

# ---- the stand-ins ----
GPU= PAIR=
for d in /sys/bus/pci/devices/*; do
  [ "$(cat "$d/vendor")" = 0x8086 ] && [ "$(cat "$d/device")" = 0x10d3 ] || continue
  a=${d##*/}
  if [ -e "/sys/bus/pci/devices/${a%.0}.1" ]; then PAIR=$a; else GPU=$a; fi
done
AUDIO=${PAIR%.0}.1
info "GPU stand-in $GPU (group $(basename "$(readlink /sys/bus/pci/devices/$GPU/iommu_group)")), pair $PAIR + $AUDIO"
if [ -z "$GPU" ] || [ -z "$PAIR" ]; then not_ok "lab devices present"; exit 1; fi

write_profile() { # FILE [MORE-VM-LINES], then the other sections on stdin
  { printf '[vm]\nname=lab\naccel=tcg\nfirmware=bios\nhyperv=false\n%s\n[memory]\nsize=128M\n[shutdown]\ntimeout=2\n' "${2:-}"
    cat; } > "$T/profiles/$1.ini"
}
# the synthetic vBIOS (tests/rom-fixtures.c): 10de:1c20
"$QL_BUILD/tests/mkfixtures" $T/fx
rom_md5=$(md5sum < $T/fx/rom.bin | cut -d' ' -f1)
# with rom-acpi, so that every way a VM ends also takes qlaunch's SSDT away
write_profile gpu <<PROFILE
[pci gpu]
host=$GPU
vendor=10de
device=1c20
sub-vendor=1028
sub-device=07b1
rom=$T/fx/rom.bin
rom-acpi=true
PROFILE
write_profile nonviable <<PROFILE
[pci gpu]
host=$PAIR
functions=0
PROFILE
write_profile pair <<PROFILE
[pci gpu]
host=8086:10d3#2
PROFILE

# ---- devices ----
"$QL" devices --json > $T/devices.json
"$QL" devices --tree | sed 's/^/LAB: info   /'
if python3 - "$T/devices.json" "$GPU" "$PAIR" "$AUDIO" <<'PY'
import json, sys
devs = {d["address"]: d for d in json.load(open(sys.argv[1]))}
gpu, pair, audio = (devs[a] for a in sys.argv[2:])
assert gpu["driver"] == "e1000e" and gpu["iommu-group"] is not None, gpu
assert pair["iommu-group"] == audio["iommu-group"], (pair, audio)
assert sys.argv[4] in pair["iommu-group-members"], pair
assert audio["driver"] == "snd_hda_intel" and audio["class"].startswith("0403"), audio
assert audio["vendor"] == "Intel Corporation", audio
PY
then ok "devices: drivers, IOMMU groups and group members as the kernel has them"
else not_ok "devices: unexpected JSON"; fi

# ---- plan: no side effects ----
plan=$("$QL" plan gpu 2>&1)
echo "$plan" | sed 's/^/LAB: info   /'
"$QL" plan --json gpu > $T/plan.json 2>&1
if echo "$plan" | grep -q "bind $GPU  e1000e -> vfio-pci" && [ "$(driver_of "$GPU")" = e1000e ] &&
   [ ! -d /sys/bus/pci/drivers/vfio-pci ] && [ ! -e "$rt" ]; then
  ok "plan lists the bind and changes nothing (vfio-pci not even loaded)"
else not_ok "plan"; fi

# ---- check: the preflight doctor, on a host with an IOMMU (the L2's emulated VT-d) ----
"$QL" check gpu --json > $T/check.json 2> $T/check.err; check_rc=$?
"$QL" check gpu 2>&1 | sed 's/^/LAB: info   /'
if python3 - "$T/check.json" <<'PY'
import json, sys
by = {}
for f in json.load(open(sys.argv[1])):
    by.setdefault(f["check"], []).append(f)
assert by["iommu"][0]["status"] == "ok", by["iommu"]
assert by["profile"][0]["status"] == "ok", by["profile"]
gpu = by["pci gpu"][0]
assert gpu["status"] == "ok" and gpu["message"].endswith("viable"), gpu
assert all(f["fix"] for fs in by.values() for f in fs if f["status"] != "ok")
PY
then ok "check gpu: IOMMU on, the GPU's group viable (exit $check_rc: TCG has no KVM)"
else not_ok "check gpu: $(head -c 3000 $T/check.json) $(head -c 500 $T/check.err)"; fi
"$QL" check nonviable --json > $T/check-nv.json 2>&1; nv_rc=$?
if [ "$nv_rc" = 2 ] && python3 - "$T/check-nv.json" <<'PY'
import json, sys
gpu = [f for f in json.load(open(sys.argv[1])) if f["check"] == "pci gpu"][0]
assert gpu["status"] == "fail" and "is not viable" in gpu["message"] and "qlaunch bind" in gpu["fix"], gpu
PY
then ok "check nonviable: half a group is a fail with its fix, exit 2"
else not_ok "check nonviable: exit $nv_rc $(head -c 2000 $T/check-nv.json)"; fi

# ---- start, query-pci, stop ----
t0=$(now_ms)
if "$QL" start gpu --detach > $T/start.log 2>&1; then
  info "start --detach took $(( $(now_ms) - t0 )) ms"
  ok "start with [pci gpu] (vfio-pci loaded by qlaunch)"
else not_ok "start with [pci gpu]: $(tr '\n' ' ' < $T/start.log)"; fi
expect_driver "the device is on vfio-pci while the VM runs" "$GPU" vfio-pci
if [ -s "$rt/qlaunch-ssdt.aml" ] && echo "$plan" | grep -q "write $rt/qlaunch-ssdt.aml"; then
  ok "the generated SSDT is in the runtime dir while the VM runs, as plan said"
else not_ok "generated SSDT: $(ls $rt)"; fi
if [ -s "$rt/journal.json" ] && grep -q '"driver" : "e1000e"' "$rt/journal.json"; then ok "journal records the original driver"
else not_ok "journal records the original driver"; fi
if python3 - "$T/plan.json" "$rt/journal.json" <<'PY'
import json, sys
steps = json.load(open(sys.argv[1]))["steps"]
changes = json.load(open(sys.argv[2]))["changes"]
assert steps and steps == changes, (steps, changes)
assert any(s["kind"] == "vfio-bind" for s in steps), steps
PY
then ok "the journal is plan --json, step for step ($(python3 -c 'import json,sys; print(", ".join(s["kind"] for s in json.load(open(sys.argv[1]))["steps"]))' $T/plan.json))"
else not_ok "the journal is not what plan --json said: $(cat $T/plan.json $rt/journal.json | tr '\n' ' ')"; fi
if out=$(qmp "$rt/qmp.sock" wait-pci 120 "0=10de:1c20/1028:07b1"); then
  ok "query-pci: 01:00.0 behind 00:1c.0 with the overridden ids ($out)"
else not_ok "query-pci: $out"; fi
# the supervisor confined itself (ql-confine.c): filtered, no_new_privs, and
# of root's capabilities none (this run's undo needs none; a sanitizer
# build keeps CAP_SYS_PTRACE for LeakSanitizer)
supervisor_confined() { # PID CAPEFF-REGEX
  grep -q '^Seccomp:[[:space:]]2$' /proc/$1/status && grep -q '^NoNewPrivs:[[:space:]]1$' /proc/$1/status &&
    grep -Eq "^CapEff:[[:space:]]$2\$" /proc/$1/status
}
sup_pid=$(status_field supervisor-pid)
conf=$(grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/$sup_pid/status | tr -s '\t\n' '  ')
if supervisor_confined "$sup_pid" '00000000000[08]0000'; then ok "the supervisor is confined while the VM runs ($conf)"
else not_ok "the supervisor is not confined as designed: $conf"; fi
"$QL" kill lab > $T/kill.log 2>&1
expect_driver "after stop the device is back on e1000e" "$GPU" e1000e
host_clean "after stop nothing is left (journal, runtime dir, QEMU)"
info "stop: restore $(json_field $T/state/lab/last-exit.json host-restore-ms) ms after QEMU exited"

# ---- kill -9 of QEMU ----
"$QL" start gpu --detach > $T/start.log 2>&1
qemu_pid=$(status_field qemu-pid)
sup_pid=$(status_field supervisor-pid)
kill -9 "$qemu_pid"
wait_gone "$sup_pid" 30
expect_driver "kill -9 of QEMU: the device is back on e1000e" "$GPU" e1000e
reason=$(json_field $T/state/lab/last-exit.json reason)
[ "$reason" = crashed ] && ok "kill -9 of QEMU is recorded as crashed" || not_ok "kill -9 of QEMU recorded as '$reason'"
host_clean "kill -9 of QEMU: nothing is left"
info "crash: restore $(json_field $T/state/lab/last-exit.json host-restore-ms) ms after QEMU exited"

# ---- kill -9 of the supervisor, then recover ----
"$QL" start gpu --detach > $T/start.log 2>&1
qemu_pid=$(status_field qemu-pid)
sup_pid=$(status_field supervisor-pid)
kill -9 "$sup_pid"
wait_gone "$qemu_pid" 30   # the kernel sends it SIGTERM (PDEATHSIG)
expect_driver "kill -9 of the supervisor: the device stays on vfio-pci" "$GPU" vfio-pci
if ! "$QL" start gpu > $T/refused.log 2>&1 && grep -q "qlaunch recover lab" $T/refused.log; then
  ok "start refuses while a stale journal exists and names recover"
else not_ok "start with a stale journal: $(tr '\n' ' ' < $T/refused.log)"; fi
t0=$(now_ms)
"$QL" recover lab > $T/recover.log 2>&1
info "recover took $(( $(now_ms) - t0 )) ms: $(tr '\n' ' ' < $T/recover.log)"
expect_driver "recover gives the device back to e1000e" "$GPU" e1000e
host_clean "recover leaves nothing behind"

# ---- a group that is not viable ----
if ! "$QL" start nonviable > $T/nonviable.log 2>&1 && grep -q "IOMMU group .* is not viable: it also holds $AUDIO" $T/nonviable.log; then
  ok "a non-viable group is refused, naming the other member"
else not_ok "non-viable group: $(tr '\n' ' ' < $T/nonviable.log)"; fi
expect_driver "non-viable: function 0 untouched" "$PAIR" e1000e
expect_driver "non-viable: function 1 untouched" "$AUDIO" snd_hda_intel
host_clean "non-viable: nothing is left"

# ---- a device held open on the host ----
sleep 600 < /dev/snd/controlC0 &
holder=$!
sleep 0.2
if ! "$QL" start pair > $T/held.log 2>&1 && grep -q "in use on the host by PID $holder (sleep)" $T/held.log; then
  ok "a device held open (/dev/snd) is refused, naming the process"
else not_ok "held-open device: $(tr '\n' ' ' < $T/held.log)"; fi
expect_driver "held open: function 1 untouched" "$AUDIO" snd_hda_intel
host_clean "held open: nothing is left"
kill "$holder"; wait "$holder" 2>/dev/null

# ---- GPU + audio: the whole group, both functions ----
if "$QL" start pair --detach > $T/start.log 2>&1; then ok "start with a multifunction device (functions=all)"
else not_ok "start pair: $(tr '\n' ' ' < $T/start.log)"; fi
if out=$(qmp "$rt/qmp.sock" wait-pci 120 "0=8086:10d3,1=8086:293e"); then
  ok "query-pci: both functions behind 00:1c.0 at 01:00.0 and 01:00.1 ($out)"
else not_ok "query-pci pair: $out"; fi
"$QL" kill lab > $T/kill.log 2>&1
expect_driver "pair: function 0 back on e1000e" "$PAIR" e1000e
expect_driver "pair: function 1 back on snd_hda_intel" "$AUDIO" snd_hda_intel
host_clean "pair: nothing is left"

# ---- [host] handover: consoles, the audio function's module, holders ----
# What this L2 kernel offers: framebuffer vtconsoles and platform
# framebuffers (with -display none and SeaBIOS most likely none, and then
# plan says so); snd_hda_intel is a module (tests/lab/init loads it).
consoles_expect=
for v in /sys/class/vtconsole/vtcon*; do
  [ -e "$v/bind" ] || continue
  if [ "$(cat "$v/bind")" = 1 ] && grep -q "frame buffer" "$v/name"; then consoles_expect="$consoles_expect vtconsole-unbind:${v##*/}"; fi
done
for drv in efi-framebuffer simple-framebuffer vesa-framebuffer; do
  for dev in /sys/bus/platform/drivers/$drv/*; do
    if [ -L "$dev" ] && [ "${dev##*/}" != module ]; then consoles_expect="$consoles_expect framebuffer-unbind:${dev##*/}"; fi
  done
done
consoles_expect=${consoles_expect# }
info "L2 vtconsoles: $(for v in /sys/class/vtconsole/vtcon*; do [ -e "$v/name" ] && printf '%s=%s,bind=%s ' "${v##*/}" "$(cat "$v/name")" "$(cat "$v/bind")"; done)"
info "L2 platform framebuffers and consoles to unbind: ${consoles_expect:-none}"
write_profile consoles <<PROFILE
[host]
unbind-consoles=true
[pci gpu]
host=$GPU
PROFILE
"$QL" plan --json consoles > $T/consoles.json 2>&1
consoles_got=$(python3 - $T/consoles.json <<'PY'
import json, sys
steps = json.load(open(sys.argv[1]))["steps"]
kinds = [s["kind"] for s in steps]
# the console steps come before the first bind
if "vfio-bind" in kinds:
    assert all(k != "vtconsole-unbind" and k != "framebuffer-unbind" for k in kinds[kinds.index("vfio-bind"):]), kinds
print(" ".join(s["kind"] + ":" + (s["name"] if s["kind"] == "vtconsole-unbind" else s["device"])
               for s in steps if s["kind"] in ("vtconsole-unbind", "framebuffer-unbind")))
PY
)
if [ "$consoles_got" = "$consoles_expect" ]; then
  ok "unbind-consoles: plan lists what sysfs has bound (${consoles_expect:-none}), before the binds"
else not_ok "unbind-consoles: plan has '$consoles_got', sysfs '$consoles_expect': $(tr '\n' ' ' < $T/consoles.json)"; fi
if [ -z "$consoles_expect" ]; then
  if "$QL" plan consoles 2>&1 | grep -q "note: no framebuffer console or platform framebuffer is bound: nothing to unbind"; then
    ok "unbind-consoles: plan says there is nothing to unbind"
  else not_ok "unbind-consoles: no note in $("$QL" plan consoles 2>&1 | tr '\n' ' ')"; fi
  ok "unbind-consoles: unbound while the VM runs and bound again after # SKIP the L2 kernel has no framebuffer console (-display none)"
else
  "$QL" start consoles --detach > $T/consoles.log 2>&1 || not_ok "start consoles: $(tr '\n' ' ' < $T/consoles.log)"
  still=
  for c in $consoles_expect; do
    n=${c#*:}
    case $c in
      vtconsole-unbind:*) [ "$(cat /sys/class/vtconsole/$n/bind)" = 0 ] || still="$still $n" ;;
      framebuffer-unbind:*) [ -L "$(ls -d /sys/bus/platform/drivers/*-framebuffer/$n 2>/dev/null | head -n1)" ] && still="$still $n" ;;
    esac
  done
  [ -z "$still" ] && ok "unbind-consoles: unbound while the VM runs" || not_ok "unbind-consoles: still bound:$still"
  "$QL" kill lab > $T/kill.log 2>&1
  still=
  for c in $consoles_expect; do
    n=${c#*:}
    case $c in
      vtconsole-unbind:*) [ "$(cat /sys/class/vtconsole/$n/bind)" = 1 ] || still="$still $n" ;;
      framebuffer-unbind:*) [ -n "$(ls -d /sys/bus/platform/drivers/*-framebuffer/$n 2>/dev/null)" ] || still="$still $n" ;;
    esac
  done
  [ -z "$still" ] && ok "unbind-consoles: bound again after the VM" || not_ok "unbind-consoles: not bound again:$still"
  host_clean "unbind-consoles: nothing is left"
fi

# a holder that the handover steps do not end: noted by plan, found again
# right before the bind, and the start is undone
write_profile pair-consoles <<PROFILE
[host]
unbind-consoles=true
[pci gpu]
host=8086:10d3#2
PROFILE
sleep 600 < /dev/snd/controlC0 &
holder=$!
sleep 0.2
if "$QL" plan pair-consoles 2>&1 | grep -q "$AUDIO (snd_hda_intel) is in use on the host by PID $holder (sleep) through /dev/snd/controlC0 now; the \[host\] handover steps should end that"; then
  ok "handover: plan notes the holder instead of refusing"
else not_ok "handover: plan with a holder: $("$QL" plan pair-consoles 2>&1 | tr '\n' ' ')"; fi
if ! "$QL" start pair-consoles > $T/held2.log 2>&1 &&
   grep -q "$AUDIO (snd_hda_intel) is still in use on the host by PID $holder (sleep) through /dev/snd/controlC0 after the \[host\] handover steps" $T/held2.log; then
  ok "handover: still held right before the bind: the start stops, naming the process"
else not_ok "handover: held after the handover steps: $(tr '\n' ' ' < $T/held2.log)"; fi
expect_driver "handover, still held: function 0 back on e1000e" "$PAIR" e1000e
expect_driver "handover, still held: function 1 untouched" "$AUDIO" snd_hda_intel
host_clean "handover, still held: nothing is left"

# unload-modules: a module with a user is never unloaded
write_profile pair-unload <<PROFILE
[host]
unload-modules=snd-hda-intel
[pci gpu]
host=8086:10d3#2
PROFILE
"$QL" plan pair-unload > $T/unload-plan.log 2>&1
sed 's/^/LAB: info   /' $T/unload-plan.log
l_unload=$(grep -n "unload module snd_hda_intel  (if nothing uses it then; modprobe snd_hda_intel after the VM" $T/unload-plan.log | cut -d: -f1)
l_bind=$(grep -n "bind $AUDIO  snd_hda_intel -> vfio-pci" $T/unload-plan.log | cut -d: -f1)
if [ -n "$l_unload" ] && [ -n "$l_bind" ] && [ "$l_unload" -lt "$l_bind" ]; then
  ok "unload-modules: plan unloads snd_hda_intel before the binds"
else not_ok "unload-modules: plan: $(tr '\n' ' ' < $T/unload-plan.log)"; fi
if ! "$QL" start pair-unload > $T/unload-held.log 2>&1 &&
   grep -q "\[host\] unload-modules: Module snd_hda_intel is in use, not unloaded: used [0-9]* time" $T/unload-held.log; then
  ok "unload-modules: a module in use (/dev/snd held) is refused, saying so ($(grep -o 'used [0-9]* time[s]*' $T/unload-held.log | head -n1))"
else not_ok "unload-modules with a user: $(tr '\n' ' ' < $T/unload-held.log)"; fi
[ -d /sys/module/snd_hda_intel ] && ok "unload-modules, refused: the module is still loaded" || not_ok "unload-modules, refused: snd_hda_intel is gone"
expect_driver "unload-modules, refused: function 1 untouched" "$AUDIO" snd_hda_intel
host_clean "unload-modules, refused: nothing is left"
kill "$holder"; wait "$holder" 2>/dev/null

# unloaded for the run; given back in reverse: the audio function waits
# without a driver until its module is loaded again, which binds it
"$QL" plan --json pair-unload > $T/unload-plan.json 2>&1
if "$QL" start pair-unload --detach > $T/unload.log 2>&1; then ok "unload-modules: start with snd_hda_intel unloaded"
else not_ok "unload-modules: start: $(tr '\n' ' ' < $T/unload.log)"; fi
[ ! -d /sys/module/snd_hda_intel ] && ok "unload-modules: snd_hda_intel is not loaded while the VM runs" ||
  not_ok "unload-modules: snd_hda_intel is loaded while the VM runs"
expect_driver "unload-modules: function 1 on vfio-pci" "$AUDIO" vfio-pci
if python3 - "$T/unload-plan.json" "$rt/journal.json" <<'PY'
import json, sys
steps = json.load(open(sys.argv[1]))["steps"]
changes = json.load(open(sys.argv[2]))["changes"]
assert steps == changes, (steps, changes)
assert [s["kind"] for s in steps] == ["module-unload", "vfio-bind", "vfio-bind"], steps
PY
then ok "unload-modules: the journal is plan --json (module-unload, vfio-bind, vfio-bind)"
else not_ok "unload-modules: journal $(tr '\n' ' ' < $rt/journal.json 2>/dev/null) plan $(tr '\n' ' ' < $T/unload-plan.json)"; fi
if out=$(qmp "$rt/qmp.sock" wait-pci 120 "0=8086:10d3,1=8086:293e"); then ok "unload-modules: the guest has both functions ($out)"
else not_ok "unload-modules: query-pci: $out"; fi
qemu_pid=$(status_field qemu-pid)
kill -9 "$(status_field supervisor-pid)"
wait_gone "$qemu_pid" 30
[ ! -d /sys/module/snd_hda_intel ] && ok "unload-modules, kill -9 of the supervisor: the module stays unloaded until recover" ||
  not_ok "unload-modules, kill -9: snd_hda_intel came back by itself"
"$QL" recover lab > $T/unload-recover.log 2>&1
sed 's/^/LAB: info   /' $T/unload-recover.log
l_left=$(grep -n "$AUDIO is off vfio-pci and left without a driver until its module is loaded (snd_hda_intel)" $T/unload-recover.log | cut -d: -f1)
l_loaded=$(grep -n "module snd_hda_intel loaded again" $T/unload-recover.log | cut -d: -f1)
if [ -n "$l_left" ] && [ -n "$l_loaded" ] && [ "$l_left" -lt "$l_loaded" ]; then
  ok "unload-modules, recover: the device is left without a driver, then the module is loaded again"
else not_ok "unload-modules, recover: $(tr '\n' ' ' < $T/unload-recover.log)"; fi
wait_driver "$AUDIO" snd_hda_intel 10
expect_driver "unload-modules, recover: loading the module binds function 1 again" "$AUDIO" snd_hda_intel
expect_driver "unload-modules, recover: function 0 back on e1000e" "$PAIR" e1000e
host_clean "unload-modules, recover: nothing is left"
# and the ordinary end of a run
"$QL" start pair-unload --detach > $T/unload2.log 2>&1 || not_ok "unload-modules: second start: $(tr '\n' ' ' < $T/unload2.log)"
# teardown runs modprobe: the supervisor keeps CAP_SYS_MODULE (bit 16) and its filter allows execve
sup_pid=$(status_field supervisor-pid)
conf=$(grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/$sup_pid/status | tr -s '\t\n' '  ')
if supervisor_confined "$sup_pid" '00000000000[19]0000'; then ok "unload-modules: the supervisor is confined, keeping cap_sys_module ($conf)"
else not_ok "unload-modules: the supervisor is not confined as designed: $conf"; fi
"$QL" kill lab > $T/kill.log 2>&1
[ -d /sys/module/snd_hda_intel ] && ok "unload-modules, stop: snd_hda_intel is loaded again" || not_ok "unload-modules, stop: snd_hda_intel is not loaded"
wait_driver "$AUDIO" snd_hda_intel 10
expect_driver "unload-modules, stop: function 1 back on snd_hda_intel" "$AUDIO" snd_hda_intel
expect_driver "unload-modules, stop: function 0 back on e1000e" "$PAIR" e1000e
host_clean "unload-modules, stop: nothing is left"

# ---- bind / unbind by hand ----
"$QL" bind "$GPU" > $T/bind.log 2>&1
expect_driver "qlaunch bind moves the device to vfio-pci" "$GPU" vfio-pci
"$QL" unbind "$GPU" > $T/unbind.log 2>&1
expect_driver "qlaunch unbind gives it back to e1000e" "$GPU" e1000e
if ! "$QL" bind "$PAIR" > $T/bindpair.log 2>&1 && grep -q "not viable" $T/bindpair.log; then
  ok "qlaunch bind refuses half a group"
else not_ok "bind half a group: $(tr '\n' ' ' < $T/bindpair.log)"; fi
# ---- release=vfio and power=auto: where the device goes when the VM ends ----
write_profile keep <<PROFILE
[pci gpu]
host=$GPU
release=vfio
power=auto
PROFILE
pm=/sys/bus/pci/devices/$GPU/power
pm_before=$(cat $pm/control)
if "$QL" plan keep 2>&1 | grep -q "bind $GPU  e1000e -> vfio-pci .*stays on vfio-pci after the VM; then power/control=auto"; then
  ok "plan says release=vfio and power=auto"
else not_ok "plan keep: $("$QL" plan keep 2>&1 | tr '\n' ' ')"; fi
if "$QL" start keep --detach > $T/keep.log 2>&1; then ok "start with release=vfio power=auto"
else not_ok "start keep: $(tr '\n' ' ' < $T/keep.log)"; fi
"$QL" kill lab > $T/kill.log 2>&1
expect_driver "release=vfio: the device stays on vfio-pci after the VM" "$GPU" vfio-pci
if [ "$(cat $pm/control)" = auto ]; then
  ok "power=auto: power/control is auto after the VM (runtime status $(cat $pm/runtime_status), was control=$pm_before)"
else not_ok "power=auto: power/control is $(cat $pm/control)"; fi
host_clean "release=vfio: nothing else is left"
if "$QL" plan keep 2>&1 | grep -q "keep $GPU  already on vfio-pci"; then ok "the next start has nothing to bind"
else not_ok "plan after release=vfio: $("$QL" plan keep 2>&1 | tr '\n' ' ')"; fi
"$QL" unbind "$GPU" > $T/unbind.log 2>&1
expect_driver "unbind gives a released device back to e1000e" "$GPU" e1000e
echo "$pm_before" > $pm/control

# ---- run-as: root's start, QEMU as nobody; the group node handed back ----
# release=vfio keeps the group's node after the VM, so that its owner can be seen
write_profile runas "run-as=nobody" <<PROFILE
[pci gpu]
host=$GPU
release=vfio
PROFILE
group=$(basename "$(readlink /sys/bus/pci/devices/$GPU/iommu_group)")
nobody_uid=$(id -u nobody)
if "$QL" start runas --detach > $T/runas.log 2>&1; then
  ok "run-as: start with [pci gpu] as root, QEMU as nobody"
  qpid=$(status_field qemu-pid)
  creds=$(grep -E '^(Uid|Gid|Groups|CapEff):' /proc/$qpid/status | tr '\t\n' '  ')
  if [ "$(awk '/^Uid:/ {print $2 $3 $4 $5}' /proc/$qpid/status)" = "$nobody_uid$nobody_uid$nobody_uid$nobody_uid" ] &&
     grep -q '^CapEff:[[:space:]]*0000000000000000$' /proc/$qpid/status; then
    ok "run-as: QEMU's uid is nobody's, no capabilities ($creds)"
  else not_ok "run-as: QEMU's credentials: $creds"; fi
  [ "$(stat -c %u /dev/vfio/$group)" = "$nobody_uid" ] && ok "run-as: /dev/vfio/$group is nobody's while the VM runs" ||
    not_ok "run-as: /dev/vfio/$group is $(stat -c '%u:%g %a' /dev/vfio/$group) while the VM runs"
  if out=$(qmp "$rt/qmp.sock" wait-pci 120 "0=8086:10d3"); then ok "run-as: query-pci shows the device ($out)"
  else not_ok "run-as: query-pci: $out"; fi
  "$QL" kill lab > $T/runas-kill.log 2>&1
  expect_driver "run-as, release=vfio: the device stays on vfio-pci" "$GPU" vfio-pci
  [ "$(stat -c '%u:%g %a' /dev/vfio/$group)" = "0:0 600" ] && ok "run-as: /dev/vfio/$group is root's, 0600, after the VM" ||
    not_ok "run-as: /dev/vfio/$group is $(stat -c '%u:%g %a' /dev/vfio/$group) after the VM"
  host_clean "run-as: nothing else is left"
else not_ok "run-as: start: $(tr '\n' ' ' < $T/runas.log)"; fi
"$QL" kill lab > /dev/null 2>&1; "$QL" recover lab > /dev/null 2>&1
"$QL" unbind "$GPU" > $T/unbind.log 2>&1
expect_driver "run-as: unbind gives the device back to e1000e" "$GPU" e1000e

# ---- a user's VM: host-setup once as root, then start as nobody ----
# The chroot's /etc is the host's, read-only: host-setup writes into $T/etc.
# The stand-in is an e1000e, a network function: host-setup refuses one without --force.
U=nobody
uid=$(id -u $U)
as_user() { # the user's own qlaunch, with the memlock host-setup's limits.d gives it
  prlimit --memlock=$(( 1 << 30 )) setpriv --reuid=$U --regid="$(id -g $U)" --clear-groups \
    env QLAUNCH_RUNTIME_DIR=$T/urun QLAUNCH_STATE_DIR=$T/ustate "$@"
}
mkdir -p $T/etc/modprobe.d $T/etc/modules-load.d $T/etc/udev/rules.d $T/etc/security/limits.d $T/urun $T/ustate
chown $U $T/urun $T/ustate
chmod 700 $T/urun $T/ustate
write_profile usergpu <<PROFILE
[pci gpu]
host=$GPU
PROFILE
chmod 644 $T/profiles/usergpu.ini
if ! as_user "$QL" start usergpu > $T/user-refused.log 2>&1 &&
   grep -q "VM 'lab' is started by $U, not root, and such a start binds nothing:" $T/user-refused.log &&
   grep -q "\[pci gpu\]: $GPU is on e1000e, not on vfio-pci" $T/user-refused.log &&
   grep -q "Fix: once, as root: sudo qlaunch host-setup '$T/profiles/usergpu.ini' --user $U" $T/user-refused.log; then
  ok "user: a start by $U with the device on e1000e is refused, naming host-setup"
else not_ok "user: refusal: $(tr '\n' ' ' < $T/user-refused.log)"; fi
expect_driver "user: the refused start bound nothing" "$GPU" e1000e
QLAUNCH_ETC=$T/etc "$QL" host-setup usergpu --user $U --force --dry-run > $T/hs-dry.log 2>&1
sed 's/^/LAB: info   /' $T/hs-dry.log
if grep -q "^    options vfio-pci ids=8086:10d3$" $T/hs-dry.log && grep -q "^    softdep e1000e pre: vfio-pci$" $T/hs-dry.log &&
   [ -z "$(find $T/etc -type f)" ]; then ok "host-setup --dry-run prints vfio-pci ids and the e1000e softdep, writes nothing"
else not_ok "host-setup --dry-run: $(tr '\n' ' ' < $T/hs-dry.log)"; fi
"$QL" bind "$GPU" > $T/bind.log 2>&1   # what host-setup prints for this boot (no reboot in the lab)
group=$(basename "$(readlink /sys/bus/pci/devices/$GPU/iommu_group)")
if QLAUNCH_ETC=$T/etc "$QL" host-setup usergpu --user $U --force > $T/hs.log 2>&1 &&
   grep -qx "SUBSYSTEM==\"vfio\", KERNEL==\"$group\", TEST==\"/sys/kernel/iommu_groups/$group/devices/$GPU\", OWNER=\"$U\", MODE=\"0600\"" $T/etc/udev/rules.d/70-qlaunch-lab.rules &&
   [ "$(stat -c %u /dev/vfio/$group)" = "$uid" ]; then
  ok "host-setup: the udev rule for group $group, and /dev/vfio/$group is $U's now"
else not_ok "host-setup: $(tr '\n' ' ' < $T/hs.log) $(ls -l /dev/vfio | tr '\n' ' ')"; fi
sed 's/^/LAB: info   /' $T/hs.log
if as_user "$QL" start usergpu --detach > $T/user-start.log 2>&1; then
  ok "user: $U starts the VM with [pci gpu] (no root at run time)"
else not_ok "user: start as $U: $(tr '\n' ' ' < $T/user-start.log)"; fi
uqemu=$(as_user "$QL" status lab --json | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d.get("qemu-pid", ""))')
if [ -n "$uqemu" ] && [ "$(awk '/^Uid:/ {print $2 $3}' /proc/$uqemu/status)" = "$uid$uid" ]; then
  ok "user: QEMU runs as $U ($(grep -E '^(Uid|Gid|CapEff):' /proc/$uqemu/status | tr -s '\t\n' '  '))"
else not_ok "user: QEMU is not $U's: $(grep -E '^(Uid|Gid):' /proc/$uqemu/status 2>/dev/null | tr '\n' ' ')"; fi
if out=$(qmp "$T/urun/lab/qmp.sock" wait-pci 120 "0=8086:10d3"); then
  ok "user: query-pci has the device behind 00:1c.0 ($out)"
else not_ok "user: query-pci: $out"; fi
as_user "$QL" kill lab > $T/user-kill.log 2>&1
if wait_gone "$uqemu" 30 && [ ! -e $T/urun/lab ]; then ok "user: the VM ends and its runtime dir goes"
else not_ok "user: after kill: $(tr '\n' ' ' < $T/user-kill.log) $(ls $T/urun/lab 2>/dev/null)"; fi
expect_driver "user: the device stays on vfio-pci for the next start (host-setup's state)" "$GPU" vfio-pci
if QLAUNCH_ETC=$T/etc "$QL" host-setup usergpu --undo --user $U > $T/hs-undo.log 2>&1 && [ -z "$(find $T/etc -type f)" ] &&
   [ "$(stat -c %u /dev/vfio/$group)" = 0 ] && [ ! -e $T/state/lab/host-setup.json ]; then
  ok "host-setup --undo removes its files and gives /dev/vfio/$group back to root"
else not_ok "host-setup --undo: $(tr '\n' ' ' < $T/hs-undo.log) $(find $T/etc -type f)"; fi
"$QL" unbind "$GPU" > $T/unbind.log 2>&1
expect_driver "user: unbind gives the device back to e1000e" "$GPU" e1000e

# ---- vBIOS: the stand-in's real ROM BAR through sysfs ----
romfile=/usr/lib/ipxe/qemu/efi-e1000e.rom   # what L1's QEMU put behind the e1000e's ROM BAR
if "$QL" rom dump "$GPU" $T/dumped.rom > $T/dump.log 2>&1 && cmp -s $T/dumped.rom "$romfile"; then
  ok "rom dump reads the ROM BAR through sysfs, byte for byte ($(stat -c %s $T/dumped.rom) bytes)"
else not_ok "rom dump: $(tr '\n' ' ' < $T/dump.log)"; fi
if ! cat /sys/bus/pci/devices/$GPU/rom > /dev/null 2>&1; then ok "rom dump disables the ROM BAR again"
else not_ok "the ROM BAR is still enabled after rom dump"; fi
if "$QL" rom info "$GPU" > $T/info.log 2>&1 && grep -q "matches the device 8086:10d3" $T/info.log &&
   grep -q "image 1 at 0x12600: EFI" $T/info.log; then
  ok "rom info BDF walks the device's ROM and matches its ids"
else not_ok "rom info $GPU: $(tr '\n' ' ' < $T/info.log)"; fi
expect_driver "rom dump and info leave the device on its driver" "$GPU" e1000e

# ---- detach and attach while an L3 guest runs ----
wait_serial() { # TEXT SECONDS: the running VM's console says TEXT
  local i; for ((i = 0; i < $2 * 2; i++)); do
    tr -d '\r' < "$rt/serial.log" 2>/dev/null | grep -qF "$1" && return 0; sleep 0.5; done; return 1
}
last_pci_now() { tr -d '\r' < "$rt/serial.log" | grep '^QL: pci-now' | tail -n 1; }
count_pci_now() { tr -d '\r' < "$rt/serial.log" | grep -c '^QL: pci-now'; }
wait_pci_change() { # COUNT-BEFORE SECONDS: a new 'QL: pci-now' line
  local i; for ((i = 0; i < $2 * 2; i++)); do [ "$(count_pci_now)" -gt "$1" ] && return 0; sleep 0.5; done; return 1
}
in_query_pci() { "$QL" qmp lab query-pci | grep -c '"qdev_id" : "hostdev-gpu"'; }
write_profile hot "kernel=$QL_BUILD/guest/vmlinuz
initrd=$QL_BUILD/guest/initrd.img
append=console=ttyS0 quiet panic=-1 ql.mode=hotplug" <<PROFILE
[cpu]
cores=1
[net lan]
mode=none
[pci gpu]
host=$GPU
PROFILE
t0=$(now_ms)
if "$QL" start hot --detach > $T/hot.log 2>&1 && wait_serial "QL: ready for hotplug" 900 && wait_serial "QL: pci-now" 30; then
  info "hotplug: the L3 guest was up after $(( ($(now_ms) - t0) / 1000 )) s: $(last_pci_now)"
  if last_pci_now | grep -q " 01:00.0 "; then ok "hotplug: the guest has the device at 01:00.0"
  else not_ok "hotplug: the guest has no 01:00.0: $(last_pci_now)"; fi
  seen=$(count_pci_now)
  t0=$(now_ms)
  if "$QL" detach lab gpu --timeout 300 > $T/detach.log 2>&1; then
    ok "detach: the guest let go in $(( $(now_ms) - t0 )) ms: $(tr '\n' ' ' < $T/detach.log)"
  else not_ok "detach: $(tr '\n' ' ' < $T/detach.log)"; fi
  expect_driver "detach: the device is back on e1000e while the VM runs" "$GPU" e1000e
  [ "$(in_query_pci)" = 0 ] && ok "detach: query-pci no longer has it" || not_ok "detach: still in query-pci"
  if wait_pci_change "$seen" 10 && ! last_pci_now | grep -q " 01:00.0 "; then ok "detach: the guest's own sysfs no longer has 01:00.0"
  else not_ok "detach: the guest still lists: $(last_pci_now)"; fi
  if ! grep -q "\"device\" : \"$GPU\"" "$rt/journal.json" 2>/dev/null; then ok "detach: the journal no longer holds its bind"
  else not_ok "detach: the journal still binds $GPU"; fi
  "$QL" status lab | sed 's/^/LAB: info   /'
  seen=$(count_pci_now)
  if "$QL" attach lab gpu > $T/attach.log 2>&1; then ok "attach: $(tr '\n' ' ' < $T/attach.log)"
  else not_ok "attach: $(tr '\n' ' ' < $T/attach.log)"; fi
  expect_driver "attach: the device is on vfio-pci again" "$GPU" vfio-pci
  [ "$(in_query_pci)" = 1 ] && ok "attach: query-pci has it again" || not_ok "attach: not in query-pci"
  if qmp "$rt/qmp.sock" wait-pci 60 "0=8086:10d3" > /dev/null; then ok "attach: at 01:00.0 behind 00:1c.0, as before"
  else not_ok "attach: not at 01:00.0"; fi
  wait_pci_change "$seen" 60
  if last_pci_now | grep -q " 01:00.0 "; then ok "attach: the guest sees 01:00.0 again"
  else not_ok "attach: the guest lists: $(last_pci_now)"; fi
  # kill -9 of the supervisor between a detach and an attach: recover leaves the host as before
  "$QL" detach lab gpu --timeout 300 > $T/detach2.log 2>&1 || not_ok "second detach: $(tr '\n' ' ' < $T/detach2.log)"
  qemu_pid=$(status_field qemu-pid)
  kill -9 "$(status_field supervisor-pid)"
  wait_gone "$qemu_pid" 30
  "$QL" recover lab > $T/recover2.log 2>&1
  expect_driver "kill -9 between detach and attach, then recover: the device is on e1000e" "$GPU" e1000e
  host_clean "kill -9 between detach and attach, then recover: nothing is left"
else
  not_ok "hotplug: the L3 guest did not come up: $(tr '\n' ' ' < $T/hot.log) $(tr -d '\r' < $rt/serial.log 2>/dev/null | tail -n 5 | tr '\n' '|')"
fi
"$QL" kill lab > /dev/null 2>&1; "$QL" recover lab > /dev/null 2>&1
expect_driver "hotplug: the device ends on e1000e" "$GPU" e1000e

# ---- rom-acpi: an L3 guest evaluates _ROM, for both of QEMU 7.2's hotplug modes ----
rom_profile() { # FILE [vm] EXTRA-LINES DEVICE-ID
  write_profile "$1" "$2" <<PROFILE
[cpu]
cores=1
[net lan]
mode=none
[pci gpu]
host=$GPU
vendor=10de
device=$3
sub-vendor=1028
sub-device=0825
rom=$T/fx/rom.bin
rom-acpi=true
[acpi]
fake-battery=true
PROFILE
}

# a ROM for another device: refused before anything on the host changes
rom_profile rom-wrong "" 1bb6
if ! "$QL" start rom-wrong > $T/rom-wrong.log 2>&1 &&
   grep -q "rom-wrong.ini:.*\[pci gpu\] rom: '$T/fx/rom.bin' is not this device's ROM: the ROM is for 10de:1c20, the device is 10de:1bb6 (with vendor=/device= applied)" $T/rom-wrong.log; then
  ok "a ROM for another device is refused at start, naming the profile line"
else not_ok "wrong ROM: $(tr '\n' ' ' < $T/rom-wrong.log)"; fi
"$QL" kill lab > /dev/null 2>&1   # in case it did start
expect_driver "wrong ROM: the device was not touched" "$GPU" e1000e
host_clean "wrong ROM: nothing is left"

serial=$T/state/lab/serial.log   # the last run's console, kept by qlaunch
check_serial() { # WHAT LINE
  if tr -d '\r' < $serial | grep -qF "$2"; then ok "rom-$mode: $1"; else not_ok "rom-$mode: $1: no '$2'"; fi
}
for mode in acpi native; do
  rom_profile rom-$mode "pci-hotplug=$mode
kernel=$QL_BUILD/guest/vmlinuz
initrd=$QL_BUILD/guest/initrd.img
append=console=ttyS0 quiet panic=-1 ql.mode=acpi-check ql.rompath=_SB.PCI0.SE0.S00 ql.romsize=8192" 1c20
  variant=$("$QL" acpi ssdt rom-$mode -o $T/rom-$mode.aml 2>&1 | grep -o 'Scope \\_SB.PCI0.SE0.S00\|Device \\_SB.PCI0.SE0.S00')
  want=Scope; [ $mode = native ] && want=Device   # QEMU 7.2 leaves S00 out with native hotplug
  if [ "$variant" = "$want \\_SB.PCI0.SE0.S00" ]; then ok "rom-$mode: the SSDT has $variant"
  else not_ok "rom-$mode: the SSDT has '$variant', expected $want"; fi
  t0=$(now_ms)
  if "$QL" start rom-$mode --detach > $T/rom-$mode.log 2>&1; then
    # the L3 guest reports and powers off; under TCG in TCG that takes minutes
    if ! wait_gone "$(status_field supervisor-pid)" 600; then
      not_ok "rom-$mode: the L3 guest did not power off in 600 s; its console: $(tr -d '\r' < $rt/serial.log | tail -n 15 | tr '\n' '|')"
      "$QL" kill lab > /dev/null 2>&1
    fi
    info "rom-$mode: the L3 guest ran for $(( ($(now_ms) - t0) / 1000 )) s"
  else not_ok "rom-$mode: start: $(tail -n 5 $T/rom-$mode.log | tr '\n' ' ')"; fi
  tr -d '\r' < $serial 2>/dev/null | grep '^QL: ' | grep -v '^QL: pci 00:' | sed "s/^/LAB: info   [$mode] /"
  check_serial "the guest sees the overridden ids behind the root port" "QL: pci 01:00.0 10de:1c20"
  check_serial "the fw_cfg file is the ROM, byte for byte" "QL: fw_cfg opt/org.qlaunch/gpu-rom 8192 bytes md5 $rom_md5"
  check_serial "qlaunch's SSDT is among the guest's ACPI tables" "QL: table SSDT QLSSDT"
  if [ -e "$QL_BUILD/guest/romeval/romeval.ko" ]; then
    check_serial "_ROM at \\_SB.PCI0.SE0.S00 returns the ROM, byte for byte" "QL: rom _SB.PCI0.SE0.S00 8192 bytes md5 $rom_md5"
  else ok "rom-$mode: _ROM returns the ROM # SKIP no romeval.ko (tests/guest/mkguest.sh could not fetch the guest kernel's headers)"; fi
  check_serial "the battery is in /sys/bus/acpi/devices" "QL: acpi-device PNP0C0A:00 \\_SB_.PCI0.SF8_.BAT0 status 31"
  if tr -d '\r' < $serial | grep -q '^QL: acpi-check done' && ! grep -q '^QL: acpi-error' $serial; then
    ok "rom-$mode: no ACPI errors in the guest's kernel log"
  else not_ok "rom-$mode: ACPI errors: $(grep '^QL: acpi-error' $serial | tr '\n' ' ')"; fi
  expect_driver "rom-$mode: the device is back on e1000e" "$GPU" e1000e
  host_clean "rom-$mode: nothing is left"
done

# ---- [mdev]: made through sysfs, passed through, removed ----
. "$here/mdev.sh"
exit 0
