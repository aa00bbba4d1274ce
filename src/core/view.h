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
 * Slot s's entry if it is confirmed and the shared word still names it
 * (what ipmc_view() would return, without the call), else 0.
 */
static inline uint64_t ipmc_view_held(struct ipmc *mb, unsigned s)
{
	const struct ipmc_peer *p = &mb->peer[s];
	uint64_t v = p->view;

	return v && p->confirmed &&
	       shm_load_acquire(&mb->slots[s].owner) == v ? v : 0;
}

/* ipmc_view(), its fast path inline: every send and every look asks. */
static inline uint64_t ipmc_view_fast(struct ipmc *mb, unsigned s)
{
	uint64_t v = ipmc_view_held(mb, s);

	return __builtin_expect(v != 0, 1) ? v : ipmc_view(mb, s);
}

/* ipmc_find(), the last id looked up inline. */
static inline int ipmc_find_fast(struct ipmc *mb, int id, uint64_t *owner)
{
	if (mb->cached_id == id) {
		uint64_t v = ipmc_view_held(mb, (unsigned)mb->cached_slot);

		if (__builtin_expect(v && ipmc_token_id(v) == id, 1)) {
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
