/* SPDX-License-Identifier: MIT */
/*
 * The mailbox over a mapped ivshmem region (docs/mailbox-layout.md): the
 * header, the slot table and each peer's private view of the owners, and
 * one queue per ordered pair of slots (ring.h). Freestanding: the
 * environment maps the region, fills struct ipmc_ops (its doorbell, its
 * clock, optionally how to wait) and owns the struct ipmc's memory. No
 * allocation, no global state; one thread at a time per struct ipmc.
 * Functions return 0 (or a count) or a negative errno.
 */
#ifndef IVSHMEM_CORE_MAILBOX_H
#define IVSHMEM_CORE_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "ipmc_layout.h"
#include "ring.h"

struct ipmc_ops {
	void *ctx;
	/* Ring vector 'vector' of peer 'peer' (the Doorbell register). */
	int (*ring)(void *ctx, int peer, unsigned vector);
	/* A monotonic clock, in milliseconds. */
	long long (*now_ms)(void *ctx);
	/* Optional: a pause inside a busy-wait (pause, yield, wfe). */
	void (*relax)(void *ctx);
	/*
	 * Optional: 1 when peer is known live, 0 when known gone, -ENOTSUP
	 * when there is no presence (then heartbeats decide). NULL: -ENOTSUP.
	 */
	int (*peer_live)(void *ctx, int peer);
	/*
	 * Optional: sleep until our vector 0 rings (acknowledge it) or
	 * timeout_ms pass. It may call ipmc_peer_left(). NULL: busy-wait.
	 */
	int (*wait)(void *ctx, int timeout_ms);
	/*
	 * Optional: read the presence news now, calling ipmc_peer_left() for
	 * each leave: when joining, when a non-blocking send finds the queue
	 * full, and when a slot names a peer peer_live() does not know (a
	 * newcomer whose news is on its way; at most every 64th look at the
	 * same word).
	 */
	void (*news)(void *ctx);
	/*
	 * Optional: wake peer's vector without raising its counter (a write
	 * of 0, which cannot block), for a sleeper that says IPMC_SLEEP_NUDGE.
	 */
	int (*nudge)(void *ctx, int peer, unsigned vector);
	/*
	 * Optional: how we are to be woken in the sleep about to start,
	 * IPMC_SLEEP_NUDGE or IPMC_SLEEP_RING (NULL: a ring).
	 */
	unsigned (*sleep_how)(void *ctx);
};

struct ipmc_config {
	/* Slots when laying the region out; 0: ipmc_default_slots(). */
	unsigned slots;
	int unchecked;       /* integrity off (the first peer decides) */
	int send_timeout_ms; /* blocking sends (0: 5000; < 0: forever) */
	int hw_sum;          /* the CPU's CRC-32C instruction may be used */
	uint32_t nonce;      /* random, not 0: tells restarts apart */
};

/* What we keep of each other slot: its queues' ends, our view of it. */
struct ipmc_peer {
	struct ipmc_tx tx;   /* the queue to it */
	struct ipmc_rx rx;   /* the queue from it */
	uint64_t view;       /* its owner as we see it (0: none) */
	uint64_t dead;       /* the token last found gone there */
	uint64_t attached;   /* its token, once seen in our queue's cgen */
	int confirmed;       /* the transport (or heartbeat) vouches */
	uint64_t unknown;    /* a word naming a peer not known (yet) */
	unsigned unknown_tries;
	uint64_t seen_owner, seen_hb;
	long long seen_at;
};

struct ipmc {
	const struct ipmc_ops *ops;
	uint8_t *base;
	struct ipmc_hdr *hdr;
	struct ipmc_slot *slots;
	struct ipmc_geometry g;
	unsigned me;
	int id;
	uint64_t token;
	int check, hw, send_timeout_ms;
	struct ipmc_stats stats;
	uint64_t hb_value;
	long long hb_at;
	unsigned hb_ticks;   /* busy calls since the clock was read */
	int cached_id, cached_slot; /* the last id -> slot lookup */
	int heads_due;       /* look at the senders' heads on the next pass */
	unsigned next;       /* the queue to look at first */
	int held;            /* a message delivered, not completed */
	unsigned held_slot;
	struct ipmc_msg held_msg;
	struct ipmc_peer peer[IPMC_MAX_SLOTS];
};

