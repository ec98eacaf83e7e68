#!/bin/bash
# Builds qlaunch with ASan/UBSan and -Werror, builds the test guest, runs the
# whole test suite (unit and real-QEMU integration tests) and prints
# "N passed, N failed, N skipped" as its last line.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash tools/install-deps.sh || {
  echo "install-deps failed"; echo "0 passed, 1 failed"; exit 1; }

if [ -d build/meson-info ]; then
  meson configure build -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null
else
  meson setup build -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null
fi || { echo "meson setup failed"; echo "0 passed, 1 failed"; exit 1; }
ninja -C build || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
tests/guest/mkguest.sh build/guest || echo "tests/guest/mkguest.sh failed: the VM tests will SKIP"
tests/lab/mklab.sh build/lab build/guest || echo "tests/lab/mklab.sh failed: the passthrough lab will SKIP"
# the second QEMU (10.0, bookworm-backports) that test-vm-qemu10 and test-qemu-caps run
tools/fetch-qemu.sh build/qemu-10 || echo "tools/fetch-qemu.sh failed: the QEMU 10.0 tests will SKIP"

meson test -C build --print-errorlogs --num-processes 2
rc=$?

log=build/meson-logs/testlog.txt
passed=$(grep -E '^ok [0-9]+' "$log" | grep -vc '# SKIP')
skipped=$(grep -E '^ok [0-9]+' "$log" | grep -c '# SKIP')
failed=$(grep -cE '^not ok [0-9]+|^Bail out!' "$log")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
grep -E '^ok [0-9]+.*# SKIP' "$log" | sed 's/^/SKIP: /' || true
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
