/* SPDX-License-Identifier: MIT */
/*
 * The bare-metal guest: console, clock, the ivshmem-doorbell device, its
 * notifications, then the shell. Notifications come through the ITS when
 * it is there, else by polling; `notify` switches.
 */
#include "fdt.h"
#include "ivshmem.h"
#include "mmu.h"
#include "notify.h"
#include "platform.h"
#include "print.h"
#include "shell.h"
#include "timer.h"
#include "uart.h"

static struct ivshmem iv;
static struct notify notify;
static struct platform_ops ops;

void main(void);
void fault(uint64_t esr, uint64_t elr, uint64_t far, uint64_t kind);

void main(void)
{
	uint64_t el, sctlr;
	int rc;

	mmu_init();
	uart_init();
	notify.iv = &iv;
	__asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
	__asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
	printf("ivshmem-ipm bare-metal guest: aarch64 EL%lu, MMU %s, "
	       "timer %lu Hz\n", el >> 2 & 3, sctlr & 1 ? "on" : "off",
	       timer_hz());
	rc = fdt_pci_host(FDT_QEMU_VIRT, &pci_ecam, &pci_mmio32, &pci_mmio64);
	printf("PCI: ECAM 0x%lx, 32-bit window 0x%lx-0x%lx, 64-bit window ",
	       pci_ecam, pci_mmio32.next, pci_mmio32.end - 1);
	if (pci_mmio64.end)
		printf("0x%lx-0x%lx", pci_mmio64.next, pci_mmio64.end - 1);
	else
		printf("none");
	printf(" (%s)\n", rc ? "built in: no usable DTB" : "from the DTB");
	rc = ivshmem_init(&iv);
	if (rc) {
		printf("no ivshmem-doorbell device on PCI bus 0 (error %d)\n",
		       rc);
	} else {
		printf("ivshmem-doorbell at 00:%02x.%u: registers 0x%lx, "
		       "region 0x%lx (%lu bytes), peer id %u, %u vectors\n",
		       iv.pci.dev, iv.pci.fn, iv.regs, iv.shm, iv.shm_size,
		       iv.id, iv.vectors);
		rc = notify_use(&notify, NOTIFY_ITS);
		if (rc) {
			printf("ITS: error %d, polling instead\n", rc);
			notify_use(&notify, NOTIFY_POLL);
		}
		printf("notifications: %s\n", notify_mode_name(notify.mode));
		platform_ops_init(&ops, &notify);
	}
	printf("ready after %lu us\n", timer_now_us());
	shell_run(&ops, &notify);
}

/* From start.S's vectors: nothing is expected there, so report and stop. */
void fault(uint64_t esr, uint64_t elr, uint64_t far, uint64_t kind)
{
	printf("\nexception %lu: ESR 0x%lx ELR 0x%lx FAR 0x%lx; stopped\n",
	       kind, esr, elr, far);
	for (;;)
		__asm__ volatile("wfi");
}
