/* SPDX-License-Identifier: MIT */
/* Our private view of the slot owners (view.c), for mailbox.c. */
#ifndef IVSHMEM_CORE_VIEW_H
#define IVSHMEM_CORE_VIEW_H

#include "ipmc.h"
#include "shm_access.h"

/* The owner of slot s as we see it, filling an empty entry (0: none). */
uint64_t ipmc_view(struct ipmc *mb, unsigned s);
/* The slot of live peer id (its token in *owner), or -1. */
int ipmc_find(struct ipmc *mb, int id, uint64_t *owner);
/* Our view says slot s's owner is gone: forget it, free its word. */
void ipmc_slot_gone(struct ipmc *mb, unsigned s);
/* ops->peer_live, or -ENOTSUP without one. */
int ipmc_live(const struct ipmc *mb, int id);

/*
 * The fast path, inline: a confirmed entry whose shared word still names
 * it is what ipmc_view() would return, without the call (every send and
 * every look at a queue asks).
 */
static inline uint64_t ipmc_view_fast(struct ipmc *mb, unsigned s)
{
	const struct ipmc_peer *p = &mb->peer[s];
	uint64_t v = p->view;

	if (__builtin_expect(v && p->confirmed &&
			     shm_load_acquire(&mb->slots[s].owner) == v, 1))
		return v;
	return ipmc_view(mb, s);
}

/* ipmc_find(), the last id looked up inline. */
static inline int ipmc_find_fast(struct ipmc *mb, int id, uint64_t *owner)
{
	if (mb->cached_id == id) {
		const struct ipmc_peer *p = &mb->peer[mb->cached_slot];
		uint64_t v = p->view;

		if (__builtin_expect(v && p->confirmed &&
				     ipmc_token_id(v) == id &&
				     shm_load_acquire(&mb->slots[
					     mb->cached_slot].owner) == v, 1)) {
			*owner = v;
			return mb->cached_slot;
		}
	}
	return ipmc_find(mb, id, owner);
}

/* A busy poller's heartbeat: the clock only every this many calls. */
#define IPMC_HEARTBEAT_TICKS 1024u

static inline void ipmc_heartbeat_busy(struct ipmc *mb)
{
	if (__builtin_expect(!(++mb->hb_ticks % IPMC_HEARTBEAT_TICKS), 0))
		ipmc_heartbeat(mb, 0);
}

#endif
