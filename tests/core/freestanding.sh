#!/bin/sh
# SPDX-License-Identifier: MIT
# The mailbox core built freestanding for NAME (src/core/CMakeLists.txt):
# lists its undefined symbols (nm -u) and fails on any but memcpy, memset
# and the compiler helpers named below; prints its text/data sizes.
# Usage: freestanding.sh NAME NM SIZE OBJECT. Exit 77 (skip) when the
# cross tools are missing, except under CI (CI set), where that fails.
set -u
name=$1 nm=$2 size=$3 obj=$4

if [ -z "$nm" ] || [ ! -f "$obj" ]; then
	echo "core_freestanding_$name: no cross compiler (or $obj not built)"
	[ -n "${CI:-}" ] && exit 1
	exit 77
fi

# memcpy/memset: what a struct copy or __builtin_memcpy may become.
# Cortex-M has no 64-bit division or 64-bit atomics: libgcc's
# __aeabi_uldivmod, and the __atomic_*_8 helpers of the libatomic ABI,
# which the environment provides (on a single core, with interrupts off).
allowed='memcpy memset __aeabi_uldivmod __aeabi_ldivmod __aeabi_uidiv
__aeabi_uidivmod __aeabi_llsl __aeabi_llsr __atomic_load_8 __atomic_store_8
__atomic_compare_exchange_8 __atomic_thread_fence __sync_synchronize'

undef=$("$nm" -u "$obj" | awk '{ print $NF }' | sort -u)
echo "core_freestanding_$name: undefined symbols:" $undef
bad=0
for s in $undef; do
	ok=0
	for a in $allowed; do
		[ "$s" = "$a" ] && ok=1
	done
	if [ $ok = 0 ]; then
		echo "core_freestanding_$name: not allowed: $s"
		bad=1
	fi
done
# No data or bss: no global state (read-only tables are text/rodata).
if [ -n "$size" ]; then
	"$size" "$obj"
	set -- $("$size" "$obj" | awk 'NR == 2 { print $2, $3 }')
	if [ "$1" != 0 ] || [ "$2" != 0 ]; then
		echo "core_freestanding_$name: data $1, bss $2: global state"
		bad=1
	fi
fi
exit $bad
