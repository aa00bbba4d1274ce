#!/bin/sh
# install-deps.sh [--demo] [--dry-run]
#
# The one place that installs Debian packages for this project or changes
# apt's configuration; the tests and scripts only check and point here.
#
#   --demo     what the build and `make demo` need (no QEMU, no VM or
#              cross toolchains): `make demo` runs this
#   (default)  everything any test needs: `make check` runs this. It also
#              makes sure apt has a deb-src source for this release (the
#              interop tests build QEMU's reference server from Debian's
#              qemu source package) and that dpkg knows arm64 (the aarch64
#              guests of tests/vm are made from arm64 packages)
#   --dry-run  print what would be done as root, change nothing
#
# As root, each change is said on stderr before it is made, and apt waits
# up to 10 minutes for another apt or dpkg holding the lock. As another
# user, it only lists what is missing (exit 1 with --demo, since the build
# cannot go on without it; 0 otherwise, the tests concerned then skip).
set -eu

# The build and the demo.
DEMO_PKGS="build-essential cmake pkg-config libedit-dev python3"
# Every test, on top of the demo's set, by what needs it.
TEST_PKGS="
	procps util-linux file
	clang libclang-rt-14-dev
	qemu-system-x86 qemu-system-arm
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross busybox-static cpio kmod
	gcc-arm-none-eabi
	ninja-build meson libglib2.0-dev zlib1g-dev dpkg-dev xz-utils
	spin
	systemd
	scdoc bash-completion debhelper lintian fakeroot zstd
	gnuplot-nox"
# procps util-linux file: ps, flock, setpriv, file (tests, fixtures)
# clang libclang-rt-14-dev: make check-asan, make fuzz (libFuzzer), TSan
# qemu-system-*: the qtest, VM and bare-metal tests
# gcc-aarch64-linux-gnu ... kmod: the VM guests (tests/vm) and the
#   bare-metal guest (guests/baremetal)
# ninja-build ... xz-utils: QEMU's reference tools from Debian's source
#   (tests/interop/build-qemu-ref.sh)
# spin: the Promela model of the mailbox queue (label model)
# systemd: systemd-socket-activate (the server's socket activation tests)
# scdoc: the man pages (docs/man); bash-completion: the completion test;
#   debhelper lintian fakeroot: the Debian packages (dist_deb); zstd: the
#   fresh Debian root the packages are installed into (dist_fresh)
# gnuplot-nox: make bench's plot (bench/mkreport.py)
# gcc-arm-none-eabi: the mailbox core built for Cortex-M (src/core, test
#   core_freestanding_cortex-m)
# (IVSHMEM_APT_SRC_LIST: another path, for tests/scripts.)
SRC_LIST=${IVSHMEM_APT_SRC_LIST:-/etc/apt/sources.list.d/ivshmem-ipm-src.sources}
FOREIGN_ARCH=arm64
APT_OPTS="-q -o DPkg::Lock::Timeout=600"

demo=0 dry=0
for arg; do
	case $arg in
	--demo) demo=1 ;;
	--dry-run) dry=1 ;;
	-h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "install-deps: unknown option '$arg' (see 'install-deps.sh --help')" >&2
	   exit 2 ;;
	esac
done

say() { echo "install-deps: $*" >&2; }
# run CMD...: run it, or with --dry-run only show it
run() {
	if [ $dry = 1 ]; then
		say "would run: $*"
	else
		"$@"
	fi
}

root=0
[ "$(id -u)" -eq 0 ] && root=1
[ $dry = 1 ] && root=1
codename=
if [ -r /etc/os-release ]; then
	# shellcheck disable=SC1091
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi

pkgs=$DEMO_PKGS
[ $demo = 1 ] || pkgs="$DEMO_PKGS $TEST_PKGS"
if ! command -v dpkg-query >/dev/null; then
	# Not Debian: nothing to check with; the build says what it lacks.
	say "not a Debian system (no dpkg-query); this needs the equivalents" \
		"of:" $pkgs
	exit 0
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done

# The full set's apt configuration: a deb-src source unless apt has one for
# this release, and arm64 packages in apt's lists.
need_src=0 need_arch=0
if [ $demo = 0 ] && [ -n "$codename" ] && [ ! -e "$SRC_LIST" ] &&
   [ -z "$(apt-get indextargets --format '$(CODENAME)' \
	'Created-By: Sources' "Codename: $codename" 2>/dev/null)" ]; then
	need_src=1
fi
if [ $demo = 0 ] && [ "$(dpkg --print-architecture 2>/dev/null)" != $FOREIGN_ARCH ] &&
   ! dpkg --print-foreign-architectures 2>/dev/null | grep -qx $FOREIGN_ARCH; then
	need_arch=1
fi

# A source index that knows qemu (a deb-src source added without an update
# has none yet).
need_index=0
if [ $demo = 0 ] &&
   ! apt-cache showsrc --only-source qemu 2>/dev/null | grep -q '^Package:'; then
	need_index=1
fi

if [ -z "$missing" ] && [ $need_src = 0 ] && [ $need_arch = 0 ] &&
   [ $need_index = 0 ]; then
	[ $dry = 1 ] && say "nothing to do"
	exit 0
fi

if [ $root = 0 ]; then
	what=${missing:+" Debian packages:$missing"}
	[ $need_src = 1 ] && what="$what${what:+;} a deb-src apt source for $codename"
	[ $need_arch = 1 ] && what="$what${what:+;} dpkg architecture $FOREIGN_ARCH"
	[ $need_index = 1 ] && what="$what${what:+;} apt's source index (apt-get update)"
	flag=
	[ $demo = 1 ] && flag=" --demo"
	say "missing:$what (as root: $0$flag)"
	exit $demo
fi

export DEBIAN_FRONTEND=noninteractive
if [ $need_src = 1 ]; then
	say "adding deb-src for $codename to $SRC_LIST (for apt-get source qemu)"
	src="Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
	if [ $dry = 1 ]; then
		printf '%s\n' "$src" | sed 's/^/install-deps:   /' >&2
	else
		printf '%s\n' "$src" >"$SRC_LIST"
	fi
fi
if [ $need_arch = 1 ]; then
	say "adding architecture $FOREIGN_ARCH to dpkg (the aarch64 guests' packages)"
	run dpkg --add-architecture $FOREIGN_ARCH
fi
# A fresh machine has empty package lists; a new source or architecture
# needs its lists too.
say "apt-get update"
# shellcheck disable=SC2086
run apt-get $APT_OPTS update >&2
if [ -n "$missing" ]; then
	say "installing$missing"
	# shellcheck disable=SC2086
	run apt-get $APT_OPTS install -y --no-install-recommends $missing >&2
fi
