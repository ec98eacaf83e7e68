#!/usr/bin/env python3
"""What the supervisor costs while a VM idles: its RSS next to QEMU's, and its
wakeups per second (context switches of all its threads, from /proc) next to
QEMU's own, over one window; then the system calls strace sees in a second
window.  With CLIENTS > 0, that many QMP clients (negotiated, idle, as an open
console is) and one 'qlaunch events' stay connected to the supervisor's relay
through both windows.  Goal: RSS <= 4 MiB and no periodic timers (0 wakeups/s).
Usage: bench/supervisor-idle.py [SECONDS] [CLIENTS]
"""
import json, os, shutil, socket, subprocess, sys, time

from qlbench import run, state, tmp, write_profile, qmp_socket, wait_running

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20
clients = int(sys.argv[2]) if len(sys.argv) > 2 else 0


def idle_client(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile("rwb")
    f.readline()
    f.write(b'{"execute": "qmp_capabilities"}\n')
    f.flush()
    assert "return" in json.loads(f.readline())
    return s


def status_field(pid, field, task=None):
    path = "/proc/%d/task/%d/status" % (pid, task) if task else "/proc/%d/status" % pid
    for line in open(path):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def switches(pid):
    total = 0
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            total += status_field(pid, "voluntary_ctxt_switches", int(task))
            total += status_field(pid, "nonvoluntary_ctxt_switches", int(task))
        except (OSError, KeyError):
            pass
    return total


def main():
    path = write_profile("idle", "[cpu]\ncores = 1\n[memory]\nsize = 256M\n")
    run("start", "--detach", path)
    wait_running(qmp_socket("idle"))
    held = [idle_client(qmp_socket("idle")) for _ in range(clients)]
    events = subprocess.Popen([run.__globals__["qlaunch"], "events", "idle"], env=run.__globals__["env"],
                              stdout=subprocess.DEVNULL) if clients else None
    try:
        time.sleep(15)   # past the guest's boot (TCG)
        s = state("idle")
        sup, qemu = s["supervisor-pid"], s["qemu-pid"]
        threads = len(os.listdir("/proc/%d/task" % sup))
        sup0, qemu0 = switches(sup), switches(qemu)
        time.sleep(seconds)
        sup_rate = (switches(sup) - sup0) / seconds
        qemu_rate = (switches(qemu) - qemu0) / seconds
        sup_rss, qemu_rss = status_field(sup, "VmRSS"), status_field(qemu, "VmRSS")
        rollup = {l.split(":")[0]: int(l.split()[1]) for l in open("/proc/%d/smaps_rollup" % sup) if "kB" in l}
        print("%d idle QMP clients and %d 'qlaunch events' connected" % (clients, 1 if events else 0))
        print("supervisor: RSS %d KiB (%.2f MiB): %d KiB its own (anonymous), %d KiB shared library pages; "
              "PSS %d KiB; %d threads, %.2f wakeups/s" % (sup_rss, sup_rss / 1024, status_field(sup, "RssAnon"),
                                                          status_field(sup, "RssFile"), rollup["Pss"], threads,
                                                          sup_rate))
        print("QEMU:       RSS %d KiB, %.1f wakeups/s" % (qemu_rss, qemu_rate))
        print("ratio supervisor/QEMU: RSS %.3f, wakeups %.4f" % (sup_rss / qemu_rss, sup_rate / max(qemu_rate, 1e-9)))
        trace = subprocess.run(["timeout", "-s", "INT", str(int(seconds)), "strace", "-f", "-c", "-p", str(sup)],
                               capture_output=True, text=True)
        lines = [l for l in trace.stderr.splitlines() if l.strip()]
        print("strace -f -c of the supervisor over %d s:" % seconds)
        print("\n".join("  " + l for l in lines[-8:]))
    finally:
        if events:
            events.terminate()
            events.wait()
        for c in held:
            c.close()
        run("kill", "idle", check=False)
        shutil.rmtree(tmp, ignore_errors=True)


main()
