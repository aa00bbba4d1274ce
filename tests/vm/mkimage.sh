#!/bin/sh
# mkimage.sh ARCH OUTDIR [BINARY...]: a guest for the VM tests, built from
# Debian packages: OUTDIR/vmlinuz (Debian's kernel) and OUTDIR/initramfs.gz
# (busybox-static, the VFIO modules, tests/vm/init.sh as /init and each
# BINARY in /bin). ARCH is x86_64 or aarch64.
#
# Packages are fetched with apt-get download into IVSHMEM_VM_CACHE
# (/var/cache/ivshmem-ipm/vm), outside the tree; the kernel's files are
# kept there per version. The image is rebuilt only when an input changed:
# this script, init.sh, a package version or a binary.
#
# The kernel is linux-image-ABI-amd64 or -arm64 where ABI comes from
# IVSHMEM_VM_KABI or else the linux-image-amd64 metapackage's dependency
# (installed one first, then the candidate). Exits 77 when this machine
# cannot provide the packages.
set -eu

die() {
	echo "mkimage: $*" >&2
	exit 1
}
unavailable() {
	echo "mkimage: $*" >&2
	exit 77
}

[ $# -ge 2 ] || die "usage: mkimage.sh x86_64|aarch64 OUTDIR [BINARY...]"
arch=$1
out=$2
shift 2
case $arch in
x86_64) darch=amd64 ;;
aarch64) darch=arm64 ;;
*) die "unknown architecture '$arch' (x86_64 or aarch64)" ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
# depmod and modprobe live there, not always on a user's PATH.
PATH=$PATH:/usr/sbin:/sbin
cache=${IVSHMEM_VM_CACHE:-/var/cache/ivshmem-ipm/vm}

command -v apt-get >/dev/null || unavailable "no apt-get: not a Debian system"
command -v cpio >/dev/null || unavailable "cpio is missing (apt-get install cpio)"
command -v depmod >/dev/null || unavailable "depmod is missing (apt-get install kmod)"
mkdir -p "$cache" "$out" 2>/dev/null || unavailable "cannot create $cache"
[ -w "$cache" ] || unavailable "$cache is not writable (run once as root)"

# One build per cache and per image at a time (ctest may run both arches).
exec 8>"$cache/.lock"
flock 8

# The kernel ABIs to try, e.g. "6.1.0-56": the linux-image-amd64
# metapackage's dependency, installed one first, then the candidate.
kabi() {
	if [ -n "${IVSHMEM_VM_KABI:-}" ]; then
		echo "$IVSHMEM_VM_KABI"
		return
	fi
	dpkg-query -W -f='${Status} ${Depends}\n' linux-image-amd64 2>/dev/null |
		sed -n 's/^install ok installed linux-image-\([^ ,]*\)-amd64.*/\1/p'
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([^ ]*\)-amd64$/\1/p'
}
abis=$(kabi)
[ -n "$abis" ] || unavailable "apt knows no linux-image-amd64"

# versions: "PACKAGE VERSION" of busybox-static and of each kernel (one
# apt-cache call: they are slow), as apt-get download would fetch them.
versions() {
	set -- "busybox-static:$darch"
	for abi in $abis; do
		set -- "$@" "linux-image-$abi-$darch:$darch"
	done
	apt-cache show --no-all-versions "$@" 2>/dev/null |
		awk '/^Package: /{p=$2} /^Version: /{print p, $2}'
}
vers=$(versions)
# A foreign architecture must be known to dpkg and in apt's lists:
# scripts/install-deps.sh (make check) adds it; this only checks.
echo "$vers" | grep -q '^busybox-static ' ||
	unavailable "no $darch packages known to apt (run scripts/install-deps.sh as root)"
bbver=$(echo "$vers" | sed -n 's/^busybox-static //p')
[ -n "$bbver" ] || unavailable "apt knows no busybox-static:$darch"
kpkg=
for abi in $abis; do
	kver=$(echo "$vers" | sed -n "s/^linux-image-$abi-$darch //p")
	if [ -n "$kver" ]; then
		kpkg=linux-image-$abi-$darch
		break
	fi
done
[ -n "$kpkg" ] || unavailable "apt knows no linux-image-{$(echo "$abis" | tr '\n' ,)}-$darch"

# fetch PACKAGE VERSION: path of the .deb in the cache, downloaded if needed.
fetch() {
	f=$cache/$darch/$1_$(echo "$2" | sed 's/:/%3a/')_$darch.deb
	if [ ! -s "$f" ]; then
		echo "mkimage: apt-get download $1:$darch ($2)" >&2
		mkdir -p "$cache/$darch"
		# As root apt drops to _apt, which cannot write the cache.
		(cd "$cache/$darch" &&
			apt-get download -q -o APT::Sandbox::User=root \
				"$1:$darch=$2" >&2) ||
			unavailable "apt-get download $1:$darch failed"
	fi
	[ -s "$f" ] || die "$f missing after download"
	echo "$f"
}

