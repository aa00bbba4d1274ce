/* SPDX-License-Identifier: MIT */
/*
 * The mailbox: joining and leaving a region, sending (copied or loaned)
 * and receiving over the per-pair queues of ring.c, and the waits a
 * blocking send needs. See mailbox.h and docs/mailbox-layout.md.
 */
#include "core_errno.h"
#include "ipmc.h"
#include "shm_access.h"
#include "view.h"

#define VECTOR 0
/* Sleeps are re-checked this often: a peer clearing our flags costs
 * latency, never a hang. */
#define RECHECK_MS 100
/* A peer that died half-way through laying out the header is taken
 * over; however the header keeps changing, joining gives up. */
#define INIT_TAKEOVER_MS 2000
#define INIT_DEADLINE_MS 10000
#define DEFAULT_SEND_TIMEOUT_MS 5000

static long long now_ms(const struct ipmc *mb)
{
	return mb->ops->now_ms(mb->ops->ctx);
}

static void relax(const struct ipmc *mb)
{
	if (mb->ops->relax)
		mb->ops->relax(mb->ops->ctx);
}

static struct ipmc_qctl *queue_at(const struct ipmc *mb, unsigned from,
				  unsigned to)
{
	return (struct ipmc_qctl *)(mb->base + mb->g.queue_offset +
		(uint64_t)ipmc_queue_index(mb->g.slots, from, to) *
		mb->g.queue_stride);
}

static void lay_out(struct ipmc *mb, const struct ipmc_geometry *g)
{
	struct ipmc_hdr h = {
		.version = IPMC_VERSION, .slots = g->slots,
		.region_size = g->region_size, .queue_offset = g->queue_offset,
		.queue_stride = g->queue_stride, .queue_cap = g->queue_cap,
		.flags = mb->check ? 0 : IPMC_HDR_UNCHECKED,
	};
	const size_t skip = offsetof(struct ipmc_hdr, version);

	/* The slot table and every queue's control lines start clean. */
	shm_zero(mb->slots, IPMC_MAX_SLOTS * sizeof(struct ipmc_slot));
	for (unsigned q = 0; q < g->slots * (g->slots - 1); q++)
		shm_zero(mb->base + g->queue_offset + q * g->queue_stride,
			 IPMC_QUEUE_CTL);
	shm_copy_in((uint8_t *)mb->hdr + skip, (uint8_t *)&h + skip,
		    sizeof(h) - skip);
	shm_store_release(&mb->hdr->magic, IPMC_MAGIC);
}

/* Copy the header out once; accept it only if it is what we compute. */
static int adopt(struct ipmc *mb, uint64_t size)
{
	struct ipmc_hdr h;
	struct ipmc_geometry want;

	shm_copy_out(&h, mb->hdr, sizeof(h));
	if (h.version != IPMC_VERSION)
		return -EPROTONOSUPPORT;
	/* A peer that asked for integrity never joins a region without. */
	if (h.flags != (mb->check ? 0 : IPMC_HDR_UNCHECKED))
		return -EPROTO;
	if (ipmc_geometry(&want, size, h.slots) < 0 || h.region_size != size ||
	    h.queue_offset != want.queue_offset ||
	    h.queue_stride != want.queue_stride ||
	    h.queue_cap != want.queue_cap)
		return -EPROTO;
	mb->g = want;
	return 0;
}

static int header(struct ipmc *mb, uint64_t size, unsigned slots)
{
	struct ipmc_geometry g;
	uint64_t seen = 0;
	long long since = now_ms(mb), deadline = since + INIT_DEADLINE_MS;
	int rc = ipmc_geometry(&g, size, slots);

	if (rc < 0)
		return rc;
	for (;;) {
		uint64_t magic = shm_load_acquire(&mb->hdr->magic), init;

		if (magic == IPMC_MAGIC)
			return adopt(mb, size);
		if (magic != 0)
			return -EPROTO; /* the region holds something else */
		init = shm_load_acquire(&mb->hdr->init);
		if (init != seen) {
			seen = init;
			since = now_ms(mb);
		}
		if ((init == 0 || now_ms(mb) - since > INIT_TAKEOVER_MS) &&
		    shm_cas(&mb->hdr->init, &init, mb->token)) {
			lay_out(mb, &g);
			mb->g = g;
			return 0;
		}
		if (now_ms(mb) > deadline)
			return -ETIMEDOUT;
		relax(mb);
	}
}

