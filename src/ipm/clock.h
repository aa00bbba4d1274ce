/* SPDX-License-Identifier: MIT */
/* The monotonic clock the IPM layer's timeouts and heartbeats use. */
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

#endif
