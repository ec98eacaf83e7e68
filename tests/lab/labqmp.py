#!/usr/bin/env python3
"""The lab's QMP helper (runs inside the L2 guest).

labqmp.py SOCKET query COMMAND          print the command's return as JSON
labqmp.py SOCKET wait-pci SECONDS SPEC  poll query-pci until the root port at
    00:1c.0 has the functions of SPEC behind it, e.g.
    "0=10de:1bb6/1028:07b1,1=8086:293e"; prints what it saw; exit 1 on timeout
"""
import json
import socket
import sys
import time


class Qmp:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 0
        self.read()  # greeting
        self.execute("qmp_capabilities")

    def read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("QMP closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command):
        self.next_id += 1
        self.sock.sendall(json.dumps({"execute": command, "id": self.next_id}).encode() + b"\n")
        while True:
            msg = self.read()
            if msg.get("id") != self.next_id:
                continue
            if "error" in msg:
                raise RuntimeError(msg["error"])
            return msg["return"]


def behind_root_port(pci):
    for bus in pci:
        for dev in bus["devices"]:
            if dev["slot"] == 0x1c and dev["function"] == 0 and "pci_bridge" in dev:
                return dev["pci_bridge"].get("devices", [])
    return None


def describe(dev):
    ident = dev["id"]
    return "%02x:%02x.%d %04x:%04x subsys=%04x:%04x class=%04x %s" % (
        dev["bus"], dev["slot"], dev["function"], ident["vendor"], ident["device"],
        ident.get("subsystem-vendor", 0), ident.get("subsystem", 0), dev["class_info"]["class"],
        dev.get("qdev_id", ""))


def matches(devs, spec):
    for item in spec.split(","):
        fn, ids = item.split("=")
        want = ids.split("/")
        vendor, device = (int(x, 16) for x in want[0].split(":"))
        found = [d for d in devs if d["slot"] == 0 and d["function"] == int(fn)
                 and d["id"]["vendor"] == vendor and d["id"]["device"] == device]
        if not found:
            return False
        if len(want) > 1:
            sv, sd = (int(x, 16) for x in want[1].split(":"))
            if found[0]["id"].get("subsystem-vendor") != sv or found[0]["id"].get("subsystem") != sd:
                return False
    return True


def main():
    path, mode = sys.argv[1], sys.argv[2]
    qmp = Qmp(path)
    if mode == "query":
        print(json.dumps(qmp.execute(sys.argv[3])))
        return 0
    if mode == "wait-pci":
        deadline = time.monotonic() + float(sys.argv[3])
        start = time.monotonic()
        seen = None
        while time.monotonic() < deadline:
            seen = behind_root_port(qmp.execute("query-pci"))
            if seen and matches(seen, sys.argv[4]):
                print("after %.1f s behind 00:1c.0: %s" % (time.monotonic() - start,
                                                         "; ".join(describe(d) for d in seen)))
                return 0
            time.sleep(0.5)
        print("timeout; behind 00:1c.0: %s" % ("; ".join(describe(d) for d in seen or []) or "nothing"))
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
