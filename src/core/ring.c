/* SPDX-License-Identifier: MIT */
/* One queue, from either end: see ring.h and docs/mailbox-layout.md. */
#include "core_errno.h"
#include "ring.h"
#include "shm_access.h"
#include "sum.h"

uint64_t ipmc_ack_word(uint64_t seq, uint64_t dst, uint64_t src, int hw)
{
	return (uint64_t)ipm_ack_check(seq, dst, src, hw) << 32 |
	       (uint32_t)seq;
}

/* The tokens in the other order and the index inverted: no ack or claim
 * word passes as a tail. */
uint64_t ipmc_tail_word(uint64_t t, uint64_t dst, uint64_t src, int hw)
{
	return (uint64_t)ipm_ack_check(~t, src, dst, hw) << 32 |
	       (uint32_t)(t / IPMC_LINE);
}

/*
 * The stamp a receiver claims record idx (message seq, dst from src) with:
 * the state CLAIMED, the index's low bits, and a check over both tokens
 * and the number where the rest of the index was. Bit 63 set, so no
 * receiver ever takes it for a new record. Only the receiver computes it:
 * a sender that reads it knows the message was taken, whatever a third
 * party did to the claim word.
 */
uint64_t ipmc_claim_stamp(uint64_t idx, uint64_t seq, uint64_t dst,
			  uint64_t src, int hw)
{
	uint32_t check = ipm_ack_check(~seq ^ idx, src, dst, hw);

	return UINT64_C(1) << 63 | (uint64_t)(check >> 1) << 32 |
	       ((uint32_t)idx & ~(uint32_t)IPMC_ST_MASK) | IPMC_ST_CLAIMED;
}

/* The head, checked for (the receiver dst, the sender src): salted, so
 * that no tail, ack or claim word passes as a head. */
uint64_t ipmc_head_word(uint64_t h, uint64_t dst, uint64_t src, int hw)
{
	return (uint64_t)ipm_ack_check(h ^ UINT64_C(0x4845414448454144), src,
				       dst, hw) << 32 |
	       (uint32_t)(h / IPMC_LINE);
}

uint64_t ipmc_bye_word(uint64_t token, int hw)
{
	return (uint64_t)ipm_ack_check(token, ~token, 0, hw) << 32 |
	       (uint32_t)token;
}

/*
 * The index a checked word w stands for (tail_check, head_check: made by
 * 'word'), its upper bits from 'near' (within 2^31 lines of it): 0 with
 * *v when it checks for (dst, src).
 */
static int line_decode(uint64_t w, uint64_t near, uint64_t dst, uint64_t src,
		       int hw, uint64_t (*word)(uint64_t, uint64_t, uint64_t,
						int), uint64_t *v)
{
	int32_t d = (int32_t)((uint32_t)w - (uint32_t)(near / IPMC_LINE));
	uint64_t x = near / IPMC_LINE * IPMC_LINE +
		     (uint64_t)(int64_t)d * IPMC_LINE;

	if (word(x, dst, src, hw) != w)
		return -EBADMSG;
	*v = x;
	return 0;
}

static int tail_decode(uint64_t w, uint64_t near, uint64_t dst, uint64_t src,
		       int hw, uint64_t *t)
{
	return line_decode(w, near, dst, src, hw, ipmc_tail_word, t);
}

static uint8_t *ring_of(struct ipmc_qctl *ctl)
{
	return (uint8_t *)ctl + IPMC_QUEUE_CTL;
}

/*
 * Index i's offset in the ring (i % cap) from *lap, the start of the lap
 * it was last in: a division only when i has left that lap (a 64-bit
 * division costs more than the rest of a look at a queue).
 */
static inline uint64_t ring_off(uint64_t cap, uint64_t *lap, uint64_t i)
{
	uint64_t off = i - *lap;

	if (__builtin_expect(off >= cap, 0)) {
		off = i % cap;
		*lap = i - off;
	}
	return off;
}

/* ---- the sending end ---- */

/*
 * Store our head h, for the receiver dst: the hint, then (integrity on)
 * the checked word receivers believe, with release after the stamp.
 */
