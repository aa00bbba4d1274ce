#!/bin/sh
# SPDX-License-Identifier: MIT
# Check the mailbox queue model (queue.pml) with spin: safety (assertions,
# invalid end states) and non-progress cycles under weak fairness, each of
# which must find no error and exhaust the state space; then the negative
# variants, each of which must find its violation (README.md).
# Usage: run.sh QUEUE.PML WORKDIR
set -eu
model=$1
work=$2
cc=${CC:-cc}
command -v spin >/dev/null || { echo "model: spin is not installed (Debian package spin)" >&2; exit 1; }
mkdir -p "$work"
cd "$work"
cp "$model" queue.pml
fail=0

# pan NAME "SPIN -D FLAGS" "CC FLAGS" "PAN FLAGS" EXPECT (clean|violation)
pan() {
	name=$1; sdefs=$2; cdefs=$3; pflags=$4; expect=$5
	mkdir -p "$name"
	cp queue.pml "$name/"
	(cd "$name" && spin $sdefs -a queue.pml >spin.log 2>&1 &&
		$cc -O2 -w $cdefs -o pan pan.c &&
		./pan $pflags >pan.log 2>&1) || true
	log=$name/pan.log
	if [ ! -s "$log" ]; then
		echo "model $name: spin or cc failed:"; cat "$name/spin.log"
		fail=1; return
	fi
	states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$log")
	if [ "$expect" = clean ]; then
		if grep -q "errors: 0" "$log" &&
		   ! grep -q "Search not completed" "$log" &&
		   ! grep -qi "depth too small" "$log" &&
		   ! grep -q "out of memory" "$log"; then
			echo "model $name: no error, state space exhausted ($states states)"
		else
			echo "model $name: FAILED"; cat "$log"
			(cd "$name" && [ -f queue.pml.trail ] &&
				spin -t -p -g $sdefs queue.pml | tail -60)
			fail=1
		fi
	else
		if grep -q "errors: [1-9]" "$log" &&
		   grep -q "$expect" "$log"; then
			echo "model $name: found, as it must: $(grep -m1 "$expect" "$log")"
		else
			echo "model $name: the violation was NOT found"; cat "$log"
			fail=1
		fi
	fi
}

# Safety: 3 messages (the second with wait=1) through a ring of 2 records
# (so the sender reuses records), 1 scribbled word anywhere at any time.
pan safety "-DM=3 -DSCRIBBLES=1" "-DSAFETY -DCOLLAPSE" "-m1000000" clean
# Liveness: no cycle in which neither side makes progress (fair runs).
pan progress "-DM=2 -DSCRIBBLES=1" "-DNP -DCOLLAPSE" "-m1000000 -l -f" clean
# Recovery: once the scribbler is done (and the receiver's last drop is
# behind), every message sent is delivered or reported withdrawn.
pan recovery "-DM=3 -DSCRIBBLES=1 -DCHECK_RECOVERY" "-DSAFETY -DCOLLAPSE" \
	"-m1000000" clean
# A blocking send: no delivery after it returned -ETIMEDOUT, and every 0
# it returned was delivered, also when a third party wrote over the claim
# word while the receiver was in its callback (open case (a), fixed by the
# claimed stamp the sender checks).
pan withdraw "-DM=3 -DSCRIBBLES=1 -DCHECK_WITHDRAW" "-DSAFETY -DCOLLAPSE" \
	"-m1000000" clean
# The model can fail: without the claimed stamp's check, open case (a)
# comes back; without the tail check, one scribbled tail leaves
# the pair stuck (the sender follows it past the receiver); without the
# checksum, a scribbled payload is delivered.
pan no_tail_check "-DM=3 -DSCRIBBLES=1 -DNO_TAIL_CHECK" "-DSAFETY" \
	"-m1000000" "assertion violated"
pan no_checksum "-DM=3 -DSCRIBBLES=1 -DNO_CHECKSUM" "-DSAFETY" "-m1000000" \
	"assertion violated"
pan no_claim_stamp "-DM=3 -DSCRIBBLES=1 -DCHECK_WITHDRAW -DNO_CLAIM_STAMP" \
	"-DSAFETY" "-m1000000" "assertion violated"
exit $fail
