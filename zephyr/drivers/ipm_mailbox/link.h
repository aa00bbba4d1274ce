/* SPDX-License-Identifier: MIT */
/*
 * The link: what the driver's two faces (IPM, MBOX) share over one ivshmem
 * device. It holds the environment the project's freestanding mailbox core
 * takes (ring a peer's vector, a millisecond clock, relax), the vector-0
 * handler with its receive thread, and hands arrivals to the faces that
 * listen. One link per device, because Zephyr's ivshmem driver keeps one
 * signal per vector and a mailbox peer holds one slot of the region.
 */
#ifndef IVSHMEM_IPM_ZEPHYR_LINK_H
#define IVSHMEM_IPM_ZEPHYR_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zephyr/device.h>
#include <zephyr/drivers/mbox.h>
#include <zephyr/kernel.h>

#include "ipmc.h"

/* The sender of a bare doorbell: ivshmem does not name the ringer. */
#define IVM_PEER_UNKNOWN UINT32_MAX

/*
 * An arrival, in the receive thread: a message from peer (msg valid during
 * the call), or a bare doorbell (IVM_PEER_UNKNOWN, msg NULL).
 */
typedef void (*ivm_arrival_fn)(void *face, uint32_t peer,
			       const struct mbox_msg *msg);

#define IVM_FACES 2

struct ivm_link {
	const struct device *ivshmem;
	uintptr_t mem;
	size_t size;
	uint32_t id;
	uint16_t vectors;
	struct k_poll_signal sig;
	struct k_thread thread;
	struct k_spinlock lock;		/* faces[] */
	/*
	 * The mailbox (src/core): one thread in it at a time (the mutex),
	 * released while a blocking send sleeps for its ack, which the
	 * receive thread passes on through 'rung'.
	 */
	struct ipmc mb;
	struct ipmc_ops ops;
	int mb_err;			/* 0: open; else why not (doorbells
					 * only) */
	struct k_mutex mutex;
	struct k_sem rung;
	int waiting;			/* blocking sends asleep */
	int64_t calm_at;		/* a ring that brings nothing, before
					 * this, is the mailbox's */
	int64_t ticked_at;
	struct {
		ivm_arrival_fn fn;
		void *face;
	} faces[IVM_FACES];
};

/*
 * Bind to ivshmem (ready, doorbell version), take its vector 0 and start
 * the receive thread on stack. 0 or a negative errno.
 */
int ivm_link_init(struct ivm_link *l, const struct device *ivshmem,
		  k_thread_stack_t *stack, size_t stack_size);

/* Hand arrivals to fn(face, ...). -ENOSPC past IVM_FACES. */
int ivm_link_listen(struct ivm_link *l, ivm_arrival_fn fn, void *face);

/*
 * Send size bytes to peer (wait: until the receiver completed them). Size
 * 0 is the sample's doorbell: an empty message to a mailbox peer, its
 * vector 0 to any other (nothing to wait for). 0 or a negative errno.
 */
int ivm_link_send(struct ivm_link *l, int wait, uint32_t peer,
		  const void *data, size_t size);

/* The largest payload a send can carry (0: doorbells only, the region
 * holds no mailbox we could join). */
int ivm_link_max_data(const struct ivm_link *l);

#endif
