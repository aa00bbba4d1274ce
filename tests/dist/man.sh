#!/bin/sh
# dist_man: every man page source is valid scdoc, and each program's page
# describes every option its --help lists (and no option it lacks), and
# ipm-bench's every figure.
#
#   man.sh SOURCE_DIR BUILD_DIR SCDOC
set -u
SRC=$1 BUILD=$2 SCDOC=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/dist_man.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
FAILED=0
for page in "$SRC"/docs/man/*.scd; do
	"$SCDOC" <"$page" >"$T/out" || { echo "FAIL: scdoc $page"; FAILED=1; }
done
opts() { grep -oE -- "$2" "$1" | sed 's/[=*]//g' | sort -u; }
for p in src/server/ivshmem-server:8 tools/ivshmem-client:1 \
	 tools/ipm-shell:1 bench/ipm-bench:1; do
	prog=${p%%:*} sec=${p#*:} name=${prog##*/}
	page=$SRC/docs/man/$name.$sec.scd
	"$BUILD/$prog" --help >"$T/help" || { echo "FAIL: $name --help"; FAILED=1; }
	# Option lines of --help: indented by at most 6 spaces.
	grep -E '^ {1,6}-' "$T/help" >"$T/optlines"
	opts "$T/optlines" '(^| )--?[A-Za-z0-9][A-Za-z0-9-]*' | tr -d ' ' >"$T/help.opts"
	opts "$page" '\*--?[A-Za-z0-9][A-Za-z0-9-]*\*' >"$T/page.opts"
	# Every option line's option is on the page; the page's others must
	# at least be named somewhere in --help (aliases in a description).
	missing=$(comm -23 "$T/help.opts" "$T/page.opts")
	extra=$(comm -13 "$T/help.opts" "$T/page.opts" | while read -r o; do
		grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|\$)" "$T/help" || echo "$o"
	done)
	if [ -n "$missing$extra" ]; then
		echo "FAIL: $name.$sec: not on the page: ${missing:-none};" \
		     "not in --help: ${extra:-none}"
		FAILED=1
	fi
	echo "$name.$sec: $(wc -l <"$T/help.opts") options"
done
# ipm-bench's page names every figure its --help lists.
"$BUILD/bench/ipm-bench" --help |
	sed -n 's/^\(Figures\|With --vm\): //p' | tr ' ' '\n' >"$T/figures"
# The page's words, a sentence's full stop dropped: exact matches only.
tr -s ' ,;:*\t' '\n' <"$SRC/docs/man/ipm-bench.1.scd" | sed 's/\.$//' \
	>"$T/words"
for f in $(cat "$T/figures"); do
	grep -qFx "$f" "$T/words" ||
		{ echo "FAIL: ipm-bench.1: figure $f not on the page"; FAILED=1; }
done
echo "ipm-bench.1: $(wc -l <"$T/figures") figures"
[ $FAILED -eq 0 ] && echo "dist_man: ok"
exit $FAILED
