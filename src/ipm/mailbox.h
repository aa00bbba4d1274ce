/* SPDX-License-Identifier: MIT */
/* Mailbox mode's private state: what we keep out of reach of other peers. */
#ifndef IVSHMEM_IPM_MAILBOX_H
#define IVSHMEM_IPM_MAILBOX_H

#include <errno.h>

#include "backend.h"
#include "layout.h"
#include "sum.h"

#define MBOX_VECTOR 0
/* Sleepers re-check this often, so a peer that clears our flags in shared
 * memory delays us at most this long instead of hanging us. */
#define MBOX_RECHECK_MS IPM_TICK_MS
/*
 * A sender wraps early once this far into the ring if the receiver has
 * consumed the lap so far (mbox_send.c early_wrap): a queue that keeps
 * up stays in cache.
 */
#define MBOX_WINDOW 4096u

struct mbox {
	struct ipm_geometry g;
	uint8_t *base;
	struct ipm_hdr *hdr;
	struct ipm_slot *slots;
	unsigned me;
	uint64_t token;
	/*
	 * Our view of the slot owners (docs/mailbox-layout.md): an entry
	 * changes only when the transport or the heartbeat says its owner
	 * is gone; the shared owner words are only read to fill empty ones.
	 * dead[]: the token last found gone there, never taken back.
	 */
	uint64_t view[IPM_MAX_SLOTS], dead[IPM_MAX_SLOTS];
	/*
	 * The transport (or, without presence, the heartbeat) vouches for
	 * the entry. An entry taken on an attached newcomer's word alone is
	 * provisional: it follows the shared word until the news comes (a
	 * slot left by a peer killed before we joined also shows a token and
	 * an attached queue, and its next owner must not be ignored).
	 */
	uint8_t confirmed[IPM_MAX_SLOTS];
	/* A word naming a peer the transport does not know (yet). */
	uint64_t unknown[IPM_MAX_SLOTS];
	unsigned unknown_tries[IPM_MAX_SLOTS];
	int check;  /* integrity on: checksums, delivery of a verified copy */
	int hw_sum; /* the CPU's CRC-32C instruction */
	/* Sequence numbers: the next to send, and for which receiver token. */
	uint64_t seq_out[IPM_MAX_SLOTS], seq_out_for[IPM_MAX_SLOTS];
	/* The next expected from each sender, and for which sender token. */
	uint64_t expect[IPM_MAX_SLOTS], expect_for[IPM_MAX_SLOTS];
	/*
	 * A garbage stamp at our tail that could not be skipped (the head
	 * says nothing is past it): the queue counts as empty until the
	 * stamp or the head changes, so nothing spins on it.
	 */
	uint64_t stuck_t[IPM_MAX_SLOTS], stuck_stamp[IPM_MAX_SLOTS];
	uint8_t stuck[IPM_MAX_SLOTS];
	struct ipm_stats stats;
	uint8_t *copy; /* the verified private copy we deliver: queue_cap */
	/* Our own indexes: the shared copies are only ever written from these. */
	uint64_t head[IPM_MAX_SLOTS];   /* producer, per destination slot */
	uint64_t tail_seen[IPM_MAX_SLOTS]; /* receiver's tail, last read */
	/* The receiver token tail_seen is a checked tail of (0: none yet). */
	uint64_t tail_for[IPM_MAX_SLOTS];
	uint64_t attached[IPM_MAX_SLOTS];  /* receiver token seen in cgen */
	/* The window (head / MBOX_WINDOW) we last read the tail to wrap in. */
	uint64_t wrap_tried[IPM_MAX_SLOTS];
	/* Heartbeats (mbox_presence.c): ours, and when others' last moved. */
	uint64_t hb_value;
	unsigned hb_ticks;
	long long hb_at;
	uint64_t seen_owner[IPM_MAX_SLOTS], seen_hb[IPM_MAX_SLOTS];
	long long seen_at[IPM_MAX_SLOTS];
	uint64_t tail[IPM_MAX_SLOTS];   /* consumer, per source slot */
	/* The sender token our tail_check words are for, and the last. */
	uint64_t tail_tok[IPM_MAX_SLOTS], tail_word[IPM_MAX_SLOTS];
	int cached_slot[2];             /* last id -> slot lookup */
	/*
	 * The next process looks at the producers' heads where there is no
	 * stamp: only a scribbled stamp needs them, and each read of a line
	 * the sender writes on every message costs it a transfer. Set when
	 * we were woken, by an event loop, and when a look at the heads
	 * found one moved (mbox_pending).
	 */
	int heads_due;
	/* mbox_ring_off's memos: laps of our tails and heads. */
	uint64_t lap_in[IPM_MAX_SLOTS], lap_out[IPM_MAX_SLOTS];
	/*
	 * Our waits are edge-triggered (ipm_wait_fds says so), and our
	 * counter is known above 0 since we rang ourselves: senders may
	 * nudge us (IPM_SLEEP_NUDGE).
	 */
	int edge, primed;
	/* Every queue we are an end of, by the other end's slot. */
	struct ipm_queue_ctl *in[IPM_MAX_SLOTS], *out[IPM_MAX_SLOTS];
	/* The message delivered and not yet completed. */
	int held;
	unsigned held_from;
	uint64_t held_end;
	uint64_t held_seq, held_src; /* acked on completion if held_ack */
	int held_ack;
};

