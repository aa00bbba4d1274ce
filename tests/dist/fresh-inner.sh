#!/bin/sh
# Runs inside a fresh Debian root (see fresh.sh): installs the .debs from
# DIR with apt, starts the installed server, joins it with the installed
# client, builds the README's examples against the installed -dev package
# (pkg-config, find_package) and runs them against the installed server.
#
#   fresh-inner.sh DIR   (DIR: the .debs, examples/ring_all.c and
#                         ipm_hello.c, tests/dist/consumer/ as consumer/)
set -eu
DIR=$1
export DEBIAN_FRONTEND=noninteractive
echo "+ apt-get update"
# Offline, the root's own packages may still satisfy every dependency.
apt-get update -qq || echo "apt-get update failed: trying without it"
cd "$DIR"
set -x
apt-get install -y -q --no-install-recommends ./ivshmem-server_*.deb \
	./ivshmem-tools_*.deb ./libivshmem0_*.deb ./libivshmem-dev_*.deb
id ivshmem
ls -l /lib/systemd/system/ivshmem-server@.service /lib/systemd/system/ivshmem-server@.socket
ivshmem-server --version
ivshmem-server -F -S /tmp/s -n 2 &
server=$!
# The socket file exists from bind(), a moment before listen().
n=0
until ivshmem-client -S /tmp/s --dump; do
	n=$((n + 1)); [ $n -lt 50 ] || exit 1; sleep 0.1
done
# The library from the packages: the README's example, pkg-config.
cc -o /tmp/ring_all "$DIR/ring_all.c" $(pkg-config --cflags --libs ivshmem)
ldd /tmp/ring_all | grep libivshmem
ivshmem-client -S /tmp/s --wait=0 --timeout=20 &
waiter=$!
n=0
until ivshmem-client -S /tmp/s --dump | grep -q '^peers: [1-9]'; do
	n=$((n + 1)); [ $n -lt 100 ] || break; sleep 0.1
done
/tmp/ring_all /tmp/s
wait $waiter
# ... and the IPM example with find_package (no CMAKE_PREFIX_PATH: the
# multiarch libdir is where CMake looks), shared against static.
cmake -S "$DIR/consumer" -B /tmp/consumer -DEXAMPLES="$DIR" >/dev/null
cmake --build /tmp/consumer >/dev/null
/tmp/consumer/ipm_hello_shared /tmp/s &
answerer=$!
/tmp/consumer/ipm_hello_static /tmp/s send
wait $answerer
ipm-bench --quick --no-pin --only rtt.doorbell
kill $server
wait $server || true
[ ! -e /tmp/s ]
echo "fresh: ok"
