#!/bin/sh
# Room for every peer without flags (issue 14, item 9): on the server's
# default 4 MiB region, four `ipm-shell -m mailbox` join with no --slots
# (the first lays out 4 slots), the third and fourth exchange payloads
# with the others, and a fifth is refused with an error that says why and
# what decides the limit.
# Usage: ipm_shell_slots.sh SERVER IPM_SHELL
set -eu
server=$1 shell=$2
dir=$(mktemp -d)
spid= pids=
cleanup() {
	for p in $pids $spid; do kill "$p" 2>/dev/null || true; done
	exec 3>&- 4>&- 5>&- 6>&- 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
. "$(dirname "$0")/shlib.sh"
fails=0
fail() { echo "ipm_shell_slots: FAIL: $*" >&2; fails=$((fails + 1)); }

# The server's defaults: a 4 MiB sealed memfd.
"$server" -F -S "$dir/sock" -p "$dir/pid" 2>"$dir/server.log" &
spid=$!
wait_server_pid

# Shells 1..4, each on a fifo kept open on fd 2 + N, started one by one.
for n in 1 2 3 4; do
	mkfifo "$dir/in$n"
	"$shell" -S "$dir/sock" -m mailbox <"$dir/in$n" >"$dir/out$n" 2>&1 &
	pids="$pids $!"
	eval "exec $((n + 2))>\"$dir/in$n\""
	printf 'ivshmem\n' >&$((n + 2))
	wait_for "$dir/out$n" '^[[:space:]]*Peer id: ' ||
		fail "shell $n did not join: $(cat "$dir/out$n")"
	eval "id$n=\$(sed -n 's/^[[:space:]]*Peer id: //p' \"$dir/out$n\")"
done

# A fifth finds every slot taken, and says so.
rc=0
printf 'quit\n' | "$shell" -S "$dir/sock" -m mailbox >"$dir/out5" 2>&1 || rc=$?
sed 's/^/  [5] /' "$dir/out5"
[ "$rc" -eq 1 ] || fail "the fifth shell: exit status $rc (want 1)"
grep -q '^ipm-shell: cannot open the mailbox IPM: No space left on device$' \
	"$dir/out5" || fail "the fifth shell: no ENOSPC line"
grep -q '^ipm-shell: every mailbox slot of the region is taken; .*--slots' \
	"$dir/out5" || fail "the fifth shell: the limit is not explained"

# The third and fourth talk to each other and to the first.
printf 'send %s hello from four\n' "$id3" >&6
printf 'send %s hello from three\n' "$id1" >&5
wait_for "$dir/out3" "^Received 15 bytes from peer $id4: hello from four$" ||
	fail "three did not get four's message"
wait_for "$dir/out4" "^sent 15 bytes to peer $id3: completed by the receiver$" ||
	fail "four's send was not completed"
wait_for "$dir/out1" "^Received 16 bytes from peer $id3: hello from three$" ||
	fail "one did not get three's message"
printf 'peers\n' >&6
wait_for "$dir/out4" '^3 mailbox peers:' || fail "four does not list 3 peers"

for n in 1 2 3 4; do
	printf 'quit\n' >&$((n + 2))
done
for p in $pids; do
	wait "$p" || fail "a shell exited with $?"
done
pids=
for n in 1 2 3 4; do sed "s/^/  [$n] /" "$dir/out$n"; done
[ "$fails" -eq 0 ] || exit 1
echo "ipm_shell_slots: ok (peers $id1 $id2 $id3 $id4; a fifth refused)"
