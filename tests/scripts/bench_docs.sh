#!/bin/sh
# The benchmark's documentation holds (issue 13, item 7): every figure
# ipm-bench knows (its --help lists them) and every key of a real run's
# JSON (bench-quick.json, an `ipm-bench --quick --json` output) is in
# docs/bench-json.md; bench/mkreport.py writes its report where it is told
# (make bench: the build tree) and leaves docs/ alone; the README links the
# format inside the repository.
# Usage: bench_docs.sh SOURCE_DIR IPM_BENCH
set -eu
src=$1 bench=$2
doc=$src/docs/bench-json.md
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "bench_docs: FAIL: $*" >&2; fails=$((fails + 1)); }

figures=$("$bench" --help | sed -n '/^Figures:/,$p' | sed 's/^[^:]*://')
[ -n "$figures" ] || fail "no figures in ipm-bench --help"
for f in $figures; do
	grep -qF "\`$f\`" "$doc" || fail "figure $f is not in docs/bench-json.md"
done
keys=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
keys = set(d)
for part in ("results", "targets"):
    for r in d[part]:
        keys |= set(r)
print(" ".join(sorted(keys)))' "$src/tests/scripts/bench-quick.json")
for k in $keys; do
	grep -qF "\`$k\`" "$doc" || fail "key $k is not in docs/bench-json.md"
done

before=$(cd "$src/docs" && ls -l --time-style=+%s.%N)
python3 "$src/bench/mkreport.py" "$src/tests/scripts/bench-quick.json" \
	"$dir/report" 2>"$dir/err" || {
	# Without gnuplot only the Markdown is made (exit 1).
	grep -q "no gnuplot" "$dir/err" || fail "mkreport.py failed: $(cat "$dir/err")"
}
[ -s "$dir/report/BENCHMARKS.md" ] || fail "no BENCHMARKS.md in the output folder"
grep -q '^| rtt.mailbox.block 64 | ≤ 1.15 × rtt.eventfd 0 | ' "$dir/report/BENCHMARKS.md" ||
	fail "BENCHMARKS.md has no target table"
if command -v gnuplot >/dev/null; then
	[ "$(head -c 4 "$dir/report/bench.png" | od -An -c | tr -d ' ')" = "211PNG" ] ||
		fail "bench.png is no PNG"
fi
[ "$(cd "$src/docs" && ls -l --time-style=+%s.%N)" = "$before" ] ||
	fail "mkreport.py into another folder changed docs/"

grep -q '\.\./shared' "$src/README.md" && fail "README.md links outside the repository"
grep -q '(docs/bench-json.md)' "$src/README.md" || fail "README.md does not link docs/bench-json.md"

[ $fails -eq 0 ] || exit 1
echo "bench_docs: ok"
