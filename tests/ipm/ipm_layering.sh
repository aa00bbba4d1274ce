#!/bin/sh
# The IPM stack is one way (src/ipm/backend.h): the backends (doorbell.c,
# mailbox.c) reference no symbol the front (ipm.c) defines -- checked on
# the objects in the library, so an inline wrapper or a macro in a header
# that calls into the front is caught as well as a direct call.
# Usage: ipm_layering.sh LIBIVIPM.a [NM]
set -eu
lib=$1 nm=${2:-nm}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# "lib[member]: sym T ..." -> "member sym T", one symbol a line.
"$nm" -A -g -P "$lib" |
	sed -n 's/^.*\[\([^]]*\)\]: \([^ ]*\) \([A-Za-z]\).*$/\1 \2 \3/p' \
	>"$dir/table"
awk '$1 == "ipm.c.o" && $3 != "U" { print $2 }' "$dir/table" >"$dir/front"
grep -qx ipm_open "$dir/front" ||
	{ echo "ipm_layering: no ipm_open defined in ipm.c.o of $lib" >&2; exit 1; }
fails=0
for be in doorbell.c.o mailbox.c.o; do
	grep -q "^$be " "$dir/table" ||
		{ echo "ipm_layering: no $be in $lib" >&2; exit 1; }
	awk -v m="$be" '$1 == m && $3 == "U" { print $2 }' "$dir/table" \
		>"$dir/undef"
	if grep -Fxf "$dir/front" "$dir/undef" >"$dir/up"; then
		echo "ipm_layering: FAIL: $be calls up into the front:" \
		     $(cat "$dir/up") >&2
		fails=$((fails + 1))
	fi
done
[ "$fails" -eq 0 ] || exit 1
echo "ipm_layering: ok (the backends reference none of the front's" \
     "$(wc -l <"$dir/front") symbols)"
