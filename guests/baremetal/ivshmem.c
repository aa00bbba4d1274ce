/* SPDX-License-Identifier: MIT */
#include "io.h"
#include "ivshmem.h"

#define IVSHMEM_VENDOR 0x1af4
#define IVSHMEM_DEVICE 0x1110

/* BAR0 registers (QEMU's docs/specs/ivshmem-spec.rst). */
#define REG_IVPOSITION 8
#define REG_DOORBELL 12

#define MSIX_CTRL 2
#define MSIX_CTRL_ENABLE (1u << 15)
#define MSIX_CTRL_SIZE 0x7ffu
#define MSIX_TABLE 4
#define MSIX_PBA 8
#define MSIX_BIR 7u

#define MSIX_ENTRY_ADDR_LO 0
#define MSIX_ENTRY_ADDR_HI 4
#define MSIX_ENTRY_DATA 8
#define MSIX_ENTRY_CTRL 12
#define MSIX_ENTRY_MASKED 1u

int ivshmem_init(struct ivshmem *iv)
{
	uint64_t bar[3], size[3];
	uint32_t table, pba;
	unsigned cap;
	uint16_t ctrl;
	int rc;

	rc = pci_find(IVSHMEM_VENDOR, IVSHMEM_DEVICE, &iv->pci);
	if (rc)
		return rc;
	cap = pci_find_cap(&iv->pci, PCI_CAP_ID_MSIX);
	if (!cap)
		return -ENODEV;	/* ivshmem-plain: no doorbells */
	pci_write16(&iv->pci, PCI_COMMAND, 0);
	/* BAR0 and BAR1 are 32-bit, BAR2 64-bit (it takes BAR3 too). */
	for (unsigned n = 0; n < 3; n++) {
		rc = pci_bar_assign(&iv->pci, n, &bar[n], &size[n]);
		if (rc)
			return rc;
	}
	table = pci_read32(&iv->pci, cap + MSIX_TABLE);
	pba = pci_read32(&iv->pci, cap + MSIX_PBA);
	if ((table & MSIX_BIR) > 1 || (pba & MSIX_BIR) > 1)
		return -ENODEV;	/* not where QEMU puts them */
	iv->regs = bar[0];
	iv->msix_table = bar[table & MSIX_BIR] + (table & ~MSIX_BIR);
	iv->msix_pba = bar[pba & MSIX_BIR] + (pba & ~MSIX_BIR);
	iv->shm = bar[2];
	iv->shm_size = size[2];
	pci_write16(&iv->pci, PCI_COMMAND,
		    PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

	ctrl = pci_read16(&iv->pci, cap + MSIX_CTRL);
	iv->vectors = (ctrl & MSIX_CTRL_SIZE) + 1;
	if (iv->vectors > IVSHMEM_MAX_VECTORS)
		iv->vectors = IVSHMEM_MAX_VECTORS;
	for (unsigned v = 0; v < iv->vectors; v++)
		ivshmem_msix_mask(iv, v, 1);
	/* Enabled, or QEMU drops a doorbell instead of marking it pending. */
	pci_write16(&iv->pci, cap + MSIX_CTRL, ctrl | MSIX_CTRL_ENABLE);
	iv->id = (uint16_t)readl(iv->regs + REG_IVPOSITION);
	return 0;
}

void ivshmem_ring(const struct ivshmem *iv, uint16_t peer, uint16_t vector)
{
	mb();	/* what we wrote to the region first, then the doorbell */
	writel(iv->regs + REG_DOORBELL, (uint32_t)peer << 16 | vector);
}

static uintptr_t entry(const struct ivshmem *iv, unsigned vector)
{
	return iv->msix_table + 16 * vector;
}

void ivshmem_msix_route(const struct ivshmem *iv, unsigned vector,
			uint64_t addr, uint32_t data)
{
	uintptr_t e = entry(iv, vector);

	ivshmem_msix_mask(iv, vector, 1);
	writel(e + MSIX_ENTRY_ADDR_LO, (uint32_t)addr);
	writel(e + MSIX_ENTRY_ADDR_HI, (uint32_t)(addr >> 32));
	writel(e + MSIX_ENTRY_DATA, data);
}

void ivshmem_msix_mask(const struct ivshmem *iv, unsigned vector, int masked)
{
	uintptr_t e = entry(iv, vector);
	uint32_t c = readl(e + MSIX_ENTRY_CTRL);

	c = masked ? c | MSIX_ENTRY_MASKED : c & ~MSIX_ENTRY_MASKED;
	writel(e + MSIX_ENTRY_CTRL, c);
}

int ivshmem_msix_pending(const struct ivshmem *iv, unsigned vector)
{
	return readl(iv->msix_pba + 4 * (vector / 32)) >> (vector % 32) & 1;
}
