/* SPDX-License-Identifier: MIT */
/*
 * Sending: write the record where the ring has room, checksum and number
 * it, stamp it, publish the head, ring the receiver only if it sleeps. A
 * blocking send then waits for the receiver's ack of that very message,
 * and withdraws it (compare-and-swap on its stamp) when it gives up. The
 * receiver's tail and ack are the only things we read back, and they are
 * checked before they are believed.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "clock.h"
#include "mailbox.h"

/* What a record is, besides where: its header's fields. */
struct put {
	uint32_t type, flags;
	uint64_t dst, seq;
	const void *data;
	uint32_t len;
};

/*
 * Write a record at 'at' whose stamp says it ends at queue index 'end':
 * the payload (summed as it is copied) and the other fields first, the
 * stamp last, with release.
 */
static void put_rec(const struct mbox *mb, uint8_t *at, uint64_t end,
		    const struct put *p)
{
	struct ipm_rec rec = {
		.type = p->type, .len = p->len, .src = mb->token,
		.dst = p->dst, .seq = p->seq, .flags = p->flags,
	};
	const size_t skip = IPM_REC_SUMMED_OFF;

	if (mb->check && p->type == IPM_REC_MSG) {
		rec.sum = ipm_sum_rec(at + IPM_REC_HDR, p->data, p->len, end,
				      (uint8_t *)&rec + skip, mb->hw_sum);
	} else if (p->len) {
		memcpy(at + IPM_REC_HDR, p->data, p->len);
	}
	memcpy(at + skip, (uint8_t *)&rec + skip, sizeof(rec) - skip);
	atomic_store_explicit(ipm_rec_end(at), end | IPM_ST_PUBLISHED,
			      memory_order_release);
}

/* Wake the receiver if it sleeps: the fence orders our stamp before its flag. */
static void kick(struct ipm *ipm, struct mbox *mb, unsigned r, int id)
{
	atomic_thread_fence(memory_order_seq_cst);
	mbox_wake(ipm, mb, r, id);
}

/* Is there room for a record of 'need' bytes (and a WRAP before it)? */
static int fits(struct mbox *mb, unsigned r, uint64_t t, uint64_t need)
{
	const uint64_t h = mb->head[r], cap = mb->g.queue_cap;
	uint64_t off = mbox_ring_off(&mb->g, &mb->lap_out[r], h);
	uint64_t pad = off + need > cap ? cap - off : 0;

	return h - t <= cap && h - t + pad + need <= cap;
}

/*
 * Read the receiver's tail: 0 with *t when it is one the receiver wrote
 * for us (its check passes) and tells where it is; -EBUSY otherwise (a
 * scribble, or not yet rewritten for our token: wait, it puts its own
 * back). Our head moves to a checked tail we never were at: the receiver
 * dropped up to a bogus head past ours (or is new and started elsewhere);
 * what we queued in between is lost (its sequence gap says so).
 */
static int read_tail(struct mbox *mb, unsigned r, uint64_t dst, uint64_t *t)
{
	struct ipm_queue_ctl *ctl = mbox_ctl(mb, mb->me, r);
	const uint64_t cap = mb->g.queue_cap, h = mb->head[r];
	uint64_t w = atomic_load_explicit(&ctl->tail_check,
					  memory_order_acquire);
	/* Trusted once: from then on the tail is near our own head. */
	int known = mb->tail_for[r] == dst;
	uint64_t near = known ? h : atomic_load_explicit(&ctl->tail,
							  memory_order_acquire);

	/*
	 * Our head, put back if scribbled on: a receiver that believes a
	 * bogus one (or none) may wait for records that are already there
	 * while we wait for its tail. Only here, when we are full.
	 */
	if (atomic_load_explicit(&ctl->head, memory_order_relaxed) != h)
		atomic_store_explicit(&ctl->head, h, memory_order_release);
	if (mbox_tail_decode(mb, w, near, dst, mb->token, t))
		return -EBUSY;
	if (h - *t <= cap) {
		/* It only moves forward: an older one is a replay. */
		if (known && *t - mb->tail_seen[r] > cap)
			return -EBUSY;
	} else if (!known || *t - h < UINT64_C(1) << 62) {
		/* Ahead of us, or a new receiver far away: follow it. */
		mb->head[r] = *t;
		atomic_store_explicit(&ctl->head, *t, memory_order_release);
	} else {
		return -EBUSY; /* far behind: an old one replayed */
	}
	mb->tail_for[r] = dst;
	mb->tail_seen[r] = *t;
	return 0;
}

