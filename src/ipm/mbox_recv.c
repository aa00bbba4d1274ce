/* SPDX-License-Identifier: MIT */
/*
 * Receiving: walk each queue to us from our own tail to the producer's
 * head. Every record header is copied out and checked against the ring's
 * bounds, the published head and the tokens of both ends (as our view has
 * them); its payload is copied into our private buffer while its checksum
 * is computed, its sequence number must not go back, and only then is the
 * verified copy handed to the callback. A queue whose contents make no
 * sense is dropped up to its head, which loses that sender's messages and
 * nothing else; every refusal is counted (ipm_stats).
 */
#include <errno.h>
#include <string.h>

#include "mailbox.h"

static void complete_held(struct ipm *ipm, struct mbox *mb)
{
	unsigned s = mb->held_from;
	struct ipm_queue_ctl *ctl = mbox_ctl(mb, s, mb->me);
	int id = ipm_token_id(mb->held_src);

	mb->held = 0;
	mb->tail[s] = mb->held_end;
	mbox_put_tail(mb, ctl, s, mb->held_end);
	if (mb->held_ack) {
		uint64_t seq = mb->held_seq;
		uint64_t w = (uint64_t)ipm_ack_check(seq, mb->token,
						     mb->held_src,
						     mb->hw_sum) << 32 |
			     (uint32_t)seq;

		atomic_store_explicit(&ctl->ack, w, memory_order_release);
	}
	/* A blocked sender sleeps until we ring it. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&mb->slots[s].wants_ack,
				 memory_order_relaxed) && id >= 0) {
		/* Asleep or not yet: a nudge only if it says it is primed. */
		if (atomic_load_explicit(&mb->slots[s].sleeping,
					 memory_order_relaxed) ==
		    IPM_SLEEP_NUDGE && ipm->t->ops->nudge)
			ipm->t->ops->nudge(ipm->t, id, MBOX_VECTOR);
		else
			ipm->t->ops->ring(ipm->t, id, MBOX_VECTOR);
	}
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
	mb->stats.dropped++;
	mb->tail[s] = head;
	mbox_put_tail(mb, mbox_ctl(mb, s, mb->me), s, head);
}

/* The stamp of the record at 'at', with the record's fields behind it. */
static uint64_t stamp_at(const uint8_t *at)
{
	return atomic_load_explicit(ipm_rec_end((void *)at),
				    memory_order_acquire);
}

/* Does stamp 'end' say a record starts at index t (in any state)? */
static int stamp_new(uint64_t end, uint64_t t, uint64_t cap)
{
	uint64_t st = end & IPM_ST_MASK;

	return st >= IPM_ST_PUBLISHED && st <= IPM_ST_WITHDRAWN &&
	       (end & ~IPM_ST_MASK) - t - 1 < cap;
}

