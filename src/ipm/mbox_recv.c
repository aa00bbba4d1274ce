/* SPDX-License-Identifier: MIT */
/*
 * Receiving: walk each queue to us from our own tail to the producer's
 * head. Every record header is copied out and checked against the ring's
 * bounds, the published head and the tokens of both ends before its payload
 * is handed to the callback; a queue whose contents make no sense is
 * dropped up to its head, which loses that sender's messages and nothing
 * else.
 */
#include <errno.h>
#include <string.h>

#include "mailbox.h"

static void complete_held(struct ipm *ipm, struct mbox *mb)
{
	unsigned s = mb->held_from;
	struct ipm_queue_ctl *ctl = mbox_ctl(mb, s, mb->me);
	uint64_t owner;

	mb->held = 0;
	mb->tail[s] = mb->held_end;
	atomic_store_explicit(&ctl->tail, mb->held_end, memory_order_release);
	/* A blocked sender sleeps until we ring it. */
	atomic_thread_fence(memory_order_seq_cst);
	owner = mbox_owner(mb, s);
	if (atomic_load_explicit(&mb->slots[s].wants_ack,
				 memory_order_relaxed) && ipm_token_id(owner) >= 0)
		ipm->t->ops->ring(ipm->t, ipm_token_id(owner), MBOX_VECTOR);
}

void mbox_complete(struct ipm *ipm)
{
	struct mbox *mb = mbox_of(ipm);

	if (mb->held)
		complete_held(ipm, mb);
}

/* Drop everything published so far: the queue's contents are garbage. */
static void drop(struct mbox *mb, unsigned s, uint64_t head)
{
	mb->corrupt++;
	mb->tail[s] = head;
	atomic_store_explicit(&mbox_ctl(mb, s, mb->me)->tail, head,
			      memory_order_release);
}

/* Deliver what queue s holds; stops early while a message is held. */
static int drain(struct ipm *ipm, struct mbox *mb, unsigned s)
{
	struct ipm_queue_ctl *ctl = mbox_ctl(mb, s, mb->me);
	const uint8_t *ring = mbox_data(mb, s, mb->me);
	const uint64_t cap = mb->g.queue_cap;
	uint64_t src, t = mb->tail[s], h;
	int id, n = 0;

	/* Our own fields: put them back if somebody scribbled on them. */
	if (atomic_load_explicit(&ctl->tail, memory_order_relaxed) != t)
		atomic_store_explicit(&ctl->tail, t, memory_order_release);
	if (atomic_load_explicit(&ctl->cgen, memory_order_relaxed) != mb->token)
		atomic_store_explicit(&ctl->cgen, mb->token,
				      memory_order_release);
	h = atomic_load_explicit(&ctl->head, memory_order_acquire);
	if (h % IPM_LINE || h - t > cap)
		return 0; /* not believable now; the producer rewrites it */
	/*
	 * The sender's token after its head: a newcomer claims the slot
	 * before it publishes, so its records up to h carry the token we
	 * read now. Read before the head, it could still be the previous
	 * owner's, and the newcomer's first records would be skipped.
	 */
	src = mbox_owner(mb, s);
	/*
	 * A sender that left (its slot is free) still gets what it had
	 * published delivered, as long as nobody has claimed its slot.
	 */
	if (!src)
		src = atomic_load_explicit(&ctl->pgen, memory_order_acquire);
	id = ipm_token_id(src);
	while (t != h && !mb->held) {
		uint64_t off = t % cap, need;
		struct ipm_rec rec;

		memcpy(&rec, ring + off, sizeof(rec));
		if (rec.type == IPM_REC_WRAP && off != 0) {
			t += cap - off;
			if (t - mb->tail[s] > h - mb->tail[s]) {
				drop(mb, s, h);
				return n;
			}
			continue;
		}
		need = ipm_rec_size(rec.len);
		if (rec.type != IPM_REC_MSG || rec.len > cap ||
		    off + need > cap || need > h - t) {
			drop(mb, s, h);
			return n;
		}
		if (rec.src != src || rec.dst != mb->token || id < 0) {
			t += need; /* left for an earlier owner of either slot */
			continue;
		}
		mb->tail[s] = t; /* everything before it is consumed */
		mb->held = 1;
		mb->held_from = s;
		mb->held_end = t + need;
		n++;
		if (ipm->cb)
			ipm->cb(ipm, ipm->user_data, (uint32_t)id,
				ring + off + IPM_REC_HDR, rec.len);
		if (mb->held && !ipm->cfg.manual_complete)
			complete_held(ipm, mb);
		t = mb->tail[s];
	}
	if (!mb->held && mb->tail[s] != t) {
		mb->tail[s] = t;
		atomic_store_explicit(&ctl->tail, t, memory_order_release);
	}
	return n;
}

int mbox_process(struct ipm *ipm)
{
	struct mbox *mb = mbox_of(ipm);
	int n = 0, rc;

	rc = ipm_drain_presence(ipm, mbox_peer_left);
	if (rc < 0 && rc != -ENOTCONN)
		return rc;
	mbox_reassert(ipm, mb);
	mbox_heartbeat(ipm, mb, 1);
	if (!ipm->enabled || mb->held)
		return 0;
	for (unsigned s = 0; s < mb->g.slots && !mb->held; s++)
		if (s != mb->me)
			n += drain(ipm, mb, s);
	return n;
}

int mbox_pending(struct mbox *mb)
{
	for (unsigned s = 0; s < mb->g.slots; s++) {
		struct ipm_queue_ctl *ctl;

		if (s == mb->me)
			continue;
		ctl = mbox_ctl(mb, s, mb->me);
		if (atomic_load_explicit(&ctl->head, memory_order_acquire) !=
		    mb->tail[s])
			return 1;
	}
	return 0;
}
