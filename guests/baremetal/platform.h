/* SPDX-License-Identifier: MIT */
/*
 * What the bare-metal guest offers the freestanding mailbox core (issue
 * 14): the shared region and the few services it needs from its
 * environment. The core's own ops struct is filled from these with one
 * line per member; nothing here knows the mailbox layout.
 *
 * Every function may be called only from the guest's single thread of
 * execution (there are no interrupt handlers: notifications are taken by
 * polling, see notify.h).
 */
#ifndef BM_PLATFORM_H
#define BM_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

struct platform_ops {
	void *ctx;
	/* The shared region (BAR2), its size, our peer id, our vectors. */
	volatile void *mem;
	size_t size;
	uint16_t id;
	uint16_t vectors;
	/* Ring peer's vector; 0 (a doorbell to nobody is dropped). */
	int (*ring)(void *ctx, uint16_t peer, uint16_t vector);
	/* A monotonic millisecond clock (the generic timer). */
	uint64_t (*now_ms)(void *ctx);
	/* Spend a little time in a busy wait (a yield, or a WFI of 1 ms
	 * at most when interrupts can wake the CPU). */
	void (*relax)(void *ctx);
	/*
	 * Wait up to timeout_ms (0: just look) for one of our vectors to be
	 * rung: returns the vector, or -ETIMEDOUT. Rings of one vector
	 * that come before it is taken may merge into one.
	 */
	int (*wait)(void *ctx, uint32_t timeout_ms);
};

struct notify;

/* Fill ops for the device and notification mode behind n. */
void platform_ops_init(struct platform_ops *ops, struct notify *n);

#endif