static void put_head(struct ipmc_tx *tx, uint64_t h, uint64_t dst)
{
	tx->head = h;
	shm_store_release(&tx->ctl->head, h);
	if (tx->check) {
		tx->head_word = ipmc_head_word(h, dst, tx->self, tx->hw);
		shm_store_release(&tx->ctl->head_check, tx->head_word);
	}
}

void ipmc_tx_attach(struct ipmc_tx *tx, struct ipmc_qctl *ctl, uint64_t cap,
		    uint64_t self, int check, int hw)
{
	uint64_t h = shm_load_acquire(&ctl->head);
	uint64_t t = shm_load_acquire(&ctl->tail);
	uint64_t cgen = shm_load_acquire(&ctl->cgen);
	uint64_t pgen = shm_load_acquire(&ctl->pgen);

	*tx = (struct ipmc_tx){ .ctl = ctl, .ring = ring_of(ctl), .cap = cap,
				.self = self, .check = check, .hw = hw };
	/*
	 * A tail checked for the slot's last sender (pgen, before we take
	 * it over) is where the receiver is. Otherwise the hint is all
	 * there is, and no room is assumed until a checked one is read.
	 */
	if (!tail_decode(shm_load_acquire(&ctl->tail_check), t, cgen, pgen, hw,
			 &t)) {
		tx->tail_for = cgen;
		if (h % IPMC_LINE || h - t > cap)
			h = t;
		tx->tail_seen = t;
	} else {
		if (h % IPMC_LINE || t % IPMC_LINE || h - t > cap)
			h = t & ~(uint64_t)(IPMC_LINE - 1);
		tx->tail_seen = h - cap;
	}
	put_head(tx, h, cgen);
	shm_store_release(&ctl->pgen, self);
}

/* Room for 'need' bytes at our head (and a WRAP before them)? */
static int fits(struct ipmc_tx *tx, uint64_t t, uint64_t need)
{
	const uint64_t h = tx->head, cap = tx->cap;
	uint64_t off = ring_off(cap, &tx->lap, h);
	uint64_t pad = off + need > cap ? cap - off : 0;

	return h - t <= cap && h - t + pad + need <= cap;
}

/*
 * Read the receiver's tail: 0 when tail_check is one the receiver dst
 * wrote for us and not older than the last one believed; -EBUSY
 * otherwise (it puts its own back). A checked tail past our head (the
 * receiver dropped up to a bogus head, or is new and started elsewhere)
 * moves our head there: what we queued in between shows as a gap.
 */
static int read_tail(struct ipmc_tx *tx, uint64_t dst)
{
	struct ipmc_qctl *ctl = tx->ctl;
	const uint64_t cap = tx->cap, h = tx->head;
	uint64_t w = shm_load_acquire(&ctl->tail_check), t;
	int known = tx->tail_for == dst;
	uint64_t near = known ? h : shm_load_acquire(&ctl->tail);

	/* Our head, put back: a receiver believing a bogus one may wait
	 * for records that are there while we wait for its tail. */
	if (shm_load_relaxed(&ctl->head) != h ||
	    (tx->check && shm_load_relaxed(&ctl->head_check) != tx->head_word))
		put_head(tx, h, dst);
	if (tail_decode(w, near, dst, tx->self, tx->hw, &t))
		return -EBUSY;
	if (h - t <= cap) {
		if (known && t - tx->tail_seen > cap)
			return -EBUSY; /* older: a replay */
	} else if (!known || t - h < UINT64_C(1) << 62) {
		put_head(tx, t, dst);
	} else {
		return -EBUSY; /* far behind: an old one replayed */
	}
	tx->tail_for = dst;
	tx->tail_seen = t;
	return 0;
}

/*
 * The receiver dst's checked tail, if it checks for us and is not older
 * than the last one believed (no head or tail_seen moved): 0 with *t.
 */
static int tail_now(const struct ipmc_tx *tx, uint64_t dst, uint64_t *t)
{
	uint64_t w = shm_load_acquire(&tx->ctl->tail_check);

	if (tx->tail_for != dst ||
	    tail_decode(w, tx->head, dst, tx->self, tx->hw, t))
		return -EBUSY;
	return *t - tx->tail_seen < UINT64_C(1) << 62 ? 0 : -EBUSY;
}

