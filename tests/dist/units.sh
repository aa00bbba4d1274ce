#!/bin/sh
# dist_units: the systemd units as installed pass `systemd-analyze verify`
# without a word (the service pointed at this build's ivshmem-server, as
# verify checks that ExecStart= is executable), and the socket unit's path
# is the one the service passes to the server.
#
#   units.sh SOURCE_DIR BUILD_DIR
set -u
SRC=$1 BUILD=$2
command -v systemd-analyze >/dev/null ||
	{ echo "systemd-analyze not found: skipped"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/dist_units.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
FAILED=0
sed "s|^ExecStart=[^ ]*/ivshmem-server|ExecStart=$BUILD/src/server/ivshmem-server|" \
	"$BUILD/dist/ivshmem-server@.service" >"$T/ivshmem-server@.service"
cp "$SRC/dist/systemd/ivshmem-server@.socket" "$T/"
(cd "$T" && systemd-analyze verify --man=no \
	./ivshmem-server@vm1.socket ./ivshmem-server@vm1.service) >"$T/out" 2>&1
rc=$?
cat "$T/out"
[ $rc -eq 0 ] && [ ! -s "$T/out" ] || { echo "FAIL: systemd-analyze verify"; FAILED=1; }
grep -q '^ListenStream=/run/ivshmem/%i.sock$' "$T/ivshmem-server@.socket" &&
grep -q '^ExecStart=.* -S /run/ivshmem/%i.sock ' "$T/ivshmem-server@.service" ||
	{ echo "FAIL: the socket's path and the server's -S differ"; FAILED=1; }
[ $FAILED -eq 0 ] && echo "dist_units: ok"
exit $FAILED