/*
 * Index i's offset in the ring (i % cap) from *lap, the start of the lap
 * it was last in: a division only when i has left that lap (a 64-bit
 * division costs more than the rest of a look at a queue).
 */
static inline uint64_t mbox_ring_off(const struct ipm_geometry *g,
				     uint64_t *lap, uint64_t i)
{
	uint64_t off = i - *lap;

	if (__builtin_expect(off >= g->queue_cap, 0)) {
		off = i % g->queue_cap;
		*lap = i - off;
	}
	return off;
}

static inline struct mbox *mbox_of(const struct ipm *ipm)
{
	return ipm->priv;
}

/* The queue from slot 'from' to slot 'to', where the geometry puts it. */
static inline struct ipm_queue_ctl *mbox_queue_at(const struct mbox *mb,
						  unsigned from, unsigned to)
{
	return (struct ipm_queue_ctl *)(mb->base + mb->g.queue_offset +
		(uint64_t)ipm_queue_index(mb->g.slots, from, to) *
		mb->g.queue_stride);
}

/* The same for a queue we are an end of (once attached): looked up. */
static inline struct ipm_queue_ctl *mbox_ctl(const struct mbox *mb,
					     unsigned from, unsigned to)
{
	return from == mb->me ? mb->out[to] : mb->in[from];
}

static inline uint8_t *mbox_data(const struct mbox *mb, unsigned from,
				 unsigned to)
{
	return (uint8_t *)mbox_ctl(mb, from, to) + IPM_QUEUE_CTL;
}

/* Our view says slot s's owner is gone: forget it, free its word. */
void mbox_slot_gone(struct mbox *mb, unsigned s);

/* The shared owner word: a notice board, never believed as such. */
static inline uint64_t mbox_owner(const struct mbox *mb, unsigned slot)
{
	return atomic_load_explicit(&mb->slots[slot].owner,
				    memory_order_acquire);
}

/* Slot s's owner in our view, filling an empty entry (0: none). */
uint64_t mbox_view_fill(struct ipm *ipm, struct mbox *mb, unsigned s);
/* The same for a provisional entry: confirmed, or following the word. */
uint64_t mbox_view_provisional(struct ipm *ipm, struct mbox *mb, unsigned s);

/* The goodbye a leaving owner stores: a check only its token passes. */
static inline uint64_t mbox_bye_of(const struct mbox *mb, uint64_t token)
{
	return (uint64_t)ipm_ack_check(token, ~token, 0, mb->hw_sum) << 32 |
	       (uint32_t)token;
}

/*
 * A receiver's tail_check word for tail t (a multiple of 64) of the queue
 * from the sender 'src' to the receiver 'dst': the tail's line number and
 * a check over (~t, src, dst), in one 64-bit store. The tokens are in the
 * opposite order from an ack's and the index inverted, so neither an ack
 * nor a claim word passes as a tail.
 */
static inline uint64_t mbox_tail_word(const struct mbox *mb, uint64_t t,
				      uint64_t dst, uint64_t src)
{
	return (uint64_t)ipm_ack_check(~t, src, dst, mb->hw_sum) << 32 |
	       (uint32_t)(t / IPM_LINE);
}

/*
 * The tail a tail_check word 'w' stands for, its upper bits taken from
 * 'near' (within 2^31 lines of it): 0 with *t when the word checks.
 */
static inline int mbox_tail_decode(const struct mbox *mb, uint64_t w,
				   uint64_t near, uint64_t dst, uint64_t src,
				   uint64_t *t)
{
	int32_t d = (int32_t)((uint32_t)w - (uint32_t)(near / IPM_LINE));
	uint64_t v = near / IPM_LINE * IPM_LINE + (uint64_t)(int64_t)d *
						   IPM_LINE;

	if (mbox_tail_word(mb, v, dst, src) != w)
		return -EBADMSG;
	*t = v;
	return 0;
}

