/* SPDX-License-Identifier: MIT */
/*
 * Mailbox mode: the backend's ops table over the core (src/core/ipmc.h).
 * What is here is only what a host process or Linux guest adds: the
 * transport as the core's ops, a random nonce, the private copy, and
 * delivery to the IPM callback.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "mailbox.h"
#include "sum.h"

#define MBOX_VECTOR 0
/* Sleeps are re-checked this often (a peer clearing our flags costs
 * latency, never a hang): the front's periodic tick, which ends them. */
#define MBOX_RECHECK_MS IPM_TICK_MS
/*
 * A vector-0 ring that brings no message is a bare doorbell: a
 * doorbell-only peer's (Zephyr's ipm_ivshmem, QEMU's ivshmem-client,
 * doorbell mode), delivered as doorbell mode delivers it (id 0, data
 * NULL, size 0). Unless it may be the mailbox's own: the ack of a send
 * of ours, the wake-up for a message we had already taken. Those come
 * within this many ms of what caused them (the Zephyr driver and the
 * bare-metal guest decide the same way). Our own priming ring is known
 * exactly (self_rung, and its count in mb_ack).
 */
#define CALM_MS 200

/* The mailbox did something that may ring us: no clock on this path. */
static inline void stir(struct mbox *mb)
{
	mb->stirred = 1;
}

/* Before a sleep, and before deciding about a ring: stamp the stir. */
static void calm_stamp(struct mbox *mb)
{
	if (!mb->stirred)
		return;
	mb->stirred = 0;
	mb->calm_at = ipm_now_ms() + CALM_MS;
}

static void peer_left(struct ipm *ipm, int peer)
{
	ipmc_peer_left(&mbox_of(ipm)->c, peer);
}

static int op_ring(void *ctx, int peer, unsigned vector)
{
	struct ipm *ipm = ctx;

	return ipm->t->ops->ring(ipm->t, peer, vector);
}

static long long op_now_ms(void *ctx)
{
	(void)ctx;
	return ipm_now_ms();
}

static void op_relax(void *ctx)
{
	(void)ctx;
	cpu_relax();
}

static int op_peer_live(void *ctx, int peer)
{
	struct ipm *ipm = ctx;

	return ipm->t->ops->peer_live(ipm->t, peer);
}

static void op_news(void *ctx)
{
	struct ipm *ipm = ctx;

	ipm->presence_due = 1;
	ipm_drain_presence(ipm, peer_left);
}

static int op_nudge(void *ctx, int peer, unsigned vector)
{
	struct ipm *ipm = ctx;

	return ipm->t->ops->nudge(ipm->t, peer, vector);
}

/*
 * Nudgeable (docs/mailbox-layout.md, "Sleeping"): we wait edge-triggered
 * and our counter is above 0, so a sender's write of 0 (no fcntl, cannot
 * block) wakes us. The counter is raised by ringing ourselves once (the
 * wait that follows returns at once) and stays up until we read it: on a
 * timeout, or in mb_ack.
 */
static unsigned op_sleep_how(void *ctx)
{
	struct ipm *ipm = ctx;
	struct mbox *mb = mbox_of(ipm);

	if (!ipm->t->ops->nudge || !mb->edge)
		return IPMC_SLEEP_RING;
	if (!mb->primed &&
	    ipm->t->ops->ring(ipm->t, ipm->t->id, MBOX_VECTOR) == 0) {
		mb->primed = 1;
		mb->self_rung = 1; /* the wake-up it gives is ours */
	}
	return mb->primed ? IPMC_SLEEP_NUDGE : IPMC_SLEEP_RING;
}

