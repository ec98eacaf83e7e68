#!/usr/bin/env python3
"""The layering of launcher/, checked from the sources (the build enforces
it too: each layer's library sees only the include directories below it).
Prints TAP: one test per layer; a failure names the file, the line and the
include that runs the wrong way."""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
LAUNCHER = os.path.join(ROOT, "launcher")

# what each layer may include, besides itself
ALLOWED = {
    "base": set(),
    "profile": {"base"},
    "machine": {"base", "profile"},
    "qemu": {"base", "profile", "machine"},
    "acpi": {"base", "profile", "machine"},
    "rom": {"base", "profile", "machine"},
    "host": {"base", "profile", "machine", "net"},
    "run": {"base", "profile", "machine", "qemu", "acpi", "rom", "host", "qmp", "net"},
    "cli": {"base", "profile", "machine", "qemu", "acpi", "rom", "host", "run", "qmp", "net"},
}
PURE = {"profile", "machine", "qemu", "acpi", "rom"}
# system headers that mean host access; the pure layers have none of them
HOST_HEADERS = re.compile(r"^(pci/|netlink/|linux/|sys/ioctl\.h|sys/mount\.h|gio/gunixfdlist\.h)")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def header_homes():
    homes = {}
    for folder in list(ALLOWED) + ["qmp", "net"]:
        path = os.path.join(LAUNCHER, folder) if folder in ALLOWED else os.path.join(ROOT, folder)
        for name in os.listdir(path):
            if name.endswith(".h"):
                homes[name] = folder
    return homes


def check_layer(layer, homes):
    problems = []
    folder = os.path.join(LAUNCHER, layer)
    for name in sorted(os.listdir(folder)):
        if not name.endswith((".c", ".h")):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                kind, header = m.groups()
                where = f"launcher/{layer}/{name}:{number}"
                if kind == '"':
                    home = homes.get(header)
                    if home is None:
                        problems.append(f"{where}: \"{header}\" is in no layer")
                    elif home != layer and home not in ALLOWED[layer]:
                        problems.append(f"{where}: {layer}/ includes \"{header}\" from {home}/, "
                                        f"which is not below it (allowed: {', '.join(sorted(ALLOWED[layer])) or 'none'})")
                elif layer in PURE and HOST_HEADERS.match(header):
                    problems.append(f"{where}: {layer}/ is pure, yet includes <{header}>")
    return problems


def main():
    homes = header_homes()
    layers = list(ALLOWED)
    print(f"1..{len(layers)}")
    failed = 0
    for i, layer in enumerate(layers, 1):
        problems = check_layer(layer, homes)
        for p in problems:
            print(f"# {p}")
        print(f"{'not ok' if problems else 'ok'} {i} {layer}/ includes only the layers below it")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
