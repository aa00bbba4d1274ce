/* SPDX-License-Identifier: MIT */
/* Mailbox mode: the backend's ops table, sleeping and the peer list. */
#include <errno.h>
#include <stdlib.h>

#include "clock.h"
#include "ipmc_layout.h"
#include "mailbox.h"

static int mb_open(struct ipm *ipm)
{
	struct mbox *mb = calloc(1, sizeof(*mb));
	int rc;

	if (!mb)
		return -ENOMEM;
	/* By default as many slots as the region holds with useful queues. */
	if (!ipm->cfg.slots) {
		int n = ipmc_default_slots(ipm->t->size);

		ipm->cfg.slots = n < 0 ? IPM_MIN_SLOTS : (unsigned)n;
	}
	if (ipm->cfg.slots < IPM_MIN_SLOTS || ipm->cfg.slots > IPM_MAX_SLOTS) {
		free(mb);
		return -EINVAL;
	}
	mb->heads_due = 1;
	mb->edge = 1; /* until a wait says it is not */
	mb->check = !ipm->cfg.unchecked;
	mb->hw_sum = ipm_sum_hw();
	ipm->priv = mb; /* mbox_attach() handles presence news already */
	rc = mbox_attach(ipm, mb);
	if (rc == 0 && mb->check) {
		/* The private copy a verified message is delivered from. */
		mb->copy = malloc(mb->g.queue_cap);
		if (!mb->copy) {
			mbox_detach(ipm, mb);
			rc = -ENOMEM;
		}
	}
	if (rc < 0) {
		ipm->priv = NULL;
		free(mb);
		return rc;
	}
	return 0;
}

static void mb_close(struct ipm *ipm)
{
	struct mbox *mb = mbox_of(ipm);

	mbox_complete(ipm);
	mbox_detach(ipm, mb);
	free(mb->copy);
	free(mb);
}

static int mb_max_data_size(const struct ipm *ipm)
{
	uint64_t max = mbox_of(ipm)->g.queue_cap - IPM_REC_HDR;

	return max > INT32_MAX ? INT32_MAX : (int)max;
}

