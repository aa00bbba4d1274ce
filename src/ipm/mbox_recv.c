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

/* The stamp of the record at 'at', with the record's fields behind it. */
static uint64_t stamp_at(const uint8_t *at)
{
	return atomic_load_explicit(ipm_rec_end((void *)at),
				    memory_order_acquire);
}

/* Does a record stamp 'end' say a record starts at index t? */
static int stamp_new(uint64_t end, uint64_t t, uint64_t cap)
{
	return end % IPM_LINE == 0 && end - t - 1 < cap;
}

/* The producer's head, if believable from our tail t; else t. */
static uint64_t head_of(const struct ipm_queue_ctl *ctl, uint64_t t,
			uint64_t cap)
{
	uint64_t h = atomic_load_explicit(&ctl->head, memory_order_acquire);

	return h % IPM_LINE || h - t > cap ? t : h;
}

/*
 * The record at index t: 1 with its header in *rec, 0 when nothing was
 * published there, -1 when the queue holds garbage up to *head.
 */
static int next_rec(const struct mbox *mb, const struct ipm_queue_ctl *ctl,
		    const uint8_t *ring, uint64_t t, uint64_t off,
		    uint64_t cap, struct ipm_rec *rec, uint64_t *head)
{
	const uint8_t *at = ring + off;
	uint64_t end = stamp_at(at);

	if (!stamp_new(end, t, cap)) {
		if (!mb->heads_due)
			return 0;
		/*
		 * No stamp: either nothing is there, or the stamp was
		 * scribbled on. The head is stored after the stamp, so a
		 * head past t with still no stamp means the latter.
		 */
		*head = head_of(ctl, t, cap);
		if (*head == t)
			return 0;
		end = stamp_at(at);
		if (!stamp_new(end, t, cap))
			return -1;
	}
	memcpy(rec, at, sizeof(*rec));
	rec->end = end;
	return 1;
}

/* Deliver what queue s holds; stops early while a message is held. */
static int drain(struct ipm *ipm, struct mbox *mb, unsigned s)
{
	struct ipm_queue_ctl *ctl = mbox_ctl(mb, s, mb->me);
	const uint8_t *ring = mbox_data(mb, s, mb->me);
	const uint64_t cap = mb->g.queue_cap;
	uint64_t src, t = mb->tail[s], h;
	int id, n = 0, rc;

	/* Our own fields: put them back if somebody scribbled on them. */
	if (atomic_load_explicit(&ctl->tail, memory_order_relaxed) != t)
		atomic_store_explicit(&ctl->tail, t, memory_order_release);
	if (atomic_load_explicit(&ctl->cgen, memory_order_relaxed) != mb->token)
		atomic_store_explicit(&ctl->cgen, mb->token,
				      memory_order_release);
	while (!mb->held) {
		uint64_t off = t % cap, need;
		struct ipm_rec rec;

		rc = next_rec(mb, ctl, ring, t, off, cap, &rec, &h);
		if (rc == 0)
			break;
		if (rc < 0) {
			drop(mb, s, h);
			return n;
		}
		/*
		 * The sender's token after its stamp: a newcomer claims the
		 * slot before it publishes, so its records carry the token
		 * we read now. Read before, it could still be the previous
		 * owner's, and the newcomer's first records would be skipped.
		 * A sender that left (its slot is free) still gets what it
		 * had published delivered, until somebody claims its slot.
		 */
		src = mbox_owner(mb, s);
		if (!src)
			src = atomic_load_explicit(&ctl->pgen,
						   memory_order_acquire);
		id = ipm_token_id(src);
		need = rec.end - t;
		if (rec.type == IPM_REC_WRAP && off != 0 &&
		    need == cap - off) {
			t = rec.end;
			continue;
		}
		if (rec.type != IPM_REC_MSG || rec.len > cap ||
		    need != ipm_rec_size(rec.len) || off + need > cap) {
			drop(mb, s, head_of(ctl, t, cap));
			return n;
		}
		if (rec.src != src || rec.dst != mb->token || id < 0) {
			t = rec.end; /* left for an earlier owner of either slot */
			continue;
		}
		mb->tail[s] = t; /* everything before it is consumed */
		mb->held = 1;
		mb->held_from = s;
		mb->held_end = rec.end;
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
	if (!mb->held)
		mb->heads_due = 0;
	return n;
}

int mbox_pending(struct mbox *mb, int heads)
{
	const uint64_t cap = mb->g.queue_cap;

	for (unsigned s = 0; s < mb->g.slots; s++) {
		uint64_t t = mb->tail[s], end;

		if (s == mb->me)
			continue;
		end = stamp_at(mbox_data(mb, s, mb->me) + t % cap);
		if (stamp_new(end, t, cap))
			return 1;
		if (heads && head_of(mbox_ctl(mb, s, mb->me), t, cap) != t) {
			mb->heads_due = 1;
			return 1;
		}
	}
	return 0;
}