/*
 * Store our tail t of the queue from slot s, with its check for the
 * sender token tail_tok[s]: the hint first, then the word it is checked by.
 */
static inline void mbox_put_tail(struct mbox *mb, struct ipm_queue_ctl *ctl,
				 unsigned s, uint64_t t)
{
	mb->tail_word[s] = mbox_tail_word(mb, t, mb->token, mb->tail_tok[s]);
	atomic_store_explicit(&ctl->tail, t, memory_order_release);
	atomic_store_explicit(&ctl->tail_check, mb->tail_word[s],
			      memory_order_release);
}

/*
 * The same, and an entry goes when its owner said goodbye (closed): the
 * shared word no longer names it and its goodbye is there. Any other
 * change of the shared word is ignored.
 */
static inline uint64_t mbox_view(struct ipm *ipm, struct mbox *mb,
				 unsigned s)
{
	uint64_t v = mb->view[s];

	if (!v || s == mb->me)
		return v ? v : mbox_view_fill(ipm, mb, s);
	if (__builtin_expect(!mb->confirmed[s], 0))
		return mbox_view_provisional(ipm, mb, s);
	if (__builtin_expect(mbox_owner(mb, s) != v, 0) &&
	    atomic_load_explicit(&mb->slots[s].bye, memory_order_acquire) ==
	    mbox_bye_of(mb, v)) {
		mbox_slot_gone(mb, s);
		return mbox_view_fill(ipm, mb, s);
	}
	return v;
}

/* mbox_attach.c */
int mbox_attach(struct ipm *ipm, struct mbox *mb);
void mbox_detach(struct ipm *ipm, struct mbox *mb);
/* Free every slot the departed peer still holds. */
void mbox_peer_left(struct ipm *ipm, int peer);

/* Put our token back in our slot if it was scribbled on. */
void mbox_reassert_slot(struct ipm *ipm, struct mbox *mb);

static inline void mbox_reassert(struct ipm *ipm, struct mbox *mb)
{
	if (mbox_owner(mb, mb->me) != mb->token)
		mbox_reassert_slot(ipm, mb);
}
/* Slot of live mailbox peer 'id' (its token in *owner), or -1. */
int mbox_find(struct ipm *ipm, struct mbox *mb, int id, uint64_t *owner);

/* mbox_presence.c: a peer silent this long is gone (guests only). */
#define MBOX_DEAD_MS 5000
/* Process calls between two looks at the clock on a busy-polling path. */
#define MBOX_HEARTBEAT_TICKS 1024
/* Bump our heartbeat, free the slots of peers whose heartbeat stopped. */
void mbox_heartbeat_now(struct ipm *ipm, struct mbox *mb);

/* The same, but a busy caller (a polling loop) only now and then. */
static inline void mbox_heartbeat(struct ipm *ipm, struct mbox *mb, int busy)
{
	if (!busy || !(++mb->hb_ticks % MBOX_HEARTBEAT_TICKS))
		mbox_heartbeat_now(ipm, mb);
}

/*
 * Wake slot s's owner (peer 'id') if it sleeps: with a nudge when it says
 * one wakes it (no fcntl, cannot block), else a ring. Callers fence first.
 */
static inline void mbox_wake(struct ipm *ipm, struct mbox *mb, unsigned s,
			     int id)
{
	uint32_t how = atomic_load_explicit(&mb->slots[s].sleeping,
					    memory_order_relaxed);

	if (how == IPM_SLEEP_NUDGE && ipm->t->ops->nudge)
		ipm->t->ops->nudge(ipm->t, id, MBOX_VECTOR);
	else if (how)
		ipm->t->ops->ring(ipm->t, id, MBOX_VECTOR);
}

/* mbox_send.c */
int mbox_send(struct ipm *ipm, int wait, uint32_t id, const void *data,
	      size_t size);

/* mbox_recv.c */
int mbox_process(struct ipm *ipm);
void mbox_complete(struct ipm *ipm);
/*
 * 1 when some queue to us holds something. The stamps say so; 'heads'
 * looks at the producers' heads too, which only a scribbled stamp needs,
 * and which a busy poller reads now and then: a line the sender writes on
 * every message costs it a transfer each time we read it.
 */
int mbox_pending(struct mbox *mb, int heads);

/*
 * Sleep on our doorbell (with presence news) for at most timeout_ms.
 * wake_on_msgs: return at once when a queue to us holds something (for
 * callers about to deliver it; a blocked sender does not, and would spin).
 */
int mbox_sleep(struct ipm *ipm, int timeout_ms, int wake_on_msgs);

#endif