/* A loan: room for len bytes at data, in the queue to peer id. */
struct ipmc_loan {
	void *data;
	uint32_t len;
	int id, wait;
	unsigned slot;
	struct ipmc_resv resv;
	long long deadline;
};

/*
 * Join the mailbox in the region at mem (size bytes) as peer id: adopt its
 * header or, first, lay it out; claim a slot; attach to its queues.
 * -EPROTO (another layout, or integrity setting), -EPROTONOSUPPORT
 * (another version), -ENOSPC (no free slot; the region too small),
 * -ETIMEDOUT (the header never settled), -EINVAL.
 */
int ipmc_open(struct ipmc *mb, void *mem, uint64_t size, int id,
	      const struct ipmc_config *cfg, const struct ipmc_ops *ops);
/* Leave: say goodbye and free our slot. */
void ipmc_close(struct ipmc *mb);

/*
 * Send len bytes to peer id. wait 0: 0 once queued, -EBUSY when full.
 * wait 1: 0 once the receiver delivered and completed that very message
 * (or had claimed it at the deadline); -ETIMEDOUT/-ENOTCONN: withdrawn,
 * never delivered. -ENOTCONN: no such peer. -EMSGSIZE: too big.
 */
int ipmc_send(struct ipmc *mb, int id, const void *data, uint32_t len,
	      int wait);

/*
 * Zero copy: reserve room for len bytes to peer id (waiting for room when
 * 'wait', which also makes the commit wait for the ack), write them at
 * l->data, then ipmc_loan_commit() (the same results as ipmc_send) or
 * ipmc_loan_abandon(). One loan per destination at a time (-EALREADY).
 */
int ipmc_loan(struct ipmc *mb, int id, uint32_t len, int wait,
	      struct ipmc_loan *l);
int ipmc_loan_commit(struct ipmc *mb, struct ipmc_loan *l);
void ipmc_loan_abandon(struct ipmc *mb, struct ipmc_loan *l);

/*
 * The next message for us: 1 with *m (m->data: the verified copy in
 * 'copy', which holds ipmc_max_size() bytes, or in place when unchecked;
 * the sender's id is ipmc_token_id(m->src)), 0 when none. The message is
 * held until ipmc_complete(); no other is delivered meanwhile.
 */
int ipmc_next(struct ipmc *mb, void *copy, struct ipmc_msg *m);
/* Complete the held message: free its room, ack it, ring a waiting sender. */
void ipmc_complete(struct ipmc *mb);

/* 1 when a queue to us may hold something (heads: look at heads too). */
int ipmc_pending(struct ipmc *mb, int heads);
/*
 * About to sleep on our doorbell: flag ourselves sleeping (senders wake
 * us: 'how' IPMC_SLEEP_*, 0: what ops->sleep_how says), then look once
 * more: 1 when something is there. ipmc_awake() clears the flag; after a
 * wake-up the next pass looks at the heads too.
 */
int ipmc_idle(struct ipmc *mb, unsigned how);
void ipmc_awake(struct ipmc *mb);

/* Presence news: peer id left (frees every slot it held in our view). */
void ipmc_peer_left(struct ipmc *mb, int id);
/* Our heartbeat and counters (slot line), the others' heartbeats (guests),
 * our slot's word put back. */
void ipmc_tick(struct ipmc *mb);
/* ipmc_tick() unless called within the last 250 ms; 'busy' (a polling
 * loop): the clock is read only every 1024th call. */
void ipmc_heartbeat(struct ipmc *mb, int busy);
/*
 * Milliseconds until ipmc_tick() is due (0: now): how long an event loop
 * may wait for our doorbell before it must call in anyway.
 */
int ipmc_timeout(const struct ipmc *mb);
/* The live mailbox peers, ascending: how many (ids: up to max). */
int ipmc_peers(struct ipmc *mb, int *ids, int max);
/* The largest payload a message can carry. */
uint32_t ipmc_max_size(const struct ipmc *mb);

#endif
