/* SPDX-License-Identifier: MIT */
/*
 * An identity map with the MMU and caches on, so that RAM and the shared
 * region are Normal memory: unaligned and exclusive accesses (the core's
 * atomics) are then architecturally fine, which they are not on the
 * Device memory every access is with the MMU off.
 */
#ifndef BM_MMU_H
#define BM_MMU_H

void mmu_init(void);

#endif
