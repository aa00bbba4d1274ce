/* SPDX-License-Identifier: MIT */
/*
 * An x86_64 (q35, intel-iommu) and an aarch64 (virt, SMMUv3) guest on one
 * ivshmem-server: each sees the ivshmem-doorbell device with the server's
 * 4 MiB as BAR2, bound to vfio-pci, in an IOMMU group with its /dev/vfio
 * node, and runs our static ipm-shell. Prints the boot-to-prompt times.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vm.h"

#define BOOT_TIMEOUT 180
#define CMD_TIMEOUT 60

/* One line per ivshmem device: "BDF DRIVER GROUP BAR2SIZE". */
static const char list_ivshmem[] =
	"for d in /sys/bus/pci/devices/*; do "
	"[ \"$(cat $d/vendor):$(cat $d/device)\" = 0x1af4:0x1110 ] || continue; "
	"set -- $(sed -n 3p $d/resource); "
	"echo ${d##*/} $(basename \"$(readlink $d/driver)\") "
	"$(basename \"$(readlink $d/iommu_group)\") $(($2 - $1 + 1)); done";

static void check_guest(struct vm *vm)
{
	char out[4096], bdf[32], drv[32], grp[16], cmd[128];
	long long size;
	int rc;

	rc = vm_exec(vm, list_ivshmem, out, sizeof(out), CMD_TIMEOUT);
	VM_CHECK(vm, rc == 0, "listing the devices: status %d", rc);
	VM_CHECK(vm, sscanf(out, "%31s %31s %15s %lld", bdf, drv, grp,
			    &size) == 4, "no ivshmem device: '%s'", out);
	VM_CHECK(vm, !strchr(out, '\n') || !strchr(out, '\n')[1],
		 "more than one ivshmem device: '%s'", out);
	printf("%s: ivshmem %s, driver %s, IOMMU group %s, BAR2 %lld bytes\n",
	       vm->name, bdf, drv, grp, size);
	VM_CHECK(vm, !strcmp(drv, "vfio-pci"), "driver is %s", drv);
	VM_CHECK(vm, strcmp(grp, ".") && strcmp(grp, "iommu_group"),
		 "%s has no IOMMU group", bdf);
	VM_CHECK(vm, size == 4 << 20, "BAR2 is %lld bytes, not 4 MiB", size);

	snprintf(cmd, sizeof(cmd), "test -c /dev/vfio/%s", grp);
	rc = vm_exec(vm, cmd, NULL, 0, CMD_TIMEOUT);
	VM_CHECK(vm, rc == 0, "no /dev/vfio/%s", grp);

	rc = vm_exec(vm, "ipm-shell --help", out, sizeof(out), CMD_TIMEOUT);
	VM_CHECK(vm, rc == 0 && strstr(out, "Usage: ipm-shell"),
		 "ipm-shell --help: status %d, '%s'", rc, out);
}

int main(void)
{
	static const char *const srv_args[] = { "-n", "2", "-l", "4M", NULL };
	static const char *const arches[] = { "x86_64", "aarch64" };
	struct tu_server srv;
	struct vm vms[2];

	tu_server_start(&srv, srv_args);
	/*
	 * One after the other, so that each boot time is its own (on two
	 * cores, with the other guest idle at its prompt).
	 */
	for (int i = 0; i < 2; i++) {
		struct vm_config cfg = {
			.arch = arches[i],
			.server_socket = srv.socket_path,
		};

		vm_boot(&vms[i], arches[i], &cfg, BOOT_TIMEOUT);
		printf("%s: shell prompt %.1f s after starting QEMU (%s)\n",
		       vms[i].name, vms[i].boot_ns / 1e9, vms[i].accel);
		fflush(stdout);
		check_guest(&vms[i]);
	}
	for (int i = 0; i < 2; i++) {
		vm_send(&vms[i], "poweroff -f");
		VM_CHECK(&vms[i], vm_wait_exit(&vms[i], CMD_TIMEOUT) >= 0,
			 "did not power off");
	}
	tu_server_stop(&srv);
	printf("PASS\n");
	return 0;
}