/* Is tail t past the start of record r (inside it or beyond)? */
static int past_start(uint64_t t, const struct ipmc_resv *r)
{
	return t - (r->end - ipmc_rec_size(r->len)) - 1 < UINT64_C(1) << 62;
}

int ipmc_tx_passed(struct ipmc_tx *tx, const struct ipmc_resv *r)
{
	uint64_t t;

	if (tail_now(tx, r->dst, &t))
		return 0;
	return past_start(t, r) && !ipmc_tx_acked(tx, r->seq, r->dst);
}

/*
 * Our last record r was withdrawn: if the receiver's checked tail is past
 * its start (it dropped up to a forged head, or skipped by a forged stamp,
 * while we waited), continue from that tail, inside the record or beyond
 * it, so that the next record is where the receiver looks.
 */
static void realign(struct ipmc_tx *tx, const struct ipmc_resv *r)
{
	uint64_t t;

	if (tx->head != r->end || tail_now(tx, r->dst, &t) ||
	    !past_start(t, r))
		return;
	tx->tail_seen = t;
	put_head(tx, t, r->dst);
}

/*
 * Write a record's header and then its stamp, with release. The sum goes
 * on its own: it was just stored into *rec as 32 bits, and one 64-bit
 * load over flags and sum could not be forwarded from that store (a stall
 * as long as the rest of the header).
 */
static void put_header(struct ipmc_tx *tx, uint8_t *at, struct ipmc_rec *rec,
		       uint64_t end)
{
	const size_t sum_off = offsetof(struct ipmc_rec, sum);

	shm_copy_in(at + IPMC_REC_SUMMED_OFF,
		    (const uint8_t *)rec + IPMC_REC_SUMMED_OFF,
		    sum_off - IPMC_REC_SUMMED_OFF);
	shm_copy_in(at + sum_off, &rec->sum, sizeof(rec->sum));
	(void)tx;
	shm_store_release(at, end | IPMC_ST_PUBLISHED);
}

/*
 * Wrap early, at IPMC_WINDOW bytes into the ring or later, when everything
 * before in this lap has been consumed: while the receiver keeps up, the
 * queue then lives in its first window (plus one record), which stays in
 * both sides' caches, instead of walking the whole ring through memory. A
 * receiver takes a WRAP at any offset. The tail is read afresh for it at
 * most once per window.
 */
static int early_wrap(struct ipmc_tx *tx, uint64_t dst, uint64_t off,
		      uint64_t need)
{
	const uint64_t h = tx->head;

	if (off < IPMC_WINDOW || tx->cap < 4 * IPMC_WINDOW)
		return 0;
	/* Room for the WRAP and the record: h + cap - off + need - t. */
	if (h - tx->tail_seen + need <= off)
		return 1;
	if (tx->wrap_tried == h / IPMC_WINDOW)
		return 0;
	tx->wrap_tried = h / IPMC_WINDOW;
	/* A fresh tail (the caller sees whether it moved our head). */
	return !read_tail(tx, dst) && tx->head == h &&
	       h - tx->tail_seen + need <= off;
}

int ipmc_tx_reserve(struct ipmc_tx *tx, uint64_t dst, uint32_t len,
		    uint32_t flags, struct ipmc_resv *r)
{
	const uint64_t cap = tx->cap, need = ipmc_rec_size(len);
	uint64_t h, off;
	int wrap;

	if (tx->loaned)
		return -EALREADY;
	if (need > cap)
		return -EMSGSIZE;
	/*
	 * The tail only moves forward, so the last one believed bounds the
	 * room from below: the receiver's line is read only when full.
	 */
again:
	if (!fits(tx, tx->tail_seen, need) && read_tail(tx, dst))
		return -EBUSY;
	h = tx->head;
	off = ring_off(cap, &tx->lap, h);
	wrap = off + need > cap;
	if (!wrap && off >= IPMC_WINDOW) {
		wrap = early_wrap(tx, dst, off, need);
		/* Its tail read followed a receiver past us: from there. */
		if (tx->head != h)
			goto again;
	}
	if (wrap) {
		/* Records never wrap: the rest of the ring is skipped (at
		 * the end, or early: the lap so far is consumed). */
		struct ipmc_rec skip = { .type = IPMC_REC_WRAP,
					 .src = tx->self, .dst = dst };

		if (h - tx->tail_seen + (cap - off) > cap)
			return -EBUSY;
		h += cap - off;
		put_header(tx, tx->ring + off, &skip, h);
		put_head(tx, h, dst);
		off = 0;
	}
	if (h - tx->tail_seen + need > cap)
		return -EBUSY;
	*r = (struct ipmc_resv){ .at = tx->ring + off,
				 .data = tx->ring + off + IPMC_REC_HDR,
				 .end = h + need, .dst = dst, .len = len,
				 .flags = flags };
	tx->loaned = 1;
	return 0;
}

