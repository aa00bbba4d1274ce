/* SPDX-License-Identifier: MIT */
/*
 * Presence where the transport has none (a guest's PCI device tells
 * nobody who came or went): every mailbox peer bumps its slot's heartbeat
 * while it runs, and a peer whose heartbeat has not moved for
 * MBOX_DEAD_MS is taken as gone and its slot freed. A live but silent peer
 * takes its slot back (mbox_reassert) the next time it runs.
 */
#include <errno.h>

#include "clock.h"
#include "mailbox.h"

/* How often we bump ours and look at the others'. */
#define MBOX_HEARTBEAT_MS 250

static void look_at_others(struct ipm *ipm, struct mbox *mb, long long now)
{
	for (unsigned s = 0; s < mb->g.slots; s++) {
		uint64_t owner = s == mb->me ? 0 : mbox_view(ipm, mb, s), hb;
		int id = ipm_token_id(owner);

		if (!owner || id < 0)
			continue;
		/* The transport knows better when it knows at all. */
		if (ipm->t->ops->peer_live(ipm->t, id) != -ENOTSUP)
			continue;
		hb = atomic_load_explicit(&mb->slots[s].heartbeat,
					  memory_order_relaxed);
		if (owner != mb->seen_owner[s] || hb != mb->seen_hb[s]) {
			mb->seen_owner[s] = owner;
			mb->seen_hb[s] = hb;
			mb->seen_at[s] = now;
			continue;
		}
		if (now - mb->seen_at[s] > MBOX_DEAD_MS)
			mbox_slot_gone(mb, s);
	}
}

void mbox_heartbeat_now(struct ipm *ipm, struct mbox *mb)
{
	long long now = ipm_now_ms();

	if (now - mb->hb_at < MBOX_HEARTBEAT_MS)
		return;
	mb->hb_at = now;
	atomic_store_explicit(&mb->slots[mb->me].heartbeat, ++mb->hb_value,
			      memory_order_relaxed);
	look_at_others(ipm, mb, now);
}
