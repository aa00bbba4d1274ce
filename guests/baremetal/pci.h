/* SPDX-License-Identifier: MIT */
/*
 * PCI through the ECAM of QEMU's virt machine, bus 0 only (where -device
 * puts endpoints without a bridge), and BAR assignment: under -kernel no
 * firmware has assigned anything, so the guest does it itself.
 */
#ifndef BM_PCI_H
#define BM_PCI_H

#include <stdint.h>

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY (1u << 1)
#define PCI_COMMAND_MASTER (1u << 2)
#define PCI_CAP_ID_MSIX 0x11

struct pci_dev {
	uintptr_t cfg;	/* its 4 KiB of configuration space */
	uint8_t bus, dev, fn;
};

/* An address window BARs are carved from, lowest first. */
struct pci_window {
	uint64_t next, end;
};

/*
 * The virt machine's ECAM and windows (set from its DTB by main.c). An
 * empty 64-bit window (highmem=off) sends 64-bit BARs to the 32-bit one.
 */
extern uint64_t pci_ecam;
extern struct pci_window pci_mmio32, pci_mmio64;

uint32_t pci_read32(const struct pci_dev *d, unsigned off);
uint16_t pci_read16(const struct pci_dev *d, unsigned off);
uint8_t pci_read8(const struct pci_dev *d, unsigned off);
void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v);
void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v);

/* Find vendor:device on bus 0; 0 or -ENODEV. */
int pci_find(uint16_t vendor, uint16_t device, struct pci_dev *out);

/*
 * Size BAR n with the sizing protocol, give it an address from the 32-bit
 * window, or for a 64-bit BAR from the 64-bit one, and write it. Memory
 * decoding must be off meanwhile. 0 with *addr and *size, -ENODEV for an
 * unimplemented or I/O BAR, -ENOSPC when the window is full.
 */
int pci_bar_assign(const struct pci_dev *d, unsigned n, uint64_t *addr,
		   uint64_t *size);

/* Offset of capability id in configuration space, 0 if absent. */
unsigned pci_find_cap(const struct pci_dev *d, uint8_t id);

#endif
