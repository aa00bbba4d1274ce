/* SPDX-License-Identifier: MIT */
/*
 * Just enough of the flattened device tree that QEMU puts at the start of
 * RAM (for an ELF -kernel it passes no pointer) to find the PCI host: its
 * ECAM and its memory windows, so another QEMU version's map still works.
 */
#ifndef BM_FDT_H
#define BM_FDT_H

#include <stdint.h>

#include "pci.h"

#define FDT_QEMU_VIRT 0x40000000UL

/*
 * From the node compatible with "pci-host-ecam-generic": *ecam from its
 * reg, the 32-bit and 64-bit memory windows from its ranges (a 64-bit
 * range; empty when there is none). 0, or -ENODEV when there is no valid
 * tree or no such node, -EINVAL when it is not as QEMU writes it (two
 * address and two size cells at the root).
 */
int fdt_pci_host(uintptr_t fdt, uint64_t *ecam, struct pci_window *mmio32,
		 struct pci_window *mmio64);

#endif
