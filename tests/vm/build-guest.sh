#!/bin/sh
# build-guest.sh ARCH SRCDIR OUTDIR: everything a test guest needs, in
# OUTDIR (e.g. build/vm/aarch64), each step skipped when up to date:
#  1. our tools built statically for ARCH, without libedit, tools only:
#     OUTDIR/build (CMake), installed stripped into OUTDIR/install;
#  2. OUTDIR/vmlinuz + OUTDIR/initramfs.gz by mkimage.sh, with every
#     program in OUTDIR/install/usr/bin;
#  3. OUTDIR/accel: "kvm" if a KVM guest really boots here, else "tcg"
#     (probed again when the image changes, or with IVSHMEM_VM_REPROBE=1).
# Exits 77 when this machine lacks what it takes (see mkimage.sh), and in
# CI (CI set and non-empty) fails instead.
set -eu

[ $# -eq 3 ] || {
	echo "usage: build-guest.sh x86_64|aarch64 SRCDIR OUTDIR" >&2
	exit 2
}
arch=$1
src=$(cd "$2" && pwd)
mkdir -p "$3"
out=$(cd "$3" && pwd)
here=$(cd "$(dirname "$0")" && pwd)

unavailable() {
	echo "build-guest: $*" >&2
	[ -n "${CI:-}" ] && exit 1
	exit 77
}

toolchain=
case $arch in
x86_64)
	[ "$(uname -m)" = x86_64 ] || unavailable "x86_64 guests need an x86_64 host"
	cc=${IVSHMEM_VM_CC:-gcc}
	;;
aarch64)
	toolchain=-DCMAKE_TOOLCHAIN_FILE=$src/cmake/aarch64-linux-gnu.cmake
	cc=aarch64-linux-gnu-gcc
	;;
*)
	echo "build-guest: unknown architecture '$arch'" >&2
	exit 2
	;;
esac
command -v "$cc" >/dev/null ||
	unavailable "no $cc (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"

# 1. Static tools. A configured tree only needs the build step.
if [ ! -f "$out/build/CMakeCache.txt" ]; then
	# The toolchain file names its compiler; CC would override it.
	if [ -z "$toolchain" ]; then
		CC=$cc cmake -S "$src" -B "$out/build" -DCMAKE_BUILD_TYPE=MinSizeRel \
			-DIVSHMEM_TOOLS_ONLY=ON -DIVSHMEM_WITH_LIBEDIT=OFF \
			-DCMAKE_EXE_LINKER_FLAGS=-static >&2
	else
		cmake -S "$src" -B "$out/build" "$toolchain" \
			-DCMAKE_BUILD_TYPE=MinSizeRel \
			-DIVSHMEM_TOOLS_ONLY=ON -DIVSHMEM_WITH_LIBEDIT=OFF \
			-DCMAKE_EXE_LINKER_FLAGS=-static >&2
	fi
fi
cmake --build "$out/build" -j "$(nproc)" >&2
rm -rf "$out/install"
DESTDIR=$out/install cmake --install "$out/build" --prefix /usr --strip >/dev/null
set -- "$out"/install/usr/bin/*
[ -f "$1" ] || {
	echo "build-guest: nothing installed in $out/install/usr/bin" >&2
	exit 1
}
if command -v file >/dev/null; then
	for b in "$@"; do
		file -b "$b" | grep -q "statically linked" || {
			echo "build-guest: $b is not statically linked" >&2
			exit 1
		}
	done
fi

# 2. Kernel and initramfs.
rc=0
sh "$here/mkimage.sh" "$arch" "$out" "$@" || rc=$?
[ "$rc" -eq 77 ] && unavailable "no guest image for $arch"
[ "$rc" -eq 0 ] || exit "$rc"

# 3. KVM, when the guest runs on this CPU and /dev/kvm opens, and only if
# a guest really boots with it (here /dev/kvm can exist and not work).
# Probed again whenever the image changes.
if [ -f "$out/accel" ] && cmp -s "$out/image.stamp" "$out/accel.stamp" &&
	[ -z "${IVSHMEM_VM_REPROBE:-}" ]; then
	echo "build-guest: $arch guests use $(cat "$out/accel")" >&2
	exit 0
fi
accel=tcg
if [ "$(uname -m)" = "$arch" ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	log=$out/kvm-probe.log
	# The guest's shell computes 42: the kernel's echo of its command
	# line does not count.
	# shellcheck disable=SC2016
	if timeout 30 sh "$here/vm-run.sh" -k kvm -A 'ipm.cmd="echo kvm-probe-$((6*7))"' \
		"$arch" "$out" </dev/null >"$log" 2>&1 &&
		grep -q kvm-probe-42 "$log"; then
		accel=kvm
	else
		echo "build-guest: /dev/kvm does not run a guest here, using TCG" \
			"(see $log)" >&2
	fi
fi
echo "$accel" >"$out/accel"
cp "$out/image.stamp" "$out/accel.stamp"
echo "build-guest: $arch guests use $accel" >&2
