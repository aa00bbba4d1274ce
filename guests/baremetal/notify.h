/* SPDX-License-Identifier: MIT */
/*
 * How the guest learns that one of its vectors was rung. QEMU's device
 * turns a doorbell into an MSI-X message (a 32-bit write of the vector's
 * data to its address) when the vector is unmasked, or sets its PBA bit
 * when masked. A PBA bit clears only when the vector is unmasked, which
 * sends the message, so every mode needs a target for the messages:
 *
 * - poll: each vector's message goes to a word in guest RAM, which the
 *   guest polls and clears. No interrupt controller is involved.
 * - its: messages go to the GICv3 ITS, which turns them into LPIs; the
 *   guest sleeps in WFI until an LPI (or its 1 ms timer tick) arrives.
 */
#ifndef BM_NOTIFY_H
#define BM_NOTIFY_H

#include <stdint.h>

#include "ivshmem.h"

enum notify_mode { NOTIFY_POLL, NOTIFY_ITS };

struct notify {
	struct ivshmem *iv;
	enum notify_mode mode;
	/* poll: the message targets, one word per vector, 1 when rung. */
	volatile uint32_t sink[IVSHMEM_MAX_VECTORS];
	/* its: vectors whose LPI was taken but not yet handed out. */
	uint64_t taken;
	int its_ready;
};

/* Route every vector's messages for mode; 0 or -errno (ITS missing). */
int notify_use(struct notify *n, enum notify_mode mode);
/* A vector rung since it was last handed out, or -1. Never blocks. */
int notify_take(struct notify *n);
/* Wait a little (1 ms at most) for a notification or console input. */
void notify_idle(struct notify *n);
const char *notify_mode_name(enum notify_mode mode);

/* The GICv3 ITS part (its.c). */
int its_init(struct notify *n);
void its_route(struct notify *n);
void its_collect(struct notify *n);
void its_idle(struct notify *n);

#endif
