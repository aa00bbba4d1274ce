/* SPDX-License-Identifier: MIT */
/* Time for the IPM layer: its clock (timeouts, heartbeats) and busy-waits. */
#ifndef IVSHMEM_IPM_CLOCK_H
#define IVSHMEM_IPM_CLOCK_H

#include <time.h>

static inline long long ipm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline long long ipm_now_ms(void)
{
	return ipm_now_ns() / 1000000;
}

/* In a busy-wait: let the sibling thread run, leave the loop fast. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif
