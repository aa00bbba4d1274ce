#!/bin/sh
# /init of the VM test guests (tests/vm/mkimage.sh puts it there): mounts
# the usual file systems, loads the VFIO modules, binds every ivshmem PCI
# device (1af4:1110) to vfio-pci, then runs ipm.cmd=... from the kernel
# command line (and powers off) or a shell on the console.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/shm /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t devpts devpts /dev/pts

say() {
	echo "ivshmem-vm: $*"
}

kver=$(uname -r)
while read -r ko; do
	insmod "/lib/modules/$kver/$ko" || say "insmod $ko failed"
done <"/lib/modules/$kver/load.list"

# The kernel's messages would get in the middle of the shell's.
dmesg -n 1

n=0
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" != 0x1af4 ] ||
		[ "$(cat "$d/device")" != 0x1110 ]; then
		continue
	fi
	bdf=${d##*/}
	echo vfio-pci >"$d/driver_override"
	[ -e "$d/driver" ] && echo "$bdf" >"$d/driver/unbind"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	drv=$(basename "$(readlink "$d/driver")")
	grp=$(basename "$(readlink "$d/iommu_group")")
	say "ivshmem $bdf driver ${drv:-none} iommu_group ${grp:-none}"
	n=$((n + 1))
done
say "$n ivshmem device(s)"

hostname "vm-$(uname -m)"
stty cols 1000 2>/dev/null
export PS1='ivshmem-vm# '

# ipm.cmd=WORD or ipm.cmd="WORDS": run it instead of the shell.
cmd=$(sed -n 's/.*ipm\.cmd="\([^"]*\)".*/\1/p; t; s/.*ipm\.cmd=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$cmd" ]; then
	say "running: $cmd"
	sh -c "$cmd"
	say "ipm.cmd exit status $?"
else
	say "ready"
	setsid cttyhack sh
fi
poweroff -f
