/* SPDX-License-Identifier: MIT */
/*
 * Mailbox mode: the backend's ops table over the core (src/core/ipmc.h).
 * What is here is only what a host process or Linux guest adds: the
 * transport as the core's ops, a random nonce, the private copy, how a
 * sleep is prepared and what it saw, and which arrivals go to the front.
 * Presence, waiting and delivery are the front's (backend.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "mailbox.h"
#include "shm_access.h"
#include "sum.h"

#define MBOX_VECTOR 0
/*
 * A vector-0 ring that brings no message is a bare doorbell: a
 * doorbell-only peer's (Zephyr's ipm_ivshmem, QEMU's ivshmem-client,
 * doorbell mode), delivered as doorbell mode delivers it (id 0, data
 * NULL, size 0) when cfg.doorbells asks. Unless it may be the mailbox's
 * own: the ack of a send of ours, the wake-up for a message we had
 * already taken. Those come within this many ms of what caused them (the
 * Zephyr driver and the bare-metal guest decide the same way). Our own
 * priming ring is known exactly (self_rung, and its count in mb_ack).
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

static int op_ring(void *ctx, int peer, unsigned vector)
{
	struct ivshm_transport *t = ((struct mbox *)ctx)->env.t;

	return t->ops->ring(t, peer, vector);
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
	struct ivshm_transport *t = ((struct mbox *)ctx)->env.t;

	return t->ops->peer_live(t, peer);
}

/* The core wants the news now: the front reads them (leaves: peer_left). */
static void op_news(void *ctx)
{
	struct mbox *mb = ctx;

	mb->env.news(mb->env.ctx);
}

static int op_nudge(void *ctx, int peer, unsigned vector)
{
	struct ivshm_transport *t = ((struct mbox *)ctx)->env.t;

	return t->ops->nudge(t, peer, vector);
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
	struct mbox *mb = ctx;
	struct ivshm_transport *t = mb->env.t;

	if (!t->ops->nudge || !mb->edge)
		return IPMC_SLEEP_RING;
	if (!mb->primed && t->ops->ring(t, t->id, MBOX_VECTOR) == 0) {
		mb->primed = 1;
		mb->self_rung = 1; /* the wake-up it gives is ours */
	}
	return mb->primed ? IPMC_SLEEP_NUDGE : IPMC_SLEEP_RING;
}

/* After a sleep on our fds (flagged sleeping): what its result means. */
static void slept(struct mbox *mb, int rc)
{
	struct ivshm_transport *t = mb->env.t;

	if (rc < 0)
		return;
	mb->edge = !!(rc & IPM_READY_EDGE);
	if (rc == IPM_READY_EDGE) {
		/*
		 * Nothing for the whole wait: read the counter, which another
		 * peer may have taken to 0 (nudges would not wake us; we
		 * prime it again) or filled (rings would fail). Bounded:
		 * between two timeouts it grows only by rings, never nudges.
		 */
		t->ops->ack(t, MBOX_VECTOR);
		mb->primed = 0;
	} else if ((rc & IPM_READY_VECTOR) && !mb->edge) {
		t->ops->ack(t, MBOX_VECTOR); /* level: consume it */
		mb->primed = 0;
	}
}

/* A blocked sender's sleep: the front's, with presence news. */
static int op_wait(void *ctx, int timeout_ms)
{
	struct mbox *mb = ctx;
	int rc = mb->env.wait(mb->env.ctx, timeout_ms);

	slept(mb, rc);
	/* A ring meanwhile is taken as the ack's, and so is one soon. */
	mb->calm_at = ipm_now_ms() + CALM_MS;
	mb->self_rung = 0;
	return rc < 0 ? rc : rc & ~IPM_READY_EDGE;
}

static uint32_t make_nonce(void)
{
	uint32_t nonce = 0;

	while (nonce == 0)
		if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
			nonce = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	return nonce;
}

static int mb_open(void *priv, const struct ipm_env *env)
{
	struct mbox *mb = priv;
	struct ivshm_transport *t = env->t;
	struct ipmc_config cfg = {
		.slots = env->cfg->slots, .unchecked = env->cfg->unchecked,
		.send_timeout_ms = env->cfg->send_timeout_ms,
		.hw_sum = ipm_sum_hw(), .nonce = make_nonce(),
	};
	int rc;

	if (cfg.slots && (cfg.slots < IPMC_MIN_SLOTS ||
			  cfg.slots > IPMC_MAX_SLOTS))
		return -EINVAL;
	mb->env = *env;
	mb->ops = (struct ipmc_ops){
		.ctx = mb, .ring = op_ring, .now_ms = op_now_ms,
		.relax = op_relax, .peer_live = op_peer_live,
		.wait = op_wait, .news = op_news,
		.nudge = t->ops->nudge ? op_nudge : NULL,
		.sleep_how = op_sleep_how,
	};
	mb->edge = 1; /* until a wait says it is not */
	mb->calm_at = ipm_now_ms() + CALM_MS; /* joining: peers may ring */
	rc = ipmc_open(&mb->c, t->mem, t->size, t->id, &cfg, &mb->ops);
	if (rc == 0 && mb->c.check) {
		mb->copy = malloc(mb->c.g.queue_cap);
		if (!mb->copy) {
			ipmc_close(&mb->c);
			rc = -ENOMEM;
		}
	}
	return rc;
}

