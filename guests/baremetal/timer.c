/* SPDX-License-Identifier: MIT */
#include "timer.h"

uint64_t timer_hz(void)
{
	uint64_t hz;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(hz));
	return hz;
}

static uint64_t ticks(void)
{
	uint64_t t;

	/* isb: no reading the counter ahead of the code before it. */
	__asm__ volatile("isb\n\tmrs %0, cntpct_el0" : "=r"(t) :: "memory");
	return t;
}

/* ticks * unit / hz without overflowing for any realistic uptime. */
static uint64_t scaled(uint64_t unit)
{
	uint64_t t = ticks(), hz = timer_hz();

	return t / hz * unit + t % hz * unit / hz;
}

uint64_t timer_now_ms(void)
{
	return scaled(1000);
}

uint64_t timer_now_us(void)
{
	return scaled(1000000);
}
