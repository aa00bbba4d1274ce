#!/bin/sh
# dist_symbols: libivshmem.so.0 exports exactly the functions the public
# headers declare, each at version node IVSHMEM_0, and the version script
# lists exactly those.
#
#   symbols.sh SOURCE_DIR LIBRARY CC
set -u
SRC=$1 LIB=$2 CC=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/dist_symbols.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
FAILED=0

# Declared: identifiers followed by '(' in the preprocessed headers (no
# comments), with the public prefixes (system headers have none).
for h in "$SRC"/include/ivshmem/*.h; do
	$CC -E -P -I"$SRC/include" "$h" || { echo "FAIL: cc -E $h"; exit 1; }
done | grep -oE '\b(ivshmem|ivshm|ipm)_[A-Za-z0-9_]+[[:space:]]*\(' |
	tr -d '( \t' | sort -u >"$T/declared"
# Exported, with their versions.
nm -D --defined-only "$LIB" | awk '{ print $3 }' | grep -v '^IVSHMEM_0$' |
	sort -u >"$T/exported"
# In the version script.
sed -n 's/^[[:space:]]*\([a-z_][a-z0-9_]*\);.*/\1/p' "$SRC/src/lib/libivshmem.map" |
	sort -u >"$T/listed"

echo "declared: $(wc -l <"$T/declared"), exported: $(wc -l <"$T/exported")"
if ! grep -qx 'ivshmem_connect' "$T/declared"; then
	echo "FAIL: no ivshmem_connect among the declarations (parse broken?)"
	FAILED=1
fi
sed 's/$/@@IVSHMEM_0/' "$T/declared" >"$T/want"
if ! diff -u "$T/want" "$T/exported"; then
	echo "FAIL: exported symbols (+) differ from the headers' functions (-)"
	FAILED=1
fi
if ! diff -u "$T/declared" "$T/listed"; then
	echo "FAIL: src/lib/libivshmem.map (+) differs from the headers (-)"
	FAILED=1
fi
soname=$(readelf -d "$LIB" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libivshmem.so.0 ] || { echo "FAIL: soname '$soname'"; FAILED=1; }
[ $FAILED -eq 0 ] && echo "dist_symbols: ok"
exit $FAILED
