#!/bin/sh
# SPDX-License-Identifier: MIT
#
# build-qemu-ref.sh [CACHE_DIR]
#
# Build QEMU's own contrib/ivshmem-server and contrib/ivshmem-client, the
# reference the interop tests run ours against, from Debian's `qemu` source
# package, and cache them as CACHE_DIR/bin/ivshmem-server and
# CACHE_DIR/bin/ivshmem-client. Once built, a run only checks the cache.
#
# CACHE_DIR defaults to $IVSHMEM_QEMU_REF_CACHE, then to
# /var/cache/ivshmem-ipm/qemu-ref; keep it outside the source tree. Nothing
# QEMU's is ever copied into the repository.
#
# It installs nothing and changes no apt source: scripts/install-deps.sh
# (run by `make check`) does that. Steps:
#   1. check that apt has a deb-src source that knows qemu;
#   2. check the few Debian packages the build needs;
#   3. apt-get source --download-only qemu into CACHE_DIR/src (a file
#      already there with the right hash is not downloaded again);
#   4. dpkg-source -x (Debian's patches applied), configure with every
#      optional feature off, ninja for the two programs only;
#   5. the two binaries into CACHE_DIR/bin; the source and build trees are
#      removed (IVSHMEM_QEMU_REF_KEEP=1 keeps them).
#
# A lock (flock CACHE_DIR/.lock) makes parallel callers wait for one build.
# Exit status: 0 with the binaries in place, 1 on any failure.
set -eu

CACHE=${1:-${IVSHMEM_QEMU_REF_CACHE:-/var/cache/ivshmem-ipm/qemu-ref}}
BIN=$CACHE/bin
# What configure, meson and ninja need for these two programs, no more
# (the same are in scripts/install-deps.sh's list).
PKGS="build-essential pkg-config python3 ninja-build meson libglib2.0-dev \
zlib1g-dev dpkg-dev xz-utils"

say() { echo "build-qemu-ref: $*" >&2; }
die() { say "error: $*"; exit 1; }

have_bins() {
	[ -x "$BIN/ivshmem-server" ] && [ -x "$BIN/ivshmem-client" ] &&
		[ -s "$BIN/source" ]
}

report() {
	say "reference built from $(cat "$BIN/source")"
	echo "$BIN/ivshmem-server"
	echo "$BIN/ivshmem-client"
}

case $CACHE in
/*) ;;
*) CACHE=$(pwd)/$CACHE; BIN=$CACHE/bin ;;
esac

mkdir -p "$CACHE" 2>/dev/null ||
	die "cannot create $CACHE (run as root, or pass a writable CACHE_DIR)"
command -v flock >/dev/null || die "flock (util-linux) is missing"
# A cache we cannot write is fine once built: there is nothing to lock.
if ! (: >>"$CACHE/.lock") 2>/dev/null; then
	have_bins || die "cannot write $CACHE/.lock (run as root)"
	report
	exit 0
fi
exec 9>>"$CACHE/.lock"
if ! flock -n 9; then
	say "waiting for another build in $CACHE"
	flock -w 3600 9 || die "timed out waiting for $CACHE/.lock"
fi

if have_bins; then
	report
	exit 0
fi

start=$(date +%s)
elapsed() { echo "$(($(date +%s) - start)) s"; }

[ -r /etc/os-release ] || die "no /etc/os-release: not Debian"
# shellcheck disable=SC1091
. /etc/os-release
[ "${ID:-}" = debian ] || die "needs Debian (apt-get source qemu); this is ${ID:-unknown}"
DEPS="run scripts/install-deps.sh as root"

# 1. A deb-src source that knows qemu.
apt-cache showsrc --only-source qemu 2>/dev/null | grep -q '^Package:' ||
	die "apt knows no source package qemu (no deb-src source, or its index is not downloaded): $DEPS"

# 2. Build dependencies.
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] || die "missing Debian packages:$missing ($DEPS)"

# 3. The source package.
mkdir -p "$CACHE/src"
cd "$CACHE/src"
# Which .dsc apt picks; from an empty directory, or files already there
# would not be listed.
DSC=$(cd "$(mktemp -d)" && apt-get source --print-uris --only-source qemu \
	2>/dev/null | sed -n "s/^'[^']*' \(qemu_[^ ]*\.dsc\) .*/\1/p" |
	head -n 1; rmdir "$(pwd)")
[ -n "$DSC" ] || die "apt-get source --print-uris qemu found no .dsc"
say "apt-get source --download-only qemu ($DSC) into $CACHE/src"
apt-get source -q --download-only --only-source qemu >&2 ||
	die "apt-get source --download-only qemu failed"
[ -f "$DSC" ] || die "$DSC was not downloaded"
say "source ready after $(elapsed)"

# 4. Unpack, configure, build the two programs.
WORK=$CACHE/work
rm -rf "$WORK"
mkdir -p "$WORK"
say "unpacking $DSC"
dpkg-source --no-copy --no-check -x "$CACHE/src/$DSC" "$WORK/qemu" \
	>"$WORK/unpack.log" 2>&1 || {
	tail -n 20 "$WORK/unpack.log" >&2
	die "dpkg-source -x $DSC failed"
}
mkdir -p "$WORK/build"
cd "$WORK/build"
say "configuring (log: $WORK/build/configure.log)"
# Everything optional off; --enable-tools is what builds contrib/ivshmem-*.
../qemu/configure --without-default-features --target-list= \
	--disable-system --disable-user --enable-tools --disable-docs \
	--disable-werror --disable-debug-info >configure.log 2>&1 || {
	tail -n 30 configure.log >&2
	die "configure failed"
}
say "configured after $(elapsed); building"
ninja -j "$(nproc)" contrib/ivshmem-server/ivshmem-server \
	contrib/ivshmem-client/ivshmem-client >ninja.log 2>&1 || {
	tail -n 30 ninja.log >&2
	die "ninja failed (log: $WORK/build/ninja.log)"
}

# 5. Into the cache, all at once.
rm -rf "$BIN" "$BIN.new"
mkdir -p "$BIN.new"
cp contrib/ivshmem-server/ivshmem-server contrib/ivshmem-client/ivshmem-client \
	"$BIN.new/"
echo "$DSC" >"$BIN.new/source"
mv "$BIN.new" "$BIN"
cd "$CACHE"
[ "${IVSHMEM_QEMU_REF_KEEP:-0}" = 1 ] || rm -rf "$WORK"
say "built in $(elapsed)"
report
