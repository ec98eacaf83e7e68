"""Shared by the benchmarks: qlaunch with runtime and state dirs of its own,
the test guest, profiles written on the fly, QMP polling."""
import atexit, json, os, shutil, socket, subprocess, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# benchmarks want an optimised build without sanitizers: meson setup build-rel --buildtype=release -Db_sanitize=none
qlaunch = os.environ.get("QLAUNCH_BIN", os.path.join(root, "build-rel", "launcher", "qlaunch"))
if not os.path.exists(qlaunch):
    qlaunch = os.path.join(root, "build", "launcher", "qlaunch")
guest = os.path.join(root, "build", "guest")
tmp = tempfile.mkdtemp(prefix="qlbench-")
# the runtime dir on tmpfs, as /run/qlaunch and $XDG_RUNTIME_DIR are; the state dir on disk, as /var/lib is
runtime = tempfile.mkdtemp(prefix="qlbench-run-", dir="/dev/shm")
atexit.register(shutil.rmtree, runtime, True)
env = dict(os.environ, QLAUNCH_RUNTIME_DIR=runtime, QLAUNCH_STATE_DIR=os.path.join(tmp, "state"))


def write_profile(name, sections, append="console=ttyS0 quiet panic=-1 ql.mode=ignore-acpi"):
    """A test-guest profile; sections: extra INI text."""
    path = os.path.join(tmp, name + ".ini")
    with open(path, "w") as f:
        f.write("[vm]\nname = %s\naccel = tcg\nfirmware = bios\nkernel = %s/vmlinuz\ninitrd = %s/initrd.img\n"
                "append = %s\n%s" % (name, guest, guest, append, sections))
    return path


def qmp_status(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile("rwb")
    f.readline()  # greeting
    for cmd in ("qmp_capabilities", "query-status"):
        f.write(json.dumps({"execute": cmd}).encode() + b"\n")
        f.flush()
        while True:
            msg = json.loads(f.readline())
            if "return" in msg or "error" in msg:
                break
    s.close()
    return msg.get("return", {}).get("status")


def wait_running(path, deadline=120.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if qmp_status(path) == "running":
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.0005)
    raise RuntimeError("no 'running' from " + path)


def qmp_socket(name):
    return os.path.join(env["QLAUNCH_RUNTIME_DIR"], name, "qmp.sock")


def run(*args, check=True):
    return subprocess.run([qlaunch] + list(args), env=env, capture_output=True, text=True, check=check)


def state(name):
    return json.loads(run("status", "--json", name).stdout)
