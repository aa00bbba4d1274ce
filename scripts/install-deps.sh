#!/bin/sh
# Install the Debian packages the build and the tests need, when run as root
# and any is missing. As another user, only report what is missing.
set -eu

PKGS="build-essential cmake pkg-config clang libclang-rt-14-dev libedit-dev qemu-system-x86 procps util-linux python3 gnuplot-nox
	qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross busybox-static cpio kmod"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages:$missing (run as root to install)" >&2
	exit 0
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
