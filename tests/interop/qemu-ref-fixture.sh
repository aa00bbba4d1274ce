#!/bin/sh
# SPDX-License-Identifier: MIT
# The interop tests' fixture: build-qemu-ref.sh CACHE_DIR, once. When the
# reference cannot be built the tests are skipped (exit 77), except under
# CI (CI set and non-empty), where that is a failure.
here=$(dirname "$0")
if sh "$here/build-qemu-ref.sh" "$@"; then
	exit 0
fi
if [ -n "${CI:-}" ]; then
	echo "QEMU's reference ivshmem-server/-client could not be built" >&2
	exit 1
fi
echo "QEMU's reference ivshmem-server/-client could not be built:" \
	"skipping the interop tests (under CI this fails)" >&2
exit 77