static void mb_close(void *priv)
{
	struct mbox *mb = priv;

	if (mb->loaned)
		ipmc_loan_abandon(&mb->c, &mb->loan);
	ipmc_close(&mb->c);
	free(mb->copy);
}

/*
 * Whether peer id is a mailbox peer, as far as we can tell: it holds a
 * slot in our view or claimed one in the table (a newcomer not attached
 * yet), or held one and left. An empty send to it is a message, which
 * fails as any other (-ENOTCONN), never a doorbell that would be lost.
 */
static int mailbox_peer(const struct ipmc *c, int id)
{
	for (unsigned s = 0; s < c->g.slots; s++) {
		const struct ipmc_peer *p = &c->peer[s];
		uint64_t w;

		if (s == c->me)
			continue;
		if ((p->view && ipmc_token_id(p->view) == id) ||
		    (p->dead && ipmc_token_id(p->dead) == id))
			return 1;
		w = shm_load_acquire(&c->slots[s].owner);
		if (w && ipmc_token_id(w) == id)
			return 1;
	}
	return 0;
}

/*
 * An empty send to a peer holding no mailbox slot: its vector 0, as
 * doorbell mode rings it (a doorbell-only peer's callback fires). A peer
 * that claims a slot only after this looks is rung too; that ring is
 * within its join's 200 ms, not passed on.
 */
static int ring_bare(struct mbox *mb, int id)
{
	struct ivshm_transport *t = mb->env.t;
	int rc;

	if (mailbox_peer(&mb->c, id))
		return -ENOTCONN;
	/* A ring is a system call anyway: keep joins and leaves exact. */
	mb->env.news(mb->env.ctx);
	if (t->ops->peer_live(t, id) == 0)
		return -ENOTCONN;
	rc = t->ops->ring(t, id, MBOX_VECTOR);
	return rc == -ENOENT ? -ENOTCONN : rc;
}

static int mb_send(void *priv, int wait, uint32_t id, const void *data,
		   size_t size)
{
	struct mbox *mb = priv;
	int rc;

	if (size)
		stir(mb); /* its receiver may ring us: an ack, a kick */
	rc = ipmc_send(&mb->c, (int)id, data, (uint32_t)size, wait);
	if (rc == -ENOTCONN && size == 0)
		rc = ring_bare(mb, (int)id);
	return rc;
}

static int mb_loan(void *priv, int wait, uint32_t id, size_t size,
		   void **data)
{
	struct mbox *mb = priv;
	int rc;

	if (mb->loaned)
		return -EALREADY;
	rc = ipmc_loan(&mb->c, (int)id, (uint32_t)size, wait, &mb->loan);
	if (rc < 0)
		return rc;
	mb->loaned = 1;
	*data = mb->loan.data;
	return 0;
}

static int mb_loan_commit(void *priv)
{
	struct mbox *mb = priv;

	if (!mb->loaned)
		return -EINVAL;
	mb->loaned = 0;
	stir(mb);
	return ipmc_loan_commit(&mb->c, &mb->loan);
}

static void mb_loan_abandon(void *priv)
{
	struct mbox *mb = priv;

	if (!mb->loaned)
		return;
	mb->loaned = 0;
	ipmc_loan_abandon(&mb->c, &mb->loan);
}

static int mb_max_data_size(const void *priv)
{
	return (int)ipmc_max_size(&((const struct mbox *)priv)->c);
}

static void mb_complete(void *priv)
{
	ipmc_complete(&((struct mbox *)priv)->c);
}

static int mb_next(void *priv, struct ipm_arrival *a)
{
	struct mbox *mb = priv;
	struct ipmc_msg m;

	/*
	 * Right after a delivery, a stamp look says whether a whole pass
	 * would find anything: a pass that finds nothing costs more than a
	 * delivery's own look, and a polling peer's reply waits behind it.
	 * The pass skipped (its look at the heads, our words put back) is
	 * the next call's.
	 */
	if (mb->just_took && !mb->rung) {
		mb->just_took = 0;
		if (!ipmc_pending(&mb->c, 0))
			return 0;
	}
	mb->just_took = 0;
	if (ipmc_next(&mb->c, mb->copy, &m) == 1) {
		mb->just_took = 1;
		mb->rung = 0; /* the ring was its */
		stir(mb);     /* and a late one may still come */
		/* Never NULL for a message: NULL says doorbell. */
		*a = (struct ipm_arrival){
			.id = (uint32_t)ipmc_token_id(m.src),
			.data = m.data ? m.data : (const void *)"",
			.size = m.len,
		};
		return 1;
	}
	if (!mb->rung)
		return 0;
	mb->rung = 0;
	calm_stamp(mb);
	if (!mb->env.cfg->doorbells || ipm_now_ms() < mb->calm_at)
		return 0;
	*a = (struct ipm_arrival){ .id = 0, .data = NULL, .size = 0 };
	return 1;
}

