#!/bin/sh
# Fuzz every target of the fuzz build for a while: `make fuzz`.
#   scripts/fuzz.sh BUILD_DIR SECONDS_PER_TARGET [NAME...]
# Each target starts from its seed corpus in the source tree and writes
# what it finds to BUILD_DIR/fuzz/NAME/ (new inputs in corpus/, crashes as
# crash-* files), never into the source tree: copy a crash into the
# target's corpus folder by hand, as a regression input, once it is fixed.
set -eu
# Absolute: each target runs in its own output folder.
build=$(cd "$1" && pwd)
secs=$2
shift 2
list="$build/fuzzers.txt"
[ -f "$list" ] || { echo "fuzz.sh: no $list (configure with -DIVSHMEM_FUZZ=ON)" >&2; exit 2; }
status=0
summary=""
tab=$(printf '\t')
while IFS="$tab" read -r name bin corpus; do
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	out="$build/fuzz/$name"
	mkdir -p "$out/corpus"
	echo "fuzz.sh: $name for ${secs}s" >&2
	log="$out/log.txt"
	if (cd "$out" && "$bin" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$out/" corpus "$corpus") >"$log" 2>&1; then
		res=ok
	else
		res="CRASH (see $log and $out/crash-*)"
		status=1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	summary="$summary$name: ${execs:-?} executions in ${secs}s: $res
"
done <"$list"
printf '%s' "$summary"
exit $status