/*
 * Wrap early, at MBOX_WINDOW bytes into the ring or later, when everything
 * before in this lap has been consumed: while the receiver keeps up, the
 * queue then lives in its first MBOX_WINDOW bytes (plus one record), which
 * stay in both sides' caches, instead of walking the whole ring through
 * memory. A receiver takes a WRAP at any offset (docs/mailbox-layout.md).
 * The receiver's tail is read afresh for it at most once per window.
 */
static int early_wrap(struct mbox *mb, unsigned r, uint64_t dst,
		      uint64_t need, uint64_t *t)
{
	uint64_t h = mb->head[r];
	uint64_t off = mbox_ring_off(&mb->g, &mb->lap_out[r], h);

	if (off < MBOX_WINDOW || mb->g.queue_cap < 4 * MBOX_WINDOW)
		return 0;
	/* Room for the WRAP and the record: h + cap - off + need - t. */
	if (h - *t + need <= off)
		return 1;
	if (mb->wrap_tried[r] == h / MBOX_WINDOW)
		return 0;
	mb->wrap_tried[r] = h / MBOX_WINDOW;
	/* A fresh tail (the caller sees whether it moved our head). */
	return !read_tail(mb, r, dst, t) && mb->head[r] == h &&
	       h - *t + need <= off;
}

/*
 * Try to queue once: 0 when published (the record at *rec_at, its stamp's
 * index *rec_end), -EBUSY when there is no room yet (or no tail to believe).
 */
static int try_put(struct mbox *mb, unsigned r, const struct put *p,
		   uint8_t **rec_at, uint64_t *rec_end)
{
	struct ipm_queue_ctl *ctl = mbox_ctl(mb, mb->me, r);
	uint8_t *ring = mbox_data(mb, mb->me, r);
	const uint64_t cap = mb->g.queue_cap, need = ipm_rec_size(p->len);
	uint64_t h, off;
	uint64_t t = mb->tail_seen[r];
	int wrap;

	/*
	 * The receiver's tail only moves forward, so the last one we saw
	 * bounds the room from below: read its line (which the receiver
	 * keeps writing) only when that bound says we are full.
	 */
again:
	if (!fits(mb, r, t, need) && read_tail(mb, r, p->dst, &t))
		return -EBUSY;
	h = mb->head[r];
	off = mbox_ring_off(&mb->g, &mb->lap_out[r], h);
	wrap = off + need > cap;
	if (!wrap && off >= MBOX_WINDOW) {
		wrap = early_wrap(mb, r, p->dst, need, &t);
		/* Its tail read followed a receiver past us: from there. */
		if (mb->head[r] != h)
			goto again;
	}
	if (wrap) {
		/* Records never wrap: mark the rest of the ring as skipped
		 * (at the end, or early: the lap so far is consumed). */
		struct put skip = { .type = IPM_REC_WRAP, .dst = p->dst };

		if (h - t + (cap - off) > cap)
			return -EBUSY;
		h += cap - off;
		put_rec(mb, ring + off, h, &skip);
		mb->head[r] = h;
		atomic_store_explicit(&ctl->head, h, memory_order_release);
		off = 0;
	}
	if (h - t + need > cap)
		return -EBUSY;
	put_rec(mb, ring + off, h + need, p);
	*rec_at = ring + off;
	*rec_end = h + need;
	/* The head is for newcomers and resynchronising: receivers on the
	 * fast path go by the stamp and leave this line to us. */
	mb->head[r] = h + need;
	atomic_store_explicit(&ctl->head, h + need, memory_order_release);
	return 0;
}

/* Is the receiver still the one we started with (in our view), attached? */
static int still_there(struct ipm *ipm, struct mbox *mb, unsigned r,
		       uint64_t dst)
{
	if (mbox_view(ipm, mb, r) != dst)
		return 0;
	/* cgen shares a line with the tail the receiver keeps moving:
	 * once it has shown this token, it is not read again. */
	if (mb->attached[r] == dst)
		return 1;
	if (atomic_load_explicit(&mbox_ctl(mb, mb->me, r)->cgen,
				 memory_order_acquire) != dst)
		return 0;
	mb->attached[r] = dst;
	return 1;
}