/* A slot is ours to take when free, or when its owner is not live. */
static int reclaimable(const struct ipmc *mb, uint64_t owner)
{
	int id = ipmc_token_id(owner);

	if (owner == 0 || id < 0 || id == mb->id)
		return 1;
	return ipmc_live(mb, id) == 0;
}

/* A free slot first, and only then one whose owner is not live. */
static int claim_slot(struct ipmc *mb)
{
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < mb->g.slots; i++) {
			uint64_t owner = shm_load_acquire(&mb->slots[i].owner);

			if ((pass == 0 ? owner == 0 :
					 reclaimable(mb, owner)) &&
			    shm_cas(&mb->slots[i].owner, &owner, mb->token)) {
				mb->me = i;
				mb->peer[i].view = mb->token;
				return 0;
			}
		}
	}
	return -ENOSPC;
}

int ipmc_open(struct ipmc *mb, void *mem, uint64_t size, int id,
	      const struct ipmc_config *cfg, const struct ipmc_ops *ops)
{
	int rc, slots = (int)cfg->slots;

	if (!mem || id < 0 || id > 65535 || !cfg->nonce || !ops->ring ||
	    !ops->now_ms)
		return -EINVAL;
	if (!slots)
		slots = ipmc_default_slots(size);
	if (slots < 0)
		return slots;
	*mb = (struct ipmc){
		.ops = ops, .base = mem, .hdr = mem,
		.slots = (struct ipmc_slot *)((uint8_t *)mem + IPMC_LINE),
		.id = id, .token = (uint64_t)cfg->nonce << 32 |
				    (uint32_t)(id + 1),
		.check = !cfg->unchecked, .hw = cfg->hw_sum,
		.send_timeout_ms = cfg->send_timeout_ms ?
				   cfg->send_timeout_ms :
				   DEFAULT_SEND_TIMEOUT_MS,
		.heads_due = 1, .cached_id = -1,
	};
	if (size < IPMC_HEADER_SIZE)
		return -ENOSPC;
	rc = header(mb, size, (unsigned)slots);
	if (rc < 0)
		return rc;
	/* Departures first: their slots are free to take. No slot of ours
	 * yet, so ipmc_peer_left() may clear any. */
	mb->me = IPMC_MAX_SLOTS;
	if (ops->news)
		ops->news(ops->ctx);
	rc = claim_slot(mb);
	if (rc < 0)
		return rc;
	shm_store32_relaxed(&mb->slots[mb->me].sleeping, 0);
	shm_store32_relaxed(&mb->slots[mb->me].wants_ack, 0);
	for (unsigned o = 0; o < mb->g.slots; o++) {
		if (o == mb->me)
			continue;
		ipmc_rx_attach(&mb->peer[o].rx, queue_at(mb, o, mb->me),
			       mb->g.queue_cap, mb->token, mb->check, mb->hw,
			       &mb->stats);
		ipmc_tx_attach(&mb->peer[o].tx, queue_at(mb, mb->me, o),
			       mb->g.queue_cap, mb->token, mb->check, mb->hw);
	}
	ipmc_tick(mb);
	return 0;
}

void ipmc_close(struct ipmc *mb)
{
	uint64_t mine = mb->token;

	ipmc_complete(mb);
	shm_store32_relaxed(&mb->slots[mb->me].sleeping, 0);
	/* Our counters end with us: the slot's next owner may be of a
	 * build that publishes none. */
	for (unsigned i = 0; i < IPMC_STATS_WORDS; i++)
		shm_store_relaxed(&mb->slots[mb->me].stats[i], 0);
	/* Goodbye first: the others go by it, not by the word we clear. */
	shm_store_release(&mb->slots[mb->me].bye,
			  ipmc_bye_word(mine, mb->hw));
	shm_cas(&mb->slots[mb->me].owner, &mine, 0);
}

uint32_t ipmc_max_size(const struct ipmc *mb)
{
	uint64_t max = mb->g.queue_cap - IPMC_REC_HDR;

	return max > 0x7fffffff ? 0x7fffffff : (uint32_t)max;
}

