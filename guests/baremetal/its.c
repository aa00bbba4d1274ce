/* SPDX-License-Identifier: MIT */
/*
 * MSI-X through the GICv3 ITS of QEMU's virt,gic-version=3 (DTB: intc@8000000,
 * its@8080000), for one CPU: the redistributor's LPI tables, the ITS's
 * device and collection tables and command queue, one LPI per vector.
 * The CPU keeps PSTATE.I set: WFI still wakes on a pending interrupt, and
 * the guest acknowledges it by reading ICC_IAR1_EL1, with no handler.
 */
#include "io.h"
#include "notify.h"
#include "string.h"
#include "timer.h"

#define GICD 0x08000000UL
#define GICD_CTLR 0x0000
#define GICD_TYPER 0x0004
#define GICD_CTLR_RWP (1u << 31)
#define GICD_CTLR_ARE (1u << 4)
#define GICD_CTLR_GRP1 (1u << 1)
#define GICD_TYPER_LPIS (1u << 17)

#define GICR 0x080a0000UL	/* CPU 0's redistributor */
#define GICR_SGI (GICR + 0x10000)
#define GICR_CTLR 0x0000
#define GICR_WAKER 0x0014
#define GICR_PROPBASER 0x0070
#define GICR_PENDBASER 0x0078
#define GICR_CTLR_LPIS (1u << 0)
#define GICR_WAKER_SLEEP (1u << 1)
#define GICR_WAKER_ASLEEP (1u << 2)
#define GICR_IGROUPR0 0x0080
#define GICR_ISENABLER0 0x0100
#define GICR_IPRIORITYR 0x0400

#define ITS 0x08080000UL
#define GITS_CTLR 0x0000
#define GITS_TYPER 0x0008
#define GITS_CBASER 0x0080
#define GITS_CWRITER 0x0088
#define GITS_CREADR 0x0090
#define GITS_BASER 0x0100
#define GITS_TRANSLATER (ITS + 0x10040)
#define GITS_TYPER_PTA (1ull << 19)
#define GITS_VALID (1ull << 63)
#define GITS_BASER_DEVICES 1
#define GITS_BASER_COLLECTIONS 4

/*
 * The tables are in Normal write-back RAM (mmu.c): tell the GIC so, and it
 * reads them coherently, no cache cleaning needed (QEMU: always).
 */
#define GICR_BASER_CACHED (7ull << 7 | 1ull << 10)	/* WB, inner shared */
#define GITS_BASER_CACHED (7ull << 59 | 1ull << 10)

#define LPI_BASE 8192		/* first LPI INTID */
#define LPI_ID_BITS 14		/* INTIDs below 16384: 8192 LPIs */
#define LPI_PRIO 0xa0
#define TIMER_PPI 30		/* EL1 physical timer (DTB: timer, PPI 14) */
#define SPURIOUS 1023

#define CMD_MAPD 0x08
#define CMD_MAPC 0x09
#define CMD_MAPTI 0x0a
#define CMD_INVALL 0x0d
#define CMD_SYNC 0x05

/* The tables (the ITS and redistributor read them from RAM). */
static uint8_t lpi_config[(1u << LPI_ID_BITS) - LPI_BASE]
	__attribute__((aligned(4096)));
static uint8_t lpi_pending[(1u << LPI_ID_BITS) / 8]
	__attribute__((aligned(65536)));
static uint64_t its_devices[4096 / 8] __attribute__((aligned(4096)));
static uint64_t its_collections[4096 / 8] __attribute__((aligned(4096)));
static uint64_t its_cmdq[4096 / 8] __attribute__((aligned(4096)));
static uint8_t its_itt[IVSHMEM_MAX_VECTORS * 16] __attribute__((aligned(256)));

static uint64_t readq(uintptr_t a)
{
	return *(volatile uint64_t *)a;
}

static void writeq(uintptr_t a, uint64_t v)
{
	*(volatile uint64_t *)a = v;
}

#define sysreg_write(reg, v) \
	__asm__ volatile("msr " reg ", %0\n\tisb" :: "r"((uint64_t)(v)))
#define sysreg_read(reg, v) \
	__asm__ volatile("mrs %0, " reg : "=r"(v) :: "memory")
/* By encoding: not every assembler knows the GICv3 names. */
#define ICC_PMR_EL1 "S3_0_C4_C6_0"
#define ICC_IAR1_EL1 "S3_0_C12_C12_0"
#define ICC_EOIR1_EL1 "S3_0_C12_C12_1"
#define ICC_SRE_EL1 "S3_0_C12_C12_5"
#define ICC_IGRPEN1_EL1 "S3_0_C12_C12_7"

static unsigned cmd_next;

/* Queue one command and wait until the ITS has done it; 0 or -ETIMEDOUT. */
static int its_cmd(uint64_t d0, uint64_t d1, uint64_t d2)
{
	uint64_t *c = &its_cmdq[cmd_next * 4], deadline;

	c[0] = d0;
	c[1] = d1;
	c[2] = d2;
	c[3] = 0;
	cmd_next = (cmd_next + 1) % (sizeof(its_cmdq) / 32);
	mb();
	writeq(ITS + GITS_CWRITER, (uint64_t)cmd_next * 32);
	deadline = timer_now_ms() + 100;
	while (readq(ITS + GITS_CREADR) != (uint64_t)cmd_next * 32)
		if (timer_now_ms() > deadline)
			return -ETIMEDOUT;	/* stalled: a bad command */
	return 0;
}

