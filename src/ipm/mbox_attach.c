/* SPDX-License-Identifier: MIT */
/*
 * Joining the mailbox: adopt (or, first, lay out) the header, claim a slot,
 * attach to the queues in and out of it. Leaving: give the slot back.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "mailbox.h"

/* A peer that died half-way through laying out the header is taken over. */
#define INIT_TAKEOVER_MS 2000
/* However the header keeps changing, ipm_open gives up after this. */
#define INIT_DEADLINE_MS 10000

static uint64_t make_token(int id)
{
	uint32_t nonce = 0;

	while (nonce == 0)
		if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
			nonce = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	return (uint64_t)nonce << 32 | (uint32_t)(id + 1);
}

static void lay_out(struct mbox *mb, const struct ipm_geometry *g)
{
	struct ipm_hdr *h = mb->hdr;

	/* Slot table and every queue's control lines start clean. */
	memset(mb->slots, 0, IPM_MAX_SLOTS * sizeof(struct ipm_slot));
	for (unsigned q = 0; q < g->slots * (g->slots - 1); q++)
		memset(mb->base + g->queue_offset + q * g->queue_stride, 0,
		       IPM_QUEUE_CTL);
	h->version = IPM_LAYOUT_VERSION;
	h->slots = g->slots;
	h->region_size = g->region_size;
	h->queue_offset = g->queue_offset;
	h->queue_stride = g->queue_stride;
	h->queue_cap = g->queue_cap;
	h->flags = mb->check ? 0 : IPM_HDR_UNCHECKED;
	atomic_store_explicit(&h->magic, IPM_MAGIC, memory_order_release);
}

/* Copy the header out once and accept it only if it is self-consistent. */
static int adopt(struct mbox *mb, size_t size)
{
	const volatile struct ipm_hdr *h = mb->hdr;
	struct ipm_geometry want;
	uint32_t version = h->version, slots = h->slots;
	uint64_t region = h->region_size, off = h->queue_offset;
	uint64_t stride = h->queue_stride, cap = h->queue_cap;
	uint32_t flags = h->flags;

	if (version != IPM_LAYOUT_VERSION)
		return -EPROTONOSUPPORT;
	/* A peer that asked for integrity never joins a region without. */
	if (flags != (mb->check ? 0 : IPM_HDR_UNCHECKED))
		return -EPROTO;
	if (ipm_geometry_compute(&want, size, slots) < 0 || region != size ||
	    off != want.queue_offset || stride != want.queue_stride ||
	    cap != want.queue_cap)
		return -EPROTO;
	mb->g = want;
	return 0;
}

