#!/bin/sh
# dist_deb: `dpkg-buildpackage -us -uc -b` in a copy of the source tree
# (its committed and untracked, not ignored, files) builds ivshmem-server,
# ivshmem-tools, libivshmem0 and libivshmem-dev with the files each must
# have, and lintian reports no error. With OUT, the .debs are copied there
# (for dist_fresh), replacing what was there.
#
#   deb.sh SOURCE_DIR [OUT]
set -u
SRC=$1 OUT=${2:-}
for tool in dpkg-buildpackage dh lintian git; do
	command -v $tool >/dev/null || { echo "$tool not found: skipped"; exit 77; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/dist_deb.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
FAILED=0
V=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
ARCH=$(dpkg --print-architecture)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
S=$T/ivshmem-ipm-$V
mkdir "$S"
# The tree's files: git's (no build output) when it is a checkout.
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$SRC" && git ls-files -co --exclude-standard -z |
		xargs -0 tar -cf - --no-recursion)
else
	(cd "$SRC" && tar -cf - --exclude='./build*' --exclude='./obj-*' .)
fi | tar -xf - -C "$S" || { echo "FAIL: copying the tree"; exit 1; }
(cd "$S" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$T/build.log" 2>&1 ||
	{ tail -50 "$T/build.log"; echo "FAIL: dpkg-buildpackage"; exit 1; }
grep -E '^dh_missing: warning' "$T/build.log" && { echo "FAIL: files not packaged"; FAILED=1; }

# has PACKAGE PATH...: each PATH is in the package (./ prefixed, as dpkg-deb
# lists; symlinks as "PATH -> TARGET").
has()
{
	pkg=$1; shift
	deb=$T/${pkg}_${V}_$ARCH.deb
	[ -f "$deb" ] || { echo "FAIL: no $deb"; FAILED=1; return; }
	dpkg-deb -c "$deb" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }' >"$T/$pkg.list"
	for p in "$@"; do
		grep -qxF "./$p" "$T/$pkg.list" || { echo "FAIL: $pkg lacks $p"; FAILED=1; }
	done
}
has ivshmem-server usr/bin/ivshmem-server usr/share/man/man8/ivshmem-server.8.gz \
	lib/systemd/system/ivshmem-server@.service lib/systemd/system/ivshmem-server@.socket \
	usr/share/bash-completion/completions/ivshmem-server \
	usr/share/doc/ivshmem-server/copyright
# dh_compress compresses docs of more than 4 KiB.
grep -qxE '\./usr/share/doc/ivshmem-server/service\.md(\.gz)?' "$T/ivshmem-server.list" ||
	{ echo "FAIL: ivshmem-server lacks docs/service.md"; FAILED=1; }
has ivshmem-tools usr/bin/ivshmem-client usr/bin/ipm-shell usr/bin/ipm-bench \
	usr/share/man/man1/ivshmem-client.1.gz usr/share/man/man1/ipm-shell.1.gz \
	usr/share/man/man1/ipm-bench.1.gz \
	usr/share/bash-completion/completions/ivshmem-client \
	usr/share/bash-completion/completions/ipm-shell \
	usr/share/bash-completion/completions/ipm-bench
has libivshmem0 usr/lib/$MA/libivshmem.so.0.1.0 \
	"usr/lib/$MA/libivshmem.so.0 -> libivshmem.so.0.1.0"
has libivshmem-dev usr/include/ivshmem/ivshmem.h usr/include/ivshmem/transport.h \
	usr/include/ivshmem/ipm.h usr/lib/$MA/libivshmem.a \
	"usr/lib/$MA/libivshmem.so -> libivshmem.so.0" \
	usr/lib/$MA/pkgconfig/ivshmem.pc usr/lib/$MA/pkgconfig/ipm.pc \
	usr/lib/$MA/cmake/ivshmem-ipm/ivshmem-ipm-config.cmake \
	usr/share/man/man3/libivshmem.3.gz usr/share/man/man3/ipm.3.gz
# The library's symbols file and dependencies.
dpkg-deb -I "$T/libivshmem0_${V}_$ARCH.deb" symbols >"$T/symbols" 2>/dev/null &&
	grep -q 'IVSHMEM_0' "$T/symbols" || { echo "FAIL: libivshmem0 has no symbols file"; FAILED=1; }
dpkg-deb -f "$T/ivshmem-server_${V}_$ARCH.deb" Depends | grep -q adduser ||
	{ echo "FAIL: ivshmem-server does not depend on adduser"; FAILED=1; }

lintian --pedantic -I "$T"/*.changes >"$T/lintian" 2>&1
grep -v 'running with root privileges' "$T/lintian"
grep -q '^E: ' "$T/lintian" && { echo "FAIL: lintian errors"; FAILED=1; }
echo "lintian: $(grep -c '^E: ' "$T/lintian") errors," \
	"$(grep -c '^W: ' "$T/lintian") warnings," \
	"$(grep -c '^[IP]: ' "$T/lintian") infos/pedantic"
if [ -n "$OUT" ]; then
	rm -rf "$OUT" && mkdir -p "$OUT" && cp "$T"/*.deb "$OUT"/ || FAILED=1
fi
[ $FAILED -eq 0 ] && echo "dist_deb: ok"
exit $FAILED