/* Put our token back in our slot if it was scribbled on. */
static inline void reassert(struct ipmc *mb)
{
	uint64_t owner = shm_load_relaxed(&mb->slots[mb->me].owner);

	if (__builtin_expect(owner != mb->token, 0))
		shm_cas(&mb->slots[mb->me].owner, &owner, mb->token);
}

/*
 * Wake slot s's owner (peer id): with a nudge when it says one wakes it
 * (no fcntl, cannot block), else a ring; 'always': even when it does not
 * sleep (yet). Callers fence first.
 */
static void wake(struct ipmc *mb, unsigned s, int id, int always)
{
	uint32_t how = shm_load32_relaxed(&mb->slots[s].sleeping);

	if (how == IPMC_SLEEP_NUDGE && mb->ops->nudge)
		mb->ops->nudge(mb->ops->ctx, id, VECTOR);
	else if (how || always)
		mb->ops->ring(mb->ops->ctx, id, VECTOR);
}

/* Wake slot r's owner if it sleeps: our stamp is ordered before its flag. */
static void kick(struct ipmc *mb, unsigned r, int id)
{
	shm_fence();
	wake(mb, r, id, 0);
}

/* What we store in our 'sleeping' before a sleep. */
static uint32_t sleep_how(const struct ipmc *mb)
{
	return mb->ops->sleep_how ? mb->ops->sleep_how(mb->ops->ctx) :
				    IPMC_SLEEP_RING;
}

/* Is the receiver still the one we started with, attached? */
static int still_there(struct ipmc *mb, unsigned r, uint64_t dst)
{
	struct ipmc_peer *p = &mb->peer[r];

	if (ipmc_view_fast(mb, r) != dst)
		return 0;
	/* cgen shares a line with the tail the receiver keeps moving:
	 * once it has shown this token, it is not read again. */
	if (p->attached == dst)
		return 1;
	if (shm_load_acquire(&p->tx.ctl->cgen) != dst)
		return 0;
	p->attached = dst;
	return 1;
}

/* Sleep on our doorbell (or spin) for at most ms. */
static void sleep_ms(struct ipmc *mb, int ms)
{
	struct ipmc_slot *self = &mb->slots[mb->me];

	ipmc_heartbeat(mb, 0);
	shm_store32_relaxed(&self->sleeping, sleep_how(mb));
	shm_fence();
	if (mb->ops->wait) {
		mb->ops->wait(mb->ops->ctx, ms);
	} else {
		long long until = now_ms(mb) + ms;
		unsigned i = 0;

		while (++i % 64 || now_ms(mb) < until)
			relax(mb);
	}
	shm_store32_relaxed(&self->sleeping, 0);
	mb->heads_due = 1;
}

/*
 * When a waiting send gives up: the clock is read the first time it is
 * needed (it costs as much as the rest of a send). -1: never.
 */
static long long deadline_of(const struct ipmc *mb, struct ipmc_loan *l)
{
	if (l->deadline == 0)
		l->deadline = mb->send_timeout_ms < 0 ? -1 :
			      now_ms(mb) + mb->send_timeout_ms;
	return l->deadline;
}

static int timed_out(const struct ipmc *mb, struct ipmc_loan *l)
{
	long long d = deadline_of(mb, l);

	return d >= 0 && now_ms(mb) >= d;
}

/* Room in slot l->slot's queue, waiting for it if l->wait (the loan's
 * deadline, kept across a republish). */
static int reserve(struct ipmc *mb, struct ipmc_loan *l, uint64_t dst)
{
	struct ipmc_peer *p = &mb->peer[l->slot];
	struct ipmc_slot *self = &mb->slots[mb->me];
	unsigned slot = l->slot;
	uint32_t len = l->len;
	int rc, id = l->id, wait = l->wait;

	while ((rc = ipmc_tx_reserve(&p->tx, dst, len,
				     wait ? IPMC_RF_ACK : 0,
				     &l->resv)) == -EBUSY) {
		kick(mb, slot, id); /* let it drain */
		if (!wait) {
			/* Full: off the fast path, so ask whether it left. */
			if (mb->ops->news)
				mb->ops->news(mb->ops->ctx);
			return still_there(mb, slot, dst) ? -EBUSY : -ENOTCONN;
		}
		/* Its completions ring us while we want them. */
		shm_store32_relaxed(&self->wants_ack, 1);
		rc = 0;
		if (timed_out(mb, l))
			rc = -ETIMEDOUT; /* never published */
		else
			sleep_ms(mb, RECHECK_MS);
		if (!rc && !still_there(mb, slot, dst))
			rc = -ENOTCONN;
		if (rc) {
			shm_store32_relaxed(&self->wants_ack, 0);
			return rc;
		}
	}
	if (rc)
		return rc;
	l->data = l->resv.data;
	return 0;
}