/* Disabled, or holding a message: what is queued stays; we still beat. */
static void mb_hold(void *priv)
{
	ipmc_heartbeat(&((struct mbox *)priv)->c, 1);
}

/* Spin on the shared memory (cfg.spin_ns) before sleeping: 1 if it came. */
static int spin(struct mbox *mb)
{
	long long end = 0;
	unsigned i = 0;

	/*
	 * The clock only now and then: it costs more than a look, and a
	 * reply often comes before the first reading would be taken (the
	 * spin starts from the first, 64 looks in).
	 */
	for (;;) {
		if (ipmc_pending(&mb->c, i % 64 == 63))
			return 1;
		cpu_relax();
		if (++i % 64)
			continue;
		if (!end)
			end = ipm_now_ns() + mb->env.cfg->spin_ns;
		else if (ipm_now_ns() >= end)
			return 0;
	}
}

/*
 * About to sleep. In the front's own wait (ipm_poll): spin first if asked,
 * beat, flag ourselves sleeping (nudged, if we can be), look once more;
 * queued messages end the sleep only when they can be delivered (else
 * ipm_poll() would spin until its timeout); woken() clears the flag.
 * Before an event loop's wait on ipm_fds() (level-triggered: a ring),
 * only when deliverable; the flag stays set even when something is here:
 * the caller may stop processing before it is all delivered, and what
 * arrives after the flag rang us.
 */
static int mb_idle(void *priv, int own, int deliverable)
{
	struct mbox *mb = priv;

	if (!own) {
		if (!deliverable)
			return 0;
		calm_stamp(mb);
		return ipmc_idle(&mb->c, IPMC_SLEEP_RING);
	}
	if (mb->env.cfg->spin_ns && deliverable && spin(mb))
		return 1;
	ipmc_heartbeat(&mb->c, 0);
	/* Flag first, then look: a sender publishes, then looks at it. */
	if (ipmc_idle(&mb->c, 0) && deliverable) {
		ipmc_awake(&mb->c);
		return 1;
	}
	calm_stamp(mb);
	return 0;
}

static void mb_woken(void *priv, int rc)
{
	struct mbox *mb = priv;

	slept(mb, rc);
	ipmc_awake(&mb->c);
	/* The wake-up of our priming ring is ours (one at the same moment
	 * merges into it: that doorbell is lost). */
	if (rc > 0 && (rc & IPM_READY_VECTOR) && !mb->self_rung)
		mb->rung = 1;
	mb->self_rung = 0;
}

static void mb_ack(void *priv)
{
	struct mbox *mb = priv;
	struct ivshm_transport *t = mb->env.t;

	/* An event loop saw our fds (or its ipm_timeout() passed): a look at
	 * the heads costs nothing then, nor does the clock the heartbeat
	 * needs (ipm_process's own look at it is a busy poller's). */
	mb->c.heads_due = 1;
	/* More than our own priming ring: somebody rang us. */
	if (t->ops->ack(t, MBOX_VECTOR) > mb->primed)
		mb->rung = 1;
	mb->primed = 0; /* the counter is 0 now: nudges would not wake us */
	ipmc_heartbeat(&mb->c, 0);
}

static int mb_timeout(const void *priv)
{
	return ipmc_timeout(&((const struct mbox *)priv)->c);
}

static void mb_peer_left(void *priv, int peer)
{
	ipmc_peer_left(&((struct mbox *)priv)->c, peer);
}

static int mb_peers(void *priv, int *ids, int max)
{
	return ipmc_peers(&((struct mbox *)priv)->c, ids, max);
}

static void mb_stats(const void *priv, struct ipm_stats *st)
{
	const struct ipmc_stats *c = &((const struct mbox *)priv)->c.stats;

	*st = (struct ipm_stats){
		.delivered = c->delivered, .lost = c->lost,
		.corrupt = c->corrupt, .replayed = c->replayed,
		.withdrawn = c->withdrawn, .foreign = c->foreign,
		.dropped = c->dropped, .send_withdrawn = c->send_withdrawn,
	};
}

const struct ipm_backend_ops ipm_mailbox_ops = {
	.name = "mailbox",
	.priv_size = sizeof(struct mbox),
	.open = mb_open,
	.close = mb_close,
	.send = mb_send,
	.max_data_size = mb_max_data_size,
	.loan = mb_loan,
	.loan_commit = mb_loan_commit,
	.loan_abandon = mb_loan_abandon,
	.next = mb_next,
	.complete = mb_complete,
	.hold = mb_hold,
	.ack = mb_ack,
	.idle = mb_idle,
	.woken = mb_woken,
	.timeout = mb_timeout,
	.peer_left = mb_peer_left,
	.peers = mb_peers,
	.stats = mb_stats,
};
