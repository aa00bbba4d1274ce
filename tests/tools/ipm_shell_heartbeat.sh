#!/bin/sh
# An idle `ipm-shell -m mailbox` keeps its heartbeat moving: its event loop
# wakes when ipm_timeout() says (every 250 ms), so guests, which have no
# presence news and take a peer whose heartbeat stood still for 5 s as gone,
# keep it. Sampled from outside with `ivshmem-ctl mailbox -i 1`: a loop that
# wakes only once a second would show +0 or +1, ours about +4.
# Usage: ipm_shell_heartbeat.sh SERVER IPM_SHELL IVSHMEM_CTL
set -eu
server=$1 shell=$2 ctl=$3
dir=$(mktemp -d)
spid= pid=
cleanup() {
	for p in $pid $spid; do kill "$p" 2>/dev/null || true; done
	exec 3>&- 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
. "$(dirname "$0")/shlib.sh"

"$server" -F -S "$dir/sock" -p "$dir/pid" 2>"$dir/server.log" &
spid=$!
wait_server_pid

mkfifo "$dir/in"
"$shell" -S "$dir/sock" -m mailbox <"$dir/in" >"$dir/out" 2>&1 &
pid=$!
exec 3>"$dir/in"
printf 'ivshmem\n' >&3
for _ in $(seq 200); do
	grep -q '^[[:space:]]*Peer id: ' "$dir/out" && break
	sleep 0.05
done
grep -q '^[[:space:]]*Peer id: ' "$dir/out" ||
	{ echo "ipm_shell_heartbeat: FAIL: the shell did not join" >&2
	  cat "$dir/out" >&2; exit 1; }
sleep 1  # idle from here on

"$ctl" -S "$dir/sock" -i 1 mailbox >"$dir/view" || true
sed 's/^/  /' "$dir/view"
# The shell's slot: "< WAITED ms (+N)" with N >= 2 (WAITED: about 1000).
n=$(sed -n 's/.*< [0-9]* ms (+\([0-9]*\)).*/\1/p' "$dir/view" | head -1)
if [ -z "$n" ]; then
	echo "ipm_shell_heartbeat: FAIL: no moving heartbeat in the view" >&2
	exit 1
fi
if [ "$n" -lt 2 ]; then
	echo "ipm_shell_heartbeat: FAIL: the idle shell's heartbeat moved" \
	     "$n times in 1 s (want at least 2: it beats every 250 ms)" >&2
	exit 1
fi
echo "ipm_shell_heartbeat: the idle shell beat $n times in 1 s"