int mbox_sleep(struct ipm *ipm, int timeout_ms, int wake_on_msgs)
{
	struct mbox *mb = mbox_of(ipm);
	struct ipm_slot *self = &mb->slots[mb->me];
	int rc;

	uint32_t how = IPM_SLEEP_RING;

	mbox_heartbeat(ipm, mb, 0);
	/*
	 * Nudgeable (docs/mailbox-layout.md, "Sleeping"): we wait
	 * edge-triggered and our counter is above 0, so a sender's write of
	 * 0 (no fcntl, cannot block) wakes us. The counter is raised by
	 * ringing ourselves once (the wait that follows returns at once) and
	 * stays up until we read it: on a timeout, or in mb_ack.
	 */
	if (ipm->t->ops->nudge && mb->edge) {
		if (!mb->primed &&
		    ipm->t->ops->ring(ipm->t, ipm->t->id, MBOX_VECTOR) == 0)
			mb->primed = 1;
		if (mb->primed)
			how = IPM_SLEEP_NUDGE;
	}
	/* Flag first, then look: a sender publishes, then looks at the flag. */
	atomic_store_explicit(&self->sleeping, how, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	if (wake_on_msgs && mbox_pending(mb, 1)) {
		atomic_store_explicit(&self->sleeping, 0, memory_order_relaxed);
		return 1;
	}
	rc = ipm_wait_fds(ipm, timeout_ms);
	atomic_store_explicit(&self->sleeping, 0, memory_order_relaxed);
	mb->heads_due = 1;
	if (rc < 0)
		return rc;
	mb->edge = !!(rc & IPM_READY_EDGE);
	if (rc == IPM_READY_EDGE) {
		/*
		 * Nothing for the whole wait: read the counter, which another
		 * peer may have taken to 0 (nudges would not wake us; we
		 * prime it again) or filled (rings would fail). Bounded:
		 * between two timeouts it grows only by rings, never nudges.
		 */
		ipm->t->ops->ack(ipm->t, MBOX_VECTOR);
		mb->primed = 0;
	} else if ((rc & IPM_READY_VECTOR) && !mb->edge) {
		ipm->t->ops->ack(ipm->t, MBOX_VECTOR); /* level: consume it */
		mb->primed = 0;
	}
	return rc & ~IPM_READY_EDGE;
}

/* Whether mbox_process() could deliver what is queued for us right now. */
static int can_deliver(const struct ipm *ipm)
{
	return ipm->enabled && !mbox_of(ipm)->held;
}

static int mb_wait(struct ipm *ipm, int timeout_ms)
{
	struct mbox *mb = mbox_of(ipm);

	/*
	 * Queued messages end the wait only when they can be delivered:
	 * while disabled, or holding an uncompleted message, they would
	 * make ipm_poll() spin until its timeout.
	 */
	if (ipm->cfg.spin_ns && can_deliver(ipm)) {
		long long end = 0;
		unsigned i = 0;

		/*
		 * The clock only now and then: it costs more than a look, and
		 * a reply often comes before the first reading would be
		 * taken (the spin starts from the first, 64 looks in).
		 */
		for (;;) {
			if (mbox_pending(mb, i % 64 == 63))
				return 1;
			cpu_relax();
			if (++i % 64)
				continue;
			if (!end)
				end = ipm_now_ns() + ipm->cfg.spin_ns;
			else if (ipm_now_ns() >= end)
				break;
		}
	}
	if (timeout_ms < 0 || timeout_ms > MBOX_RECHECK_MS)
		timeout_ms = MBOX_RECHECK_MS;
	return mbox_sleep(ipm, timeout_ms, can_deliver(ipm));
}

static int mb_peers(struct ipm *ipm, int *ids, int max)
{
	struct mbox *mb = mbox_of(ipm);
	int n = 0, found[IPM_MAX_SLOTS];

	/* Asked for explicitly: look for news even if no fd said so. */
	ipm->presence_due = 1;
	ipm_drain_presence(ipm, mbox_peer_left);
	mbox_heartbeat(ipm, mb, 0);
	for (unsigned i = 0; i < mb->g.slots; i++) {
		int id = i == mb->me ? -1 : ipm_token_id(mbox_view(ipm, mb, i));

		if (id < 0 ||
		    ipm->t->ops->peer_live(ipm->t, id) == 0)
			continue;
		/* ascending, no duplicates (garbage could list one twice) */
		int j = n;

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

/*
 * An event loop (ipm_fds + ipm_process) is about to wait for our fds: flag
 * ourselves as sleeping, so senders ring us, then look once more. The flag
 * stays set even when something is here: the caller may stop processing
 * before it is all delivered, and what arrives after the flag rang us.
 * ipm_poll manages the flag itself.
 */
static int mb_idle(struct ipm *ipm)
{
	struct mbox *mb = mbox_of(ipm);
	struct ipm_slot *self = &mb->slots[mb->me];

	if (!can_deliver(ipm))
		return 0;
	atomic_store_explicit(&self->sleeping, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	return mbox_pending(mb, 1);
}

static void mb_ack(struct ipm *ipm)
{
	struct mbox *mb = mbox_of(ipm);

	/* An event loop saw our fds: a look at the heads costs nothing then. */
	mb->heads_due = 1;
	ipm->t->ops->ack(ipm->t, MBOX_VECTOR);
	mb->primed = 0; /* the counter is 0 now: nudges would not wake us */
}

static void mb_stats(const struct ipm *ipm, struct ipm_stats *st)
{
	*st = mbox_of(ipm)->stats;
}

const struct ipm_backend_ops ipm_mailbox_ops = {
	.name = "mailbox",
	.open = mb_open,
	.close = mb_close,
	.send = mbox_send,
	.max_data_size = mb_max_data_size,
	.complete = mbox_complete,
	.process = mbox_process,
	.ack = mb_ack,
	.idle = mb_idle,
	.wait = mb_wait,
	.peers = mb_peers,
	.stats = mb_stats,
};
