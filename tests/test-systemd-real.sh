#!/bin/bash
# A VM as a unit under a real systemd: this machine's PID 1 is not systemd,
# so the host's own root is booted as a throwaway container
# (systemd-nspawn --volatile=yes: a tmpfs root with the host's /usr, and the
# source and build trees bound read-only; everything written is gone after),
# and inside it systemd starts and stops the test VM through the unit
# 'qlaunch unit --system --install' writes, and through the generator.  TAP.
set -u
src=${QL_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
build=${QL_BUILD_ROOT:-$src/build}
QL=$build/launcher/qlaunch
generator=$build/launcher/qlaunch-generator
machine=qltest-$$
n=0
failed=0

plan() { echo "1..$1"; }
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n - $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root (systemd-nspawn)"
command -v systemd-nspawn >/dev/null || skip_all "systemd-nspawn is not installed (apt install systemd-container)"
[ -s "$build/guest/vmlinuz" ] || skip_all "the test guest is not built: run tests/guest/mkguest.sh build/guest"
[ -x "$generator" ] || skip_all "no $generator"

log=$(mktemp -d /tmp/qlsysd.XXXXXX)
# --keep-unit/--register=no: no machined or host systemd needed
# the user manager is spawned through PAM: the host's configuration of it
binds=(--bind-ro="$src" --bind-ro=/etc/pam.d --bind-ro=/etc/security)
case "$build" in "$src"/*) ;; *) binds+=(--bind-ro="$build") ;; esac
# an empty /etc is a first boot: its wizard would wait for a key
systemd-nspawn -D / --volatile=yes "${binds[@]}" --boot -M "$machine" --register=no --keep-unit --quiet \
  -- systemd.firstboot=off systemd.mask=systemd-firstboot.service < /dev/null > "$log/console" 2>&1 &
nspawn=$!
cleanup() {
  kill -TERM "$nspawn" 2>/dev/null   # nspawn asks the container's systemd to power off
  for _ in $(seq 1 100); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$nspawn" 2>/dev/null
  rm -rf "$log"
}
trap cleanup EXIT

# the container's PID 1, seen from here
leader=
for _ in $(seq 1 200); do
  leader=$(pgrep -P "$nspawn" -x systemd | head -n1)
  [ -n "$leader" ] && break
  sleep 0.1
done
[ -n "$leader" ] || skip_all "systemd-nspawn did not boot the host's root here: $(tail -n 3 "$log/console" | tr '\n' ' ')"
# in the container, with its environment rather than this test's
inside() { nsenter --target "$leader" --mount --uts --ipc --pid --net -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
# its manager's socket comes a moment after PID 1 does
for _ in $(seq 1 300); do
  state=$(timeout 120 nsenter --target "$leader" --mount --uts --ipc --pid --net -- systemctl is-system-running --wait 2>&1)
  case "$state" in *"Failed to connect"*) sleep 0.2 ;; *) break ;; esac
done
case "$state" in
  running|degraded) ;;
  *) skip_all "the container's systemd did not come up ($state)" ;;
esac

plan 13
ok "systemd booted in a container ($state; $(inside systemctl --version | head -n1))"

# ---- qlaunch unit --system --install, then systemctl start/stop ----
# a guest that powers off on the ACPI power button, in root's profile dir
# (the container's /etc is its own tmpfs)
write_profile() { # NAME [EXTRA-VM-LINES]
  inside mkdir -p /etc/qlaunch
  printf '[vm]\nname = %s\n%saccel = tcg\nfirmware = bios\nkernel = %s/guest/vmlinuz\ninitrd = %s/guest/initrd.img\n%s\n[memory]\nsize = 256M\n[shutdown]\ntimeout = 60\n' \
    "$1" "${2:-}" "$build" "$build" "append = console=ttyS0 quiet panic=-1 ql.mode=acpi" |
    inside sh -c "cat > /etc/qlaunch/$1.ini"
}
write_profile realvm
if inside "$QL" unit --system --install realvm > "$log/unit.log" 2>&1 &&
   inside systemctl daemon-reload && inside systemd-analyze verify --man=no /etc/systemd/system/qlaunch-realvm.service \
     > "$log/verify.log" 2>&1; then
  ok "qlaunch unit --system --install: a unit systemd loads and verifies"
else not_ok "unit install: $(cat "$log/unit.log" "$log/verify.log" | tr '\n' ' ')"; fi

t0=$(date +%s%N)
if timeout 300 nsenter --target "$leader" --mount --uts --ipc --pid --net -- env -i PATH=/usr/bin:/bin \
     systemctl start qlaunch-realvm.service > "$log/start.log" 2>&1; then
  ok "systemctl start returns once the guest runs (Type=notify, READY=1) after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
else not_ok "systemctl start: $(cat "$log/start.log") $(inside systemctl status --no-pager qlaunch-realvm.service | tr '\n' ' ')"; fi
status=$(inside "$QL" status realvm 2>&1 | head -n1)
main_pid=$(inside systemctl show -P MainPID qlaunch-realvm.service)
sup_pid=$(inside "$QL" status --json realvm | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d,list) else d; print(d.get("supervisor-pid",""))')
if echo "$status" | grep -q ": running" && [ "$main_pid" = "$sup_pid" ]; then
  ok "the unit is the VM: running, and its MainPID is the supervisor ($main_pid)"
else not_ok "while running: '$status', MainPID $main_pid, supervisor $sup_pid"; fi
unit_status=$(inside systemctl show -P StatusText qlaunch-realvm.service)
[ "$unit_status" = running ] && ok "its status line says '$unit_status'" || not_ok "StatusText '$unit_status'"
if inside journalctl --no-pager -o verbose QLAUNCH_VM=realvm 2>/dev/null | grep -q "MESSAGE=realvm: running"; then
  ok "journalctl QLAUNCH_VM=realvm shows the VM's own trail"
else not_ok "journal: $(inside journalctl --no-pager -u qlaunch-realvm.service | tail -n 5 | tr '\n' ' ')"; fi

if timeout 300 nsenter --target "$leader" --mount --uts --ipc --pid --net -- env -i PATH=/usr/bin:/bin \
     systemctl stop qlaunch-realvm.service > "$log/stop.log" 2>&1 &&
   [ "$(inside systemctl show -P ActiveState qlaunch-realvm.service)" = inactive ] &&
   inside python3 -c 'import json,sys; d=json.load(open("/var/lib/qlaunch/realvm/last-exit.json")); sys.exit(d["exit-status"] != 0)'; then
  ok "systemctl stop runs the stop ladder: the guest powered off (exit status 0), the unit is inactive"
else not_ok "systemctl stop: $(cat "$log/stop.log") $(inside cat /var/lib/qlaunch/realvm/last-exit.json 2>&1 | tr '\n' ' ')"; fi
if ! inside test -e /run/qlaunch/realvm; then ok "nothing of the run is left in /run/qlaunch"
else not_ok "left: $(inside ls /run/qlaunch/realvm | tr '\n' ' ')"; fi

# ---- the template, under the system manager and under a user's ----
template=$build/systemd/qlaunch@.service.test
run_ladder() { # WHO DESCRIPTION SYSTEMCTL-ARGS... : start, check, stop
  local who=$1 what=$2; shift 2
  if timeout 300 nsenter --target "$leader" --mount --uts --ipc --pid --net -- "$@" start "$unit" > "$log/t.log" 2>&1 &&
     [ "$(nsenter --target "$leader" --mount --uts --ipc --pid --net -- "$@" show -P StatusText "$unit")" = running ]; then
    ok "$what: systemctl start $unit runs the VM"
  else not_ok "$what: start $unit: $(cat "$log/t.log") $(nsenter --target "$leader" --mount --uts --ipc --pid --net -- "$@" status --no-pager "$unit" 2>&1 | tr '\n' ' ')"; fi
  if timeout 300 nsenter --target "$leader" --mount --uts --ipc --pid --net -- "$@" stop "$unit" > "$log/t.log" 2>&1 &&
     inside python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["exit-status"] != 0)' "$who"; then
    ok "$what: systemctl stop $unit: the guest powered off"
  else not_ok "$what: stop $unit: $(cat "$log/t.log") $(inside cat "$who" 2>&1 | tr '\n' ' ')"; fi
}
inside cp "$template" /etc/systemd/system/qlaunch@.service
inside systemctl daemon-reload
unit=qlaunch@realvm.service
run_ladder /var/lib/qlaunch/realvm/last-exit.json "system manager" env -i PATH=/usr/bin:/bin systemctl

# a user of the container's own, with its service manager (user@UID.service)
inside useradd -m qluser
uid=$(inside id -u qluser)
gid=$(inside id -g qluser)
# setpriv, not runuser/su: the container's /etc has no PAM configuration
as_user=(setpriv --reuid="$uid" --regid="$gid" --clear-groups env -i PATH=/usr/bin:/bin HOME=/home/qluser
         XDG_RUNTIME_DIR=/run/user/$uid)
inside systemctl start "user@$uid.service" > "$log/user.log" 2>&1
for _ in $(seq 1 100); do inside test -S "/run/user/$uid/systemd/private" && break; sleep 0.2; done
inside test -S "/run/user/$uid/systemd/private" ||
  echo "# user@$uid.service did not start: $(cat "$log/user.log"; inside systemctl status --no-pager "user@$uid.service" | tail -n 5 | tr '\n' ' ')"
inside mkdir -p /etc/systemd/user
inside cp "$template" /etc/systemd/user/qlaunch@.service
inside "${as_user[@]}" mkdir -p /home/qluser/.config/qlaunch
printf '[vm]\nname = uvm\naccel = tcg\nfirmware = bios\nkernel = %s/guest/vmlinuz\ninitrd = %s/guest/initrd.img\nappend = console=ttyS0 quiet panic=-1 ql.mode=acpi\n[memory]\nsize = 256M\n[shutdown]\ntimeout = 60\n' \
  "$build" "$build" | inside "${as_user[@]}" sh -c 'cat > /home/qluser/.config/qlaunch/uvm.ini'
user_systemctl=("${as_user[@]}" systemctl --user)
inside "${user_systemctl[@]}" daemon-reload
unit=qlaunch@uvm.service
run_ladder /home/qluser/.local/state/qlaunch/uvm/last-exit.json "user manager (uid $uid, no root)" \
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${user_systemctl[@]}"

# ---- the generator: a profile with autostart=true in /etc/qlaunch becomes a unit ----
inside mkdir -p /etc/systemd/system-generators
write_profile autovm "autostart = true
"
inside ln -sf "$generator" /etc/systemd/system-generators/qlaunch-generator
inside systemctl daemon-reload
if inside systemctl cat qlaunch-autovm.service > "$log/gen.log" 2>&1 &&
   inside test -L /run/systemd/generator/multi-user.target.wants/qlaunch-autovm.service; then
  ok "the generator made qlaunch-autovm.service, wanted by multi-user.target"
else not_ok "generator: $(cat "$log/gen.log" | tr '\n' ' ') $(inside ls -R /run/systemd/generator 2>&1 | tr '\n' ' ')"; fi
exit $failed