/* Is 'w' the receiver's ack (or claim, salted) word for message 'seq'? */
static int ack_is(const struct mbox *mb, uint64_t w, uint64_t seq,
		  uint64_t dst)
{
	return (uint32_t)w == (uint32_t)seq &&
	       (uint32_t)(w >> 32) == ipm_ack_check(seq, dst, mb->token,
						    mb->hw_sum);
}

/*
 * When a waiting send gives up: read the clock the first time it is
 * needed (*deadline 0: not yet; -1: never).
 */
static long long deadline_of(const struct ipm *ipm, long long *deadline)
{
	if (!*deadline)
		*deadline = ipm_now_ms() + ipm->cfg.send_timeout_ms;
	return *deadline;
}

/*
 * The queue is full (or the receiver's tail makes no sense): wait for
 * room if 'wait', else tell whether the receiver is still there.
 */
static int put_slow(struct ipm *ipm, struct mbox *mb, int wait, unsigned r,
		    int id, const struct put *p, long long *deadline,
		    uint8_t **rec_at, uint64_t *rec_end)
{
	struct ipm_slot *self = &mb->slots[mb->me];

	for (;;) {
		kick(ipm, mb, r, id); /* let it drain */
		if (!wait) {
			/* Full: off the fast path, so ask whether it is gone. */
			ipm->presence_due = 1;
			ipm_drain_presence(ipm, mbox_peer_left);
			return still_there(ipm, mb, r, p->dst) ? -EBUSY :
								  -ENOTCONN;
		}
		atomic_store(&self->wants_ack, 1);
		if (deadline_of(ipm, deadline) >= 0 &&
		    ipm_now_ms() >= *deadline) {
			atomic_store(&self->wants_ack, 0);
			return -ETIMEDOUT;
		}
		mbox_sleep(ipm, MBOX_RECHECK_MS, 0);
		ipm_drain_presence(ipm, mbox_peer_left);
		if (!still_there(ipm, mb, r, p->dst)) {
			atomic_store(&self->wants_ack, 0);
			return -ENOTCONN;
		}
		if (try_put(mb, r, p, rec_at, rec_end) == 0)
			return 0;
	}
}

/* Has the receiver claimed (its claim word) or acked message 'seq'? */
static int taken(const struct mbox *mb, const struct ipm_queue_ctl *ctl,
		 uint64_t seq, uint64_t dst)
{
	return ack_is(mb, atomic_load_explicit(&ctl->claim,
					       memory_order_seq_cst),
		      ~seq, dst) ||
	       ack_is(mb, atomic_load_explicit(&ctl->ack,
					       memory_order_acquire),
		      seq, dst);
}

/*
 * Give up on the record at 'at': 1 when we withdrew it (the receiver never
 * delivers it), 0 when the receiver had claimed it (it is delivered).
 *
 * The stamp's compare-and-swap decides between two honest parties; the
 * receiver's claim word, stored right after it wins, decides when a
 * scribbler rewrote the stamp afterwards: a claim word for this message
 * means delivered, whatever the stamp says. A CLAIMED stamp with no claim
 * word behind it within 'grace_ms' was scribbled (or its receiver stopped
 * between two instructions for that long): withdrawn.
 */
static int withdraw(struct mbox *mb, unsigned r, uint8_t *at, uint64_t end,
		    uint64_t seq, uint64_t dst, int grace_ms)
{
	_Atomic uint64_t *stamp = ipm_rec_end(at);
	uint64_t v = end | IPM_ST_PUBLISHED;
	struct ipm_queue_ctl *ctl = mbox_ctl(mb, mb->me, r);
	uint8_t *sum = at + offsetof(struct ipm_rec, sum);
	uint32_t bad;

	if (!atomic_compare_exchange_strong(stamp, &v,
					    end | IPM_ST_WITHDRAWN)) {
		if (v == (end | IPM_ST_CLAIMED)) {
			long long until = ipm_now_ms() + grace_ms;
			unsigned i = 0;

			do {
				if (taken(mb, ctl, seq, dst))
					return 0;
				cpu_relax();
			} while (++i % 64 || ipm_now_ms() < until);
		}
		/* Scribbled: swap in WITHDRAWN over whatever is there. */
		for (int tries = 0; tries < 64; tries++)
			if (atomic_compare_exchange_strong(stamp, &v,
						end | IPM_ST_WITHDRAWN))
				break;
	}
	/* A scribbler may have put PUBLISHED back over its claim. */
	if (taken(mb, ctl, seq, dst))
		return 0;
	/*
	 * Should a scribbler put the PUBLISHED stamp back, the record must
	 * still not pass: its checksum is inverted (our own line: a plain
	 * store).
	 */
	memcpy(&bad, sum, sizeof(bad));
	bad = ~bad;
	memcpy(sum, &bad, sizeof(bad));
	mb->stats.send_withdrawn++;
	return 1;
}

