/* SPDX-License-Identifier: MIT */
/*
 * Sending: write the record where the ring has room, stamp it, publish
 * the head, ring the receiver only if it sleeps. The receiver's tail is
 * the only thing we read back, and it is checked before it is believed.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "clock.h"
#include "mailbox.h"

/*
 * Write a record at 'at' whose stamp says it ends at queue index 'end':
 * the payload and the other fields first, the stamp last, with release.
 */
static void put_rec(uint8_t *at, uint64_t end, uint32_t type,
		    const void *data, uint32_t len, uint64_t src, uint64_t dst)
{
	struct ipm_rec rec = {
		.type = type, .len = len, .src = src, .dst = dst,
	};
	const size_t skip = offsetof(struct ipm_rec, type);

	if (len)
		memcpy(at + IPM_REC_HDR, data, len);
	memcpy(at + skip, (uint8_t *)&rec + skip, sizeof(rec) - skip);
	atomic_store_explicit(ipm_rec_end(at), end, memory_order_release);
}

/* Wake the receiver if it sleeps: the fence orders our stamp before its flag. */
static void kick(struct ipm *ipm, struct mbox *mb, unsigned r, int id)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&mb->slots[r].sleeping, memory_order_relaxed))
		ipm->t->ops->ring(ipm->t, id, MBOX_VECTOR);
}

/* Is there room for a record of 'need' bytes (and a WRAP before it)? */
static int fits(uint64_t h, uint64_t t, uint64_t need, uint64_t cap)
{
	uint64_t off = h % cap, pad = off + need > cap ? cap - off : 0;

	return h - t <= cap && h - t + pad + need <= cap;
}

/*
 * Try to queue once: 0 when published, -EBUSY when there is no room yet,
 * -EIO when the receiver's tail makes no sense (it may heal itself).
 * A tail that is a line but not within a ring behind our head is followed:
 * see below.
 */
static int try_put(struct mbox *mb, unsigned r, uint64_t dst,
		   const void *data, size_t size)
{
	struct ipm_queue_ctl *ctl = mbox_ctl(mb, mb->me, r);
	uint8_t *ring = mbox_data(mb, mb->me, r);
	const uint64_t cap = mb->g.queue_cap, need = ipm_rec_size(size);
	uint64_t h = mb->head[r], off;
	uint64_t t = mb->tail_seen[r];

	/*
	 * The receiver's tail only moves forward, so the last one we saw
	 * bounds the room from below: read its line (which the receiver
	 * keeps writing) only when that bound says we are full.
	 */
	if (fits(h, t, need, cap))
		goto put;
	t = atomic_load_explicit(&ctl->tail, memory_order_acquire);
	if (t % IPM_LINE)
		return -EIO;
	if (h - t > cap) {
		/*
		 * The receiver is somewhere we never were: it believed a
		 * bogus head (then dropped up to it, past ours), or its tail
		 * was scribbled on. Waiting would not help in the first case
		 * (neither side would ever move again), so continue from
		 * where it says it reads next; what we queued in between is
		 * lost. In the second case it puts its own tail back, and we
		 * follow it again on the next send.
		 */
		h = t;
		mb->head[r] = h;
		atomic_store_explicit(&ctl->head, h, memory_order_release);
	}
	mb->tail_seen[r] = t;
put:
	off = h % cap;
	if (off + need > cap) {
		/* Records never wrap: mark the rest of the ring as skipped. */
		if (h - t + (cap - off) > cap)
			return -EBUSY;
		h += cap - off;
		put_rec(ring + off, h, IPM_REC_WRAP, NULL, 0, mb->token, dst);
		mb->head[r] = h;
		atomic_store_explicit(&ctl->head, h, memory_order_release);
		off = 0;
	}
	if (h - t + need > cap)
		return -EBUSY;
	put_rec(ring + off, h + need, IPM_REC_MSG, data, (uint32_t)size,
		mb->token, dst);
	/* The head is for newcomers and resynchronising: receivers on the
	 * fast path go by the stamp and leave this line to us. */
	mb->head[r] = h + need;
	atomic_store_explicit(&ctl->head, h + need, memory_order_release);
	return 0;
}

