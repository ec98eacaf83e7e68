#!/usr/bin/env python3
"""Start and forced-stop latency: qlaunch against bare QEMU (and libvirt when
'virsh -c qemu:///system' answers), the same guest, interleaved rounds.

start: from exec until the VM runs.  Bare QEMU and qlaunch are measured the
same way, until their QMP socket (QEMU's own for bare QEMU, the supervisor's
relay for qlaunch) answers query-status with "running"; libvirt until
'virsh start' returns (libvirt returns once it has sent 'cont').
stop by force: from the command until QEMU is gone.  Bare QEMU: QMP 'quit'
until waitpid() returns; qlaunch: 'qlaunch kill' until it returns (it returns
once the supervisor has given the host back and exited); libvirt: 'virsh
destroy' until it returns.

Bare QEMU gets qlaunch's own argv (from 'qlaunch argv') without -S and without
the supervisor's inherited sockets; libvirt gets a transient-free defined
domain with the same machine (q35, TCG, SeaBIOS, same RAM, vCPUs, kernel,
initrd and append line), defined before and undefined after the run.
Prints each round, each median, and the median ratios against bare QEMU.
Usage: bench/start-latency.py [ROUNDS] [PROFILE]   (needs build-rel/ or build/, and build/guest)
QLBENCH_BASELINE=PATH adds another qlaunch (an older build, say) as one more
arm of the same interleaved rounds, so that two builds are compared on one
machine at one time.
"""
import json, os, shlex, shutil, signal, socket, statistics, subprocess, sys, time

from qlbench import env, qlaunch, root, tmp, wait_running

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
profile = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "profiles", "test-ignore-acpi.ini")
LIBVIRT_NAME = "qlbench-start-latency"


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


def qmp_quit(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile("rwb")
    f.readline()
    f.write(b'{"execute": "qmp_capabilities"}\n')
    f.flush()
    f.readline()
    t0 = time.monotonic()
    f.write(b'{"execute": "quit"}\n')
    f.flush()
    return s, t0


def run_bare(argv, sock):
    if os.path.exists(sock):
        os.unlink(sock)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_running(sock)
    start = time.monotonic() - t0
    s, t1 = qmp_quit(sock)
    p.wait()
    stop = time.monotonic() - t1
    s.close()
    return start, stop


def run_qlaunch(name, binary=qlaunch):
    sock = os.path.join(env["QLAUNCH_RUNTIME_DIR"], name, "qmp.sock")
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "start", "--detach", profile], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_running(sock)
    start = time.monotonic() - t0
    p.wait()
    t1 = time.monotonic()
    subprocess.run([binary, "kill", name], env=env, capture_output=True, check=True)
    stop = time.monotonic() - t1
    return start, stop


def virsh(*args, check=True):
    r = subprocess.run(["virsh", "-q", "-c", "qemu:///system"] + list(args), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("virsh %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def libvirt_available():
    if shutil.which("virsh") is None:
        return "virsh is not installed (apt-get install libvirt-daemon-system libvirt-clients)"
    try:
        r = virsh("version", check=False)
    except OSError as e:
        return str(e)
    if r.returncode != 0:
        return "virsh -c qemu:///system does not answer: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return None


def libvirt_xml(argv):
    """The machine of the bare argv as a libvirt domain."""
    def value(opt):
        return argv[argv.index(opt) + 1] if opt in argv else None
    mem = value("-m").split(",")[0].rstrip("M")
    vcpus = (value("-smp") or "1").split(",")[0]
    kernel, initrd, append = value("-kernel"), value("-initrd"), value("-append")
    emulator = argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0])
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return """<domain type='qemu'>
  <name>%s</name>
  <memory unit='MiB'>%s</memory>
  <vcpu>%s</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type>
    <kernel>%s</kernel><initrd>%s</initrd><cmdline>%s</cmdline></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices><emulator>%s</emulator>
    <serial type='file'><source path='/var/log/libvirt/qemu/%s-serial.log'/></serial>
    <video><model type='none'/></video>
    <memballoon model='none'/></devices>
</domain>
""" % (LIBVIRT_NAME, mem, vcpus, esc(kernel), esc(initrd), esc(append or ""), esc(emulator), LIBVIRT_NAME)


def run_libvirt():
    t0 = time.monotonic()
    virsh("start", LIBVIRT_NAME)
    start = time.monotonic() - t0
    t1 = time.monotonic()
    virsh("destroy", LIBVIRT_NAME)
    stop = time.monotonic() - t1
    return start, stop


def report(label, samples, base):
    start = statistics.median(s for s, _ in samples)
    stop = statistics.median(s for _, s in samples)
    if base is None:
        print("median %-10s start %7.1f ms   stop %7.1f ms" % (label, start * 1e3, stop * 1e3))
        return start, stop
    print("median %-10s start %7.1f ms (%.3f x bare)   stop %7.1f ms (%.3f x bare)" %
          (label, start * 1e3, start / base[0], stop * 1e3, stop / base[1]))
    return start, stop


def main():
    subprocess.run([qlaunch, "status", "--json"], env=env, capture_output=True)  # warm the page cache
    argv, sock = bare_argv()
    vm_name = [a for a in argv if a.startswith("guest=")][0].split(",")[0][len("guest="):]
    why_not = libvirt_available()
    if why_not:
        print("libvirt arm skipped: " + why_not)
    else:
        xml = os.path.join(tmp, "libvirt.xml")
        with open(xml, "w") as f:
            f.write(libvirt_xml(argv))
        virsh("destroy", LIBVIRT_NAME, check=False)
        virsh("undefine", LIBVIRT_NAME, check=False)
        virsh("define", xml)
    baseline = os.environ.get("QLBENCH_BASELINE")
    bare, ql, lv, bl = [], [], [], []
    try:
        for r in range(rounds):
            bare.append(run_bare(argv, sock))
            # the two builds take turns going first
            if baseline and r % 2:
                bl.append(run_qlaunch(vm_name, baseline))
            ql.append(run_qlaunch(vm_name))
            if baseline and not r % 2:
                bl.append(run_qlaunch(vm_name, baseline))
            line = "round %2d: bare %.1f/%.1f ms, qlaunch %.1f/%.1f ms" % (
                r + 1, bare[-1][0] * 1e3, bare[-1][1] * 1e3, ql[-1][0] * 1e3, ql[-1][1] * 1e3)
            if baseline:
                line += ", baseline %.1f/%.1f ms" % (bl[-1][0] * 1e3, bl[-1][1] * 1e3)
            if not why_not:
                lv.append(run_libvirt())
                line += ", libvirt %.1f/%.1f ms" % (lv[-1][0] * 1e3, lv[-1][1] * 1e3)
            print(line + "  (start/stop)", flush=True)
    finally:
        if not why_not:
            virsh("destroy", LIBVIRT_NAME, check=False)
            virsh("undefine", LIBVIRT_NAME, check=False)
    base = report("bare QEMU", bare, None)
    report("qlaunch", ql, base)
    if bl:
        report("baseline", bl, base)
    if lv:
        report("libvirt", lv, base)
    shutil.rmtree(tmp, ignore_errors=True)


main()
