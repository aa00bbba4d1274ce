/* SPDX-License-Identifier: MIT */
/*
 * QEMU's ivshmem-doorbell device (1af4:1110): BAR0 its registers, BAR1
 * the MSI-X table and PBA, BAR2 the shared region.
 */
#ifndef BM_IVSHMEM_H
#define BM_IVSHMEM_H

#include <stdint.h>

#include "pci.h"

#define IVSHMEM_MAX_VECTORS 64

struct ivshmem {
	struct pci_dev pci;
	uintptr_t regs;		/* BAR0 */
	uintptr_t msix_table;	/* in BAR1: 16 bytes per vector */
	uintptr_t msix_pba;	/* in BAR1: one pending bit per vector */
	uintptr_t shm;		/* BAR2 */
	uint64_t shm_size;
	uint16_t id;		/* IVPosition: our peer id */
	unsigned vectors;	/* MSI-X table size */
};

/*
 * Find the device, assign its BARs, enable memory decoding and bus
 * mastering, enable MSI-X with every vector masked. 0 or -errno.
 */
int ivshmem_init(struct ivshmem *iv);

/* Ring peer's vector through the Doorbell register. */
void ivshmem_ring(const struct ivshmem *iv, uint16_t peer, uint16_t vector);

/* Point vector's MSI-X message at addr with data (vector left masked). */
void ivshmem_msix_route(const struct ivshmem *iv, unsigned vector,
			uint64_t addr, uint32_t data);
void ivshmem_msix_mask(const struct ivshmem *iv, unsigned vector, int masked);
/* The vector's PBA bit: rung while masked, not yet delivered. */
int ivshmem_msix_pending(const struct ivshmem *iv, unsigned vector);

#endif