/*
 * type and len as one 64-bit store: the checksum loads them as one word,
 * which two 32-bit stores could not forward (a stall on every send).
 */
static inline void put_type_len(struct ipmc_rec *rec, uint32_t type,
				uint32_t len)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	uint64_t w = (uint64_t)type << 32 | len;
#else
	uint64_t w = (uint64_t)len << 32 | type;
#endif
	_Static_assert(offsetof(struct ipmc_rec, len) ==
		       offsetof(struct ipmc_rec, type) + 4, "len after type");
	__builtin_memcpy((uint8_t *)rec + offsetof(struct ipmc_rec, type), &w,
			 sizeof(w));
}

void ipmc_tx_publish(struct ipmc_tx *tx, struct ipmc_resv *r,
		     const void *data)
{
	struct ipmc_rec rec = { .src = tx->self, .dst = r->dst,
				.flags = r->flags };

	put_type_len(&rec, IPMC_REC_MSG, r->len);
	/* Numbers restart for every new (our token, its token) pair. */
	if (tx->seq_for != r->dst) {
		tx->seq_for = r->dst;
		tx->seq = 1;
	}
	r->seq = rec.seq = tx->seq++;
	if (tx->check) {
		/* Summed as it is copied: what is summed is what is stored.
		 * A loan's bytes are summed where they are. */
		rec.sum = ipm_sum_rec(data ? r->data : NULL,
				      data ? data : r->data, r->len, r->end,
				      (const uint8_t *)&rec +
				      IPMC_REC_SUMMED_OFF, tx->hw);
	} else if (data && r->len) {
		shm_copy_in(r->data, data, r->len);
	}
	put_header(tx, r->at, &rec, r->end);
	/* The head is for newcomers and resynchronising: receivers on the
	 * fast path go by the stamp. */
	put_head(tx, r->end, r->dst);
	tx->loaned = 0;
}

void ipmc_tx_abandon(struct ipmc_tx *tx, struct ipmc_resv *r)
{
	(void)r;
	tx->loaned = 0;
}

int ipmc_tx_acked(const struct ipmc_tx *tx, uint64_t seq, uint64_t dst)
{
	return shm_load_acquire(&tx->ctl->ack) ==
	       ipmc_ack_word(seq, dst, tx->self, tx->hw);
}

int ipmc_tx_taken(const struct ipmc_tx *tx, uint64_t seq, uint64_t dst)
{
	/* The receiver stores its claim word right after its swap. */
	shm_fence();
	return shm_load_acquire(&tx->ctl->claim) ==
	       ipmc_ack_word(~seq, dst, tx->self, tx->hw) ||
	       ipmc_tx_acked(tx, seq, dst);
}

