#!/bin/bash
# Fetches QEMU 10.0 from bookworm-backports into DIR (apt-get download +
# dpkg -x), for the tests' second QEMU; nothing is installed over the
# system's 7.2.  The backports suite is added to apt's sources with the URI
# that this machine's own Debian sources already use (never a mirror written
# here).  The libraries that the system lacks for it come along into
# DIR/root and are found through LD_LIBRARY_PATH by DIR/qemu-system-x86_64,
# a wrapper that also points -L at the extracted firmware.
# Usage: tools/fetch-qemu.sh DIR   (as root: it may edit apt's sources)
# Exit 0 with DIR/qemu-system-x86_64 working, else 1 and why on stderr.
set -euo pipefail
dir=${1:?usage: fetch-qemu.sh DIR}
want_major=10
wrapper=$dir/qemu-system-x86_64

fail () { echo "fetch-qemu: $*" >&2; exit 1; }

if [ -x "$wrapper" ] && "$wrapper" -version 2>/dev/null | grep -q "version $want_major\."; then
  exit 0
fi

# The Debian archive URI this machine uses: deb822 (Debian 12) or one-line sources.
debian_uri () {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # the stanza whose Suites has bookworm itself (not -security)
    uri=$(awk 'BEGIN{RS=""; FS="\n"}
               { u=""; s="";
                 for (i = 1; i <= NF; i++) {
                   if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); split(u, a, /[ \t]+/); u = a[1] }
                   if ($i ~ /^Suites:/) s = " " $i " " }
                 if (u != "" && s ~ /[ \t]bookworm[ \t]/) { print u; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  if [ -f /etc/apt/sources.list ]; then
    awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i ~ /:\/\//) { print $i; exit } }' \
      /etc/apt/sources.list
  fi
}

list=/etc/apt/sources.list.d/qlaunch-bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  [ "$(id -u)" -eq 0 ] || fail "bookworm-backports is not in apt's sources and adding it needs root"
  uri=$(debian_uri)
  [ -n "$uri" ] || fail "no Debian 'bookworm' entry in apt's sources to take the archive URI from"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" > "$list"
  apt-get update -q -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >&2 \
    || fail "apt-get update for bookworm-backports failed"
fi

backports_version () {
  apt-cache policy qemu-system-x86 | awk -v m="$want_major" '$0 ~ "1:" m "\\." { for (i = 1; i <= NF; i++) if ($i ~ "^1:" m "\\.") { print $i; exit } }'
}
version=$(backports_version)
if [ -z "$version" ] && [ "$(id -u)" -eq 0 ]; then
  # the suite is in the sources but its lists were never fetched (or are stale)
  apt-get update -q >&2 || fail "apt-get update failed"
  version=$(backports_version)
fi
[ -n "$version" ] || fail "no qemu-system-x86 $want_major.x in apt's package lists (bookworm-backports)"

rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/debs" "$dir.tmp/root"
cd "$dir.tmp/debs"
# qemu-system-x86 depends on qemu-system-common and -data of the same version
apt-get download -q "qemu-system-x86=$version" "qemu-system-common=$version" "qemu-system-data=$version" \
  "qemu-system-modules-spice=$version" >&2 2>/dev/null \
  || apt-get download -q "qemu-system-x86=$version" "qemu-system-common=$version" "qemu-system-data=$version" >&2 \
  || fail "apt-get download qemu-system-x86=$version failed"
for d in ./*.deb; do dpkg -x "$d" ../root; done
cd - >/dev/null

# Libraries the system lacks: fetch each from the package lists (backports first).
bin=$dir.tmp/root/usr/bin/qemu-system-x86_64
[ -x "$bin" ] || fail "qemu-system-x86 $version has no usr/bin/qemu-system-x86_64"
libdir=$dir.tmp/root/usr/lib/x86_64-linux-gnu
for round in 1 2 3; do
  missing=$(LD_LIBRARY_PATH=$libdir ldd "$bin" | awk '/not found/ { print $1 }')
  [ -z "$missing" ] && break
  for lib in $missing; do
    pkg=$(apt-file search -l "$lib" 2>/dev/null | head -n1 || true)
    if [ -z "$pkg" ]; then
      # without apt-file: a library's package is named after its soname (libfoo.so.N -> libfooN)
      base=${lib%.so.*}; num=${lib##*.so.}
      for cand in "$base$num" "$base-$num" "${base}t64$num"; do
        apt-cache show "$cand" >/dev/null 2>&1 && { pkg=$cand; break; }
      done
    fi
    [ -n "$pkg" ] || fail "$lib is missing and no package in apt's lists provides it"
    (cd "$dir.tmp/debs" && apt-get download -q -t bookworm-backports "$pkg" >&2 || apt-get download -q "$pkg" >&2) \
      || fail "apt-get download $pkg (for $lib) failed"
    for d in "$dir.tmp/debs"/"$pkg"_*.deb; do dpkg -x "$d" "$dir.tmp/root"; done
  done
done
missing=$(LD_LIBRARY_PATH=$libdir ldd "$bin" | awk '/not found/ { print $1 }')
[ -z "$missing" ] || fail "still missing after fetching: $missing"

rm -rf "$dir.tmp/debs"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
root=$(cd "$dir/root" && pwd)
cat > "$wrapper" <<EOF
#!/bin/sh
# QEMU $version from bookworm-backports, extracted by tools/fetch-qemu.sh
LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} \\
QEMU_MODULE_DIR=$root/usr/lib/x86_64-linux-gnu/qemu \\
  exec $root/usr/bin/qemu-system-x86_64 -L $root/usr/share/qemu -L /usr/share/qemu "\$@"
EOF
chmod 0755 "$wrapper"
"$wrapper" -version | grep -q "version $want_major\." || fail "$wrapper -version: not QEMU $want_major"
echo "fetch-qemu: $("$wrapper" -version | head -n1) in $dir" >&2
