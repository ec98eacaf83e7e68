#!/usr/bin/env python3
"""The stages of a start, with real QEMU: shown on a terminal (a pty) as an
updating line and a list of finished stages with their times, as plain
messages elsewhere, not at all with --quiet; a failed start names the stage
that failed; the times are in 'status --json' while the VM runs and in
last-exit.json after; a planted last-exit.json with bad stages loses them
and nothing else.  TAP output."""
import json, os, pty, re, select, shutil, subprocess, sys, tempfile, time

root = os.environ.get("QL_SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
qlaunch = os.environ.get("QL_QLAUNCH", os.path.join(root, "build", "launcher", "qlaunch"))
tmp = tempfile.mkdtemp(prefix="qlstages-")
env = dict(os.environ, QLAUNCH_RUNTIME_DIR=os.path.join(tmp, "run"), QLAUNCH_STATE_DIR=os.path.join(tmp, "state"),
           TERM="xterm", LANG="C.UTF-8", LC_ALL="C.UTF-8")
VM = "test-acpi"
PROFILE = os.path.join(root, "profiles", "test-acpi.ini")
BAD = os.path.join(root, "tests", "data", "profiles", "bad-device.ini")
# no pinning: the supervisor confines itself while QEMU starts, in no stage of its own
STAGES = ["read the profile", "scan the host", "ask QEMU what it can do", "plan the machine",
          "check the ROMs and plan the host changes", "start QEMU", "resume the guest"]
results = []


def ql(*args, timeout=120):
    return subprocess.run([qlaunch] + list(args), env=env, capture_output=True, text=True, timeout=timeout)


def on_pty(*args, timeout=120):
    """qlaunch ARGS with stdout and stderr on a terminal: (exit status, what the terminal got)"""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(qlaunch, [qlaunch] + list(args), env)
    seen, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                break
            seen += data
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def stage_names(stages):
    return [s["stage"] for s in stages]


def check_stages(o):
    assert stage_names(o["start-stages"]) == STAGES, o["start-stages"]
    assert all(isinstance(s["usec"], int) and s["usec"] >= 0 for s in o["start-stages"]), o
    assert o["start-usec"] == sum(s["usec"] for s in o["start-stages"]), o
    qemu = [s for s in o["start-stages"] if s["stage"] == "start QEMU"][0]
    assert qemu["usec"] > 1000, qemu    # a QEMU takes more than a millisecond to come up


def test(name):
    def wrap(fn):
        results.append((name, fn))
        return fn
    return wrap


@test("not on a terminal: a message per finished stage, with its time; the times in status --json and last-exit")
def t_plain():
    r = ql("start", "--detach", PROFILE)
    assert r.returncode == 0, r.stderr
    for stage in STAGES[4:]:
        assert re.search(r"^qlaunch: %s: %s \([0-9.]+ m?s\)$" % (VM, re.escape(stage)), r.stderr, re.M), r.stderr
    assert "\x1b" not in r.stderr and "\r" not in r.stderr, repr(r.stderr)
    running = json.loads(ql("status", "--json", VM).stdout)
    check_stages(running)
    human = ql("status", VM).stdout
    assert re.search(r"start took [0-9.]+ ms; slowest: start QEMU", human), human
    assert ql("kill", VM).returncode == 0
    stopped = json.loads(ql("status", "--json", VM).stdout)
    check_stages(stopped["last-exit"])
    assert stopped["last-exit"]["start-stages"] == running["start-stages"]


@test("--quiet: nothing on stderr, the VM runs")
def t_quiet():
    r = ql("start", "--detach", "--quiet", PROFILE)
    assert r.returncode == 0 and r.stderr == "", repr(r.stderr)
    assert "is running" in r.stdout, r.stdout
    assert ql("kill", VM).returncode == 0


@test("on a terminal: the stage under way on an updating line, each finished one with a check mark and its time")
def t_terminal():
    code, out = on_pty("start", "--detach", PROFILE)
    assert code == 0, out
    for stage in STAGES:
        assert "\u2026 " + stage in out, out             # under way
        assert re.search("\u2713 %s +[0-9.]+ m?s\r?\n" % re.escape(stage), out), out
    assert "\r\x1b[K" in out, repr(out)
    assert out.index("\u2713 resume the guest") < out.index("VM '%s' is running" % VM), out
    assert ql("kill", VM).returncode == 0


@test("a failed start marks the stage that failed, then says why")
def t_terminal_failure():
    code, out = on_pty("start", "--detach", BAD)
    assert code == 1, out
    assert re.search("\u2717 start QEMU +[0-9.]+ m?s", out), out
    assert out.index("\u2717 start QEMU") < out.index("'no-such-device' is not a valid device model name"), out
    assert "\u2713 start QEMU" not in out, out
    code, out = on_pty("start", BAD)          # in the foreground too
    assert code == 1 and "\u2717 start QEMU" in out, out
    r = ql("start", "--detach", BAD)
    assert re.search(r"^qlaunch: bad-device: start QEMU failed after [0-9.]+ m?s$", r.stderr, re.M), r.stderr


@test("a long preallocation shows how much of the guest's memory is in")
def t_prealloc_progress():
    path = os.path.join(tmp, "prealloc.ini")
    with open(PROFILE) as f:
        text = f.read()
    text = text.replace("size = 256M", "size = 1G\nprealloc = true").replace("name = test-acpi", "name = prealloc")
    text = text.replace("../", root + "/")
    with open(path, "w") as f:
        f.write(text)
    code, out = on_pty("start", "--detach", path)
    assert code == 0, out
    assert "\u2713 start QEMU (preallocating memory)" in out, out
    # QEMU touches 1 GiB under TCG in far more than the 250 ms between two reports
    assert re.search(r"start QEMU \(preallocating memory\)  \([0-9.]+ of 1\.0 GiB in memory", out), out
    assert ql("kill", "prealloc").returncode == 0


@test("a planted last-exit.json with bad stages: the stages are dropped, the rest is shown")
def t_planted_stages():
    path = os.path.join(env["QLAUNCH_STATE_DIR"], VM, "last-exit.json")
    with open(path) as f:
        planted = json.load(f)
    planted["start-stages"] = [{"stage": "\x1b]0;owned\x07", "usec": 5}]
    with open(path, "w") as f:
        json.dump(planted, f)
    o = json.loads(ql("status", "--json", VM).stdout)
    assert "start-stages" not in o["last-exit"] and "start-usec" not in o["last-exit"], o
    assert o["last-exit"]["reason"] == planted["reason"], o
    human = ql("status", VM).stdout
    assert "\x1b" not in human and "start took" not in human and "last run ended" in human, repr(human)


@test("a start that asks QEMU what it can do (no usable cache) leaves a supervisor that answers kill")
def t_probe_then_kill():
    # a file where the cache dir would be: every start probes QEMU itself,
    # just before it forks the supervisor (GLib must not think it has a
    # worker thread there that the fork did not copy)
    no_cache = os.path.join(tmp, "not-a-dir")
    with open(no_cache, "w") as f:
        f.write("")
    env_no_cache = dict(env, QLAUNCH_CACHE_DIR=no_cache)
    r = subprocess.run([qlaunch, "start", "--detach", "--quiet", PROFILE], env=env_no_cache,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    t0 = time.monotonic()
    r = subprocess.run([qlaunch, "kill", VM], env=env_no_cache, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "stopped" in r.stdout, r.stdout
    assert time.monotonic() - t0 < 10, "kill took %.1f s" % (time.monotonic() - t0)


def main():
    print("1..%d" % len(results))
    if not os.path.exists(os.path.join(root, "build", "guest", "vmlinuz")):
        for i, (name, _) in enumerate(results, 1):
            print("ok %d %s # SKIP the test guest is not built: run tests/guest/mkguest.sh build/guest" % (i, name))
        return 0
    failed = 0
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
        for vm in (VM, "prealloc"):
            ql("kill", vm)
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


sys.exit(main())