/* The same, unless it is the garbage we already gave up on there. */
static int stamp_fresh(const struct mbox *mb, unsigned s, uint64_t end,
		       uint64_t t, uint64_t cap)
{
	if (mb->stuck[s] && mb->stuck_t[s] == t && mb->stuck_stamp[s] == end)
		return 0;
	return stamp_new(end, t, cap);
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
static int next_rec(const struct mbox *mb, unsigned s,
		    const struct ipm_queue_ctl *ctl, const uint8_t *ring,
		    uint64_t t, uint64_t off, uint64_t cap,
		    struct ipm_rec *rec, uint64_t *head)
{
	const uint8_t *at = ring + off;
	uint64_t end = stamp_at(at);

	if (!stamp_fresh(mb, s, end, t, cap)) {
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
		if (!stamp_fresh(mb, s, end, t, cap))
			return -1;
	}
	memcpy(rec, at, sizeof(*rec));
	rec->end = end;
	return 1;
}

/*
 * Garbage at t that cannot be dropped (the head says nothing is past t):
 * remember it, so that neither delivery nor waiting spins on it.
 */
static void give_up_at(struct mbox *mb, unsigned s, uint64_t t, uint64_t end)
{
	if (mb->stuck[s] && mb->stuck_t[s] == t && mb->stuck_stamp[s] == end)
		return;
	mb->stuck[s] = 1;
	mb->stuck_t[s] = t;
	mb->stuck_stamp[s] = end;
	mb->stats.corrupt++;
}

/*
 * Copy the payload out while summing it: 1 when the copy is what the
 * sender summed. Unchecked regions deliver in place: always 1.
 */
static int verify(struct mbox *mb, const uint8_t *at, const struct ipm_rec *r)
{
	if (!mb->check)
		return 1;
	return ipm_sum_rec(mb->copy, at + IPM_REC_HDR, r->len,
			   r->end & ~IPM_ST_MASK,
			   (const uint8_t *)r + IPM_REC_SUMMED_OFF,
			   mb->hw_sum) == r->sum;
}

/*
 * A record the sender waits for: claim it by compare-and-swap, then leave
 * the claim word, which the sender believes even when the stamp was
 * scribbled on afterwards (nothing runs between the two). 0 when the
 * sender withdrew it first (or its stamp was scribbled).
 */
static int claim(struct mbox *mb, unsigned s, uint8_t *at,
		 const struct ipm_rec *r, uint64_t src)
{
	struct ipm_queue_ctl *ctl = mbox_ctl(mb, s, mb->me);
	uint64_t idx = r->end & ~IPM_ST_MASK, v = idx | IPM_ST_PUBLISHED;
	uint64_t salted = ~r->seq;

	if (atomic_compare_exchange_strong(ipm_rec_end(at), &v,
					   idx | IPM_ST_CLAIMED)) {
		atomic_store_explicit(&ctl->claim,
				      (uint64_t)ipm_ack_check(salted, mb->token,
							      src,
							      mb->hw_sum) << 32 |
				      (uint32_t)salted, memory_order_seq_cst);
		return 1;
	}
	if (v == (idx | IPM_ST_WITHDRAWN))
		mb->stats.withdrawn++;
	else
		mb->stats.corrupt++;
	return 0;
}

/* Deliver what queue s holds; stops early while a message is held. */
static int drain(struct ipm *ipm, struct mbox *mb, unsigned s)
{
	struct ipm_queue_ctl *ctl = mbox_ctl(mb, s, mb->me);
	uint8_t *ring = mbox_data(mb, s, mb->me);
	const uint64_t cap = mb->g.queue_cap;
	uint64_t src, t = mb->tail[s], h;
	int id, n = 0, rc;

	/*
	 * Our own fields: put them back if somebody scribbled on them. The
	 * sender believes only a tail checked for its token: the one our
	 * view has (a newcomer's, once we have adopted it), else pgen's.
	 */
	src = mbox_view(ipm, mb, s);
	if (!src)
		src = atomic_load_explicit(&ctl->pgen, memory_order_acquire);
	if (src != mb->tail_tok[s]) {
		mb->tail_tok[s] = src;
		mbox_put_tail(mb, ctl, s, t);
	} else if (atomic_load_explicit(&ctl->tail_check,
					memory_order_relaxed) !=
		   mb->tail_word[s] ||
		   atomic_load_explicit(&ctl->tail, memory_order_relaxed) != t) {
		mbox_put_tail(mb, ctl, s, t);
	}
	if (atomic_load_explicit(&ctl->cgen, memory_order_relaxed) != mb->token)
		atomic_store_explicit(&ctl->cgen, mb->token,
				      memory_order_release);
	while (!mb->held) {
		uint64_t off = mbox_ring_off(&mb->g, &mb->lap_in[s], t);
		uint64_t need, idx;
		uint8_t *at = ring + off;
		struct ipm_rec rec;

		rc = next_rec(mb, s, ctl, ring, t, off, cap, &rec, &h);
		if (rc == 0)
			break;
		if (rc < 0) {
			drop(mb, s, h);
			return n;
		}
		/*
		 * The sender as our view has it, read after its stamp: a
		 * newcomer claims its slot before it publishes, so an empty
		 * entry filled now holds the token its records carry. A
		 * sender that left (its entry is empty) still gets what it
		 * had published delivered, until somebody claims its slot.
		 */
		src = mbox_view(ipm, mb, s);
		if (!src)
			src = atomic_load_explicit(&ctl->pgen,
						   memory_order_acquire);
		id = ipm_token_id(src);
		idx = rec.end & ~IPM_ST_MASK;
		need = idx - t;
		if (rec.type == IPM_REC_WRAP && off != 0 &&
		    need == cap - off) {
			t = idx;
			continue;
		}
		if (rec.type != IPM_REC_MSG || rec.len > cap ||
		    need != ipm_rec_size(rec.len) || off + need > cap) {
			h = head_of(ctl, t, cap);
			if (h == t) {
				give_up_at(mb, s, t, rec.end);
				break;
			}
			drop(mb, s, h);
			return n;
		}
		t = idx; /* from here on, a refused record is skipped */
		if ((rec.end & IPM_ST_MASK) != IPM_ST_PUBLISHED) {
			if ((rec.end & IPM_ST_MASK) == IPM_ST_WITHDRAWN)
				mb->stats.withdrawn++;
			else
				mb->stats.corrupt++; /* only we claim */
			continue;
		}
		if (rec.src != src || rec.dst != mb->token || id < 0) {
			mb->stats.foreign++; /* left for an earlier owner */
			continue;
		}
		if (!verify(mb, at, &rec)) {
			mb->stats.corrupt++;
			continue;
		}
		/* Numbers restart for every new (its token, ours) pair. */
		if (mb->expect_for[s] != src) {
			mb->expect_for[s] = src;
			mb->expect[s] = 1;
		}
		if (rec.seq < mb->expect[s]) {
			mb->stats.replayed++;
			continue;
		}
		if ((rec.flags & IPM_RF_ACK) && !claim(mb, s, at, &rec, src))
			continue;
		mb->stats.lost += rec.seq - mb->expect[s];
		mb->expect[s] = rec.seq + 1;
		mb->stats.delivered++;
		mb->tail[s] = t - need; /* before it: consumed */
		mb->held = 1;
		mb->held_from = s;
		mb->held_end = t;
		mb->held_seq = rec.seq;
		mb->held_src = src;
		mb->held_ack = !!(rec.flags & IPM_RF_ACK);
		n++;
		if (ipm->cb)
			ipm->cb(ipm, ipm->user_data, (uint32_t)id,
				mb->check ? mb->copy : at + IPM_REC_HDR,
				rec.len);
		if (mb->held && !ipm->cfg.manual_complete)
			complete_held(ipm, mb);
		t = mb->tail[s];
	}
	if (!mb->held && mb->tail[s] != t) {
		mb->tail[s] = t;
		mbox_put_tail(mb, ctl, s, t);
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
		/* No division: a busy poller comes here in a tight loop. */
		end = stamp_at(mbox_data(mb, s, mb->me) +
			       mbox_ring_off(&mb->g, &mb->lap_in[s], t));
		if (stamp_fresh(mb, s, end, t, cap))
			return 1;
		if (heads && head_of(mbox_ctl(mb, s, mb->me), t, cap) != t) {
			mb->heads_due = 1;
			return 1;
		}
	}
	return 0;
}
