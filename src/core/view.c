/* SPDX-License-Identifier: MIT */
/*
 * Each peer's private view of the slot owners (docs/mailbox-layout.md,
 * "Each peer's private view"): an entry changes only when the transport,
 * the owner's goodbye or, without presence, its stopped heartbeat says
 * its owner is gone. The shared words are a notice board, read only to
 * fill empty entries.
 */
#include "core_errno.h"
#include "shm_access.h"
#include "sum.h"
#include "view.h"

/* How often we bump our heartbeat; a peer silent this long is gone. */
#define HEARTBEAT_MS 250
#define DEAD_MS      5000

int ipmc_live(const struct ipmc *mb, int id)
{
	if (id == mb->id)
		return 1;
	return mb->ops->peer_live ? mb->ops->peer_live(mb->ops->ctx, id) :
				    -ENOTSUP;
}

static uint64_t owner_word(const struct ipmc *mb, unsigned s)
{
	return shm_load_acquire(&mb->slots[s].owner);
}

void ipmc_slot_gone(struct ipmc *mb, unsigned s)
{
	struct ipmc_peer *p = &mb->peer[s];
	uint64_t owner = p->view;

	if (s == mb->me || !owner)
		return;
	p->dead = owner;
	p->view = 0;
	mb->cached_id = -1;
	shm_cas(&mb->slots[s].owner, &owner, 0);
}

/* Whether our view has peer id in a slot other than 'except'. */
static int viewed_elsewhere(const struct ipmc *mb, int id, unsigned except)
{
	for (unsigned i = 0; i < mb->g.slots; i++)
		if (i != except && mb->peer[i].view &&
		    ipmc_token_id(mb->peer[i].view) == id)
			return 1;
	return 0;
}

/*
 * An empty entry takes the shared word when it names another peer not
 * known gone, not seen dying there, holding no other slot in our view. A
 * peer the transport does not know yet is taken only once attached to our
 * queue to it (its token in cgen), and only provisionally.
 */
static uint64_t fill(struct ipmc *mb, unsigned s)
{
	struct ipmc_peer *p = &mb->peer[s];
	uint64_t w = owner_word(mb, s);
	int id = ipmc_token_id(w), live;

	if (p->view || s == mb->me || mb->me >= mb->g.slots)
		return p->view;
	if (!w || id < 0 || id == mb->id || w == p->dead ||
	    viewed_elsewhere(mb, id, s))
		return 0;
	live = ipmc_live(mb, id);
	if (live == 0 && mb->ops->news) {
		/* Unknown: read the news, but for the same word only every
		 * 64th time, so garbage costs no system call per send. */
		if (p->unknown == w && ++p->unknown_tries % 64)
			return 0;
		p->unknown = w;
		mb->ops->news(mb->ops->ctx);
		if (p->view)
			return p->view;
		live = ipmc_live(mb, id);
	}
	if (live == 0) {
		/* Still unknown: a newcomer attached to its queue from us
		 * is taken; its news is on its way. */
		if (shm_load_acquire(&p->tx.ctl->cgen) != w)
			return 0;
		p->view = w;
		p->confirmed = 0;
		return w;
	}
	p->view = w;
	p->confirmed = 1;
	return w;
}

/* A provisional entry: confirmed, or following the shared word. */
static uint64_t provisional(struct ipmc *mb, unsigned s)
{
	struct ipmc_peer *p = &mb->peer[s];

	if (ipmc_live(mb, ipmc_token_id(p->view)) == 1) {
		p->confirmed = 1;
		return p->view;
	}
	if (owner_word(mb, s) == p->view)
		return p->view;
	p->view = 0; /* somebody else claimed it: a dead peer's token */
	mb->cached_id = -1;
	return fill(mb, s);
}

