# Sourced by the ipm-shell test scripts here: what they all need, once.
# They set $dir (their temporary directory) before sourcing this.

# After starting the server with -p "$dir/pid": wait until it wrote its
# pid (5 s), else show its log and fail.
wait_server_pid() {
	for _ in $(seq 100); do [ -s "$dir/pid" ] && return 0; sleep 0.05; done
	echo "$(basename "$0"): the server did not start" >&2
	cat "$dir/server.log" >&2
	exit 1
}

# wait_for FILE PATTERN [COUNT]: until FILE has COUNT (default 1) lines
# matching PATTERN (10 s).
wait_for() {
	for _ in $(seq 200); do
		[ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] &&
			return 0
		sleep 0.05
	done
	return 1
}
