#!/bin/sh
# The command-line conventions every program follows (src/util/cli.h;
# issue 13, item 5), checked for each program alike:
#   --help      usage on stdout (starting "Usage: "), nothing on stderr,
#               exit 0
#   --version   exactly "NAME (ivshmem-ipm) VERSION" on stdout, exit 0
#   a bad option, and a bad number: exit 2, nothing on stdout, exactly one
#               line on stderr, "NAME: ... (see 'NAME --help')" with the
#               bare NAME although the program is run by its full path
# Every failed assertion is listed; the exit status is 1 if any failed.
# Usage: conventions.sh VERSION SERVER CLIENT IPM_SHELL IPM_BENCH IVSHMEM_CTL
set -u
version=$1
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "conventions: FAIL: $*"; fails=$((fails + 1)); }

# run PROG ARGS...: $rc, $out and $err of PROG ARGS </dev/null
run() {
	rc=0
	"$@" </dev/null >"$dir/out" 2>"$dir/err" || rc=$?
	out=$(cat "$dir/out")
	err=$(cat "$dir/err")
	nerr=$(wc -l <"$dir/err")
}

# usage_error NAME WHAT PROG ARGS...: one line naming NAME, pointing at --help
usage_error() {
	name=$1 what=$2
	shift 2
	run "$@"
	[ "$rc" -eq 2 ] || fail "$name $what: exit status $rc, want 2"
	[ -z "$out" ] || fail "$name $what: printed on stdout: $out"
	[ "$nerr" -eq 1 ] || fail "$name $what: $nerr lines on stderr, want 1: $err"
	case $err in
	"$name: "*" (see '$name --help')") ;;
	*) fail "$name $what: stderr is not \"$name: ... (see '$name --help')\": $err" ;;
	esac
}

# check NAME PATH BAD-NUMBER-ARGS...
check() {
	name=$1 prog=$2
	shift 2
	[ -x "$prog" ] || { fail "$name: no program at $prog"; return; }
	run "$prog" --help
	[ "$rc" -eq 0 ] || fail "$name --help: exit status $rc, want 0"
	case $out in
	"Usage: "*) ;;
	*) fail "$name --help: stdout does not start with 'Usage: '" ;;
	esac
	[ -z "$err" ] || fail "$name --help: printed on stderr: $err"

	run "$prog" --version
	[ "$rc" -eq 0 ] || fail "$name --version: exit status $rc, want 0"
	[ "$out" = "$name (ivshmem-ipm) $version" ] ||
		fail "$name --version: '$out', want '$name (ivshmem-ipm) $version'"
	[ -z "$err" ] || fail "$name --version: printed on stderr: $err"

	usage_error "$name" "--no-such-option" "$prog" --no-such-option
	usage_error "$name" "-Z" "$prog" -Z
	usage_error "$name" "$*" "$prog" "$@"
	echo "conventions: $name checked"
}

check ivshmem-server "$1" -n 1x
check ivshmem-client "$2" -n 1x
check ipm-shell "$3" -n 1x
check ipm-bench "$4" --vm-pings 1x
check ivshmem-ctl "$5" -t 1x status

if [ $fails -ne 0 ]; then
	echo "conventions: $fails failed"
	exit 1
fi
echo "conventions: ok"