uint64_t ipmc_view(struct ipmc *mb, unsigned s)
{
	struct ipmc_peer *p = &mb->peer[s];
	uint64_t v = p->view;

	if (!v || s == mb->me)
		return v ? v : fill(mb, s);
	if (__builtin_expect(!p->confirmed, 0))
		return provisional(mb, s);
	/* Gone at once when it said goodbye. */
	if (__builtin_expect(owner_word(mb, s) != v, 0) &&
	    shm_load_acquire(&mb->slots[s].bye) == ipmc_bye_word(v, mb->hw)) {
		ipmc_slot_gone(mb, s);
		return fill(mb, s);
	}
	return v;
}

int ipmc_find(struct ipmc *mb, int id, uint64_t *owner)
{
	if (mb->cached_id == id) {
		*owner = ipmc_view(mb, (unsigned)mb->cached_slot);
		if (*owner && ipmc_token_id(*owner) == id)
			return mb->cached_slot;
	}
	for (unsigned i = 0; i < mb->g.slots; i++) {
		if (i == mb->me)
			continue;
		*owner = ipmc_view(mb, i);
		if (*owner && ipmc_token_id(*owner) == id) {
			mb->cached_id = id;
			mb->cached_slot = (int)i;
			return (int)i;
		}
	}
	return -1;
}

void ipmc_peer_left(struct ipmc *mb, int id)
{
	for (unsigned i = 0; i < mb->g.slots; i++) {
		uint64_t owner = owner_word(mb, i);

		if (i == mb->me)
			continue;
		if (mb->peer[i].view && ipmc_token_id(mb->peer[i].view) == id)
			ipmc_slot_gone(mb, i);
		/* The notice board too, whoever wrote it there. */
		if (owner && ipmc_token_id(owner) == id)
			shm_cas(&mb->slots[i].owner, &owner, 0);
	}
}

/* Where there is no presence, a heartbeat that stopped means gone. */
static void look_at_others(struct ipmc *mb, long long now)
{
	for (unsigned s = 0; s < mb->g.slots; s++) {
		struct ipmc_peer *p = &mb->peer[s];
		uint64_t owner = s == mb->me ? 0 : ipmc_view(mb, s), hb;
		int id = ipmc_token_id(owner);

		if (!owner || id < 0 || ipmc_live(mb, id) != -ENOTSUP)
			continue;
		hb = shm_load_relaxed(&mb->slots[s].heartbeat);
		if (owner != p->seen_owner || hb != p->seen_hb) {
			p->seen_owner = owner;
			p->seen_hb = hb;
			p->seen_at = now;
			continue;
		}
		if (now - p->seen_at > DEAD_MS)
			ipmc_slot_gone(mb, s);
	}
}

static uint32_t sat32(uint64_t v)
{
	return v > 0xffffffffu ? 0xffffffffu : (uint32_t)v;
}

static uint16_t sat16(uint64_t v)
{
	return v > 0xffffu ? 0xffffu : (uint16_t)v;
}

/* CRC-32C of words 0..2, word 3's counters, the token and the slot. */
static uint32_t stats_check(const uint64_t w[IPMC_STATS_WORDS],
			    uint64_t token, unsigned slot, int hw)
{
	uint64_t in[6] = { w[0], w[1], w[2], (uint32_t)w[3], token, slot };

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (unsigned i = 0; i < 6; i++)
		in[i] = __builtin_bswap64(in[i]); /* summed little-endian */
#endif
	return ~ipm_crc32c(0xffffffffu, in, sizeof(in), hw);
}

void ipmc_stats_words(uint64_t w[IPMC_STATS_WORDS],
		      const struct ipmc_slot_stats *st, uint64_t token,
		      unsigned slot, int hw)
{
	w[0] = st->delivered | (uint64_t)st->lost << 32;
	w[1] = st->corrupt | (uint64_t)st->replayed << 32;
	w[2] = st->withdrawn | (uint64_t)st->foreign << 32;
	w[3] = st->dropped | (uint32_t)st->send_withdrawn << 16;
	w[3] |= (uint64_t)stats_check(w, token, slot, hw) << 32;
}

