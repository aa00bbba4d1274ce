# Sourced by demo.sh and vm-demo.sh: a private directory, socket and shm
# name for the demo's server, and a cleanup that stops whatever the demo
# started (its pids in $pids, FIFOs held open on fds 3 and 4).
# demo_init NAME
demo_init() {
	dir=$(mktemp -d "/tmp/$1.XXXXXX")
	sock=$dir/ivshmem.sock
	shm=/$1-$$
	pids=()
	trap demo_cleanup EXIT
}

demo_cleanup() {
	for fd in 3 4; do eval "exec $fd>&-" 2>/dev/null || true; done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