static int header(struct ipm *ipm, struct mbox *mb)
{
	struct ipm_geometry g;
	uint64_t seen = 0;
	long long since = ipm_now_ms(), deadline = since + INIT_DEADLINE_MS;
	int rc;

	rc = ipm_geometry_compute(&g, ipm->t->size, ipm->cfg.slots);
	if (rc < 0)
		return rc;
	for (;;) {
		uint64_t magic = atomic_load_explicit(&mb->hdr->magic,
						      memory_order_acquire);
		uint64_t init;

		if (magic == IPM_MAGIC)
			return adopt(mb, ipm->t->size);
		if (magic != 0)
			return -EPROTO; /* the region holds something else */
		init = atomic_load_explicit(&mb->hdr->init,
					    memory_order_acquire);
		if (init != seen) {
			seen = init;
			since = ipm_now_ms();
		}
		if ((init == 0 || ipm_now_ms() - since > INIT_TAKEOVER_MS) &&
		    atomic_compare_exchange_strong(&mb->hdr->init, &init,
						   mb->token)) {
			lay_out(mb, &g);
			mb->g = g;
			return 0;
		}
		if (ipm_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

/* A slot is ours to take when free, or when its owner is not a live peer. */
static int reclaimable(struct ipm *ipm, uint64_t owner)
{
	int id = ipm_token_id(owner);

	if (owner == 0 || id < 0 || id == ipm->t->id)
		return 1;
	return ipm->t->ops->peer_live(ipm->t, id) == 0;
}

/*
 * A free slot first, and only then one whose owner is not known live. A
 * peer that joined after our setup is not known to the transport until
 * its news is read: read it now, and even so prefer free slots, so as not
 * to take the slot of a newcomer whose news is still on its way. (With
 * every slot taken, that can still happen in a narrow window.)
 */
static int claim(struct ipm *ipm, struct mbox *mb)
{
	/* No slot of ours yet: mbox_peer_left() may clear any of them. */
	mb->me = IPM_MAX_SLOTS;
	ipm_drain_presence(ipm, mbox_peer_left);
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < mb->g.slots; i++) {
			uint64_t owner = mbox_owner(mb, i);

			if ((pass == 0 ? owner == 0 :
					 reclaimable(ipm, owner)) &&
			    atomic_compare_exchange_strong(&mb->slots[i].owner,
							   &owner, mb->token)) {
				mb->me = i;
				mb->view[i] = mb->token;
				return 0;
			}
		}
	}
	return -ENOSPC;
}

/* Our ends of every queue, started from what is there if it makes sense. */
static void attach_queues(struct mbox *mb)
{
	const uint64_t cap = mb->g.queue_cap;

	atomic_store(&mb->slots[mb->me].sleeping, 0);
	atomic_store(&mb->slots[mb->me].wants_ack, 0);
	for (unsigned o = 0; o < mb->g.slots; o++) {
		struct ipm_queue_ctl *in, *out;
		uint64_t h, t, cgen;

		if (o == mb->me)
			continue;
		/* In: skip whatever was left for the slot's last owner. */
		in = mb->in[o] = mbox_queue_at(mb, o, mb->me);
		h = atomic_load(&in->head) & ~(uint64_t)(IPM_LINE - 1);
		mb->tail[o] = h;
		mb->tail_tok[o] = atomic_load(&in->pgen);
		mbox_put_tail(mb, in, o, h);
		atomic_store_explicit(&in->cgen, mb->token,
				      memory_order_release);
		/*
		 * Out: continue from the consumer's tail. Its check is for
		 * the slot's last sender (pgen, before we take it over);
		 * one that checks is trusted as where the receiver is.
		 * Otherwise the hint is all there is, and no room is
		 * assumed until a tail checked for us is read.
		 */
		out = mb->out[o] = mbox_queue_at(mb, mb->me, o);
		h = atomic_load(&out->head);
		t = atomic_load(&out->tail);
		cgen = atomic_load(&out->cgen);
		if (!mbox_tail_decode(mb, atomic_load(&out->tail_check), t,
				      cgen, atomic_load(&out->pgen), &t)) {
			mb->tail_for[o] = cgen;
			if (h % IPM_LINE || h - t > cap)
				h = t;
			mb->tail_seen[o] = t;
		} else {
			mb->tail_for[o] = 0;
			if (h % IPM_LINE || t % IPM_LINE || h - t > cap)
				h = t & ~(uint64_t)(IPM_LINE - 1);
			mb->tail_seen[o] = h - cap;
		}
		mb->head[o] = h;
		atomic_store_explicit(&out->head, h, memory_order_release);
		atomic_store_explicit(&out->pgen, mb->token,
				      memory_order_release);
	}
}

int mbox_attach(struct ipm *ipm, struct mbox *mb)
{
	struct ivshm_transport *t = ipm->t;
	int rc;

	if (t->size < IPM_HEADER_SIZE)
		return -ENOSPC;
	mb->base = t->mem;
	mb->hdr = t->mem;
	mb->slots = (struct ipm_slot *)(mb->base + IPM_LINE);
	mb->token = make_token(t->id);
	mb->cached_slot[0] = -1;
	rc = header(ipm, mb);
	if (rc < 0)
		return rc;
	rc = claim(ipm, mb);
	if (rc < 0)
		return rc;
	attach_queues(mb);
	return 0;
}

void mbox_detach(struct ipm *ipm, struct mbox *mb)
{
	uint64_t mine = mb->token;

	(void)ipm;
	atomic_store(&mb->slots[mb->me].sleeping, 0);
	/* Goodbye first: the others go by it, not by the word we clear. */
	atomic_store_explicit(&mb->slots[mb->me].bye, mbox_bye_of(mb, mine),
			      memory_order_release);
	atomic_compare_exchange_strong(&mb->slots[mb->me].owner, &mine, 0);
}

void mbox_slot_gone(struct mbox *mb, unsigned s)
{
	uint64_t owner = mb->view[s];

	if (s == mb->me || !owner)
		return;
	mb->dead[s] = owner;
	mb->view[s] = 0;
	atomic_compare_exchange_strong(&mb->slots[s].owner, &owner, 0);
	mb->cached_slot[0] = -1;
}

void mbox_peer_left(struct ipm *ipm, int peer)
{
	struct mbox *mb = mbox_of(ipm);

	for (unsigned i = 0; i < mb->g.slots; i++) {
		uint64_t owner = mbox_owner(mb, i);

		if (i == mb->me)
			continue;
		if (mb->view[i] && ipm_token_id(mb->view[i]) == peer)
			mbox_slot_gone(mb, i);
		/* The notice board too, whoever wrote it there. */
		if (owner && ipm_token_id(owner) == peer)
			atomic_compare_exchange_strong(&mb->slots[i].owner,
						       &owner, 0);
	}
	mb->cached_slot[0] = -1;
}

/* Whether our view has peer 'id' in a slot other than 'except'. */
static int viewed_elsewhere(const struct mbox *mb, int id, unsigned except)
{
	for (unsigned i = 0; i < mb->g.slots; i++)
		if (i != except && mb->view[i] && ipm_token_id(mb->view[i]) == id)
			return 1;
	return 0;
}

/*
 * An empty entry takes the shared word when it names another peer that is
 * not known gone, that we did not already see die there, and that holds no
 * other slot in our view (a peer claims one): a newcomer's claim.
 */
uint64_t mbox_view_fill(struct ipm *ipm, struct mbox *mb, unsigned s)
{
	uint64_t w;
	int id;

	if (mb->view[s] || s == mb->me || mb->me >= mb->g.slots)
		return mb->view[s];
	w = mbox_owner(mb, s);
	id = ipm_token_id(w);
	if (!w || id < 0 || id == ipm->t->id || w == mb->dead[s] ||
	    viewed_elsewhere(mb, id, s))
		return 0;
	if (ipm->t->ops->peer_live(ipm->t, id) == 0) {
		/*
		 * A newcomer whose news we have not read yet, or garbage:
		 * read the news, but for the same word only every 64th
		 * time, so garbage costs no system call per send.
		 */
		if (mb->unknown[s] == w && ++mb->unknown_tries[s] % 64)
			return 0;
		mb->unknown[s] = w;
		ipm->presence_due = 1;
		ipm_drain_presence(ipm, mbox_peer_left);
		if (mb->view[s])
			return mb->view[s];
		/*
		 * Still unknown: a newcomer that has attached to its queue
		 * from us (its token in cgen) is taken; its news is on its
		 * way, and a leave would clear it.
		 */
		if (ipm->t->ops->peer_live(ipm->t, id) == 0) {
			if (atomic_load_explicit(
				    &mbox_queue_at(mb, mb->me, s)->cgen,
				    memory_order_acquire) != w)
				return 0;
			mb->view[s] = w;
			mb->confirmed[s] = 0;
			return w;
		}
	}
	mb->view[s] = w;
	mb->confirmed[s] = 1;
	return w;
}

uint64_t mbox_view_provisional(struct ipm *ipm, struct mbox *mb, unsigned s)
{
	uint64_t v = mb->view[s];

	if (ipm->t->ops->peer_live(ipm->t, ipm_token_id(v)) == 1) {
		mb->confirmed[s] = 1;
		return v;
	}
	if (mbox_owner(mb, s) == v)
		return v;
	/* Somebody else claimed it: the token was a dead peer's. */
	mb->view[s] = 0;
	mb->cached_slot[0] = -1;
	return mbox_view_fill(ipm, mb, s);
}

/*
 * Only we write our slot's owner, but anyone can. Nobody goes by the
 * shared word while we live (each peer has its own view), but a newcomer
 * reads it to find a free slot: put our token back.
 */
void mbox_reassert_slot(struct ipm *ipm, struct mbox *mb)
{
	uint64_t owner = mbox_owner(mb, mb->me);

	(void)ipm;
	if (owner != mb->token)
		atomic_compare_exchange_strong(&mb->slots[mb->me].owner,
					       &owner, mb->token);
}

int mbox_find(struct ipm *ipm, struct mbox *mb, int id, uint64_t *owner)
{
	if (mb->cached_slot[0] == id) {
		*owner = mbox_view(ipm, mb, (unsigned)mb->cached_slot[1]);
		if (*owner && ipm_token_id(*owner) == id)
			return mb->cached_slot[1];
	}
	for (unsigned i = 0; i < mb->g.slots; i++) {
		if (i == mb->me)
			continue;
		*owner = mbox_view(ipm, mb, i);
		if (*owner && ipm_token_id(*owner) == id) {
			mb->cached_slot[0] = id;
			mb->cached_slot[1] = (int)i;
			return (int)i;
		}
	}
	return -1;
}
