#!/bin/sh
# ipm-shell's ping refuses what it cannot do with its usage line, and the
# shell goes on: a bad count, a bad size, and an unknown last word
# (only 'samples' prints each round trip); the exit status then says that
# commands failed (1).
# Usage: ipm_shell_usage.sh SERVER IPM_SHELL
set -eu
server=$1 shell=$2
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
"$server" -F -S "$dir/sock" -M "/ipm-shell-usage-$$" -l 64K -n 1 2>"$dir/server.log" &
pid=$!
for _ in $(seq 100); do [ -S "$dir/sock" ] && break; sleep 0.05; done
rc=0
printf 'ping 1 0\nping 1 5 999999\nping 1 5 0 bogus\nhelp\nquit\n' |
	"$shell" -S "$dir/sock" >"$dir/out" 2>&1 || rc=$?
cat "$dir/out"
[ $rc -eq 1 ] || { echo "ipm_shell_usage: exit status $rc after bad commands (want 1)" >&2; exit 1; }
n=$(grep -c '^usage: ping PEER \[1..1000000\] \[0..65536\] \[samples\]$' "$dir/out" || true)
if [ "$n" -ne 3 ]; then
	echo "ipm_shell_usage: $n usage lines for 3 bad pings" >&2
	exit 1
fi
# still running after them: 'help' answered
grep -q "with 'samples' each one in ns too" "$dir/out" || { echo "ipm_shell_usage: no help" >&2; exit 1; }
