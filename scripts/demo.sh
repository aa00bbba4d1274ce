#!/usr/bin/env bash
# make demo: Zephyr's "IPM over IVSHMEM" sample on this machine, no VM.
# Our server on a private socket and shm name, two ipm-shell peers in
# doorbell mode (the sample's exchange, both ways), then two in mailbox mode
# (payloads with acknowledgement). Everything started is cleaned up.
set -euo pipefail

BUILD=${1:-build}
SERVER=$BUILD/src/server/ivshmem-server
SHELL_BIN=$BUILD/tools/ipm-shell
# shellcheck source=scripts/demo-common.sh
. "$(dirname "$0")/demo-common.sh"
demo_init ipm-demo

# start_shell NAME FD MODE: an ipm-shell reading commands from a FIFO
start_shell() {
	mkfifo "$dir/$1.in"
	"$SHELL_BIN" -S "$sock" -n 2 -m "$3" <"$dir/$1.in" >"$dir/$1.out" 2>&1 &
	pids+=($!)
	eval "exec $2>\"$dir/$1.in\""
	: >"$dir/$1.seen"
}

# show NAME: print what NAME printed since last time
show() {
	local new
	new=$(tail -n +"$(($(wc -l <"$dir/$1.seen") + 1))" "$dir/$1.out")
	[ -n "$new" ] && printf '%s\n' "$new" | sed "s/^/  [$1]     /"
	cp "$dir/$1.out" "$dir/$1.seen"
}

# expect NAME TEXT: wait (5 s at most) until NAME has printed TEXT
expect() {
	for _ in $(seq 100); do
		grep -qF -- "$2" "$dir/$1.out" && return 0
		sleep 0.05
	done
	echo "demo: $1 did not print '$2'" >&2
	cat "$dir/$1.out" >&2
	exit 1
}

# run NAME FD COMMAND: type COMMAND into NAME's shell
run() {
	printf '  [%s] uart:~$ %s\n' "$1" "$3"
	echo "$3" >&"$2"
}

peer_id() { sed -n 's/^\tPeer id: //p' "$dir/$1.out" | tail -n 1; }

bold "ivshmem-server -F -S $sock -M $shm -l 4M -n 2"
"$SERVER" -F -S "$sock" -M "$shm" -l 4M -n 2 -p "$dir/server.pid" 2>"$dir/server.log" &
pids+=($!)
for _ in $(seq 100); do [ -e "$dir/server.pid" ] && break; sleep 0.05; done

bold "Doorbell mode (Zephyr's ipm_ivshmem): two peers, as in the sample"
start_shell A 3 doorbell
start_shell B 4 doorbell
run A 3 ivshmem; expect A "Notification vectors"; show A
run B 4 ivshmem; expect B "Notification vectors"; show B
a=$(peer_id A); b=$(peer_id B)
run A 3 "ivshmem_ipm_send $b"; expect B "Received IPM notification over IVSHMEM"; show A; show B
run B 4 "ivshmem_ipm_send $a"; expect A "Received IPM notification over IVSHMEM"; show B; show A
run A 3 quit; run B 4 quit
exec 3>&- 4>&-

bold "Mailbox mode: payloads in shared memory, acknowledged by the receiver"
start_shell C 3 mailbox
start_shell D 4 mailbox
run C 3 ivshmem; expect C "Notification vectors"; show C
run D 4 ivshmem; expect D "Notification vectors"; show D
c=$(peer_id C); d=$(peer_id D)
run C 3 "send $d hello from peer $c"
expect D "Received"; expect C "sent"; show C; show D
run D 4 "send $c hello back from peer $d"
expect C "hello back"; expect D "sent"; show D; show C
head -c 65536 /dev/urandom >"$dir/blob"
run C 3 "sendfile $d $dir/blob"
expect D "Received 65536 bytes"; expect C "sent 65536"; show C; show D
echo "  (sent file fnv1a64: $(python3 -c 'import sys
h=0xcbf29ce484222325
for b in open(sys.argv[1],"rb").read(): h=((h^b)*0x100000001b3)&0xffffffffffffffff
print("%016x"%h)' "$dir/blob"))"
run C 3 "ivshmem_ipm_send $d"; expect D "Received IPM notification"; show D
run C 3 quit; run D 4 quit
exec 3>&- 4>&-
wait "${pids[1]}" "${pids[2]}" "${pids[3]}" "${pids[4]}" 2>/dev/null || true

bold "Server log"
kill "${pids[0]}"; wait "${pids[0]}" || true
sed 's/^/  /' "$dir/server.log"
left=$(ls /dev/shm | grep -c "ipm-demo-$$" || true)
bold "Done: server stopped, socket and shared memory removed ($left left)"
