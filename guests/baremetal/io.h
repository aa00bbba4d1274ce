/* SPDX-License-Identifier: MIT */
/*
 * Device register access and barriers. Devices are mapped Device-nGnRE
 * (mmu.c): accesses to one device stay in program order. RAM and the
 * shared region are Normal memory: mb() orders them against what a device
 * (or a peer, through the shared region) sees.
 */
#ifndef BM_IO_H
#define BM_IO_H

#include <stdint.h>

#define EINVAL 22
#define ENODEV 19
#define ENOSPC 28
#define ERANGE 34
#define ETIMEDOUT 110

static inline uint32_t readl(uintptr_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void writel(uintptr_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static inline uint16_t readw(uintptr_t addr)
{
	return *(volatile uint16_t *)addr;
}

static inline void writew(uintptr_t addr, uint16_t v)
{
	*(volatile uint16_t *)addr = v;
}

static inline uint8_t readb(uintptr_t addr)
{
	return *(volatile uint8_t *)addr;
}

/* Full system barrier: everything before it is seen before what follows. */
static inline void mb(void)
{
	__asm__ volatile("dsb sy" ::: "memory");
}

#endif