int ipmc_tx_withdraw(struct ipmc_tx *tx, const struct ipmc_resv *r,
		     int grace_over)
{
	const uint64_t claimed = ipmc_claim_stamp(r->end, r->seq, r->dst,
						  tx->self, tx->hw);
	const uint64_t gone = r->end | IPMC_ST_WITHDRAWN;
	uint64_t v = r->end | IPMC_ST_PUBLISHED;
	uint8_t *sum_at = r->at + IPMC_REC_SUMMED_OFF + IPMC_REC_SUMMED_LEN;
	uint32_t sum;

	if (!shm_cas(r->at, &v, gone) && v != gone) {
		/*
		 * The swap decides between two honest parties: the receiver's
		 * claimed stamp says it took it. When a third party rewrote
		 * the stamp after the receiver's swap, the claim word, which
		 * the receiver stores right after it, decides; with neither,
		 * the grace lets that word come.
		 */
		if (v == claimed || ipmc_tx_taken(tx, r->seq, r->dst))
			return 0;
		if (!grace_over)
			return -EINPROGRESS;
		for (int tries = 0; tries < 64; tries++) {
			if (v == claimed)
				return 0;
			if (shm_cas(r->at, &v, gone))
				break;
		}
	}
	/* Should a scribbler put PUBLISHED back, it must still not pass:
	 * the checksum is inverted (our own line), once. */
	if (tx->spoiled != r->end) {
		tx->spoiled = r->end;
		shm_copy_out(&sum, sum_at, sizeof(sum));
		sum = ~sum;
		shm_copy_in(sum_at, &sum, sizeof(sum));
	}
	if (ipmc_tx_taken(tx, r->seq, r->dst))
		return 0;
	/*
	 * Our swap won, but a receiver may have swapped just before it and a
	 * third party put PUBLISHED back in between: its claim word follows
	 * its swap within a few instructions, so the grace waits for it.
	 */
	if (!grace_over)
		return -EINPROGRESS;
	/* Never delivered, never will be: the next message takes its number. */
	if (tx->seq_for == r->dst)
		tx->seq = r->seq;
	realign(tx, r);
	return 1;
}

/* ---- the receiving end ---- */

/* Store tail t with its check for the sender tail_tok: hint, then word. */
static void put_tail(struct ipmc_rx *rx, uint64_t t)
{
	rx->tail = t;
	rx->tail_word = ipmc_tail_word(t, rx->self, rx->tail_tok, rx->hw);
	shm_store_release(&rx->ctl->tail, t);
	shm_store_release(&rx->ctl->tail_check, rx->tail_word);
}

void ipmc_rx_attach(struct ipmc_rx *rx, struct ipmc_qctl *ctl, uint64_t cap,
		    uint64_t self, int check, int hw, struct ipmc_stats *stats)
{
	*rx = (struct ipmc_rx){ .ctl = ctl, .ring = ring_of(ctl), .cap = cap,
				.self = self, .check = check, .hw = hw,
				.stats = stats };
	/* Whatever was left for the slot's last owner is skipped. */
	rx->tail_tok = shm_load_acquire(&ctl->pgen);
	put_tail(rx, shm_load_acquire(&ctl->head) &
		     ~(uint64_t)(IPMC_LINE - 1));
	shm_store_release(&ctl->cgen, self);
}

/* Does stamp 'end' say a record starts at index t (in any state)? */
static int stamp_new(uint64_t end, uint64_t t, uint64_t cap)
{
	uint64_t st = end & IPMC_ST_MASK;

	return st >= IPMC_ST_PUBLISHED && st <= IPMC_ST_WITHDRAWN &&
	       (end & ~IPMC_ST_MASK) - t - 1 < cap;
}

/* The same, unless it is the garbage we already gave up on there. */
static int stamp_fresh(const struct ipmc_rx *rx, uint64_t end, uint64_t t)
{
	if (rx->stuck && rx->stuck_t == t && rx->stuck_stamp == end)
		return 0;
	return stamp_new(end, t, rx->cap);
}

/*
 * The sender's head, if believable from our tail t; else t. With
 * integrity on, only a head word checked for the sender our tail is for
 * and us: a head forged ahead would send us past the sender's records
 * (every one it published afterwards, up to the forged one, lost).
 */
static uint64_t head_of(const struct ipmc_rx *rx, uint64_t t)
{
	uint64_t h;

	if (!rx->check)
		h = shm_load_acquire(&rx->ctl->head);
	else if (line_decode(shm_load_acquire(&rx->ctl->head_check), t,
			     rx->self, rx->tail_tok, rx->hw, ipmc_head_word,
			     &h))
		return t;
	return h % IPMC_LINE || h - t > rx->cap ? t : h;
}

