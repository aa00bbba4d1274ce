#!/bin/sh
# SPDX-License-Identifier: MIT
# build-image.sh APP_DIR BUILD_DIR [CMAKE_ARG...]: a Zephyr application
# for qemu_cortex_a53 with Debian's aarch64 cross gcc (no west, no SDK),
# against $ZEPHYR_BASE. Configured once; later runs are ninja's, which
# rebuilds only what changed (it reruns cmake itself when a CMakeLists,
# Kconfig, .conf or overlay changed). Prints the image's path.
set -eu
app=${1:?usage: build-image.sh APP_DIR BUILD_DIR [CMAKE_ARG...]}
build=${2:?usage: build-image.sh APP_DIR BUILD_DIR [CMAKE_ARG...]}
shift 2
: "${ZEPHYR_BASE:?ZEPHYR_BASE is not set}"
[ -f "$ZEPHYR_BASE/VERSION" ] || {
	echo "build-image: no Zephyr tree at $ZEPHYR_BASE" >&2
	exit 1
}
export ZEPHYR_BASE
export ZEPHYR_TOOLCHAIN_VARIANT=cross-compile
export CROSS_COMPILE="${CROSS_COMPILE:-/usr/bin/aarch64-linux-gnu-}"
unset ZEPHYR_MODULES ZEPHYR_SDK_INSTALL_DIR
if [ ! -f "$build/build.ninja" ]; then
	# Debian's python3 (with the apt-installed modules), whatever PATH says.
	cmake -G Ninja -S "$app" -B "$build" -DBOARD=qemu_cortex_a53 \
		-DPython3_EXECUTABLE=/usr/bin/python3 \
		-DBUILD_VERSION=v3.4.99 "$@"
fi
ninja -C "$build"
echo "build-image: $build/zephyr/zephyr.elf"