/* Is the receiver still the one we started with, and attached? */
static int still_there(struct mbox *mb, unsigned r, uint64_t dst)
{
	if (mbox_owner(mb, r) != dst)
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

/* Has the receiver consumed everything up to 'end'? */
static int consumed(struct mbox *mb, unsigned r, uint64_t end)
{
	uint64_t t = atomic_load_explicit(&mbox_ctl(mb, mb->me, r)->tail,
					  memory_order_acquire);

	return (int64_t)(t - end) >= 0 && t - end <= mb->g.queue_cap;
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
		    uint64_t dst, int id, const void *data, size_t size,
		    long long *deadline)
{
	struct ipm_slot *self = &mb->slots[mb->me];

	for (;;) {
		kick(ipm, mb, r, id); /* let it drain */
		if (!wait) {
			/* Full: off the fast path, so ask whether it is gone. */
			ipm->presence_due = 1;
			ipm_drain_presence(ipm, mbox_peer_left);
			return still_there(mb, r, dst) ? -EBUSY : -ENOTCONN;
		}
		atomic_store(&self->wants_ack, 1);
		if (deadline_of(ipm, deadline) >= 0 &&
		    ipm_now_ms() >= *deadline) {
			atomic_store(&self->wants_ack, 0);
			return -ETIMEDOUT;
		}
		mbox_sleep(ipm, MBOX_RECHECK_MS, 0);
		ipm_drain_presence(ipm, mbox_peer_left);
		if (!still_there(mb, r, dst)) {
			atomic_store(&self->wants_ack, 0);
			return -ENOTCONN;
		}
		if (try_put(mb, r, dst, data, size) == 0)
			return 0;
	}
}

/* A blocking send: until the receiver completes it (its tail passes it). */
static int wait_completed(struct ipm *ipm, struct mbox *mb, unsigned r,
			  uint64_t dst, long long deadline)
{
	struct ipm_slot *self = &mb->slots[mb->me];
	uint64_t end = mb->head[r];
	int rc = 0;

	deadline_of(ipm, &deadline);
	atomic_store(&self->wants_ack, 1);
	atomic_thread_fence(memory_order_seq_cst);
	while (!consumed(mb, r, end)) {
		long long left = deadline < 0 ? MBOX_RECHECK_MS :
						deadline - ipm_now_ms();

		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		mbox_sleep(ipm, left < MBOX_RECHECK_MS ? (int)left :
							 MBOX_RECHECK_MS, 0);
		/* Completed, then left: still a completed send. */
		if (consumed(mb, r, end))
			break;
		ipm_drain_presence(ipm, mbox_peer_left);
		if (!still_there(mb, r, dst)) {
			rc = -ENOTCONN;
			break;
		}
	}
	atomic_store(&self->wants_ack, 0);
	return rc;
}

int mbox_send(struct ipm *ipm, int wait, uint32_t id, const void *data,
	      size_t size)
{
	struct mbox *mb = mbox_of(ipm);
	/* The clock is read only if we wait (deadline_of): it costs as
	 * much as the rest of a send. */
	long long deadline = ipm->cfg.send_timeout_ms < 0 ? -1 : 0;
	uint64_t dst;
	int slot, rc;
	unsigned r;

	ipm_drain_presence(ipm, mbox_peer_left);
	mbox_reassert(ipm, mb);
	slot = mbox_find(mb, (int)id, &dst);
	if (slot < 0)
		return -ENOTCONN;
	r = (unsigned)slot;
	if (mb->attached[r] != dst && !still_there(mb, r, dst))
		return -ENOTCONN;
	rc = try_put(mb, r, dst, data, size);
	if (rc < 0) {
		rc = put_slow(ipm, mb, wait, r, dst, (int)id, data, size,
			      &deadline);
		if (rc < 0)
			return rc;
	}
	kick(ipm, mb, r, (int)id);
	return wait ? wait_completed(ipm, mb, r, dst, deadline) : 0;
}
