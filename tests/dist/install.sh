#!/bin/sh
# dist_install: `cmake --install` with DESTDIR into a temporary prefix, then
# the README's examples (examples/ring_all.c, examples/ipm_hello.c) built
# against the installed files alone -- with pkg-config and with
# find_package, each shared and static -- and run against this build's
# ivshmem-server: ring_all rings a second peer (ivshmem-client --wait),
# ipm_hello exchanges mailbox messages with a second ipm_hello.
#
#   install.sh SOURCE_DIR BUILD_DIR CMAKE CC [CFLAGS]
# CFLAGS: what a program linked with this build's libraries needs too (the
# sanitizers of an IVSHMEM_SANITIZE build).
set -u
SRC=$1 BUILD=$2 CMAKE=$3 CC=$4 CFLAGS=${5:-}
PREFIX=/opt/ivshmem-ipm
T=$(mktemp -d "${TMPDIR:-/tmp}/dist_install.XXXXXX") || exit 1
D=$T/root
P=$D$PREFIX
FAILED=0
SERVERS=
cleanup()
{
	for pid in $SERVERS; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; FAILED=1; }
check() { if "$@"; then :; else fail "$*"; fi; }
run() { echo "+ $*"; "$@"; }

# --- install ------------------------------------------------------------
DESTDIR=$D run "$CMAKE" --install "$BUILD" --prefix "$PREFIX" >"$T/install.log" ||
	{ cat "$T/install.log"; echo "FAIL: cmake --install"; exit 1; }
LIBDIR=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
LIB=$P/${LIBDIR:-lib}

for f in bin/ivshmem-server bin/ivshmem-client bin/ipm-shell bin/ipm-bench; do
	check test -x "$P/$f"
done
for h in "$SRC"/include/ivshmem/*.h; do
	check cmp -s "$h" "$P/include/ivshmem/${h##*/}"
done
check test -f "$LIB/libivshmem.a"
check test "$(readlink "$LIB/libivshmem.so")" = libivshmem.so.0
check test -f "$LIB/libivshmem.so.0"
for f in pkgconfig/ivshmem.pc pkgconfig/ipm.pc cmake/ivshmem-ipm/ivshmem-ipm-config.cmake; do
	check test -f "$LIB/$f"
done
for prog in ivshmem-server ivshmem-client ipm-shell ipm-bench; do
	check test -f "$P/share/bash-completion/completions/$prog"
done
# Units: under the prefix, or where systemd.pc says for a /usr build.
units=$(find "$D" -path '*/systemd/system/ivshmem-server@.s*' | wc -l)
check test "$units" = 2
if grep -q '^SCDOC:FILEPATH=/' "$BUILD/CMakeCache.txt"; then
	for m in man8/ivshmem-server.8 man1/ivshmem-client.1 man1/ipm-shell.1 \
		 man1/ipm-bench.1 man3/libivshmem.3 man3/ipm.3; do
		check test -s "$P/share/man/$m"
	done
else
	echo "scdoc not found at configure time: man pages not checked"
