#!/bin/sh
# The Makefile's configure step survives a failed or interrupted configure
# (issue 13, item 1): after cmake failed for a missing package (libedit
# hidden from pkg-config) the next `make configure` configures afresh and
# succeeds; a tree configured to the end but without the stamp (cmake
# killed while generating) is configured again; a finished one is left
# alone.
# Usage: make_configure.sh SOURCE_DIR
set -eu
src=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
b=$dir/build
fails=0
fail() { echo "make_configure: FAIL: $*" >&2; fails=$((fails + 1)); }
mk() { make --no-print-directory -C "$src" configure BUILD="$b" >"$dir/out" 2>&1; }

# 1. A configure that fails: no stamp, a cache left behind.
rc=0
PKG_CONFIG_LIBDIR=$dir/none mk || rc=$?
[ $rc -ne 0 ] || fail "configure without libedit succeeded"
[ -f "$b/CMakeCache.txt" ] || fail "the failed configure left no cache (the test needs one)"
[ ! -f "$b/.configured" ] || fail "a failed configure left the stamp"

# 2. The next try starts afresh and succeeds.
rc=0
mk || rc=$?
[ $rc -eq 0 ] || fail "the second configure failed: $(tail -n 5 "$dir/out")"
grep -q "an unfinished configure; starting afresh" "$dir/out" ||
	fail "the stale cache was not noticed: $(head -n 3 "$dir/out")"
[ -f "$b/.configured" ] && [ -f "$b/Makefile" ] || fail "no stamp or Makefile after it"

# 3. Configured, stamp lost (interrupted after generating): again.
rm "$b/.configured"
mk || fail "configure after a lost stamp failed"
grep -q "^cmake -S " "$dir/out" || fail "a tree without the stamp was not configured again"
[ -f "$b/.configured" ] || fail "no stamp after configuring again"

# 4. Configured and stamped: nothing to do.
mk || fail "make configure on a configured tree failed"
[ ! -s "$dir/out" ] || fail "a configured tree was configured again: $(head -n 1 "$dir/out")"

[ $fails -eq 0 ] || exit 1
echo "make_configure: ok"
