#!/bin/sh
# vm-run.sh [options] ARCH IMAGEDIR [-- QEMU_ARG...]: boot a test guest
# (IMAGEDIR/vmlinuz and initramfs.gz from mkimage.sh); execs QEMU, so its
# pid is QEMU's. The one place the guests' QEMU command line is written:
# tests/vm/vm.c, scripts/vm-demo.sh and the KVM probe all come here.
#   -s SOCKET   ivshmem-server socket: adds an ivshmem-doorbell device
#   -v N        its vectors (2)
#   -c CONSOLE  the serial console: "stdio" (default) or the path of a unix
#               socket QEMU listens on, waiting for one client before starting
#   -A TEXT     more kernel command line, e.g. ipm.cmd="ipm-shell --help"
#   -m MB       memory (256)
#   -k ACCEL    kvm or tcg; default IVSHMEM_VM_ACCEL, else IMAGEDIR/accel
#               (written by build-guest.sh's probe), else tcg
set -eu

usage() {
	sed -n '2,14s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

sock='' vectors=2 console=stdio append='' mem=256 accel=${IVSHMEM_VM_ACCEL:-}
while getopts s:v:c:A:m:k:h o; do
	case $o in
	s) sock=$OPTARG ;;
	v) vectors=$OPTARG ;;
	c) console=$OPTARG ;;
	A) append=$OPTARG ;;
	m) mem=$OPTARG ;;
	k) accel=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || usage
arch=$1
img=$2
shift 2
[ "${1:-}" = -- ] && shift

for f in vmlinuz initramfs.gz; do
	[ -f "$img/$f" ] || {
		echo "vm-run: no $img/$f (build it with tests/vm/build-guest.sh)" >&2
		exit 77
	}
done
if [ -z "$accel" ]; then
	accel=$(cat "$img/accel" 2>/dev/null || echo tcg)
fi

case $arch in
x86_64)
	qemu='qemu-system-x86_64'
	tty=ttyS0
	# The interrupt remapping the IOMMU needs wants the split irqchip.
	machine="-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on"
	cmdline="intel_iommu=on"
	cpu=
	[ "$accel" = kvm ] && cpu="-cpu host"
	;;
aarch64)
	qemu='qemu-system-aarch64'
	tty=ttyAMA0
	machine="-machine virt,gic-version=3,iommu=smmuv3"
	cmdline=
	cpu="-cpu cortex-a53"
	[ "$accel" = kvm ] && cpu="-cpu host"
	;;
*)
	echo "vm-run: unknown architecture '$arch' (x86_64 or aarch64)" >&2
	exit 2
	;;
esac
command -v "$qemu" >/dev/null || {
	echo "vm-run: $qemu is not installed" >&2
	exit 77
}

# Built back to front in "$@", after the caller's QEMU arguments.
if [ -n "$sock" ]; then
	set -- -chardev "socket,path=$sock,id=ivs" \
		-device "ivshmem-doorbell,chardev=ivs,vectors=$vectors" "$@"
fi
if [ "$console" = stdio ]; then
	set -- -chardev stdio,id=con,signal=off "$@"
else
	set -- -chardev "socket,id=con,path=$console,server=on,wait=on" "$@"
fi
# Word splitting of $machine and $cpu is wanted.
# shellcheck disable=SC2086
exec "$qemu" -accel "$accel" $machine $cpu -smp 1 -m "$mem" \
	-nodefaults -display none -no-reboot -no-user-config \
	-kernel "$img/vmlinuz" -initrd "$img/initramfs.gz" \
	-append "console=$tty panic=-1 $cmdline $append" \
	-serial chardev:con "$@"
