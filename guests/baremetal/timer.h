/* SPDX-License-Identifier: MIT */
/* The Arm generic timer's physical counter as a millisecond clock. */
#ifndef BM_TIMER_H
#define BM_TIMER_H

#include <stdint.h>

/* Counter ticks per second (CNTFRQ_EL0, which QEMU sets). */
uint64_t timer_hz(void);
/* Milliseconds since the counter started (when the VM started). */
uint64_t timer_now_ms(void);
/* Microseconds, for finer figures. */
uint64_t timer_now_us(void);

#endif
