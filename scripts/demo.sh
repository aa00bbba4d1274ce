#!/usr/bin/env bash
# make demo: a server and two peers on this machine, no VM needed.
# Everything runs on a private socket and shm name and is cleaned up.
set -euo pipefail

BUILD=${1:-build}
SERVER=$BUILD/src/server/ivshmem-server
CLIENT=$BUILD/tools/ivshmem-client
dir=$(mktemp -d /tmp/ivshmem-demo.XXXXXX)
sock=$dir/ivshmem.sock
shm=/ivshmem-demo-$$
server_pid=""

cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "start ivshmem-server: 4M of shared memory, 2 vectors per peer"
echo "\$ ivshmem-server -F -S $sock -M $shm -l 4M -n 2"
"$SERVER" -F -S "$sock" -M "$shm" -l 4M -n 2 2>"$dir/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done

say "peer A joins and waits for a doorbell on its vector 1"
"$CLIENT" -S "$sock" -n 2 --wait 1 --timeout 10 | sed 's/^/  [A] /' &
a_pid=$!
sleep 0.3

say "peer B joins, lists the peers and rings every peer's vector 1"
echo "\$ ivshmem-client -S $sock -n 2 --dump --ring all:1"
"$CLIENT" -S "$sock" -n 2 --dump --ring all:1 2>&1 | sed 's/^/  [B] /'
wait "$a_pid"
say "peer A was notified and left; stopping the server"
kill "$server_pid"; wait "$server_pid" || true; server_pid=""
say "the server's log"
sed 's/^/  [server] /' "$dir/server.log"
echo "  socket and shared memory removed: $( [ -e "$sock" ] || [ -e "/dev/shm${shm}" ] && echo no || echo yes)"
