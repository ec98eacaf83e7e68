#!/usr/bin/env python3
"""A CPU-bound loop in the guest (ql.mode=spin), pinned vCPU against unpinned,
with and without a noisy neighbour on the host (one busy process per host
CPU, at the same priority, not pinned), interleaved in one run.  The time is
taken on the host between the guest's "spin start" and "spin done" lines on
the serial console, so boot and shutdown are not in it.
Usage: bench/pinning.py [ROUNDS] [SPIN]
"""
import os, statistics, subprocess, sys, time

from qlbench import env, qlaunch, tmp, write_profile

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
spin = int(sys.argv[2]) if len(sys.argv) > 2 else 300000
ncpu = os.cpu_count()
last = ncpu - 1


def spin_time(name):
    p = subprocess.Popen([qlaunch, "start", os.path.join(tmp, name + ".ini")], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    t0 = t1 = None
    for line in p.stdout:
        if "QL: spin start" in line:
            t0 = time.monotonic()
        elif "QL: spin done" in line:
            t1 = time.monotonic()
    p.wait()
    return t1 - t0


def noise():
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(ncpu)]


def main():
    append = "console=ttyS0 quiet panic=-1 ql.mode=spin ql.spin=%d" % spin
    write_profile("unpinned", "[cpu]\ncores = 1\n[memory]\nsize = 256M\n", append)
    write_profile("pinned", "[cpu]\ncores = 1\npin = %d\nemulator-pin = 0-%d\n[memory]\nsize = 256M\n"
                  % (last, max(last - 1, 0)), append)
    results = {}
    for noisy in (False, True):
        for r in range(rounds):
            for name in ("unpinned", "pinned"):
                procs = noise() if noisy else []
                try:
                    dt = spin_time(name)
                finally:
                    for p in procs:
                        p.kill()
                        p.wait()
                results.setdefault((noisy, name), []).append(dt)
                print("%s, %s: %.2f s" % ("noisy" if noisy else "quiet", name, dt), flush=True)
    for noisy in (False, True):
        u = statistics.median(results[(noisy, "unpinned")])
        p = statistics.median(results[(noisy, "pinned")])
        print("%s host: median unpinned %.2f s, pinned %.2f s (vCPU on CPU %d), ratio pinned/unpinned %.3f"
              % ("noisy" if noisy else "quiet", u, p, last, p / u))


main()
