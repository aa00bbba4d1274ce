/* SPDX-License-Identifier: MIT */
#include "io.h"
#include "pci.h"

/*
 * Unless the DTB says otherwise (fdt.c): QEMU's virt machine (highmem on,
 * the default) decodes only the high ECAM, 256 buses at 256 GiB + 256
 * MiB; its 32-bit MMIO window is 0x10000000-0x3efeffff and the 64-bit one
 * 512 GiB-1 TiB (QEMU 7.2's DTB, README).
 */
uint64_t pci_ecam = 0x4010000000UL;
struct pci_window pci_mmio32 = { 0x10000000UL, 0x3eff0000UL };
struct pci_window pci_mmio64 = { 0x8000000000UL, 0x10000000000UL };

#define PCI_VENDOR_ID 0x00
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST (1u << 4)
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_CAP_PTR 0x34

#define BAR_IO (1u << 0)
#define BAR_64 (2u << 1)
#define BAR_TYPE_MASK (3u << 1)
#define BAR_MEM_MASK 0xfffffff0u

uint32_t pci_read32(const struct pci_dev *d, unsigned off)
{
	return readl(d->cfg + off);
}

uint16_t pci_read16(const struct pci_dev *d, unsigned off)
{
	return readw(d->cfg + off);
}

uint8_t pci_read8(const struct pci_dev *d, unsigned off)
{
	return readb(d->cfg + off);
}

void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v)
{
	writel(d->cfg + off, v);
}

void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v)
{
	writew(d->cfg + off, v);
}

static struct pci_dev at(unsigned dev, unsigned fn)
{
	struct pci_dev d = { .bus = 0, .dev = (uint8_t)dev, .fn = (uint8_t)fn };

	d.cfg = pci_ecam + ((uintptr_t)dev << 15) + ((uintptr_t)fn << 12);
	return d;
}

int pci_find(uint16_t vendor, uint16_t device, struct pci_dev *out)
{
	for (unsigned dev = 0; dev < 32; dev++) {
		unsigned fns = 1;

		for (unsigned fn = 0; fn < fns; fn++) {
			struct pci_dev d = at(dev, fn);
			uint32_t id = pci_read32(&d, PCI_VENDOR_ID);

			if ((id & 0xffff) == 0xffff)
				continue;	/* nothing there */
			if (fn == 0 && (pci_read8(&d, PCI_HEADER_TYPE) & 0x80))
				fns = 8;
			if ((id & 0xffff) == vendor && id >> 16 == device) {
				*out = d;
				return 0;
			}
		}
	}
	return -ENODEV;
}

int pci_bar_assign(const struct pci_dev *d, unsigned n, uint64_t *addr,
		   uint64_t *size)
{
	unsigned off = PCI_BAR0 + 4 * n;
	uint32_t orig = pci_read32(d, off), lo, hi = 0xffffffffu;
	int is64 = (orig & BAR_TYPE_MASK) == BAR_64;
	struct pci_window *w = is64 && pci_mmio64.end ? &pci_mmio64 :
			       &pci_mmio32;
	uint64_t mask, base;

	if (orig & BAR_IO)
		return -ENODEV;
	/* Sizing: write all ones, the bits that stay zero are the size. */
	pci_write32(d, off, 0xffffffffu);
	lo = pci_read32(d, off) & BAR_MEM_MASK;
	if (is64) {
		pci_write32(d, off + 4, 0xffffffffu);
		hi = pci_read32(d, off + 4);
	}
	mask = (uint64_t)hi << 32 | lo;
	if (!lo && (!is64 || !hi))
		return -ENODEV;		/* not implemented */
	*size = ~mask + 1;
	base = (w->next + *size - 1) & ~(*size - 1);	/* naturally aligned */
	if (base < w->next || base + *size > w->end || base + *size < base)
		return -ENOSPC;
	w->next = base + *size;
	pci_write32(d, off, (uint32_t)base);
	if (is64)
		pci_write32(d, off + 4, (uint32_t)(base >> 32));
	*addr = base;
	return 0;
}

unsigned pci_find_cap(const struct pci_dev *d, uint8_t id)
{
	unsigned off, guard = 48;	/* a looping list ends too */

	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	for (off = pci_read8(d, PCI_CAP_PTR) & 0xfc; off && guard--;
	     off = pci_read8(d, off + 1) & 0xfc)
		if (pci_read8(d, off) == id)
			return off;
	return 0;
}
