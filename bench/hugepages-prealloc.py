#!/usr/bin/env python3
"""exec -> running for a 2 GiB guest on 2 MiB hugepages: prealloc-threads=1
against qlaunch's default (one thread per pinned vCPU, in a thread context on
the vCPUs' CPUs), interleaved in one run.  The pool is reserved once before
(so the kernel's page allocation is not measured) and restored after.
Needs root; runs itself in a private mount namespace with its own hugetlbfs.
Usage: bench/hugepages-prealloc.py [ROUNDS]
"""
import os, shutil, statistics, subprocess, sys, time

POOL = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

if os.environ.get("QL_BENCH_NS") != "1":
    os.execvpe("unshare", ["unshare", "-m", "--propagation", "private", sys.executable] + sys.argv,
               dict(os.environ, QL_BENCH_NS="1"))

from qlbench import qmp_socket, run, tmp, wait_running, write_profile, qlaunch, env  # noqa: E402

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ncpu = os.cpu_count()
mount = os.path.join(tmp, "hugepages")
os.mkdir(mount)
subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "none", mount], check=True)
pool_before = int(open(POOL).read())


def set_pool(pages):
    with open(POOL, "w") as f:
        f.write("%d\n" % pages)


def start(name):
    t0 = time.monotonic()
    subprocess.run([qlaunch, "start", "--detach", os.path.join(tmp, name + ".ini")], env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wait_running(qmp_socket(name))
    dt = time.monotonic() - t0
    run("kill", name)
    return dt


def main():
    pin = ",".join(str(c) for c in range(ncpu))
    common = "[cpu]\ncores = %d\npin = %s\n[memory]\nsize = 2G\nhugepages = 2M\n" % (ncpu, pin)
    write_profile("one", common + "prealloc-threads = 1\n")
    write_profile("many", common)
    set_pool(pool_before + 1024)
    try:
        one, many = [], []
        for r in range(rounds):
            one.append(start("one"))
            many.append(start("many"))
            print("round %d: 1 thread %.0f ms, %d threads %.0f ms" % (r + 1, one[-1] * 1e3, ncpu, many[-1] * 1e3),
                  flush=True)
        m1, mn = statistics.median(one), statistics.median(many)
        print("median prealloc-threads=1: %.0f ms" % (m1 * 1e3))
        print("median prealloc-threads=%d (default with %d pinned vCPUs): %.0f ms" % (ncpu, ncpu, mn * 1e3))
        print("ratio default/1-thread: %.3f" % (mn / m1))
    finally:
        set_pool(pool_before)
        subprocess.run(["umount", mount])
        shutil.rmtree(tmp, ignore_errors=True)


main()
