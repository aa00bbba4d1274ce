/* SPDX-License-Identifier: MIT */
/*
 * 4 KiB granule, 40-bit addresses (the Cortex-A53's physical range, which
 * holds all of QEMU virt's map), 1 GiB blocks: level 0 has two entries,
 * each a level 1 table of 512 blocks.
 *
 *   0-1 GiB      devices (flash, GIC, UART, 32-bit PCI window)  Device
 *   1-256 GiB    RAM                                            Normal
 *   256-512 GiB  high redistributors and the PCI ECAM            Device
 *   512 GiB-1 TiB the 64-bit PCI window: only BAR2 is there     Normal
 *
 * The 64-bit window is Normal because what pci.c puts there is the
 * prefetchable shared region: memory, coherent with the host's mapping.
 */
#include <stdint.h>

#include "mmu.h"

#define DESC_TABLE 3ull
#define DESC_BLOCK 1ull
#define DESC_AF (1ull << 10)
#define DESC_INNER_SHAREABLE (3ull << 8)
#define DESC_XN (3ull << 53)	/* PXN and UXN */
#define ATTR(i) ((uint64_t)(i) << 2)

/* MAIR_EL1 attribute indexes. */
#define MT_DEVICE 0		/* Device-nGnRE */
#define MT_NORMAL 1		/* Normal, write-back, read/write-allocate */
#define MAIR ((0x04ull << (8 * MT_DEVICE)) | (0xffull << (8 * MT_NORMAL)))

#define TCR_T0SZ(bits) (64ull - (bits))
#define TCR_IRGN0_WB (1ull << 8)
#define TCR_ORGN0_WB (1ull << 10)
#define TCR_SH0_INNER (3ull << 12)
#define TCR_TG0_4K (0ull << 14)
#define TCR_EPD1 (1ull << 23)	/* no TTBR1 walks: nothing lives up there */
#define TCR_IPS_40 (2ull << 32)

#define SCTLR_M (1ull << 0)
#define SCTLR_A (1ull << 1)
#define SCTLR_C (1ull << 2)
#define SCTLR_I (1ull << 12)

#define GIB (1ull << 30)

static uint64_t level0[512] __attribute__((aligned(4096)));
static uint64_t level1[2][512] __attribute__((aligned(4096)));

static uint64_t block(uint64_t addr)
{
	if (addr < 1 * GIB || (addr >= 256 * GIB && addr < 512 * GIB))
		return addr | DESC_BLOCK | DESC_AF | ATTR(MT_DEVICE) | DESC_XN;
	return addr | DESC_BLOCK | DESC_AF | ATTR(MT_NORMAL) |
	       DESC_INNER_SHAREABLE;
}

void mmu_init(void)
{
	uint64_t sctlr;

	for (unsigned t = 0; t < 2; t++) {
		for (unsigned i = 0; i < 512; i++)
			level1[t][i] = block((t * 512ull + i) * GIB);
		level0[t] = (uintptr_t)level1[t] | DESC_TABLE;
	}
	__asm__ volatile(
		"msr mair_el1, %0\n\t"
		"msr tcr_el1, %1\n\t"
		"msr ttbr0_el1, %2\n\t"
		"dsb sy\n\t"
		"tlbi vmalle1\n\t"
		"dsb sy\n\t"
		"isb"
		:: "r"(MAIR),
		   "r"(TCR_T0SZ(40) | TCR_IRGN0_WB | TCR_ORGN0_WB |
		       TCR_SH0_INNER | TCR_TG0_4K | TCR_EPD1 | TCR_IPS_40),
		   "r"((uintptr_t)level0)
		: "memory");
	/* Caches were off and hold nothing: no cleaning needed first. */
	__asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
	sctlr = (sctlr | SCTLR_M | SCTLR_C | SCTLR_I) & ~SCTLR_A;
	__asm__ volatile("msr sctlr_el1, %0\n\tisb" :: "r"(sctlr) : "memory");
}