int ipmc_loan(struct ipmc *mb, int id, uint32_t len, int wait,
	      struct ipmc_loan *l)
{
	struct ipmc_peer *p;
	uint64_t dst;
	int slot;

	reassert(mb);
	slot = id < 0 ? -1 : ipmc_find_fast(mb, id, &dst);
	if (slot < 0)
		return -ENOTCONN;
	p = &mb->peer[slot];
	if (p->attached != dst && !still_there(mb, (unsigned)slot, dst))
		return -ENOTCONN;
	*l = (struct ipmc_loan){ .len = len, .id = id, .wait = wait,
				 .slot = (unsigned)slot };
	return reserve(mb, l, dst);
}

void ipmc_loan_abandon(struct ipmc *mb, struct ipmc_loan *l)
{
	ipmc_tx_abandon(&mb->peer[l->slot].tx, &l->resv);
	if (l->wait)
		shm_store32_relaxed(&mb->slots[mb->me].wants_ack, 0);
}

/* How long a withdrawal waits for a claim word that may still come. */
static int grace_ms(const struct ipmc *mb)
{
	int t = mb->send_timeout_ms;

	return t < 1 ? RECHECK_MS : t < RECHECK_MS ? t : RECHECK_MS;
}

/* Give up on a published record: 0 when it was taken (delivered). */
static int give_up(struct ipmc *mb, struct ipmc_peer *p,
		   const struct ipmc_resv *r, int rc)
{
	long long until = now_ms(mb) + grace_ms(mb);
	unsigned i = 0;
	int w;

	/*
	 * A record the receiver passed over needs no grace: it stores its
	 * claim word before any tail past the record, and we read that
	 * tail first. Otherwise the grace sleeps (1 ms at a time) where the
	 * environment can.
	 */
	while ((w = ipmc_tx_withdraw(&p->tx, r, rc == -EAGAIN ||
				     (!(++i % 64) && now_ms(mb) >= until))) ==
	       -EINPROGRESS) {
		if (mb->ops->wait && i % 64 == 0)
			sleep_ms(mb, 1);
		else
			relax(mb);
	}
	if (w == 0)
		return 0;
	if (rc != -EAGAIN) /* to be published again: not given up on */
		mb->stats.send_withdrawn++;
	return rc;
}

/* A blocking send: until the receiver acks that very message. */
static int wait_acked(struct ipmc *mb, struct ipmc_loan *l)
{
	struct ipmc_slot *self = &mb->slots[mb->me];
	struct ipmc_peer *p = &mb->peer[l->slot];
	const struct ipmc_resv *r = &l->resv;
	int rc = 0;

	deadline_of(mb, l);
	shm_store32_relaxed(&self->wants_ack, 1);
	shm_fence();
	for (;;) {
		long long left = l->deadline < 0 ? RECHECK_MS :
						   l->deadline - now_ms(mb);

		if (ipmc_tx_acked(&p->tx, r->seq, r->dst))
			break;
		/* Passed over (a forged head or stamp): publish it again. */
		if (ipmc_tx_passed(&p->tx, r)) {
			rc = -EAGAIN;
			break;
		}
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		sleep_ms(mb, left < RECHECK_MS ? (int)left : RECHECK_MS);
		if (!still_there(mb, l->slot, r->dst)) {
			rc = -ENOTCONN;
			break;
		}
	}
	shm_store32_relaxed(&self->wants_ack, 0);
	/* Acked meanwhile (then left): delivered. */
	if (rc && ipmc_tx_acked(&p->tx, r->seq, r->dst))
		rc = 0;
	return rc ? give_up(mb, p, r, rc) : 0;
}

