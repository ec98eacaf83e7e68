#!/usr/bin/env python3
"""qlaunch console, qmp and events against a real VM (real QEMU, real QMP
through the supervisor's relay).  The console is driven through a pty, as a
person would: answers, completion, history, an event arriving while a line is
half typed, raw QMP, QEMU's human monitor, several clients at once, and a
shutdown from the console.  TAP output."""
import json, os, pty, re, select, shutil, signal, subprocess, sys, tempfile, time

root = os.environ.get("QL_SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
qlaunch = os.environ.get("QL_QLAUNCH", os.path.join(root, "build", "launcher", "qlaunch"))
tmp = tempfile.mkdtemp(prefix="qlcon-")
env = dict(os.environ, QLAUNCH_RUNTIME_DIR=os.path.join(tmp, "run"), QLAUNCH_STATE_DIR=os.path.join(tmp, "state"),
           TERM="xterm", INPUTRC="/dev/null", HOME=tmp)
VM = "test-acpi"
PROFILE = os.path.join(root, "profiles", "test-acpi.ini")
results = []


def ql(*args, check=False, timeout=60):
    return subprocess.run([qlaunch] + list(args), env=env, capture_output=True, text=True, check=check, timeout=timeout)


class Console:
    """A qlaunch console on a pty, with expect-style reads."""

    def __init__(self):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(qlaunch, [qlaunch, "console", VM], env)
        self.seen = ""

    def read_until(self, pattern, timeout=15.0):
        end = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.seen)
            if m:
                got = self.seen[:m.end()]
                self.seen = self.seen[m.end():]
                return got
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r within %.0f s; the console said: %r" % (pattern, timeout, self.seen[-2000:]))
            r, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError("the console ended; it said: %r" % self.seen[-2000:])
                self.seen += data.decode(errors="replace")

    def send(self, text):
        os.write(self.fd, text.encode())

    def line(self, text, expect, timeout=15.0):
        self.send(text + "\r")
        return self.read_until(expect, timeout)

    def wait_exit(self, timeout=30.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            try:
                r, _, _ = select.select([self.fd], [], [], 0.2)
                if r:
                    self.seen += os.read(self.fd, 65536).decode(errors="replace")
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the console did not exit")


def test(name):
    def wrap(fn):
        results.append((name, fn))
        return fn
    return wrap


@test("console answers status, with completion of its commands and of QMP command names")
def t_answers():
    c = Console()
    c.read_until(VM + "> ")
    c.send("stat\t")
    c.read_until("status")
    c.line("", r"%s: running \(QEMU pid \d+" % VM)
    c.read_until(VM + "> ")
    c.send("execute query-uui\t")
    c.read_until("query-uuid")
    out = c.line("", r"%s> " % VM)
    assert '"UUID"' in out, out
    c.line("exit", r"\n")
    assert c.wait_exit() == 0


@test("raw QMP, 'execute' with key=value, 'hmp info pci', the PCI tree")
def t_raw_hmp_pci():
    c = Console()
    c.read_until(VM + "> ")
    out = c.line('{"execute": "query-status"}', r"%s> " % VM)
    assert '"status" : "running"' in out, out
    out = c.line("execute qom-get path=/machine property=type", r"%s> " % VM)
    assert "pc-q35" in out, out
    out = c.line("hmp info pci", r"%s> " % VM)
    assert "Host bridge" in out, out
    out = c.line("pci", r"%s> " % VM)
    assert "[0000:00]" in out and "Host bridge" in out, out
    out = c.line("execute nosuchcommand", r"%s> " % VM)
    assert "CommandNotFound" in out, out
    out = c.line("cpus", r"%s> " % VM)
    assert re.search(r"vCPU 0 +thread \d+ +host CPUs", out), out
    c.send("\x04")  # Ctrl-D leaves, the VM keeps running
    assert c.wait_exit() == 0
    assert "running" in ql("status", VM).stdout


@test("an event that arrives while a line is half typed is printed above it; the line survives")
def t_event_mid_line():
    c = Console()
    c.read_until(VM + "> ")
    c.send("stat")
    time.sleep(0.3)
    r = ql("qmp", VM, "stop")
    assert r.returncode == 0, r.stderr
    c.read_until(r"STOP\r\n")
    c.read_until(VM + "> stat")      # the prompt comes back with what was typed
    c.line("us", r"%s: paused" % VM)
    c.read_until(VM + "> ")
    out = c.line("resume", r"running\r\n")
    assert "RESUME" in out, out   # QEMU sends it before the reply
    c.line("exit", r"\n")
    assert c.wait_exit() == 0


@test("history is kept per VM, owner-only, and comes back with the up arrow")
def t_history():
    c = Console()
    c.read_until(VM + "> ")
    c.line("hmp info status", r"VM status: running")
    c.line("exit", r"\n")
    assert c.wait_exit() == 0
    path = os.path.join(env["QLAUNCH_STATE_DIR"], VM, "console-history")
    st = os.stat(path)
    assert st.st_mode & 0o077 == 0, oct(st.st_mode)
    assert "hmp info status" in open(path).read()
    c = Console()
    c.read_until(VM + "> ")
    c.send("\x1b[A")   # up: the last line (exit), up again: the one before
    c.send("\x1b[A")
    c.line("", r"VM status: running")
    c.line("exit", r"\n")
    assert c.wait_exit() == 0


@test("two consoles, 'qlaunch events' and 'qlaunch status' at the same time; every client sees the events")
def t_many_clients():
    a, b = Console(), Console()
    a.read_until(VM + "> ")
    b.read_until(VM + "> ")
    ev = subprocess.Popen([qlaunch, "events", "--json", VM], env=env, stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    st = ql("status", VM)
    assert st.returncode == 0 and "running" in st.stdout, st.stdout + st.stderr
    a.line("pause", r"paused\r\n")
    b.read_until(r"STOP\r\n")
    b.line("resume", r"running\r\n")
    a.read_until("RESUME")
    for expected in ("STOP", "RESUME"):
        line = ev.stdout.readline()
        assert json.loads(line)["event"] == expected, line
    ev.send_signal(signal.SIGINT)
    assert ev.wait(10) == 0
    for c in (a, b):
        c.line("exit", r"\n")
        assert c.wait_exit() == 0


@test("qlaunch qmp: the reply as JSON, exit status from it; bad commands refused before sending")
def t_qmp_verb():
    r = ql("qmp", VM, '{"execute": "query-name"}')
    assert r.returncode == 0 and json.loads(r.stdout)["return"]["name"] == VM, r.stdout + r.stderr
    r = ql("qmp", VM, "device_del", "id=nosuchdevice")
    assert r.returncode == 1 and json.loads(r.stdout)["error"]["class"] == "DeviceNotFound", r.stdout
    r = ql("qmp", VM, "query-status", "novalue")
    assert r.returncode == 2 and "not key=value" in r.stderr, r.stderr
    r = ql("qmp", "no-such-vm", "query-status")
    assert r.returncode == 1 and "is not running" in r.stderr, r.stderr


@test("usb-add and usb-del: a bad item is refused with the forms; no USB controller is an error with the fix")
def t_usb():
    c = Console()
    c.read_until(VM + "> ")
    out = c.line("usb-add 46d:c52", r"%s> " % VM)
    assert "is not VENDOR:PRODUCT (like 046d:c52b) or BUS-PORT" in out, out
    out = c.line("usb-add", r"%s> " % VM)
    assert "usage: usb-add VENDOR:PRODUCT|BUS-PORT" in out, out
    # test-acpi has no display, hence no xhci controller: QEMU says so, the console says what to do
    out = c.line("usb-add 046d:c52b", r"%s> " % VM)
    assert "usb.0" in out and "[usb] tablet=true or host=" in out, out
    out = c.line("usb-del usb-046d-c52b", r"%s> " % VM)
    assert "DeviceNotFound" in out or "not found" in out, out
    c.line("exit", r"\n")
    assert c.wait_exit() == 0


@test("'stop' in the console runs the stop ladder; the console says the VM ended and exits")
def t_stop():
    c = Console()
    c.read_until(VM + "> ")
    c.line("stop", r"stopping")
    c.read_until("the VM has ended", 60)
    assert c.wait_exit() == 0
    last = json.load(open(os.path.join(env["QLAUNCH_STATE_DIR"], VM, "last-exit.json")))
    assert last["exit-status"] == 0, last
    assert not os.path.exists(os.path.join(env["QLAUNCH_RUNTIME_DIR"], VM))


def main():
    print("1..%d" % len(results))
    if not os.path.exists(os.path.join(root, "build", "guest", "vmlinuz")):
        for i, (name, _) in enumerate(results, 1):
            print("ok %d %s # SKIP the test guest is not built: run tests/guest/mkguest.sh build/guest" % (i, name))
        return 0
    failed = 0
    r = ql("start", "--detach", PROFILE, timeout=180)
    if r.returncode != 0:
        print("Bail out! the VM did not start: " + r.stderr)
        return 1
    try:
        for i, (name, fn) in enumerate(results, 1):
            try:
                fn()
                print("ok %d %s" % (i, name), flush=True)
            except Exception as e:  # report and go on
                failed += 1
                print("not ok %d %s" % (i, name))
                print("# " + str(e).replace("\n", "\n# "), flush=True)
    finally:
        ql("kill", VM)
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


sys.exit(main())