int ipmc_rx_pending(struct ipmc_rx *rx, int heads, int *heads_moved)
{
	uint64_t t = rx->tail;
	/* No division: a busy poller comes here in a tight loop. */
	uint64_t off = ring_off(rx->cap, &rx->lap, t);

	if (stamp_fresh(rx, shm_load_acquire(rx->ring + off), t))
		return 1;
	if (heads && head_of(rx, t) != t) {
		*heads_moved = 1;
		return 1;
	}
	return 0;
}

/*
 * The record at t: 1 with its header in *rec, 0 when nothing was
 * published there, -1 when the queue holds garbage up to *head.
 */
static int next_rec(const struct ipmc_rx *rx, uint64_t t, uint64_t off,
		    int heads, struct ipmc_rec *rec, uint64_t *head)
{
	const uint8_t *at = rx->ring + off;
	uint64_t end = shm_load_acquire(at);

	if (!stamp_fresh(rx, end, t)) {
		if (!heads)
			return 0;
		/* The head is stored after the stamp: a head past t with
		 * still no stamp means the stamp was scribbled on. */
		*head = head_of(rx, t);
		if (*head == t)
			return 0;
		end = shm_load_acquire(at);
		if (!stamp_fresh(rx, end, t))
			return -1;
	}
	shm_copy_out(rec, at, sizeof(*rec));
	rec->end = end;
	return 1;
}

static void drop(struct ipmc_rx *rx, uint64_t head)
{
	rx->stats->dropped++;
	put_tail(rx, head);
}

/* Garbage at t that cannot be dropped: counted once, then ignored. */
static void give_up_at(struct ipmc_rx *rx, uint64_t t, uint64_t end)
{
	if (rx->stuck && rx->stuck_t == t && rx->stuck_stamp == end)
		return;
	rx->stuck = 1;
	rx->stuck_t = t;
	rx->stuck_stamp = end;
	rx->stats->corrupt++;
}

/* Copy the payload out while summing it: 1 when it is what was summed. */
static int verify(const struct ipmc_rx *rx, const uint8_t *at,
		  const struct ipmc_rec *r, void *copy)
{
	if (!rx->check)
		return 1;
	return ipm_sum_rec(copy, at + IPMC_REC_HDR, r->len,
			   r->end & ~IPMC_ST_MASK,
			   (const uint8_t *)r + IPMC_REC_SUMMED_OFF,
			   rx->hw) == r->sum;
}

/*
 * The sender waits for this record: claim it by compare-and-swap, then
 * leave the claim word, which the sender believes even if the stamp is
 * scribbled on afterwards. 0 when it was withdrawn (or scribbled) first.
 */
static int claim(struct ipmc_rx *rx, uint8_t *at, const struct ipmc_rec *r,
		 uint64_t src)
{
	uint64_t idx = r->end & ~IPMC_ST_MASK, v = idx | IPMC_ST_PUBLISHED;

	if (shm_cas(at, &v, ipmc_claim_stamp(idx, r->seq, rx->self, src,
					      rx->hw))) {
		shm_store_release(&rx->ctl->claim,
				  ipmc_ack_word(~r->seq, rx->self, src,
						rx->hw));
		shm_fence();
		return 1;
	}
	if (v == (idx | IPMC_ST_WITHDRAWN))
		rx->stats->withdrawn++;
	else
		rx->stats->corrupt++;
	return 0;
}

/* Our own words, put back if somebody scribbled on them. */
static void refresh(struct ipmc_rx *rx, uint64_t src)
{
	struct ipmc_qctl *ctl = rx->ctl;

	/* The sender believes only a tail checked for its token. */
	if (!src)
		src = shm_load_acquire(&ctl->pgen);
	if (src != rx->tail_tok) {
		rx->tail_tok = src;
		put_tail(rx, rx->tail);
	} else if (shm_load_relaxed(&ctl->tail_check) != rx->tail_word ||
		   shm_load_relaxed(&ctl->tail) != rx->tail) {
		put_tail(rx, rx->tail);
	}
	if (shm_load_relaxed(&ctl->cgen) != rx->self)
		shm_store_release(&ctl->cgen, rx->self);
	/* A sender waiting for it may not have read it yet. */
	if (rx->ack_word && shm_load_relaxed(&ctl->ack) != rx->ack_word)
		shm_store_release(&ctl->ack, rx->ack_word);
}