/*
 * Publish (copying data in, or data NULL: the loan's bytes), then wait.
 * A copied message the receiver passed over without taking it (withdrawn:
 * never delivered) is published again where the receiver is, until the
 * deadline; a loan's bytes are not kept, so it fails as at the deadline.
 */
static int finish(struct ipmc *mb, struct ipmc_loan *l, const void *data)
{
	int rc;

	for (;;) {
		ipmc_tx_publish(&mb->peer[l->slot].tx, &l->resv, data);
		kick(mb, l->slot, l->id);
		if (!l->wait)
			return 0;
		rc = wait_acked(mb, l);
		if (rc != -EAGAIN)
			return rc;
		if (!data || timed_out(mb, l)) {
			mb->stats.send_withdrawn++;
			return -ETIMEDOUT;
		}
		rc = reserve(mb, l, l->resv.dst);
		if (rc)
			return rc;
	}
}

int ipmc_loan_commit(struct ipmc *mb, struct ipmc_loan *l)
{
	return finish(mb, l, NULL);
}

int ipmc_send(struct ipmc *mb, int id, const void *data, uint32_t len,
	      int wait)
{
	struct ipmc_loan l;
	int rc = ipmc_loan(mb, id, len, wait, &l);

	return rc ? rc : finish(mb, &l, data);
}

/*
 * What ipmc_complete() needs of m, one field at a time (volatile: not
 * merged into wide loads). ipmc_rx_next() has just stored them one by
 * one, and a load spanning two stores waits for them to retire instead
 * of being forwarded: a struct copy here was the costliest line of a
 * look that delivers.
 */
static inline void keep(struct ipmc_msg *held, const struct ipmc_msg *m)
{
	held->src = *(const volatile uint64_t *)&m->src;
	held->seq = *(const volatile uint64_t *)&m->seq;
	held->end = *(const volatile uint64_t *)&m->end;
	held->ack = *(const volatile int *)&m->ack;
}

int ipmc_next(struct ipmc *mb, void *copy, struct ipmc_msg *m)
{
	const unsigned n = mb->g.slots;

	if (mb->held)
		return 0;
	reassert(mb);
	ipmc_heartbeat_busy(mb);
	/* From mb->next round (no division: this runs per message). */
	for (unsigned k = 0, s = mb->next; k < n;
	     k++, s = s + 1 < n ? s + 1 : 0) {
		if (s == mb->me)
			continue;
		/* An empty entry: the queue's pgen stands for the sender,
		 * so what it published before it closed is delivered. */
		if (ipmc_rx_next(&mb->peer[s].rx, ipmc_view_fast(mb, s),
				 mb->heads_due, copy, m) == 1) {
			mb->held = 1;
			mb->held_slot = s;
			keep(&mb->held_msg, m);
			mb->next = s; /* drain it before moving on */
			return 1;
		}
	}
	mb->heads_due = 0;
	mb->next = 0;
	return 0;
}

void ipmc_complete(struct ipmc *mb)
{
	unsigned s = mb->held_slot;
	int id = ipmc_token_id(mb->held_msg.src);

	if (!mb->held)
		return;
	mb->held = 0;
	ipmc_rx_complete(&mb->peer[s].rx, &mb->held_msg);
	/* A blocked sender sleeps until we wake it (asleep or not yet: a
	 * nudge only if it says it is primed). */
	shm_fence();
	if (shm_load32_relaxed(&mb->slots[s].wants_ack) && id >= 0)
		wake(mb, s, id, 1);
}

int ipmc_pending(struct ipmc *mb, int heads)
{
	for (unsigned s = 0; s < mb->g.slots; s++) {
		int moved = 0;

		if (s == mb->me)
			continue;
		if (ipmc_rx_pending(&mb->peer[s].rx, heads, &moved)) {
			if (moved)
				mb->heads_due = 1;
			return 1;
		}
	}
	return 0;
}

int ipmc_idle(struct ipmc *mb, unsigned how)
{
	shm_store32_relaxed(&mb->slots[mb->me].sleeping,
			    how ? how : sleep_how(mb));
	shm_fence();
	return ipmc_pending(mb, 1);
}

void ipmc_awake(struct ipmc *mb)
{
	shm_store32_relaxed(&mb->slots[mb->me].sleeping, 0);
	mb->heads_due = 1;
}
