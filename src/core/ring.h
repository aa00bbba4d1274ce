/* SPDX-License-Identifier: MIT */
/*
 * One queue of the mailbox, from one end: the sender's (struct ipmc_tx:
 * reserve, publish, withdraw) or the receiver's (struct ipmc_rx: claim,
 * complete). In the spirit of Zephyr's spsc_pbuf, but for a peer that may
 * scribble on anything: each end keeps its indexes privately and only ever
 * stores them; what it reads from the other end (tail_check, ack, claim;
 * stamps, headers, head) is checked before it is believed
 * (docs/mailbox-layout.md, "Queues").
 *
 * No clock, no doorbell, no view of the slot owners: the caller (the
 * mailbox, mailbox.c) passes the tokens in and decides whom to ring.
 * Freestanding; the state is the caller's memory.
 */
#ifndef IVSHMEM_CORE_RING_H
#define IVSHMEM_CORE_RING_H

#include <stddef.h>
#include <stdint.h>

#include "ipmc_layout.h"

/* What a receiver refused, and what it delivered (as struct ipm_stats). */
struct ipmc_stats {
	uint64_t delivered, lost, corrupt, replayed, withdrawn, foreign;
	uint64_t dropped, send_withdrawn;
};

struct ipmc_tx {
	struct ipmc_qctl *ctl;
	uint8_t *ring;
	uint64_t cap;
	uint64_t self;      /* our token */
	int check, hw;      /* checksums on; the CPU's CRC instruction */
	uint64_t head;      /* ours: the shared one is only written from it */
	uint64_t head_word; /* its checked word, as we last stored it */
	uint64_t tail_seen; /* the last tail believed */
	uint64_t tail_for;  /* the receiver token it was checked for (0) */
	uint64_t seq, seq_for; /* the next number, for that receiver token */
	uint64_t lap;       /* where head's lap starts: offsets without division */
	uint64_t wrap_tried; /* the window we last read the tail to wrap in */
	int loaned;         /* a reservation is out (one at a time) */
	uint64_t spoiled;   /* the withdrawn record whose sum we inverted */
};

/*
 * A sender wraps early once this far into the ring when the receiver has
 * consumed the lap so far: a queue that keeps up stays in cache (rings of
 * at least 4 windows).
 */
#define IPMC_WINDOW 4096u

/* Where a reserved record goes: ipmc_tx_reserve() fills it. */
struct ipmc_resv {
	uint8_t *at;        /* the record's line in the ring */
	void *data;         /* its payload: room for len bytes */
	uint64_t end;       /* its stamp's index */
	uint64_t dst, seq;
	uint32_t len, flags;
};

/*
 * Take over the sending end of the queue at ctl (its ring of cap bytes
 * behind it) for token 'self': continue from the receiver's tail if a
 * checked one is there, else assume no room until one is read. Stores
 * head and pgen.
 */
void ipmc_tx_attach(struct ipmc_tx *tx, struct ipmc_qctl *ctl, uint64_t cap,
		    uint64_t self, int check, int hw);

/*
 * Room for a record of len payload bytes to receiver token dst: 0 with *r
 * filled (r->data is where the payload goes, in the ring), -EBUSY when the
 * queue is full or no tail the receiver wrote for us can be believed,
 * -EMSGSIZE when it could never fit, -EALREADY while another is reserved.
 * Nothing is visible to the receiver until ipmc_tx_publish(); a WRAP may
 * be, which only sends it to offset 0.
 */
int ipmc_tx_reserve(struct ipmc_tx *tx, uint64_t dst, uint32_t len,
		    uint32_t flags, struct ipmc_resv *r);

/*
 * Publish the reserved record: header, checksum (over 'data' while it is
 * copied in, or, data NULL, over what was written at r->data), the stamp
 * with release, then the head. The record's number is taken here.
 */
void ipmc_tx_publish(struct ipmc_tx *tx, struct ipmc_resv *r,
		     const void *data);

/* Give the reservation up: nothing was published. */
void ipmc_tx_abandon(struct ipmc_tx *tx, struct ipmc_resv *r);

/* Has the receiver dst acked message seq (its ack word)? */
int ipmc_tx_acked(const struct ipmc_tx *tx, uint64_t seq, uint64_t dst);
/* ... or claimed it (its claim word)? */
int ipmc_tx_taken(const struct ipmc_tx *tx, uint64_t seq, uint64_t dst);