int ipmc_rx_next(struct ipmc_rx *rx, uint64_t view, int heads, void *copy,
		 struct ipmc_msg *m)
{
	const uint64_t cap = rx->cap;
	uint64_t t = rx->tail, h = 0;

	/*
	 * Liveness must not depend on the caller's 'heads' (a guest's busy
	 * poll may never ask): every 64th look reads the head anyway, so a
	 * scribbled stamp is dropped, and a receiver a forged head sent past
	 * the sender's head meets the sender's records once they pass it.
	 * (Not more often: each look at the head is one more chance for a
	 * forged one to be believed.)
	 */
	if (!heads && !(++rx->looks % 64))
		heads = 1;
	refresh(rx, view);
	for (;;) {
		uint64_t off = ring_off(cap, &rx->lap, t), need, idx, src;
		uint8_t *at = rx->ring + off;
		struct ipmc_rec rec;
		int rc = next_rec(rx, t, off, heads, &rec, &h);

		if (rc == 0)
			break;
		if (rc < 0) {
			drop(rx, h);
			return 0;
		}
		/* Read after the stamp: a newcomer stores pgen before it
		 * publishes. */
		src = view ? view : shm_load_acquire(&rx->ctl->pgen);
		idx = rec.end & ~IPMC_ST_MASK;
		need = idx - t;
		if (ipmc_rec_wraps(rec.type, off, need, cap)) {
			t = idx;
			continue;
		}
		if (!ipmc_rec_fits(rec.type, rec.len, off, need, cap)) {
			h = head_of(rx, t);
			if (h == t) {
				give_up_at(rx, t, rec.end);
				break;
			}
			drop(rx, h);
			return 0;
		}
		t = idx; /* from here on, a refused record is skipped */
		if ((rec.end & IPMC_ST_MASK) != IPMC_ST_PUBLISHED) {
			if ((rec.end & IPMC_ST_MASK) == IPMC_ST_WITHDRAWN)
				rx->stats->withdrawn++;
			else
				rx->stats->corrupt++; /* only we claim */
			continue;
		}
		if (rec.src != src || rec.dst != rx->self ||
		    ipmc_token_id(src) < 0) {
			rx->stats->foreign++; /* left for an earlier owner */
			continue;
		}
		if (!verify(rx, at, &rec, copy)) {
			rx->stats->corrupt++;
			continue;
		}
		if (rx->expect_for != src) {
			rx->expect_for = src;
			rx->expect = 1;
		}
		if (rec.seq < rx->expect) {
			rx->stats->replayed++;
			continue;
		}
		if ((rec.flags & IPMC_RF_ACK) && !claim(rx, at, &rec, src))
			continue;
		rx->stats->lost += rec.seq - rx->expect;
		rx->expect = rec.seq + 1;
		rx->stats->delivered++;
		/*
		 * What we passed to get here (a WRAP, refused records) is
		 * freed now, before the callback: a sender whose early wrap
		 * left its WRAP just behind this record would otherwise find
		 * the queue full until we complete (a reply sent from the
		 * callback of a ping-pong got -EBUSY).
		 */
		if (rx->tail != t - need)
			put_tail(rx, t - need);
		*m = (struct ipmc_msg){
			.data = rx->check ? copy : at + IPMC_REC_HDR,
			.len = rec.len, .src = src, .seq = rec.seq, .end = t,
			.ack = !!(rec.flags & IPMC_RF_ACK),
		};
		return 1;
	}
	if (rx->tail != t)
		put_tail(rx, t);
	return 0;
}

void ipmc_rx_complete(struct ipmc_rx *rx, const struct ipmc_msg *m)
{
	put_tail(rx, m->end);
	if (m->ack) {
		rx->ack_word = ipmc_ack_word(m->seq, rx->self, m->src, rx->hw);
		shm_store_release(&rx->ctl->ack, rx->ack_word);
	}
}