fi
# Nothing of the build tree leaks into the installed programs.
for f in "$P"/bin/*; do
	if readelf -d "$f" | grep -q 'R.*PATH'; then fail "$f has an RPATH"; fi
done

# --- build the examples against the installed files ----------------------
B=$T/bin
mkdir -p "$B"
export PKG_CONFIG_PATH=$LIB/pkgconfig
export PKG_CONFIG_LIBDIR=$LIB/pkgconfig  # nothing of the system's
for ex in ring_all:ivshmem ipm_hello:ipm; do
	name=${ex%%:*} pc=${ex#*:}
	run $CC $CFLAGS -Wall -Werror -o "$B/${name}_pc_shared" "$SRC/examples/$name.c" \
		$(pkg-config --cflags --libs "$pc") || fail "pkg-config $pc shared build"
	run $CC $CFLAGS -Wall -Werror -o "$B/${name}_pc_static" "$SRC/examples/$name.c" \
		$(pkg-config --cflags "$pc") -Wl,-Bstatic \
		$(pkg-config --libs --static "$pc") -Wl,-Bdynamic ||
		fail "pkg-config $pc static build"
done
run "$CMAKE" -S "$SRC/tests/dist/consumer" -B "$T/consumer" \
	-DCMAKE_PREFIX_PATH="$P" -DEXAMPLES="$SRC/examples" \
	-DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" >"$T/consumer.log" 2>&1 &&
run "$CMAKE" --build "$T/consumer" >>"$T/consumer.log" 2>&1 ||
	{ cat "$T/consumer.log"; fail "find_package project"; }
for v in shared static; do
	for name in ring_all ipm_hello; do
		cp "$T/consumer/${name}_$v" "$B/${name}_cmake_$v" 2>/dev/null
	done
done

# Shared ones need the installed library and no other; static ones none.
for f in "$B"/*; do
	case $f in
	*_shared) readelf -d "$f" | grep -q 'NEEDED.*\[libivshmem.so.0\]' ||
			fail "$f does not use libivshmem.so.0" ;;
	*_static) ! readelf -d "$f" | grep -q 'NEEDED.*libivshmem' ||
			fail "$f is not linked statically" ;;
	esac
done
check test "$(ls "$B" | wc -l)" = 8

# --- run them against a real server --------------------------------------
export LD_LIBRARY_PATH=$LIB
start_server()  # SOCKET SHM-NAME
{
	"$BUILD/src/server/ivshmem-server" -F -q -S "$1" -M "$2" -l 1M &
	SERVERS="$SERVERS $!"
	# Listening, not just bound: a peer can join.
	for _ in $(seq 100); do
		"$BUILD/tools/ivshmem-client" -S "$1" --dump >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "no server on $1"
}
start_server "$T/db.sock" "/dist_install_db_$$"
start_server "$T/mb.sock" "/dist_install_mb_$$"
CLIENT=$BUILD/tools/ivshmem-client

for link in pc_shared pc_static cmake_shared cmake_static; do
	# ring_all: a second peer waits for its doorbell; ring_all rings it.
	"$CLIENT" -S "$T/db.sock" --wait=0 --timeout=20 >"$T/wait.out" 2>&1 &
	waiter=$!
	n=0
	until "$CLIENT" -S "$T/db.sock" --dump 2>/dev/null | grep -q '^peers: [1-9]'; do
		n=$((n + 1)); [ $n -lt 200 ] || break; sleep 0.05
	done
	run "$B/ring_all_$link" "$T/db.sock" >"$T/ring.out" 2>&1
	rc=$?
	cat "$T/ring.out"
	[ $rc -eq 0 ] || fail "ring_all_$link exited $rc"
	grep -q '^ring peer [0-9]*: ok' "$T/ring.out" || fail "ring_all_$link rang nobody"
	wait $waiter
	rc=$?
	[ $rc -eq 0 ] || { cat "$T/wait.out"; fail "ring_all_$link: the peer was not rung ($rc)"; }

	# ipm_hello: one answers, the other sends.
	"$B/ipm_hello_$link" "$T/mb.sock" >"$T/answer.out" 2>&1 &
	answerer=$!
	run "$B/ipm_hello_$link" "$T/mb.sock" send >"$T/send.out" 2>&1
	rc=$?
	wait $answerer
	rc2=$?
	cat "$T/send.out" "$T/answer.out"
	[ $rc -eq 0 ] && [ $rc2 -eq 0 ] || fail "ipm_hello_$link exited $rc/$rc2"
	grep -q "^got 'hello back' from peer" "$T/send.out" || fail "ipm_hello_$link: no answer"
	grep -q "^got 'hello' from peer" "$T/answer.out" || fail "ipm_hello_$link: no hello"
done

# The installed ipm-bench starts the installed server (beside it).
run "$P/bin/ipm-bench" --quick --no-pin --only rtt.doorbell >"$T/bench.out" 2>&1 ||
	{ cat "$T/bench.out"; fail "installed ipm-bench"; }
grep -q "server $P/bin/ivshmem-server" "$T/bench.out" ||
	{ cat "$T/bench.out"; fail "installed ipm-bench did not use the installed server"; }

[ $FAILED -eq 0 ] && echo "dist_install: ok"
exit $FAILED
