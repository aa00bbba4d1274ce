#!/bin/sh
# docs/options.md has a row for every option QEMU's reference server and
# client take (as their own -h lists them: tests/interop builds them into
# the cache given), in the table of the program it belongs to, and the
# README links it. Exit 77 (skip) when the reference is not built, as the
# interop tests do, except under CI.
# Usage: options_doc.sh SOURCE_DIR QEMU_REF_BIN_DIR
set -eu
src=$1 ref=$2
doc=$src/docs/options.md
fails=0
fail() { echo "options_doc: FAIL: $*" >&2; fails=$((fails + 1)); }

if [ ! -x "$ref/ivshmem-server" ] || [ ! -x "$ref/ivshmem-client" ]; then
	echo "options_doc: no QEMU reference programs in $ref" >&2
	[ -n "${CI:-}" ] && exit 1
	exit 77
fi
# section NAME: the lines of docs/options.md under "## NAME"
section() {
	sed -n "/^## $1\$/,/^## /p" "$doc"
}
# check NAME OPTIONS: a table row starting with each option
check() {
	rows=$(section "$1" | grep '^| ')
	for o in $2; do
		printf '%s\n' "$rows" | grep -q "^| \`$o[ \`]" ||
			fail "$1: no row for QEMU's $o"
	done
}
srv=$("$ref/ivshmem-server" -h | sed -n 's/^  \(-[A-Za-z]\).*/\1/p')
cli=$("$ref/ivshmem-client" -h 2>&1 | sed -n 's/^  \(-[A-Za-z]\).*/\1/p')
[ -n "$srv" ] && [ -n "$cli" ] || fail "no options read from QEMU's -h"
check ivshmem-server "$srv"
check ivshmem-client "$cli"
grep -q '(docs/options.md)' "$src/README.md" || fail "README.md does not link docs/options.md"

[ $fails -eq 0 ] || exit 1
echo "options_doc: ok ($(echo $srv) / $(echo $cli))"
