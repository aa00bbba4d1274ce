#!/bin/sh
# dist_fresh: the .debs that dist_deb built, installed with apt into a fresh
# Debian root (../shared/tools/fresh-debian/run-in-fresh.sh, root only);
# there the installed server is started, joined by the installed client,
# and the README's examples, built against libivshmem-dev with pkg-config
# and find_package, run against it (fresh-inner.sh).
#
#   fresh.sh SOURCE_DIR DEBS_DIR RUN_IN_FRESH
set -u
SRC=$1 DEBS=$2 RIF=$3
[ -x "$RIF" ] || { echo "no $RIF: skipped"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "run-in-fresh needs root: skipped"; exit 77; }
# The root it copies is made once by make-root.sh (3 minutes, network).
[ -f "${FRESH_BASE:-/var/cache/fresh-debian}/root.tar.zst" ] ||
	{ echo "no fresh Debian root (make-root.sh not run): skipped"; exit 77; }
ls "$DEBS"/ivshmem-server_*.deb >/dev/null || { echo "FAIL: no .debs (dist_deb)"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/dist_fresh.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cp "$DEBS"/ivshmem-server_*.deb "$DEBS"/ivshmem-tools_*.deb \
   "$DEBS"/libivshmem0_*.deb "$DEBS"/libivshmem-dev_*.deb \
   "$SRC/tests/dist/fresh-inner.sh" "$SRC/examples/ring_all.c" \
   "$SRC/examples/ipm_hello.c" "$T/" || exit 1
cp -r "$SRC/tests/dist/consumer" "$T/" || exit 1
# run-in-fresh lays FRESH_SHARED at /shared in the root (and clones
# SOURCE_DIR's HEAD to /src, which is not used).
FRESH_SHARED=$T "$RIF" -t 900 "$SRC" sh /shared/fresh-inner.sh /shared
rc=$?
[ $rc -eq 0 ] && echo "dist_fresh: ok"
exit $rc
