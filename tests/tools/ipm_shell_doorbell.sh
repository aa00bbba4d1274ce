#!/bin/sh
# Doorbell-only peers beside mailbox peers (issue 14, item 7), on one
# server and region: `ipm-shell -m mailbox` (two: M1, M2) and
# `ipm-shell -m doorbell` (D), and QEMU's contrib/ivshmem-client (Q) when
# build-qemu-ref.sh built it. Each one's doorbell makes the other print
# the sample's line: M1's `ivshmem_ipm_send D` rings D's vector 0, D's
# `ivshmem_ipm_send M1` (a ring that brings no message) prints "Received
# IPM notification over IVSHMEM" on M1; the same with Q. M1's
# `ivshmem_ipm_send M2` is still an empty message (M2 prints the line).
# Then payloads flow between M1 and M2 both ways while D and M1 keep
# ringing each other: every text arrives, every send completes.
# Usage: ipm_shell_doorbell.sh SERVER IPM_SHELL [QEMU_IVSHMEM_CLIENT]
set -eu
server=$1 shell=$2 qclient=${3:-}
dir=$(mktemp -d)
spid= pids= qpid=
cleanup() {
	for p in $pids $qpid $spid; do kill "$p" 2>/dev/null || true; done
	exec 3>&- 4>&- 5>&- 6>&- 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
. "$(dirname "$0")/shlib.sh"
fails=0
fail() { echo "ipm_shell_doorbell: FAIL: $*" >&2; fails=$((fails + 1)); }
line='^Received IPM notification over IVSHMEM$'

"$server" -F -S "$dir/sock" -p "$dir/pid" 2>"$dir/server.log" &
spid=$!
wait_server_pid

count() { grep -c "$2" "$1" 2>/dev/null || true; }

# Shells on fifos kept open on fds 3 (M1), 4 (M2), 5 (D).
start() { # NAME FD MODE
	mkfifo "$dir/in.$1"
	"$shell" -S "$dir/sock" -m "$3" <"$dir/in.$1" >"$dir/out.$1" 2>&1 &
	pids="$pids $!"
	eval "exec $2>\"$dir/in.$1\""
	printf 'ivshmem\n' >&"$2"
	wait_for "$dir/out.$1" '^[[:space:]]*Peer id: ' ||
		fail "$1 did not join: $(cat "$dir/out.$1")"
	eval "id_$1=\$(sed -n 's/^[[:space:]]*Peer id: //p' \"$dir/out.$1\")"
}
start M1 3 mailbox
start M2 4 mailbox
start D 5 doorbell
# Whatever the mailbox did at the joins is more than 200 ms old.
sleep 0.3

# Mailbox -> doorbell, and doorbell -> mailbox: one ring, one line each.
printf 'ivshmem_ipm_send %s\n' "$id_D" >&3
wait_for "$dir/out.D" "$line" ||
	fail "D did not print the line for M1's ivshmem_ipm_send"
printf 'ivshmem_ipm_send %s\n' "$id_M1" >&5
wait_for "$dir/out.M1" "$line" ||
	fail "M1 (mailbox) did not print the line for D's ivshmem_ipm_send"
# Mailbox -> mailbox: an empty message, as before.
printf 'ivshmem_ipm_send %s\n' "$id_M2" >&3
wait_for "$dir/out.M2" "$line" ||
	fail "M2 did not print the line for M1's ivshmem_ipm_send"
# No such peer is still an error.
printf 'ivshmem_ipm_send 999\n' >&3
wait_for "$dir/out.M1" '^no peer 999$' || fail "M1: no 'no peer 999'"

# QEMU's client: its 'int PEER 0' and our ring of it.
if [ -n "$qclient" ] && [ -x "$qclient" ]; then
	mkfifo "$dir/in.Q"
	stdbuf -oL "$qclient" -v -S "$dir/sock" <"$dir/in.Q" \
		>"$dir/out.Q" 2>&1 &
	qpid=$!
	exec 6>"$dir/in.Q"
	wait_for "$dir/out.Q" 'listen on server socket' ||
		fail "QEMU's client did not join: $(cat "$dir/out.Q")"
	id_Q=$(sed -n 's/.*our_id=\([0-9]*\).*/\1/p' "$dir/out.Q" | head -n 1)
	n=$(count "$dir/out.M1" "$line")
	sleep 0.3
	printf 'ivshmem_ipm_send %s\n' "$id_Q" >&3
	wait_for "$dir/out.Q" \
		"receive notification from peer_id=$id_Q vector=0" ||
		fail "QEMU's client was not rung by M1"
	printf 'int %s 0\n' "$id_M1" >&6
	wait_for "$dir/out.M1" "$line" $((n + 1)) ||
		fail "M1 did not print the line for QEMU's client's ring"
	qemu="QEMU's ivshmem-client $id_Q"
elif [ -n "${CI:-}" ]; then
	fail "QEMU's ivshmem-client is missing ($qclient); under CI it must be built (tests/interop/build-qemu-ref.sh)"
else
	echo "ipm_shell_doorbell: QEMU's ivshmem-client not built" \
	     "(tests/interop/build-qemu-ref.sh): that part not run"
	qemu="no QEMU client"
fi

# Payloads both ways between M1 and M2 while D and M1 ring each other.
# One way at a time: a shell blocked in its own send takes nothing in, so
# two shells sending to each other at once wait out the send timeout.
nd=$(count "$dir/out.D" "$line")
for i in 1 2 3 4 5; do
	printf 'send %s text %s from one\n' "$id_M2" "$i" >&3
	printf 'ivshmem_ipm_send %s\n' "$id_M1" >&5
	printf 'ivshmem_ipm_send %s\n' "$id_D" >&3
	wait_for "$dir/out.M2" \
		"^Received 15 bytes from peer $id_M1: text $i from one$" ||
		fail "M2 did not get M1's text $i"
	printf 'send %s text %s from two\n' "$id_M1" "$i" >&4
	printf 'ivshmem_ipm_send %s\n' "$id_M1" >&5
	wait_for "$dir/out.M1" \
		"^Received 15 bytes from peer $id_M2: text $i from two$" ||
		fail "M1 did not get M2's text $i"
done
wait_for "$dir/out.M1" "^sent 15 bytes to peer $id_M2: completed by the receiver$" 5 ||
	fail "M1's sends were not all completed"
wait_for "$dir/out.M2" "^sent 15 bytes to peer $id_M1: completed by the receiver$" 5 ||
	fail "M2's sends were not all completed"
# D is a doorbell peer: each of M1's rings is a line (merged at most).
wait_for "$dir/out.D" "$line" $((nd + 1)) ||
	fail "D got none of M1's rings during the traffic"
grep -q 'failed' "$dir/out.M1" "$dir/out.M2" "$dir/out.D" &&
	fail "a command failed: $(grep -h failed "$dir"/out.*)"

for fd in 3 4 5; do printf 'quit\n' >&"$fd"; done
rcs=
for p in $pids; do
	rc=0
	wait "$p" || rc=$?
	rcs="$rcs $rc"
done
pids=
# M1 ran 'ivshmem_ipm_send 999' on purpose: exit 1; the others 0.
[ "$rcs" = " 1 0 0" ] || fail "exit statuses$rcs (want 1 0 0)"
for n in M1 M2 D Q; do
	[ -f "$dir/out.$n" ] && sed "s/^/  [$n] /" "$dir/out.$n"
done
[ "$fails" -eq 0 ] || exit 1
echo "ipm_shell_doorbell: ok (mailbox $id_M1 $id_M2, doorbell $id_D, $qemu;" \
     "$(count "$dir/out.D" "$line") lines on D," \
     "$(count "$dir/out.M1" "$line") on M1)"