/* How long a CLAIMED stamp may wait for its claim word. */
static int grace_ms(const struct ipm *ipm)
{
	int t = ipm->cfg.send_timeout_ms;

	return t < 1 ? MBOX_RECHECK_MS : t < MBOX_RECHECK_MS ? t :
							     MBOX_RECHECK_MS;
}

/*
 * A blocking send: until the receiver acks that very message. Giving up
 * (deadline, receiver gone) withdraws it, unless the receiver claimed it.
 */
static int wait_acked(struct ipm *ipm, struct mbox *mb, unsigned r,
		      uint64_t dst, long long deadline, uint8_t *at,
		      uint64_t end, uint64_t seq)
{
	struct ipm_slot *self = &mb->slots[mb->me];
	struct ipm_queue_ctl *ctl = mbox_ctl(mb, mb->me, r);
	int rc = 0;

	deadline_of(ipm, &deadline);
	atomic_store(&self->wants_ack, 1);
	atomic_thread_fence(memory_order_seq_cst);
	for (;;) {
		long long left = deadline < 0 ? MBOX_RECHECK_MS :
						deadline - ipm_now_ms();

		if (ack_is(mb, atomic_load_explicit(&ctl->ack,
						    memory_order_acquire),
			   seq, dst))
			break;
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		mbox_sleep(ipm, left < MBOX_RECHECK_MS ? (int)left :
							 MBOX_RECHECK_MS, 0);
		ipm_drain_presence(ipm, mbox_peer_left);
		mbox_heartbeat(ipm, mb, 0);
		if (!still_there(ipm, mb, r, dst)) {
			rc = -ENOTCONN;
			break;
		}
	}
	atomic_store(&self->wants_ack, 0);
	/* Acked meanwhile (then left): delivered. */
	if (rc && ack_is(mb, atomic_load_explicit(&ctl->ack,
						  memory_order_acquire),
			 seq, dst))
		rc = 0;
	if (rc && !withdraw(mb, r, at, end, seq, dst, grace_ms(ipm)))
		rc = 0;
	if (rc)
		mb->seq_out[r] = seq; /* never delivered: the next one is it */
	return rc;
}

int mbox_send(struct ipm *ipm, int wait, uint32_t id, const void *data,
	      size_t size)
{
	struct mbox *mb = mbox_of(ipm);
	/* The clock is read only if we wait (deadline_of): it costs as
	 * much as the rest of a send. */
	long long deadline = ipm->cfg.send_timeout_ms < 0 ? -1 : 0;
	struct put p = {
		.type = IPM_REC_MSG, .flags = wait ? IPM_RF_ACK : 0,
		.data = data, .len = (uint32_t)size,
	};
	uint8_t *at = NULL;
	uint64_t end = 0;
	int slot, rc;
	unsigned r;

	ipm_drain_presence(ipm, mbox_peer_left);
	mbox_reassert(ipm, mb);
	slot = mbox_find(ipm, mb, (int)id, &p.dst);
	if (slot < 0)
		return -ENOTCONN;
	r = (unsigned)slot;
	if (mb->attached[r] != p.dst && !still_there(ipm, mb, r, p.dst))
		return -ENOTCONN;
	/* Numbers restart for every new (our token, its token) pair. */
	if (mb->seq_out_for[r] != p.dst) {
		mb->seq_out_for[r] = p.dst;
		mb->seq_out[r] = 1;
	}
	p.seq = mb->seq_out[r];
	rc = try_put(mb, r, &p, &at, &end);
	if (rc < 0) {
		rc = put_slow(ipm, mb, wait, r, (int)id, &p, &deadline, &at,
			      &end);
		if (rc < 0)
			return rc;
	}
	mb->seq_out[r] = p.seq + 1;
	kick(ipm, mb, r, (int)id);
	return wait ? wait_acked(ipm, mb, r, p.dst, deadline, at, end, p.seq) :
		      0;
}