int ipmc_stats_read(const uint64_t w[IPMC_STATS_WORDS], uint64_t token,
		    unsigned slot, struct ipmc_slot_stats *st, int hw)
{
	if (!(w[0] | w[1] | w[2] | w[3]))
		return 0;
	if (w[3] >> 32 != stats_check(w, token, slot, hw))
		return -EBADMSG;
	*st = (struct ipmc_slot_stats){
		.delivered = (uint32_t)w[0], .lost = (uint32_t)(w[0] >> 32),
		.corrupt = (uint32_t)w[1], .replayed = (uint32_t)(w[1] >> 32),
		.withdrawn = (uint32_t)w[2], .foreign = (uint32_t)(w[2] >> 32),
		.dropped = (uint16_t)w[3],
		.send_withdrawn = (uint16_t)(w[3] >> 16),
	};
	return 1;
}

/*
 * Our counters into our slot line, for viewers (ivshmem-ctl): rewritten
 * whole at each heartbeat, so a scribbled copy heals within 250 ms. The
 * check word last: a reader re-reads until the words agree with it.
 */
static void publish_stats(struct ipmc *mb)
{
	const struct ipmc_stats *c = &mb->stats;
	const struct ipmc_slot_stats st = {
		.delivered = sat32(c->delivered), .lost = sat32(c->lost),
		.corrupt = sat32(c->corrupt), .replayed = sat32(c->replayed),
		.withdrawn = sat32(c->withdrawn), .foreign = sat32(c->foreign),
		.dropped = sat16(c->dropped),
		.send_withdrawn = sat16(c->send_withdrawn),
	};
	uint64_t w[IPMC_STATS_WORDS], *at = mb->slots[mb->me].stats;

	ipmc_stats_words(w, &st, mb->token, mb->me, mb->hw);
	for (unsigned i = 0; i + 1 < IPMC_STATS_WORDS; i++)
		shm_store_relaxed(&at[i], w[i]);
	shm_store_release(&at[IPMC_STATS_WORDS - 1], w[IPMC_STATS_WORDS - 1]);
}

void ipmc_tick(struct ipmc *mb)
{
	long long now = mb->ops->now_ms(mb->ops->ctx);
	uint64_t owner = owner_word(mb, mb->me);

	/* Only we write our slot's word, but anyone can: put it back. */
	if (owner != mb->token)
		shm_cas(&mb->slots[mb->me].owner, &owner, mb->token);
	mb->hb_at = now;
	publish_stats(mb);
	shm_store_relaxed(&mb->slots[mb->me].heartbeat, ++mb->hb_value);
	look_at_others(mb, now);
}

int ipmc_timeout(const struct ipmc *mb)
{
	long long left = mb->hb_at + HEARTBEAT_MS -
			 mb->ops->now_ms(mb->ops->ctx);

	return left < 0 ? 0 : left > HEARTBEAT_MS ? HEARTBEAT_MS : (int)left;
}

void ipmc_heartbeat(struct ipmc *mb, int busy)
{
	/* A busy poller reads the clock only now and then: it costs as
	 * much as a look at the queues (ipmc_heartbeat_busy() counts). */
	if (busy) {
		ipmc_heartbeat_busy(mb);
		return;
	}
	if (mb->ops->now_ms(mb->ops->ctx) - mb->hb_at >= HEARTBEAT_MS)
		ipmc_tick(mb);
}

int ipmc_peers(struct ipmc *mb, int *ids, int max)
{
	int n = 0, found[IPMC_MAX_SLOTS];

	ipmc_heartbeat(mb, 0);
	for (unsigned i = 0; i < mb->g.slots; i++) {
		int id = i == mb->me ? -1 : ipmc_token_id(ipmc_view(mb, i));
		int j = n;

		if (id < 0 || ipmc_live(mb, id) == 0)
			continue;
		/* ascending, no duplicates (garbage could list one twice) */
		while (j > 0 && found[j - 1] > id)
			j--;
		if (j > 0 && found[j - 1] == id)
			continue;
		for (int k = n; k > j; k--)
			found[k] = found[k - 1];
		found[j] = id;
		n++;
	}
	for (int i = 0; i < n && i < max; i++)
		ids[i] = found[i];
	return n;
}