/*
 * A blocking sender gives up on the published record r: 1 when it is
 * withdrawn (never delivered; its number goes to the next message, and
 * if the receiver's checked tail is past the record's start, our head
 * moves there: the receiver dropped or skipped past it), 0 when
 * the receiver had taken it (delivered), -EINPROGRESS until grace_over is
 * set (the grace: a claim word of a receiver that swapped just before us
 * may still come; a stamp that is neither ours nor the receiver's claimed
 * one is then taken as scribbled): call again.
 */
int ipmc_tx_withdraw(struct ipmc_tx *tx, const struct ipmc_resv *r,
		     int grace_over);

struct ipmc_rx {
	struct ipmc_qctl *ctl;
	uint8_t *ring;
	uint64_t cap;
	uint64_t self;
	int check, hw;
	struct ipmc_stats *stats;
	uint64_t tail;      /* ours: the shared one is only written from it */
	uint64_t tail_tok, tail_word; /* the sender our tail_check is for */
	uint64_t expect, expect_for;  /* the next number, for that sender */
	uint64_t lap;       /* where tail's lap starts */
	/* Garbage at the tail that cannot be dropped: ignored until changed. */
	uint64_t stuck_t, stuck_stamp;
	int stuck;
	unsigned looks;     /* every 64th looks at the head, asked or not */
	uint64_t ack_word;  /* our last ack, put back if scribbled on */
};

/* A record claimed for delivery. */
struct ipmc_msg {
	const void *data;   /* the verified private copy, or in place */
	uint32_t len;
	uint64_t src, seq, end;
	int ack;            /* the sender waits for our ack */
};

/*
 * Take over the receiving end for token 'self': skip what was left for
 * the slot's last owner, store tail, tail_check and cgen. Refusals are
 * counted in *stats.
 */
void ipmc_rx_attach(struct ipmc_rx *rx, struct ipmc_qctl *ctl, uint64_t cap,
		    uint64_t self, int check, int hw, struct ipmc_stats *stats);

/*
 * Has the receiver passed the published record r without taking it (its
 * checked tail is past r's start and there is no ack)? Then it never
 * will deliver it: withdraw it (ipmc_tx_withdraw() then follows the
 * receiver) and publish it again.
 */
int ipmc_tx_passed(struct ipmc_tx *tx, const struct ipmc_resv *r);

/*
 * The next message from sender token src (0: none known, then the queue's
 * pgen, read after the stamp, stands for it): 1 with *m, 0 when there is
 * none. Refused records are skipped and counted; a record the sender waits
 * for is claimed. 'copy' (cap bytes) receives the verified payload;
 * unchecked regions deliver in place. 'heads': also look at the sender's
 * head (for a scribbled stamp; costs the sender a line transfer); it is
 * also looked at every 64th call. Our own words are put back first if
 * they were scribbled on.
 */
int ipmc_rx_next(struct ipmc_rx *rx, uint64_t src, int heads, void *copy,
		 struct ipmc_msg *m);

/*
 * Complete m: free its room (tail and tail_check) and, if the sender
 * waits, store its ack. The caller then fences and rings the sender if
 * its wants_ack is set. At most one message per queue is out at a time:
 * complete it before the next ipmc_rx_next().
 */
void ipmc_rx_complete(struct ipmc_rx *rx, const struct ipmc_msg *m);

/* 1 when something may be queued; *heads_moved set if a head said so. */
int ipmc_rx_pending(struct ipmc_rx *rx, int heads, int *heads_moved);

/* The words the two ends check each other's by (docs/mailbox-layout.md). */
uint64_t ipmc_ack_word(uint64_t seq, uint64_t dst, uint64_t src, int hw);
uint64_t ipmc_tail_word(uint64_t t, uint64_t dst, uint64_t src, int hw);
uint64_t ipmc_head_word(uint64_t h, uint64_t dst, uint64_t src, int hw);
uint64_t ipmc_bye_word(uint64_t token, int hw);
uint64_t ipmc_claim_stamp(uint64_t idx, uint64_t seq, uint64_t dst,
			  uint64_t src, int hw);

#endif