/* Give BASER n a one-page table if it is for devices or collections. */
static void its_table(unsigned n)
{
	uintptr_t reg = ITS + GITS_BASER + 8 * n;
	uint64_t v = readq(reg), type = v >> 56 & 7, *table;

	if (type == GITS_BASER_DEVICES)
		table = its_devices;
	else if (type == GITS_BASER_COLLECTIONS)
		table = its_collections;
	else
		return;
	/* Keep type and entry size; 4 KiB pages, flat, one page. */
	v &= 7ull << 56 | 0x1full << 48;
	writeq(reg, v | GITS_VALID | GITS_BASER_CACHED | (uintptr_t)table);
}

static void redist_init(void)
{
	writel(GICR + GICR_WAKER,
	       readl(GICR + GICR_WAKER) & ~GICR_WAKER_SLEEP);
	while (readl(GICR + GICR_WAKER) & GICR_WAKER_ASLEEP)
		;
	/* LPIs enabled, one priority (RAM is zero: all else off). */
	memset(lpi_config, LPI_PRIO | 1, sizeof(lpi_config));
	writeq(GICR + GICR_PROPBASER, (uintptr_t)lpi_config |
	       GICR_BASER_CACHED | (LPI_ID_BITS - 1));
	writeq(GICR + GICR_PENDBASER, (uintptr_t)lpi_pending |
	       GICR_BASER_CACHED);
	mb();
	writel(GICR + GICR_CTLR, GICR_CTLR_LPIS);

	/* The timer's PPI, to bound the WFI in its_idle(). */
	writel(GICR_SGI + GICR_IGROUPR0, 1u << TIMER_PPI);
	writel(GICR_SGI + GICR_IPRIORITYR + TIMER_PPI / 4 * 4,
	       (uint32_t)LPI_PRIO << (8 * (TIMER_PPI % 4)));
	writel(GICR_SGI + GICR_ISENABLER0, 1u << TIMER_PPI);
}

int its_init(struct notify *n)
{
	uint32_t devid = (uint32_t)n->iv->pci.bus << 8 | n->iv->pci.dev << 3 |
			 n->iv->pci.fn;	/* the requester id (DTB: msi-map 1:1) */
	uint64_t rdbase;
	int rc;

	if (!(readl(GICD + GICD_TYPER) & GICD_TYPER_LPIS))
		return -ENODEV;
	writel(GICD + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_GRP1);
	while (readl(GICD + GICD_CTLR) & GICD_CTLR_RWP)
		;
	redist_init();

	for (unsigned i = 0; i < 8; i++)
		its_table(i);
	writeq(ITS + GITS_CBASER, GITS_VALID | GITS_BASER_CACHED |
	       (uintptr_t)its_cmdq);
	writeq(ITS + GITS_CWRITER, 0);
	writel(ITS + GITS_CTLR, 1);
	/* A redistributor is named by its address or by CPU number (0). */
	rdbase = readq(ITS + GITS_TYPER) & GITS_TYPER_PTA ? GICR : 0;

	/* Device: 6 EventID bits (64 vectors); collection 0 on CPU 0. */
	rc = its_cmd(CMD_MAPD | (uint64_t)devid << 32, 6 - 1,
		     GITS_VALID | (uintptr_t)its_itt);
	if (!rc)
		rc = its_cmd(CMD_MAPC, 0, GITS_VALID | rdbase);
	for (unsigned v = 0; !rc && v < n->iv->vectors; v++)
		rc = its_cmd(CMD_MAPTI | (uint64_t)devid << 32,
			     v | (uint64_t)(LPI_BASE + v) << 32, 0);
	if (!rc)
		rc = its_cmd(CMD_INVALL, 0, 0);
	if (!rc)
		rc = its_cmd(CMD_SYNC, 0, rdbase);
	if (rc)
		return rc;

	sysreg_write(ICC_SRE_EL1, 1);
	sysreg_write(ICC_PMR_EL1, 0xff);
	sysreg_write(ICC_IGRPEN1_EL1, 1);
	return 0;
}

void its_route(struct notify *n)
{
	/* EventID = vector: the ITS maps it to LPI 8192 + vector. */
	for (unsigned v = 0; v < n->iv->vectors; v++)
		ivshmem_msix_route(n->iv, v, GITS_TRANSLATER, v);
}

/* Acknowledge whatever the CPU interface has; LPIs become taken bits. */
void its_collect(struct notify *n)
{
	for (;;) {
		uint64_t id;

		sysreg_read(ICC_IAR1_EL1, id);
		if (id == SPURIOUS)
			return;
		if (id == TIMER_PPI)	/* level: silence it before EOI */
			__asm__ volatile("msr cntp_ctl_el0, xzr\n\tisb");
		else if (id >= LPI_BASE && id < LPI_BASE + n->iv->vectors)
			n->taken |= 1ull << (id - LPI_BASE);
		sysreg_write(ICC_EOIR1_EL1, id);
	}
}

void its_idle(struct notify *n)
{
	uint64_t hz = timer_hz(), now;

	its_collect(n);
	if (n->taken)
		return;
	sysreg_read("cntpct_el0", now);
	__asm__ volatile("msr cntp_cval_el0, %0\n\t"
			 "msr cntp_ctl_el0, %1\n\tisb"
			 :: "r"(now + hz / 1000), "r"(1ull));
	__asm__ volatile("dsb sy\n\twfi" ::: "memory");
}
