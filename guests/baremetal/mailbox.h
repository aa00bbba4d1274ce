/* SPDX-License-Identifier: MIT */
/*
 * The mailbox (docs/mailbox-layout.md) in the bare-metal guest: the
 * freestanding core (src/core) over the platform's region, doorbell and
 * clock. The shell polls it; the core sleeps on our vector 0 only inside
 * a blocking send.
 */
#ifndef BM_MAILBOX_H
#define BM_MAILBOX_H

#include <stdint.h>

#include "platform.h"

struct bm_mailbox;

/* The one mailbox the guest has (it has one device). */
struct bm_mailbox *bm_mailbox(struct platform_ops *ops);

/* Join the region's mailbox (slots: when laying it out; 0: the most the
 * region holds). 0 or -errno; prints what it found. */
int bm_mailbox_open(struct bm_mailbox *m, unsigned slots);
void bm_mailbox_close(struct bm_mailbox *m);
int bm_mailbox_is_open(const struct bm_mailbox *m);

/* A blocking send: 0 once the receiver completed that very message. */
int bm_mailbox_send(struct bm_mailbox *m, uint16_t peer, const void *data,
		    uint32_t len);

/* Is peer a live mailbox peer? An empty message to it (not waiting). */
int bm_mailbox_has(struct bm_mailbox *m, uint16_t peer);
int bm_mailbox_notify(struct bm_mailbox *m, uint16_t peer);

/*
 * Deliver what is queued for us to fn (len bytes from peer; the bytes are
 * our verified copy), completing each after it; the number delivered.
 */
int bm_mailbox_poll(struct bm_mailbox *m,
		    void (*fn)(void *arg, uint16_t peer, const void *data,
			       uint32_t len), void *arg);

/*
 * Vector 0 rang (and poll delivered nothing): 1 when that was a doorbell
 * peer's ring rather than the mailbox waking a blocking send of ours.
 */
int bm_mailbox_doorbell(struct bm_mailbox *m);

/* A vector the core's waits took that was not 0 (for the shell), or -1. */
int bm_mailbox_take_other(struct bm_mailbox *m);

/* `peers` and `stats` lines. */
void bm_mailbox_print_peers(struct bm_mailbox *m);
void bm_mailbox_print_stats(struct bm_mailbox *m);

#endif
