#!/usr/bin/env python3
"""qlaunch view against a QEMU that lies (a guest that took QEMU over answers
QMP): the VNC address it reports becomes the viewer's argument, and a
vncviewer reads 'NAME=VALUE' and '-NAME' arguments as its own settings (via=
runs a command).  The runtime directory, its lock, state and QMP socket are
faked here; the viewer is a script that records its arguments.  TAP output."""
import fcntl, json, os, shutil, socket, subprocess, sys, tempfile, threading

root = os.environ.get("QL_SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
qlaunch = os.environ.get("QL_QLAUNCH", os.path.join(root, "build", "launcher", "qlaunch"))
tmp = tempfile.mkdtemp(prefix="qlview-")
VM = "lying"
results = []


def fake_vm(vnc):
    """A runtime dir whose lock is held, a state file, and a QMP server answering query-vnc with vnc."""
    run = os.path.join(tmp, "run")
    vm_dir = os.path.join(run, VM)
    os.makedirs(vm_dir, mode=0o700)
    os.chmod(run, 0o700)
    os.chmod(vm_dir, 0o700)
    lock = open(os.path.join(vm_dir, "lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    with open(os.path.join(vm_dir, "state.json"), "w") as f:
        json.dump({"supervisor-pid": os.getpid(), "supervisor-start-time": 0, "qemu-pid": os.getpid(),
                   "qemu-start-time": 0, "started-usec": 0, "stop-timeout": 30}, f)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(os.path.join(vm_dir, "qmp.sock"))
    server.listen(4)
    replies = {"qmp_capabilities": {}, "query-spice": {"enabled": False, "migrated": False}, "query-vnc": vnc}

    def serve():
        while True:
            conn, _ = server.accept()
            f = conn.makefile("rw")
            f.write(json.dumps({"QMP": {"version": {"qemu": {"major": 8, "minor": 2, "micro": 0}, "package": ""},
                                        "capabilities": []}}) + "\r\n")
            f.flush()
            for line in f:
                cmd = json.loads(line)
                reply = {"return": replies.get(cmd.get("execute"), {})}
                if "id" in cmd:
                    reply["id"] = cmd["id"]
                f.write(json.dumps(reply) + "\r\n")
                f.flush()
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return lock


def fake_vncviewer():
    """Only vncviewer on PATH (no remote-viewer): it writes its arguments to a file."""
    bin_dir = os.path.join(tmp, "bin")
    os.makedirs(bin_dir)
    record = os.path.join(tmp, "viewer-argv")
    script = os.path.join(bin_dir, "vncviewer")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s\n" % record)
    os.chmod(script, 0o755)
    return bin_dir, record


def view(bin_dir):
    env = dict(os.environ, QLAUNCH_RUNTIME_DIR=os.path.join(tmp, "run"), QLAUNCH_STATE_DIR=os.path.join(tmp, "state"),
               PATH=bin_dir)
    return subprocess.run([qlaunch, "view", VM], env=env, capture_output=True, text=True, timeout=30)


def check(name, ok, detail=""):
    results.append((name, ok, detail))


def main():
    bin_dir, record = fake_vncviewer()
    vnc = {"enabled": True, "host": "127.0.0.1", "service": "5900", "family": "ipv4", "auth": "none"}
    lock = fake_vm(vnc)

    r = view(bin_dir)
    argv = open(record).read() if os.path.exists(record) else ""
    check("an honest address reaches vncviewer as HOST::PORT", r.returncode == 0 and argv == "127.0.0.1::5900\n",
          "rc %d argv %r stderr %r" % (r.returncode, argv, r.stderr))

    for host, service in (("via=x;touch /tmp/pwned", "5900"), ("-via", "5900"), ("127.0.0.1", "5900 -via=x"),
                          ("127.0.0.1", "PasswordFile=/etc/shadow")):
        if os.path.exists(record):
            os.unlink(record)
        vnc.update(host=host, service=service)
        r = view(bin_dir)
        check("host %r service %r is refused, the viewer not run" % (host, service),
              r.returncode != 0 and not os.path.exists(record) and "not an address" in r.stderr,
              "rc %d stderr %r" % (r.returncode, r.stderr))
    lock.close()


try:
    if not os.path.exists(qlaunch):
        print("1..0 # SKIP no qlaunch at %s" % qlaunch)
        sys.exit(0)
    main()
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("1..%d" % len(results))
failed = 0
for i, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
    if not ok:
        failed += 1
        print("# " + detail)
sys.exit(1 if failed else 0)
