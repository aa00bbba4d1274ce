#!/bin/sh
# ipm-shell tells failures as they are (issue 13, items 6-7; issue 12,
# item 12): "no peer 99" for a peer that is not there; wait refuses NaN
# and 1e308; after the server is killed, `ivshmem` does not claim to be up
# and running; the exit status is 1 once any command failed and 0 when
# none did.
# Usage: ipm_shell_failures.sh SERVER IPM_SHELL
set -eu
server=$1 shell=$2
dir=$(mktemp -d)
spid=
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; exec 7>&- 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
. "$(dirname "$0")/shlib.sh"
fails=0
fail() { echo "ipm_shell_failures: FAIL: $*" >&2; fails=$((fails + 1)); }

start_server() {
	rm -f "$dir/sock" "$dir/pid"
	"$server" -F -S "$dir/sock" -M "/ipm-shell-failures-$$" -l 1M -n 1 \
		-p "$dir/pid" 2>>"$dir/server.log" &
	spid=$!
	wait_server_pid
}

# session NAME MODE COMMANDS: run ipm-shell on COMMANDS (printf format);
# its output in $dir/NAME.out, its exit status in $rc
session() {
	rc=0
	# shellcheck disable=SC2059
	printf "$3" | "$shell" -S "$dir/sock" -m "$2" >"$dir/$1.out" 2>&1 || rc=$?
	sed "s/^/  [$1] /" "$dir/$1.out"
}

start_server

# All good: exit 0.
session good doorbell 'ivshmem\nwait 0.1\nhelp\n'
[ "$rc" -eq 0 ] || fail "no command failed, exit status $rc"
grep -q "IVshmem up and running" "$dir/good.out" || fail "ivshmem: no 'up and running'"

# Bad numbers and absent peers: each refused, and exit 1.
session bad mailbox 'wait nan\nwait 1e308\nwait -1\nwait 1x\nsend 99 hi\nivshmem_ipm_send 99\nquit\n'
[ "$rc" -eq 1 ] || fail "failed commands, exit status $rc (want 1)"
n=$(grep -c '^usage: wait \[SECONDS\], 0 to 86400' "$dir/bad.out" || true)
[ "$n" -eq 4 ] || fail "$n usage lines for 4 bad waits"
n=$(grep -c '^no peer 99$' "$dir/bad.out" || true)
[ "$n" -eq 2 ] || fail "$n 'no peer 99' for send and ivshmem_ipm_send"
grep -q "not connected" "$dir/bad.out" && fail "'not connected' while the server runs"

# One failure among good commands is enough for exit 1.
session one doorbell 'ivshmem\nbogus\nivshmem\n'
[ "$rc" -eq 1 ] || fail "an unknown command, exit status $rc (want 1)"
grep -q '^bogus: command not found$' "$dir/one.out" || fail "no 'command not found'"

# The server killed under a running shell.
mkfifo "$dir/in"
rc=0
"$shell" -S "$dir/sock" <"$dir/in" >"$dir/gone.out" 2>&1 &
shpid=$!
exec 7>"$dir/in"
echo ivshmem >&7
for _ in $(seq 100); do grep -q "Notification vectors" "$dir/gone.out" && break; sleep 0.05; done
kill "$spid"
wait "$spid" || true
spid=
printf 'ivshmem\nivshmem_ipm_send 0\n' >&7
exec 7>&-
wait "$shpid" || rc=$?
sed 's/^/  [gone] /' "$dir/gone.out"
n=$(grep -c "IVshmem up and running" "$dir/gone.out" || true)
[ "$n" -eq 1 ] || fail "'up and running' $n times: once before the server was killed, not after"
[ "$rc" -eq 1 ] || fail "server gone, exit status $rc (want 1)"
grep -q "^ipm-shell: the server closed the connection$" "$dir/gone.out" ||
	fail "no 'the server closed the connection'"

[ $fails -eq 0 ] || exit 1
echo "ipm_shell_failures: ok"
