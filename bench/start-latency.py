#!/usr/bin/env python3
"""exec -> running: 'qlaunch start --detach' against bare QEMU with the same argv.

Both are measured the same way: from exec until the QMP socket (QEMU's own
for bare QEMU, the supervisor's relay for qlaunch) answers query-status with
"running".  Bare QEMU gets qlaunch's own argv
(from 'qlaunch argv') without -S and without the supervisor's inherited
sockets.  Runs are interleaved; prints each median and the median ratio.
Usage: bench/start-latency.py [ROUNDS] [PROFILE]   (needs build/ and build/guest)
"""
import os, shlex, shutil, signal, statistics, subprocess, sys, time

from qlbench import env, qlaunch, root, tmp, wait_running

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
profile = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "profiles", "test-ignore-acpi.ini")


def bare_argv():
    out = subprocess.run([qlaunch, "argv", profile], env=env, capture_output=True, text=True, check=True).stdout
    args = [shlex.split(line)[0] for line in out.splitlines()]
    sock = os.path.join(tmp, "bare.sock")
    result, i = [], 0
    while i < len(args):
        a = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else ""
        if a == "-S":
            i += 1
            continue
        if a == "-chardev" and "fd=3" in nxt:
            # the supervisor's monitor and its -mon: bare QEMU gets a socket of its own
            result += [a, "socket,id=qmp,path=%s,server=on,wait=off" % sock, "-mon", "chardev=qmp,mode=control"]
            i += 4
            continue
        if a == "-chardev" and "fd=4" in nxt:
            result += [a, "file,id=serial0,path=%s" % os.path.join(tmp, "bare-serial.log")]
            i += 2
            continue
        result.append(a)
        i += 1
    return result, sock


def run_bare(argv, sock):
    if os.path.exists(sock):
        os.unlink(sock)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_running(sock)
    dt = time.monotonic() - t0
    p.send_signal(signal.SIGKILL)
    p.wait()
    return dt


def run_qlaunch(name):
    sock = os.path.join(env["QLAUNCH_RUNTIME_DIR"], name, "qmp.sock")
    t0 = time.monotonic()
    p = subprocess.Popen([qlaunch, "start", "--detach", profile], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_running(sock)
    dt = time.monotonic() - t0
    p.wait()
    subprocess.run([qlaunch, "kill", name], env=env, capture_output=True)
    return dt


def main():
    subprocess.run([qlaunch, "status", "--json"], env=env, capture_output=True)  # warm the page cache
    argv, sock = bare_argv()
    vm_name = [a for a in argv if a.startswith("guest=")][0].split(",")[0][len("guest="):]
    bare, ql = [], []
    for r in range(rounds):
        bare.append(run_bare(argv, sock))
        ql.append(run_qlaunch(vm_name))
        print("round %2d: bare %.1f ms, qlaunch %.1f ms" % (r + 1, bare[-1] * 1e3, ql[-1] * 1e3), flush=True)
    mb, mq = statistics.median(bare), statistics.median(ql)
    print("median bare QEMU: %.1f ms" % (mb * 1e3))
    print("median qlaunch:   %.1f ms" % (mq * 1e3))
    print("ratio qlaunch/bare: %.3f" % (mq / mb))
    shutil.rmtree(tmp, ignore_errors=True)


main()
