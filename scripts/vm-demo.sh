#!/usr/bin/env bash
# make vm-demo: two aarch64 Linux guests (QEMU virt + SMMUv3, TCG or KVM)
# on our ivshmem-server, their ivshmem devices bound to vfio-pci; their
# consoles are shown prefixed [vm0] and [vm1]. The guests come from
# tests/vm (build-guest.sh: Debian's kernel and busybox, our tools built
# statically; the first run downloads and takes about a minute).
#
# demo_exchange below is what runs in the guests once they are up: the
# exchange of Zephyr's "IPM over IVSHMEM" sample through ipm-shell --pci
# (the guest transport: VFIO with MSI-X), then a mailbox payload.
set -euo pipefail

BUILD=${1:-build}
ARCH=${VM_DEMO_ARCH:-aarch64}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SERVER=$BUILD/src/server/ivshmem-server
IMG=$BUILD/vm/$ARCH
# shellcheck source=scripts/demo-common.sh
. "$(dirname "$0")/demo-common.sh"
demo_init ipm-vm-demo

# start_guest NAME FD: boot a guest whose console input is fd FD (a FIFO)
# and output $dir/NAME.out, shown here as it comes.
start_guest() {
	mkfifo "$dir/$1.in"
	eval "exec $2<>\"$dir/$1.in\""
	: >"$dir/$1.out"
	sh "$SRC/tests/vm/vm-run.sh" -s "$sock" "$ARCH" "$IMG" \
		<"$dir/$1.in" >"$dir/$1.out" 2>&1 &
	pids+=($!)
	# Ends with QEMU. Without the \r and busybox's cursor queries (ESC[6n).
	tail -n +1 -f --pid=$! "$dir/$1.out" |
		sed -u "s/\r\$//; s/\x1b\[6n//g; s/^/  [$1] /" &
}

# type NAME FD LINE: type a line on NAME's console.
type_line() {
	printf '%s\n' "$3" >&"$2"
}

# wait_for NAME TEXT [SECONDS]: until NAME's console has printed TEXT
# (a fixed string) N times in all, N counting calls for that TEXT.
declare -A seen
wait_for() {
	local key="$1|$2" n t=0
	n=$((${seen[$key]:-0} + 1))
	seen[$key]=$n
	until [ "$(grep -cF -- "$2" "$dir/$1.out" || true)" -ge "$n" ]; do
		sleep 0.2
		t=$((t + 1))
		if [ "$t" -gt "$((${3:-120} * 5))" ]; then
			echo "vm-demo: $1 did not print '$2'" >&2
			exit 1
		fi
	done
}

# run NAME FD CMD: run CMD in guest NAME and wait for its prompt.
run() {
	type_line "$1" "$2" "$3"
	wait_for "$1" "ivshmem-vm# "
}

# peer_id NAME: the peer id NAME's last `ivshmem` printed.
peer_id() {
	tr -d '\r' <"$dir/$1.out" | sed -n 's/^[[:space:]]*Peer id: //p' |
		tail -n 1
}

# What the guests do once booted, vm0 on fd 3 and vm1 on fd 4: the
# exchange of Zephyr's "IPM over IVSHMEM" sample, then a mailbox payload.
demo_exchange() {
	local id0 id1

	bold "== ipm-shell --pci in each guest: the sample's shell =="
	type_line vm0 3 "ipm-shell --pci"
	wait_for vm0 "ipm-shell: using "
	type_line vm1 4 "ipm-shell --pci"
	wait_for vm1 "ipm-shell: using "
	type_line vm0 3 "ivshmem"
	wait_for vm0 "Notification vectors:"
	type_line vm1 4 "ivshmem"
	wait_for vm1 "Notification vectors:"
	id0=$(peer_id vm0)
	id1=$(peer_id vm1)

	bold "== vm0 (peer $id0) notifies vm1 (peer $id1), and back =="
	type_line vm0 3 "ivshmem_ipm_send $id1"
	wait_for vm1 "Received IPM notification over IVSHMEM"
	type_line vm1 4 "ivshmem_ipm_send $id0"
	wait_for vm0 "Received IPM notification over IVSHMEM"

	bold "== doorbell round trips: vm1 answers, vm0 times 200 =="
	type_line vm1 4 "pong $id0"
	type_line vm0 3 "ping $id1 200"
	wait_for vm0 "round trips of"
	type_line vm0 3 "quit"
	type_line vm1 4 "quit"
	wait_for vm0 "ivshmem-vm# "
	wait_for vm1 "ivshmem-vm# "

	bold "== mailbox mode: a payload, acknowledged by the receiver =="
	type_line vm0 3 "ipm-shell --pci --mode mailbox"
	wait_for vm0 "ipm-shell: using "
	type_line vm1 4 "ipm-shell --pci --mode mailbox"
	wait_for vm1 "ipm-shell: using "
	type_line vm0 3 "peers"
	wait_for vm0 "mailbox peer"
	type_line vm0 3 "send $id1 hello from vm0"
	wait_for vm1 "hello from vm0"
	wait_for vm0 "completed by the receiver"
	type_line vm0 3 "quit"
	type_line vm1 4 "quit"
	wait_for vm0 "ivshmem-vm# "
	wait_for vm1 "ivshmem-vm# "
}

bold "== building the $ARCH guest (tests/vm/build-guest.sh) =="
sh "$SRC/tests/vm/build-guest.sh" "$ARCH" "$SRC" "$IMG" 2>&1 | tail -n 3

bold "== ivshmem-server -n 2 =="
"$SERVER" -F -S "$sock" -M "$shm" -l 4M -n 2 &
pids+=($!)
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

bold "== booting two $ARCH guests =="
start=$(date +%s)
start_guest vm0 3
start_guest vm1 4
wait_for vm0 "ivshmem-vm# " 300
wait_for vm1 "ivshmem-vm# " 300
bold "== both guests up after $(($(date +%s) - start)) s =="

demo_exchange

bold "== powering off =="
type_line vm0 3 "poweroff -f"
type_line vm1 4 "poweroff -f"
wait_for vm0 "reboot: Power down" 60
wait_for vm1 "reboot: Power down" 60