/* Wait on our fds (flagged sleeping already): ipm_wait_fds's result. */
static int wait_doorbell(struct ipm *ipm, int timeout_ms)
{
	struct mbox *mb = mbox_of(ipm);
	int rc = ipm_wait_fds(ipm, timeout_ms);

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

/* A blocked sender's sleep: our doorbell, with presence news. */
static int op_wait(void *ctx, int timeout_ms)
{
	struct ipm *ipm = ctx;
	int rc = wait_doorbell(ipm, timeout_ms);

	/* A ring meanwhile is taken as the ack's, and so is one soon. */
	mbox_of(ipm)->calm_at = ipm_now_ms() + CALM_MS;
	mbox_of(ipm)->self_rung = 0;
	ipm_drain_presence(ipm, peer_left);
	return rc;
}

static uint32_t make_nonce(void)
{
	uint32_t nonce = 0;

	while (nonce == 0)
		if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
			nonce = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	return nonce;
}

static int mb_open(struct ipm *ipm)
{
	struct mbox *mb = calloc(1, sizeof(*mb));
	struct ipmc_config cfg = {
		.slots = ipm->cfg.slots, .unchecked = ipm->cfg.unchecked,
		.send_timeout_ms = ipm->cfg.send_timeout_ms,
		.hw_sum = ipm_sum_hw(), .nonce = make_nonce(),
	};
	int rc;

	if (!mb)
		return -ENOMEM;
	if (cfg.slots && (cfg.slots < IPMC_MIN_SLOTS ||
			  cfg.slots > IPMC_MAX_SLOTS)) {
		free(mb);
		return -EINVAL;
	}
	mb->ops = (struct ipmc_ops){
		.ctx = ipm, .ring = op_ring, .now_ms = op_now_ms,
		.relax = op_relax, .peer_live = op_peer_live,
		.wait = op_wait, .news = op_news,
		.nudge = ipm->t->ops->nudge ? op_nudge : NULL,
		.sleep_how = op_sleep_how,
	};
	mb->edge = 1; /* until a wait says it is not */
	mb->calm_at = ipm_now_ms() + CALM_MS; /* joining: peers may ring */
	ipm->priv = mb; /* presence news during the join reach the core */
	rc = ipmc_open(&mb->c, ipm->t->mem, ipm->t->size, ipm->t->id, &cfg,
		       &mb->ops);
	if (rc == 0 && mb->c.check) {
		mb->copy = malloc(mb->c.g.queue_cap);
		if (!mb->copy) {
			ipmc_close(&mb->c);
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

	if (mb->loaned)
		ipmc_loan_abandon(&mb->c, &mb->loan);
	ipmc_close(&mb->c);
	free(mb->copy);
	free(mb);
}

/* Whether peer id held a mailbox slot and left it (its goodbye, news). */
static int left_mailbox(const struct ipmc *c, int id)
{
	for (unsigned s = 0; s < c->g.slots; s++)
		if (c->peer[s].dead && ipmc_token_id(c->peer[s].dead) == id)
			return 1;
	return 0;
}

/*
 * An empty send to a peer holding no mailbox slot: its vector 0, as
 * doorbell mode rings it (a doorbell-only peer's callback fires). Not to
 * a mailbox peer that left: that send failed (-ENOTCONN) as any other.
 */
static int ring_bare(struct ipm *ipm, int id)
{
	struct ivshm_transport *t = ipm->t;
	int rc;

	if (left_mailbox(&mbox_of(ipm)->c, id))
		return -ENOTCONN;
	/* A ring is a system call anyway: keep joins and leaves exact. */
	ipm->presence_due = 1;
	ipm_drain_presence(ipm, peer_left);
	if (t->ops->peer_live(t, id) == 0)
		return -ENOTCONN;
	rc = t->ops->ring(t, id, MBOX_VECTOR);
	return rc == -ENOENT ? -ENOTCONN : rc;
}

static int mb_send(struct ipm *ipm, int wait, uint32_t id, const void *data,
		   size_t size)
{
	struct mbox *mb = mbox_of(ipm);
	int rc;

	ipm_drain_presence(ipm, peer_left);
	if (size)
		stir(mb); /* its receiver may ring us: an ack, a kick */
	rc = ipmc_send(&mb->c, (int)id, data, (uint32_t)size, wait);
	if (rc == -ENOTCONN && size == 0)
		rc = ring_bare(ipm, (int)id);
	return rc;
}

static int mb_loan(struct ipm *ipm, int wait, uint32_t id, size_t size,
		   void **data)
{
	struct mbox *mb = mbox_of(ipm);
	int rc;

	if (mb->loaned)
		return -EALREADY;
	ipm_drain_presence(ipm, peer_left);
	rc = ipmc_loan(&mb->c, (int)id, (uint32_t)size, wait, &mb->loan);
	if (rc < 0)
		return rc;
	mb->loaned = 1;
	*data = mb->loan.data;
	return 0;
}

static int mb_loan_commit(struct ipm *ipm)
{
	struct mbox *mb = mbox_of(ipm);

	if (!mb->loaned)
		return -EINVAL;
	mb->loaned = 0;
	stir(mb);
	return ipmc_loan_commit(&mb->c, &mb->loan);
}

static void mb_loan_abandon(struct ipm *ipm)
{
	struct mbox *mb = mbox_of(ipm);

	if (!mb->loaned)
		return;
	mb->loaned = 0;
	ipmc_loan_abandon(&mb->c, &mb->loan);
}

static int mb_max_data_size(const struct ipm *ipm)
{
	return (int)ipmc_max_size(&mbox_of(ipm)->c);
}

static void mb_complete(struct ipm *ipm)
{
	ipmc_complete(&mbox_of(ipm)->c);
}

static int mb_process(struct ipm *ipm)
{
	struct mbox *mb = mbox_of(ipm);
	struct ipmc_msg m;
	int n = 0, rc;

	rc = ipm_drain_presence(ipm, peer_left);
	if (rc < 0 && rc != -ENOTCONN)
		return rc;
	if (!ipm->enabled || mb->c.held) {
		ipmc_heartbeat(&mb->c, 1);
		return 0;
	}
	while (ipmc_next(&mb->c, mb->copy, &m) == 1) {
		n++;
		if (ipm->cb)
			ipm->cb(ipm, ipm->user_data,
				(uint32_t)ipmc_token_id(m.src), m.data, m.len);
		if (mb->c.held && !ipm->cfg.manual_complete)
			ipmc_complete(&mb->c);
		if (mb->c.held)
			break;
	}
	if (n) {
		mb->rung = 0; /* the ring was theirs */
		stir(mb);     /* theirs may still be on the way */
	} else if (mb->rung && ipm->cfg.doorbells) {
		mb->rung = 0;
		calm_stamp(mb);
		if (ipm_now_ms() >= mb->calm_at) {
			if (ipm->cb)
				ipm->cb(ipm, ipm->user_data, 0, NULL, 0);
			n = 1;
		}
	}
	return n;
}

/* Whether mb_process() could deliver what is queued for us right now. */
static int can_deliver(const struct ipm *ipm)
{
	return ipm->enabled && !mbox_of(ipm)->c.held;
}

static int mb_wait(struct ipm *ipm, int timeout_ms)
{
	struct mbox *mb = mbox_of(ipm);
	int wake = can_deliver(ipm), rc;

	/*
	 * Queued messages end the wait only when they can be delivered:
	 * while disabled, or holding an uncompleted message, they would
	 * make ipm_poll() spin until its timeout.
	 */
	if (ipm->cfg.spin_ns && wake) {
		long long end = 0;
		unsigned i = 0;

		/*
		 * The clock only now and then: it costs more than a look, and
		 * a reply often comes before the first reading would be
		 * taken (the spin starts from the first, 64 looks in).
		 */
		for (;;) {
			if (ipmc_pending(&mb->c, i % 64 == 63))
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
	ipmc_heartbeat(&mb->c, 0);
	/* Flag first, then look: a sender publishes, then looks at it. */
	if (ipmc_idle(&mb->c, 0) && wake) {
		ipmc_awake(&mb->c);
		return 1;
	}
	calm_stamp(mb);
	rc = wait_doorbell(ipm, timeout_ms);
	ipmc_awake(&mb->c);
	/* The wake-up of our priming ring is ours (one at the same moment
	 * merges into it: that doorbell is lost). */
	if (rc > 0 && (rc & IPM_READY_VECTOR) && !mb->self_rung)
		mb->rung = 1;
	mb->self_rung = 0;
	return rc;
}

static int mb_peers(struct ipm *ipm, int *ids, int max)
{
	/* Asked for explicitly: look for news even if no fd said so. */
	ipm->presence_due = 1;
	ipm_drain_presence(ipm, peer_left);
	return ipmc_peers(&mbox_of(ipm)->c, ids, max);
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

	if (!can_deliver(ipm))
		return 0;
	calm_stamp(mb);
	/* The caller's wait is its own (level-triggered): a ring. */
	return ipmc_idle(&mb->c, IPMC_SLEEP_RING);
}

static void mb_ack(struct ipm *ipm)
{
	struct mbox *mb = mbox_of(ipm);

	/* An event loop saw our fds (or its ipm_timeout() passed): a look at
	 * the heads costs nothing then, nor does the clock the heartbeat
	 * needs (ipm_process's own look at it is a busy poller's). */
	mb->c.heads_due = 1;
	/* More than our own priming ring: somebody rang us. */
	if (ipm->t->ops->ack(ipm->t, MBOX_VECTOR) > mb->primed)
		mb->rung = 1;
	mb->primed = 0; /* the counter is 0 now: nudges would not wake us */
	ipmc_heartbeat(&mb->c, 0);
}

static int mb_timeout(const struct ipm *ipm)
{
	return ipmc_timeout(&mbox_of(ipm)->c);
}

static void mb_stats(const struct ipm *ipm, struct ipm_stats *st)
{
	const struct ipmc_stats *c = &mbox_of(ipm)->c.stats;

	*st = (struct ipm_stats){
		.delivered = c->delivered, .lost = c->lost,
		.corrupt = c->corrupt, .replayed = c->replayed,
		.withdrawn = c->withdrawn, .foreign = c->foreign,
		.dropped = c->dropped, .send_withdrawn = c->send_withdrawn,
	};
}

const struct ipm_backend_ops ipm_mailbox_ops = {
	.name = "mailbox",
	.open = mb_open,
	.close = mb_close,
	.send = mb_send,
	.max_data_size = mb_max_data_size,
	.loan = mb_loan,
	.loan_commit = mb_loan_commit,
	.loan_abandon = mb_loan_abandon,
	.complete = mb_complete,
	.process = mb_process,
	.ack = mb_ack,
	.idle = mb_idle,
	.timeout = mb_timeout,
	.wait = mb_wait,
	.peers = mb_peers,
	.stats = mb_stats,
};
