/* SPDX-License-Identifier: MIT */
#include "fdt.h"
#include "io.h"
#include "string.h"

#define FDT_MAGIC 0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

/* PCI address space of a ranges entry (its phys.hi cell). */
#define PCI_SPACE(hi) ((hi) >> 24 & 3)
#define PCI_SPACE_MEM32 2
#define PCI_SPACE_MEM64 3

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Does the NUL-separated list (len bytes) hold name? */
static int in_list(const char *list, uint32_t len, const char *name)
{
	for (uint32_t i = 0; i < len; i += (uint32_t)strlen(list + i) + 1)
		if (!strcmp(list + i, name))
			return 1;
	return 0;
}

struct pci_props {
	const uint8_t *reg, *ranges;
	uint32_t reg_len, ranges_len;
	int compatible;
};

static int use(const struct pci_props *p, uint64_t *ecam,
	       struct pci_window *mmio32, struct pci_window *mmio64)
{
	int have32 = 0, have64 = 0;

	/* reg: <address size>, two cells each; ranges: 3 + 2 + 2 cells. */
	if (p->reg_len < 16 || p->ranges_len % 28)
		return -EINVAL;
	*ecam = be64(p->reg);
	for (uint32_t i = 0; i < p->ranges_len; i += 28) {
		const uint8_t *r = p->ranges + i;
		uint32_t space = PCI_SPACE(be32(r));
		uint64_t base = be64(r + 12), size = be64(r + 20);

		/* QEMU maps PCI addresses 1:1; anything else: not ours. */
		if (be64(r + 4) != base)
			continue;
		if (space == PCI_SPACE_MEM32) {
			*mmio32 = (struct pci_window){ base, base + size };
			have32 = 1;
		} else if (space == PCI_SPACE_MEM64) {
			*mmio64 = (struct pci_window){ base, base + size };
			have64 = 1;
		}
	}
	if (!have32)
		return -EINVAL;
	if (!have64)	/* highmem off: 64-bit BARs go in the low window */
		*mmio64 = (struct pci_window){ 0, 0 };
	return 0;
}

int fdt_pci_host(uintptr_t fdt, uint64_t *ecam, struct pci_window *mmio32,
		 struct pci_window *mmio64)
{
	const uint8_t *h = (const uint8_t *)fdt, *p, *end;
	const char *strings;
	struct pci_props props = { 0 };
	uint32_t size;
	int depth = 0;

	if (be32(h) != FDT_MAGIC)
		return -ENODEV;
	size = be32(h + 4);
	p = h + be32(h + 8);
	strings = (const char *)h + be32(h + 12);
	end = h + size;
	while (p + 4 <= end) {
		uint32_t tok = be32(p), len;
		const char *name;

		p += 4;
		/* A node's properties come before its children. */
		if ((tok == FDT_BEGIN_NODE || tok == FDT_END_NODE) &&
		    props.compatible)
			return use(&props, ecam, mmio32, mmio64);
		switch (tok) {
		case FDT_BEGIN_NODE:
			depth++;
			memset(&props, 0, sizeof(props));
			p += (strlen((const char *)p) + 4) & ~3ul;
			break;
		case FDT_END_NODE:
			memset(&props, 0, sizeof(props));
			if (--depth < 0)
				return -ENODEV;
			break;
		case FDT_PROP:
			if (p + 8 > end)
				return -EINVAL;
			len = be32(p);
			name = strings + be32(p + 4);
			p += 8;
			if (p + len > end)
				return -EINVAL;
			if (!strcmp(name, "compatible")) {
				props.compatible = in_list((const char *)p,
					len, "pci-host-ecam-generic");
			} else if (!strcmp(name, "reg")) {
				props.reg = p;
				props.reg_len = len;
			} else if (!strcmp(name, "ranges")) {
				props.ranges = p;
				props.ranges_len = len;
			}
			p += (len + 3) & ~3u;
			break;
		case FDT_NOP:
			break;
		default:	/* FDT_END or garbage */
			return -ENODEV;
		}
	}
	return -ENODEV;
}