# The modules the guest loads (with what they depend on, found by
# modprobe); "?" marks the optional ones. intel-iommu and the PCI host
# bridges are built into Debian's kernels, arm-smmu-v3 is a module.
mods="vfio_iommu_type1 vfio_pci ?iommufd"
[ "$arch" = aarch64 ] && mods="arm_smmu_v3 $mods"

# Kernel files, per package version: boot/vmlinuz, the modules' tree
# (only those in load.list) and load.list itself, deps first.
kdir=$cache/$darch/$kpkg-$kver
if [ ! -s "$kdir/load.list" ]; then
	deb=$(fetch "$kpkg" "$kver")
	tmp=$cache/$darch/tmp.$$
	rm -rf "$tmp" "$kdir"
	mkdir -p "$tmp/k" "$kdir/boot"
	echo "mkimage: extracting $(basename "$deb")" >&2
	dpkg-deb -x "$deb" "$tmp/k"
	mver=$(ls "$tmp/k/lib/modules")
	[ -d "$tmp/k/lib/modules/$mver" ] || die "no single module tree in $deb"
	cp "$tmp/k/boot/vmlinuz-$mver" "$kdir/boot/vmlinuz"
	depmod -b "$tmp/k" "$mver"
	: >"$tmp/load.list"
	for m in $mods; do
		opt=${m%%[!?]*}
		m=${m#\?}
		if ! dep=$(modprobe -d "$tmp/k" -S "$mver" --show-depends "$m" 2>&1); then
			[ -n "$opt" ] && continue
			die "module $m: $dep"
		fi
		# "insmod /path/x.ko [opts]" or "builtin x"
		echo "$dep" | sed -n "s|^insmod $tmp/k/lib/modules/$mver/\([^ ]*\).*|\1|p" >>"$tmp/load.list"
	done
	awk '!seen[$0]++' "$tmp/load.list" >"$tmp/load.uniq"
	mkdir -p "$kdir/lib/modules/$mver"
	while read -r ko; do
		mkdir -p "$kdir/lib/modules/$mver/$(dirname "$ko")"
		cp "$tmp/k/lib/modules/$mver/$ko" "$kdir/lib/modules/$mver/$ko"
	done <"$tmp/load.uniq"
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[ -f "$tmp/k/lib/modules/$mver/$f" ] &&
			cp "$tmp/k/lib/modules/$mver/$f" "$kdir/lib/modules/$mver/"
	done
	mv "$tmp/load.uniq" "$kdir/load.list"
	rm -rf "$tmp"
fi
mver=$(ls "$kdir/lib/modules")

bdir=$cache/$darch/busybox-static-$bbver
if [ ! -x "$bdir/busybox" ]; then
	deb=$(fetch busybox-static "$bbver")
	rm -rf "$bdir.tmp"
	dpkg-deb -x "$deb" "$bdir.tmp"
	mkdir -p "$bdir"
	for p in bin/busybox usr/bin/busybox; do
		[ -x "$bdir.tmp/$p" ] && cp "$bdir.tmp/$p" "$bdir/busybox"
	done
	rm -rf "$bdir.tmp"
	[ -x "$bdir/busybox" ] || die "no busybox in $deb"
fi

# Everything the image is made of; the same stamp means nothing to do.
for b in "$@"; do
	[ -f "$b" ] || die "no binary $b"
done
stamp=$( (echo "$kpkg $kver busybox $bbver"
	cat "$0" "$here/init.sh" "$@") | sha256sum | cut -d' ' -f1)
if [ -f "$out/initramfs.gz" ] && [ -f "$out/vmlinuz" ] &&
	[ "$(cat "$out/image.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "mkimage: $out is up to date" >&2
	exit 0
fi

echo "mkimage: $arch image in $out ($kpkg $kver)" >&2
rm -rf "$out/rootfs"
r=$out/rootfs
mkdir -p "$r/bin" "$r/sbin" "$r/usr/bin" "$r/usr/sbin" "$r/dev" "$r/proc" \
	"$r/sys" "$r/tmp" "$r/root" "$r/etc" "$r/lib/modules"
cp "$bdir/busybox" "$r/bin/busybox"
ln -s busybox "$r/bin/sh"
cp -R "$kdir/lib/modules/$mver" "$r/lib/modules/"
cp "$kdir/load.list" "$r/lib/modules/$mver/load.list"
depmod -b "$r" "$mver"
cp "$here/init.sh" "$r/init"
chmod 755 "$r/init"
for b in "$@"; do
	cp "$b" "$r/bin/"
done
echo "$arch $kpkg $kver" >"$r/etc/ivshmem-vm"
(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
	gzip -6n >"$out/initramfs.gz.tmp"
cp "$kdir/boot/vmlinuz" "$out/vmlinuz.tmp"
mv "$out/initramfs.gz.tmp" "$out/initramfs.gz"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
rm -rf "$r"
echo "$stamp" >"$out/image.stamp"
echo "mkimage: done, $(du -k "$out/initramfs.gz" | cut -f1)K initramfs" >&2
