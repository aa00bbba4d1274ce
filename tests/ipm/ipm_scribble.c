/* SPDX-License-Identifier: MIT */
/*
 * Never trust the shared memory.
 *
 * ipm_scribble:
 *  1. Precise scribbles on one queue (two devices in this process): a
 *     record whose header is broken is dropped with what follows it, one
 *     addressed to somebody else is skipped, a head that makes no sense is
 *     ignored, a scribbled stamp drops up to the head, a believable bogus
 *     head or a scribbled slot owner is recovered from: messages flow
 *     again.
 *  2. Pairs A<->B and C<->D (4 slots) exchange traffic while a plain
 *     libivshmem peer writes random bytes, many thousands of times, over
 *     A<->B's queues (control lines and data), A's and B's slot lines and
 *     the header: random bytes, plausible tokens and stamps (real tokens
 *     swapped between fields and slots, stamps a few lines ahead in every
 *     state), and old records copied forward (as they were, or with a
 *     stamp fitted to their new place). Nobody crashes or hangs (every
 *     call is timed), C<->D's traffic is intact to the last message, and
 *     A and B (whose payloads carry their own number and checksum)
 *     receive nothing corrupted, duplicated, reordered or replayed
 *     (issue 12, item 11): only losses, which they count exactly as their
 *     ipm_stats() do; every blocking send that returned 0 was delivered;
 *     once the scribbler stops A<->B messages flow again.
 *
 * ipm_garbage (IPM_GARBAGE_ALL): A<->B exchange traffic, and random bytes
 * are written once over the whole region, header included. A and B must
 * neither crash nor hang, only lose messages; a newcomer is refused.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ivshmem/ivshmem.h>

#include "ipmtest.h"
#include "ipmc_layout.h"
#include "shm_access.h"

#define MAX_MSG    16384
#define P2_MSGS    300  /* after the scribbler: these must flow again */
#define P2_TAIL    100  /* the last ones, all of them, in order */
#define P2_STREAM  0x8000u
#define SCRIBBLE_MS 3000

static struct tu_server srv;

/* Where things are, from the geometry and the slot owners. */
struct where {
	uint8_t *base;
	struct ipmc_geometry g;
};

static void where_init(struct where *w, void *mem, size_t size,
		       unsigned slots)
{
	w->base = mem;
	IT_CHECK(ipmc_geometry(&w->g, size, slots) == 0, "geometry");
}

static struct ipmc_slot *slot_line(const struct where *w, unsigned s)
{
	return (struct ipmc_slot *)(w->base + IPMC_LINE) + s;
}

static unsigned slot_of(const struct where *w, int id)
{
	for (unsigned s = 0; s < w->g.slots; s++)
		if (ipmc_token_id(shm_load_acquire(&slot_line(w, s)->owner)) ==
		    id)
			return s;
	IT_CHECK(0, "peer %d holds no slot", id);
}

static struct ipmc_qctl *ctl_of(const struct where *w, unsigned from,
				    unsigned to)
{
	return (struct ipmc_qctl *)(w->base + w->g.queue_offset +
		ipmc_queue_index(w->g.slots, from, to) * w->g.queue_stride);
}

static uint8_t *data_of(const struct where *w, unsigned from, unsigned to)
{
	return (uint8_t *)ctl_of(w, from, to) + IPMC_QUEUE_CTL;
}

/* Part 1: precise scribbles. */

struct seqlog {
	int n, bad;
	int my_id;
	uint64_t seq[64];
};

static void log_cb(struct ipm *ipm, void *user, uint32_t id,
		   const volatile void *data, size_t size)
{
	struct seqlog *l = user;
	uint8_t buf[256];
	uint64_t seq = 0;

	(void)ipm;
	if (size > sizeof(buf) || l->n == 64) {
		l->bad++;
		return;
	}
	memcpy(buf, (const void *)data, size);
	if (it_msg_check(buf, size, it_stream((int)id, l->my_id), &seq) !=
	    IT_MSG_OK) {
		l->bad++;
		return;
	}
	l->seq[l->n++] = seq;
}

struct pair {
	struct ipm *a, *b;
	struct seqlog la, lb;
	struct where w;
	unsigned sa, sb;
	uint64_t seq_ab, seq_ba;
};

/* Queue one 100-byte message a -> b; returns its record's ring offset. */
static uint64_t put_ab(struct pair *p)
{
	struct ipmc_qctl *ctl = ctl_of(&p->w, p->sa, p->sb);
	uint64_t h = shm_load_acquire(&ctl->head);
	uint8_t buf[100];
	int rc;

	it_msg_make(buf, sizeof(buf), it_stream(it_id(p->a), it_id(p->b)),
		    p->seq_ab++);
	rc = ipm_send(p->a, 0, (uint32_t)it_id(p->b), buf, sizeof(buf));
	IT_CHECK(rc == 0, "send a -> b: %s", strerror(-rc));
	return h % p->w.g.queue_cap;
}

/* Deliver all b has; check the sequence numbers it got. */
static void expect_b(struct pair *p, const char *what, int n, ...)
{
	va_list ap;

	p->lb.n = 0;
	while (ipm_poll(p->b, 50) > 0)
		;
	IT_CHECK(p->lb.bad == 0, "%s: a bad message was delivered", what);
	IT_CHECK(p->lb.n == n, "%s: %d messages delivered, want %d", what,
		 p->lb.n, n);
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		uint64_t want = (uint64_t)va_arg(ap, int);

		IT_CHECK(p->lb.seq[i] == want, "%s: #%d is seq %llu, want "
			 "%llu", what, i, (unsigned long long)p->lb.seq[i],
			 (unsigned long long)want);
	}
	va_end(ap);
}

static struct ipmc_rec *rec_at(struct pair *p, uint64_t off)
{
	return (struct ipmc_rec *)(data_of(&p->w, p->sa, p->sb) + off);
}

/*
 * Send until b gets one, b processing in between: the queue works again.
 * Returns how many sends it took.
 */
static int flows_again(struct pair *p, const char *what)
{
	for (int tries = 1; tries <= 20; tries++) {
		uint8_t buf[100];
		int rc;

		it_msg_make(buf, sizeof(buf),
			    it_stream(it_id(p->a), it_id(p->b)), p->seq_ab++);
		rc = ipm_send(p->a, 0, (uint32_t)it_id(p->b), buf,
			      sizeof(buf));
		/* -ENOTCONN: b's consumer token, until b puts it back */
		IT_CHECK(rc == 0 || rc == -EBUSY || rc == -ENOTCONN,
			 "%s: send: %s", what, strerror(-rc));
		p->lb.n = 0;
		while (ipm_poll(p->b, 20) > 0)
			;
		IT_CHECK(p->lb.bad == 0, "%s: a bad message was delivered",
			 what);
		if (p->lb.n > 0 && p->lb.seq[p->lb.n - 1] == p->seq_ab - 1)
			return tries;
		IT_CHECK(ipm_process(p->a) >= 0, "ipm_process");
	}
	IT_CHECK(0, "%s: a -> b still stuck after 20 sends", what);
}

/* b -> a and a -> b both work: a's slot is a's again. */
static void both_ways(struct pair *p, const char *what)
{
	uint8_t buf[100];
	int rc;

	IT_CHECK(ipm_process(p->a) >= 0, "ipm_process");
	it_msg_make(buf, sizeof(buf), it_stream(it_id(p->b), it_id(p->a)),
		    p->seq_ba);
	rc = ipm_send(p->b, 0, (uint32_t)it_id(p->a), buf, sizeof(buf));
	IT_CHECK(rc == 0, "%s: b -> a: %s", what, strerror(-rc));
	p->seq_ba++;
	p->la.n = 0;
	while (ipm_poll(p->a, 20) > 0)
		;
	IT_CHECK(p->la.n == 1 && p->la.seq[0] == p->seq_ba - 1,
		 "%s: b -> a: %d delivered", what, p->la.n);
	flows_again(p, what);
}

static void precise(void)
{
	struct ipm_config cfg = {
		.mode = IPM_MODE_MAILBOX, .slots = 2, .send_timeout_ms = 500,
	};
	struct ipmc_slot *sl;
	struct ipmc_qctl *ctl;
	struct pair p = { 0 };
	uint64_t o1, h, token;
	int s;

	it_server(&srv, NULL, 1);
	p.a = it_open(srv.socket_path, &cfg);
	p.b = it_open(srv.socket_path, &cfg);
	p.la.my_id = it_id(p.a);
	p.lb.my_id = it_id(p.b);
	ipm_register_callback(p.a, log_cb, &p.la);
	ipm_register_callback(p.b, log_cb, &p.lb);
	where_init(&p.w, ipm_transport(p.a)->mem, ipm_transport(p.a)->size,
		   2);
	p.sa = slot_of(&p.w, it_id(p.a));
	p.sb = slot_of(&p.w, it_id(p.b));
	ctl = ctl_of(&p.w, p.sa, p.sb);

	put_ab(&p);
	expect_b(&p, "clean", 1, 0);

	/* A broken type: that record and everything after it is dropped. */
	s = (int)p.seq_ab;
	put_ab(&p);
	o1 = put_ab(&p);
	put_ab(&p);
	rec_at(&p, o1)->type ^= 0x10;
	expect_b(&p, "broken type", 1, s);
	put_ab(&p);
	expect_b(&p, "after broken type", 1, s + 3);

	/* A length beyond the ring, then one beyond the head. */
	s = (int)p.seq_ab;
	put_ab(&p);
	o1 = put_ab(&p);
	rec_at(&p, o1)->len = 0xffffffffu;
	expect_b(&p, "huge length", 1, s);
	s = (int)p.seq_ab;
	put_ab(&p);
	o1 = put_ab(&p);
	rec_at(&p, o1)->len = 100 + 64;
	expect_b(&p, "length past the head", 1, s);

	/* Addressed to somebody else, or from somebody else: skipped. */
	s = (int)p.seq_ab;
	put_ab(&p);
	o1 = put_ab(&p);
	put_ab(&p);
	rec_at(&p, o1)->dst ^= UINT64_C(1) << 40;
	expect_b(&p, "other destination", 2, s, s + 2);
	s = (int)p.seq_ab;
	put_ab(&p);
	o1 = put_ab(&p);
	put_ab(&p);
	rec_at(&p, o1)->src += 1;
	expect_b(&p, "other source", 2, s, s + 2);

	/*
	 * A head that makes no sense is ignored: records are found by their
	 * stamps, and the sender rewrites the head with the next one.
	 */
	s = (int)p.seq_ab;
	put_ab(&p);
	put_ab(&p);
	shm_fetch_add(&ctl->head, 8);
	expect_b(&p, "misaligned head", 2, s, s + 1);
	shm_fetch_add(&ctl->head, UINT64_C(1) << 40);
	expect_b(&p, "far head", 0);
	put_ab(&p);
	expect_b(&p, "head rewritten", 1, s + 2);

	/* A scribbled stamp under a good head: dropped up to the head. */
	s = (int)p.seq_ab;
	o1 = put_ab(&p);
	put_ab(&p);
	rec_at(&p, o1)->end ^= 1;
	expect_b(&p, "scribbled stamp", 0);
	put_ab(&p);
	expect_b(&p, "after scribbled stamp", 1, s + 2);

	/*
	 * A believable head ahead of the real one, over a record-less
	 * stretch: b drops up to it, its tail is then ahead of a's head.
	 */
	h = shm_load_acquire(&ctl->head);
	for (unsigned i = 0; i < 4; i++)
		memset(data_of(&p.w, p.sa, p.sb) +
		       (h + i * IPMC_LINE) % p.w.g.queue_cap, 0, IPMC_LINE);
	shm_store_release(&ctl->head, h + 4 * IPMC_LINE);
	expect_b(&p, "bogus head", 0);
	it_log("bogus head: flowing again after %d send(s)",
	       flows_again(&p, "bogus head"));

	/* A tail scribbled by someone else: b puts its own back. */
	shm_store_release(&ctl->tail,
			  shm_load_acquire(&ctl->tail) + 8 * p.w.g.queue_cap);
	it_log("bogus tail: flowing again after %d send(s)",
	       flows_again(&p, "bogus tail"));
	shm_store_release(&ctl->cgen, 12345);
	it_log("bogus consumer token: flowing again after %d send(s)",
	       flows_again(&p, "bogus consumer token"));

	/* a's slot owner: garbage, cleared, another live peer's id. */
	sl = slot_line(&p.w, p.sa);
	token = shm_load_acquire(&sl->owner);
	shm_store_release(&sl->owner, UINT64_C(0xdeadbeefcafef00d));
	both_ways(&p, "owner garbage");
	IT_CHECK(shm_load_acquire(&sl->owner) == token,
		 "a's token not restored");
	shm_store_release(&sl->owner, 0);
	both_ways(&p, "owner cleared");
	shm_store_release(&sl->owner, (token & ~UINT64_C(0xffffffff)) |
			  (uint64_t)(it_id(p.b) + 1));
	both_ways(&p, "owner names b");
	IT_CHECK(shm_load_acquire(&sl->owner) == token,
		 "a's token not restored");
	shm_store32_relaxed(&slot_line(&p.w, p.sb)->sleeping, 0xffffffffu);
	shm_store32_relaxed(&slot_line(&p.w, p.sa)->wants_ack, 0xffffffffu);
	shm_fence(); /* as strong as the seq_cst stores these were */
	both_ways(&p, "flags");

	ipm_close(p.a);
	ipm_close(p.b);
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
	it_log("precise scribbles: dropped, skipped or recovered as they "
	       "should");
}

/* Part 2: scribbling while traffic flows. */

enum { CMD_PHASE2 = 1, CMD_STOP };

struct stats {
	uint64_t sent, send_err, busy_skip, intact, corrupt, stale, lost;
	uint64_t p2_sent, p2_got, p2_last, p2_run, foreign, last_sent;
	uint64_t blocking_ok, blocking_err;
	uint64_t want_last; /* the peer's last number */
	struct ipm_stats ipm; /* what the library counted */
	long long max_op_ms;
	int first_err;
};

/* Numbers A and B sent with wait = 1 and got 0 for, and all they got,
 * as bitmaps in memory shared with the parent, which compares them. */
#define SEQ_BITS (1u << 20)

static void bit_set(uint8_t *map, uint64_t n)
{
	IT_CHECK(n < SEQ_BITS, "message #%llu: more than the bitmap holds",
		 (unsigned long long)n);
	map[n / 8] |= (uint8_t)(1u << (n % 8));
}

static int bit_get(const uint8_t *map, uint64_t n)
{
	return n < SEQ_BITS && (map[n / 8] >> (n % 8) & 1);
}

struct peer {
	int up[2], down[2];
	int strict;       /* C and D: everything must arrive intact */
	int peer;         /* the other end's id */
	int me;
	struct stats st;
	uint8_t *buf, *tx; /* received copies; what we send */
	size_t max;
	uint64_t next;    /* the sequence expected from the peer */
	uint8_t *acked, *got; /* shared bitmaps (A and B) */
	int blocking;     /* A: some sends with wait = 1 */
};

static void peer_cb(struct ipm *ipm, void *user, uint32_t id,
		    const volatile void *data, size_t size)
{
	struct peer *p = user;
	struct stats *st = &p->st;
	uint64_t seq = p->next;

	(void)ipm;
	if ((int)id != p->peer || size > p->max) {
		st->foreign++;
		IT_CHECK(!p->strict, "message from %u (%zu bytes), only %d "
			 "sends to us", id, size, p->peer);
		return;
	}
	memcpy(p->buf, (const void *)data, size);
	/* One numbering across both phases; phase 2 has its own stream. */
	for (int phase = 1; phase <= 2; phase++) {
		uint32_t stream = it_stream(p->peer, p->me) |
				  (phase == 2 ? P2_STREAM : 0);

		seq = p->next;
		if (size < IT_MSG_HDR ||
		    it_msg_check(p->buf, size, stream, &seq) != IT_MSG_OK)
			continue;
		IT_CHECK(!p->strict || seq == p->next, "from %d: #%llu, "
			 "expected #%llu", p->peer, (unsigned long long)seq,
			 (unsigned long long)p->next);
		if (seq < p->next) {
			st->stale++; /* duplicated, reordered or replayed */
			return;
		}
		st->lost += seq - p->next;
		p->next = seq + 1;
		st->intact++;
		if (p->got)
			bit_set(p->got, seq);
		if (phase == 2) {
			/* The last run without a gap counts. */
			st->p2_run = seq == st->p2_last + 1 ? st->p2_run + 1 :
							      1;
			st->p2_last = seq;
			st->p2_got++;
		}
		return;
	}
	IT_CHECK(!p->strict, "from %d: a corrupt message (%zu bytes)",
		 p->peer, size);
	st->corrupt++;
}

/* Every call is timed: none may hang. */
#define TIMED(p, call) ({                                                 \
	long long t0_ = tu_now_ns();                                       \
	int rc_ = (call);                                                  \
	long long ms_ = (tu_now_ns() - t0_) / 1000000;                     \
	if (ms_ > (p)->st.max_op_ms)                                       \
		(p)->st.max_op_ms = ms_;                                   \
	rc_;                                                               \
})

/*
 * One message; the strict pairs retry -EBUSY for as long as it takes. A
 * sends one in 8 with wait = 1 (only A: two peers blocked on each other
 * would each wait out the other's timeout). 1 when it was sent (the number is
 * used), 0 when not (it goes to the next message, as the library's own
 * numbers do after a withdrawn send).
 */
static int send_one(struct peer *p, struct ipm *ipm, uint64_t *rng,
		    uint32_t stream, uint64_t seq)
{
	size_t size = IT_MSG_HDR + it_rand(rng) % (MAX_MSG - IT_MSG_HDR);
	long long give_up = tu_now_ns() + (p->strict ? 20000 : 200) *
					   1000000LL;
	int wait = p->acked && p->blocking && it_rand(rng) % 8 == 0, rc;

	it_msg_make(p->tx, size, stream, seq);
	while ((rc = TIMED(p, ipm_send(ipm, wait, (uint32_t)p->peer, p->tx,
				       size))) == -EBUSY) {
		IT_CHECK(TIMED(p, ipm_poll(ipm, 1)) >= 0, "ipm_poll");
		if (tu_now_ns() > give_up) {
			IT_CHECK(!p->strict, "-EBUSY for 20 s");
			p->st.busy_skip++;
			return 0;
		}
	}
	if (wait && rc == 0) {
		p->st.blocking_ok++;
		bit_set(p->acked, seq);
	} else if (wait) {
		p->st.blocking_err++;
	}
	if (rc < 0) {
		if (p->strict) {
			struct where w;
			const struct ivshm_transport *t = ipm_transport(ipm);

			where_init(&w, t->mem, t->size, 4);
			for (unsigned i = 0; i < 4; i++)
				it_log("slot %u owner %llx", i,
				       (unsigned long long)shm_load_acquire(
					       &slot_line(&w, i)->owner));
		}
		IT_CHECK(!p->strict, "send to %d: %s", p->peer, strerror(-rc));
		if (!p->st.first_err)
			p->st.first_err = rc;
		p->st.send_err++;
		/* -ENOTCONN/-ETIMEDOUT can repeat: do not spin on them. */
		TIMED(p, ipm_poll(ipm, 1));
		return 0;
	}
	p->st.sent++;
	p->st.last_sent = seq;
	return 1;
}

static int peer_main(void *arg)
{
	struct peer *p = arg;
	struct ipm_config cfg = {
		.mode = IPM_MODE_MAILBOX, .slots = 4, .send_timeout_ms = 1000,
	};
	struct ipm *ipm = it_open(srv.socket_path, &cfg);
	uint64_t rng = (uint64_t)getpid() * 0x2545f491ULL, seq = 0;
	int phase = 1, cmd, rc;
	long long deadline;

	alarm(100); /* a hang kills us, and the test sees the signal */
	p->me = it_id(ipm);
	p->max = (size_t)ipm_max_data_size_get(ipm);
	p->buf = malloc(p->max);
	p->tx = malloc(MAX_MSG);
	IT_CHECK(p->buf && p->tx, "malloc");
	ipm_register_callback(ipm, peer_cb, p);
	it_put_int(p->up[1], p->me);
	p->peer = it_get_int(p->down[0], 10000);
	for (;;) {
		if (it_get(p->down[0], &cmd, sizeof(cmd), 0) == 1) {
			if (cmd == CMD_STOP)
				break;
			IT_CHECK(cmd == CMD_PHASE2, "command %d", cmd);
			phase = 2;
		}
		if (phase == 1) {
			seq += (uint64_t)send_one(p, ipm, &rng,
				 it_stream(p->me, p->peer), seq);
		} else if (p->st.p2_sent < P2_MSGS) {
			int sent = send_one(p, ipm, &rng,
					    it_stream(p->me, p->peer) |
					    P2_STREAM, seq);

			seq += (uint64_t)sent;
			p->st.p2_sent += (uint64_t)sent;
		} else {
			TIMED(p, ipm_poll(ipm, 5));
		}
		rc = TIMED(p, ipm_process(ipm));
		IT_CHECK(rc >= 0 || !p->strict, "ipm_process: %s",
			 strerror(-rc));
		usleep(50);
	}
	/* Tell what we sent, hear what the other sent, take all of it. */
	it_put(p->up[1], &p->st.sent, sizeof(p->st.sent));
	it_put(p->up[1], &p->st.last_sent, sizeof(p->st.last_sent));
	{
		uint64_t want, last;

		IT_CHECK(it_get(p->down[0], &want, sizeof(want), 10000) == 1 &&
			 it_get(p->down[0], &last, sizeof(last), 10000) == 1,
			 "no count");
		p->st.want_last = last;
		deadline = tu_now_ns() + 10000000000LL;
		while (p->strict ? p->st.intact < want :
				   p->st.p2_last < last) {
			rc = TIMED(p, ipm_poll(ipm, 50));
			IT_CHECK(rc >= 0 || !p->strict, "ipm_poll: %s",
				 strerror(-rc));
			if (tu_now_ns() > deadline)
				break;
		}
		if (p->strict && p->st.intact < want) {
			struct where w;
			const struct ivshm_transport *t = ipm_transport(ipm);
			struct ipmc_qctl *q;
			unsigned sp, sm;

			where_init(&w, t->mem, t->size, 4);
			sp = slot_of(&w, p->peer);
			sm = slot_of(&w, p->me);
			q = ctl_of(&w, sp, sm);
			it_log("slots %u -> %u: head %llu tail %llu", sp, sm,
			       (unsigned long long)shm_load_acquire(&q->head),
			       (unsigned long long)shm_load_acquire(&q->tail));
			for (unsigned i = 0; i < 4; i++)
				it_log("slot %u owner %llx", i,
				       (unsigned long long)shm_load_acquire(
					       &slot_line(&w, i)->owner));
		}
		IT_CHECK(!p->strict || p->st.intact == want, "%llu of %llu "
			 "arrived", (unsigned long long)p->st.intact,
			 (unsigned long long)want);
	}
	ipm_stats(ipm, &p->st.ipm);
	it_put(p->up[1], &p->st, sizeof(p->st));
	/* Leaving drops what we queued and the other has not taken yet. */
	while (it_get(p->down[0], &cmd, sizeof(cmd), 0) == 0)
		TIMED(p, ipm_poll(ipm, 20));
	ipm_close(ipm);
	free(p->buf);
	free(p->tx);
	return 0;
}

struct scribbler {
	int up[2];
	int a, b;
	int whole;
};

static void scribble(uint8_t *at, uint64_t *rng, size_t len)
{
	uint64_t v = it_rand(rng);

	/* volatile: these bytes are others' business, write them now */
	for (size_t i = 0; i < len; i++)
		((volatile uint8_t *)at)[i] = (uint8_t)(v >> (8 * (i % 8)));
}

/* A believable lie: an aligned field moved by a few lines, or zeroed. */
static void nudge(uint8_t *line, uint64_t *rng)
{
	volatile uint64_t *f = (volatile uint64_t *)line +
			       it_rand(rng) % (IPMC_LINE / 8);
	int64_t k = (int64_t)(it_rand(rng) % 9) - 4;

	*f = it_rand(rng) % 8 ? *f + (uint64_t)(k * IPMC_LINE) : 0;
}

/* A stamp a few lines past the consumer, in any state (plausible). */
static void plausible_stamp(uint8_t *data, uint64_t tail, uint64_t cap,
			    uint64_t *rng)
{
	uint64_t at = (tail + it_rand(rng) % 16 * IPMC_LINE) % cap;
	uint64_t end = tail + (1 + it_rand(rng) % 16) * IPMC_LINE;

	shm_store_release(data + at, end | (1 + it_rand(rng) % 3));
}

/* Real tokens where tokens go: record headers, slot owners, acks. */
static void plausible_token(const struct where *w, unsigned from,
			    unsigned to, uint64_t *rng)
{
	uint64_t tok[2] = {
		shm_load_acquire(&slot_line(w, from)->owner),
		shm_load_acquire(&slot_line(w, to)->owner),
	};
	struct ipmc_qctl *ctl = ctl_of(w, from, to);
	uint64_t cap = w->g.queue_cap;
	uint64_t at = (shm_load_acquire(&ctl->tail) + it_rand(rng) % 16 *
		       IPMC_LINE) % cap;
	struct ipmc_rec *r = (struct ipmc_rec *)(data_of(w, from, to) + at);
	uint64_t v = tok[it_rand(rng) & 1];

	switch (it_rand(rng) % 5) {
	case 0:
		((volatile struct ipmc_rec *)r)->src = v;
		break;
	case 1:
		((volatile struct ipmc_rec *)r)->dst = v;
		break;
	case 2:
		shm_store_release(&slot_line(w, it_rand(rng) & 1 ? from :
						    to)->owner, v);
		break;
	case 3:
		/* An ack, or a claim, for a number near the last one. */
		shm_store_release(it_rand(rng) & 1 ? &ctl->ack : &ctl->claim,
				  shm_load_acquire(&ctl->ack) +
				  it_rand(rng) % 3 - 1);
		break;
	default:
		((volatile struct ipmc_rec *)r)->seq -= it_rand(rng) % 3;
		break;
	}
}

/*
 * An old record (from behind the consumer) copied to where the next ones
 * go: as it was, or with a stamp fitted to its new place.
 */
static void replay_old(const struct where *w, unsigned from, unsigned to,
		       uint64_t *rng)
{
	struct ipmc_qctl *ctl = ctl_of(w, from, to);
	uint8_t *data = data_of(w, from, to), rec[1024];
	uint64_t cap = w->g.queue_cap, t = shm_load_acquire(&ctl->tail);
	uint64_t old = t - (1 + it_rand(rng) % 64) * IPMC_LINE; /* a start */
	uint64_t now = t + it_rand(rng) % 4 * IPMC_LINE;
	uint64_t src = old % cap, dst = now % cap;
	size_t len = sizeof(rec);

	if (t % IPMC_LINE || src + len > cap || dst + len > cap)
		return;
	for (size_t i = 0; i < len; i++)
		rec[i] = ((volatile uint8_t *)data)[src + i];
	if (it_rand(rng) & 1) {
		uint64_t end;

		/* Its size kept, its stamp moved to the new place. */
		memcpy(&end, rec, sizeof(end));
		end = (now + ((end & ~(uint64_t)(IPMC_LINE - 1)) - old)) |
		      IPMC_ST_PUBLISHED;
		memcpy(rec, &end, sizeof(end));
	}
	for (size_t i = len; i-- > 0;)
		((volatile uint8_t *)data)[dst + i] = rec[i];
}

static int scribbler_main(void *arg)
{
	struct scribbler *s = arg;
	struct ivshmem *iv;
	struct where w;
	uint64_t rng = (uint64_t)tu_now_ns(), writes = 0;
	long long end;
	unsigned sa, sb;
	int rc = ivshmem_connect(&iv, srv.socket_path, 1, 5000);

	IT_CHECK(rc == 0, "scribbler connect: %s", strerror(-rc));
	it_log("scribbler seed %llu", (unsigned long long)rng);
	where_init(&w, ivshmem_mem(iv), ivshmem_size(iv), 4);
	if (s->whole) {
		/* Everything, header included, once. */
		for (size_t off = 0; off + 8 <= w.g.region_size; off += 8)
			scribble(w.base + off, &rng, 8);
		writes = w.g.region_size / 8;
		goto out;
	}
	sa = slot_of(&w, s->a);
	sb = slot_of(&w, s->b);
	it_put_int(s->up[1], 1);
	end = tu_now_ns() + SCRIBBLE_MS * 1000000LL;
	while (tu_now_ns() < end) {
		for (int i = 0; i < 32; i++, writes++) {
			unsigned r = (unsigned)(it_rand(&rng) % 130);
			int ab = (int)(it_rand(&rng) & 1);
			unsigned from = ab ? sa : sb, to = ab ? sb : sa;
			uint8_t *data = data_of(&w, from, to), *lo;
			uint64_t cap = w.g.queue_cap, off, len;

			if (r >= 100) {
				if (r < 110)
					plausible_stamp(data, shm_load_acquire(
						&ctl_of(&w, from, to)->tail),
						cap, &rng);
				else if (r < 120)
					plausible_token(&w, from, to, &rng);
				else
					replay_old(&w, from, to, &rng);
				continue;
			}
			/* [lo, lo + len): one line, or the ring's data */
			if (r < 10) {
				lo = w.base;
				len = IPMC_LINE;
			} else if (r < 35) {
				lo = (uint8_t *)slot_line(&w, from);
				len = IPMC_LINE;
				if (r < 20) {
					nudge(lo, &rng);
					continue;
				}
			} else if (r < 65) {
				lo = (uint8_t *)ctl_of(&w, from, to) +
				     IPMC_LINE * (r & 1);
				len = IPMC_LINE;
				if (r < 50) {
					nudge(lo, &rng);
					continue;
				}
			} else if (r < 85) {
				/* Record headers near the consumer. */
				off = shm_load_acquire(
					&ctl_of(&w, from, to)->tail);
				off = (off + it_rand(&rng) % 64 * IPMC_LINE) %
				      cap;
				lo = data + off;
				len = IPMC_REC_HDR;
			} else {
				lo = data;
				len = cap;
			}
			off = it_rand(&rng) % len;
			scribble(lo + off, &rng, 1 + it_rand(&rng) %
				 (len - off < 8 ? len - off : 8));
		}
		usleep(1000);
	}
out:
	it_put_int(s->up[1], (int)writes);
	ivshmem_close(iv);
	return 0;
}

static void traffic(int whole)
{
	int n = whole ? 2 : 4, ids[4];
	struct peer p[4];
	struct scribbler s = { .whole = whole };
	struct stats st[4];
	pid_t pid[4], ps;
	int writes;

	it_server(&srv, NULL, 1);
	memset(p, 0, sizeof(p));
	for (int k = 0; k < n; k++) {
		p[k].strict = k >= 2;
		if (k < 2) {
			uint8_t *m = mmap(NULL, 2 * SEQ_BITS / 8,
					  PROT_READ | PROT_WRITE,
					  MAP_SHARED | MAP_ANONYMOUS, -1, 0);

			IT_CHECK(m != MAP_FAILED, "mmap");
			p[k].acked = m;
			p[k].blocking = k == 0;
			p[k].got = m + SEQ_BITS / 8;
		}
		IT_CHECK(pipe(p[k].up) == 0 && pipe(p[k].down) == 0, "pipe");
		pid[k] = it_fork(peer_main, &p[k]);
		close(p[k].up[1]);
		close(p[k].down[0]);
		ids[k] = it_get_int(p[k].up[0], 10000);
	}
	/* A <-> B, C <-> D */
	for (int k = 0; k < n; k++)
		it_put_int(p[k].down[1], ids[k ^ 1]);
	usleep(300000);

	s.a = ids[0];
	s.b = ids[1];
	IT_CHECK(pipe(s.up) == 0, "pipe");
	ps = it_fork(scribbler_main, &s);
	close(s.up[1]);
	if (!whole)
		it_get_int(s.up[0], 10000);
	writes = it_get_int(s.up[0], SCRIBBLE_MS + 10000);
	IT_CHECK(it_wait(ps, 10000) == 0, "scribbler");
	close(s.up[0]);
	it_log("scribbler: %d writes over %s", writes,
	       whole ? "the whole region" :
		       "A<->B's queues and slots and the header");
	if (whole) {
		struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX };
		struct ipm *late;
		int rc;

		usleep(500000);
		rc = it_try_open(&late, srv.socket_path, &cfg);
		IT_CHECK(rc < 0, "a newcomer joined a garbage mailbox");
		it_log("a newcomer is refused: %s", strerror(-rc));
	}

	/* The scribbler is gone: A <-> B must get going again. */
	usleep(300000);
	for (int k = 0; k < 2; k++)
		it_put_int(p[k].down[1], CMD_PHASE2);
	usleep(whole ? 2500000 : 1500000);
	for (int k = 0; k < n; k++)
		it_put_int(p[k].down[1], CMD_STOP);
	for (int k = 0; k < n; k++) {
		uint64_t sent, last;

		IT_CHECK(it_get(p[k].up[0], &sent, sizeof(sent), 20000) == 1 &&
			 it_get(p[k].up[0], &last, sizeof(last), 1000) == 1,
			 "peer %d did not stop (exit %d)", k, it_wait(pid[k],
								      1));
		it_put(p[k ^ 1].down[1], &sent, sizeof(sent));
		it_put(p[k ^ 1].down[1], &last, sizeof(last));
	}
	for (int k = 0; k < n; k++) {
		IT_CHECK(it_get(p[k].up[0], &st[k], sizeof(st[k]), 20000) ==
			 1, "peer %d died (exit %d)", k, it_wait(pid[k], 1));
	}
	for (int k = 0; k < n; k++)
		it_put_int(p[k].down[1], CMD_STOP);
	for (int k = 0; k < n; k++) {
		IT_CHECK(it_wait(pid[k], 10000) == 0, "peer %d", k);
		it_log("%c (%d): sent %llu, %llu send errors (first %d), %llu "
		       "given up on -EBUSY; received %llu intact, %llu "
		       "corrupt, %llu stale, %llu lost, %llu foreign; after: "
		       "%llu of %d sent, got %llu (last %llu in a row); "
		       "slowest call %lld ms", 'A' + k, ids[k],
		       (unsigned long long)st[k].sent,
		       (unsigned long long)st[k].send_err, st[k].first_err,
		       (unsigned long long)st[k].busy_skip,
		       (unsigned long long)st[k].intact,
		       (unsigned long long)st[k].corrupt,
		       (unsigned long long)st[k].stale,
		       (unsigned long long)st[k].lost,
		       (unsigned long long)st[k].foreign,
		       (unsigned long long)st[k].p2_sent, P2_MSGS,
		       (unsigned long long)st[k].p2_got,
		       (unsigned long long)st[k].p2_run, st[k].max_op_ms);
		it_log("%c: ipm_stats: delivered %llu, lost %llu, corrupt "
		       "%llu, replayed %llu, withdrawn %llu, foreign %llu, "
		       "dropped %llu; blocking sends: %llu returned 0, %llu "
		       "an error (%llu withdrawn)", 'A' + k,
		       (unsigned long long)st[k].ipm.delivered,
		       (unsigned long long)st[k].ipm.lost,
		       (unsigned long long)st[k].ipm.corrupt,
		       (unsigned long long)st[k].ipm.replayed,
		       (unsigned long long)st[k].ipm.withdrawn,
		       (unsigned long long)st[k].ipm.foreign,
		       (unsigned long long)st[k].ipm.dropped,
		       (unsigned long long)st[k].blocking_ok,
		       (unsigned long long)st[k].blocking_err,
		       (unsigned long long)st[k].ipm.send_withdrawn);
		IT_CHECK(st[k].max_op_ms < 5000, "a call took %lld ms",
			 st[k].max_op_ms);
	}
	/*
	 * Integrity (issue 12, item 11): nothing corrupted, duplicated,
	 * reordered or replayed delivered; the losses counted exactly as
	 * the library counted them; every blocking send that returned 0
	 * delivered. ipm_garbage writes over everything at once, the
	 * library's counters included.
	 */
	for (int k = 0; k < 2 && !whole; k++) {
		uint64_t missing = 0;

		IT_CHECK(st[k].corrupt == 0 && st[k].stale == 0 &&
			 st[k].foreign == 0, "%c: %llu corrupt, %llu "
			 "duplicated/reordered/replayed, %llu foreign "
			 "delivered", 'A' + k,
			 (unsigned long long)st[k].corrupt,
			 (unsigned long long)st[k].stale,
			 (unsigned long long)st[k].foreign);
		IT_CHECK(st[k].lost == st[k].ipm.lost, "%c: %llu lost by the "
			 "payloads' numbers, ipm_stats says %llu", 'A' + k,
			 (unsigned long long)st[k].lost,
			 (unsigned long long)st[k].ipm.lost);
		IT_CHECK(st[k].intact == st[k].ipm.delivered, "%c: %llu "
			 "received, ipm_stats says %llu delivered", 'A' + k,
			 (unsigned long long)st[k].intact,
			 (unsigned long long)st[k].ipm.delivered);
		for (uint64_t q = 0; q < SEQ_BITS; q++)
			if (bit_get(p[k].acked, q) && !bit_get(p[k ^ 1].got, q))
				missing++;
		IT_CHECK(missing == 0, "%c: %llu blocking sends returned 0 "
			 "and were never delivered", 'A' + k,
			 (unsigned long long)missing);
	}
	for (int k = 0; k < 2; k++)
		munmap(p[k].acked, 2 * SEQ_BITS / 8);
	for (int k = 2; k < n; k++)
		IT_CHECK(st[k].corrupt == 0 && st[k].lost == 0 &&
			 st[k].stale == 0 && st[k].intact > 1000, "C<->D");
	if (!whole)
		for (int k = 0; k < 2; k++)
			IT_CHECK(st[k].p2_got > 0 &&
				 st[k].p2_last == st[k].want_last &&
				 st[k].p2_run >= P2_TAIL, "%c: A<->B did not "
				 "recover", 'A' + k);
	for (int k = 0; k < n; k++) {
		close(p[k].up[0]);
		close(p[k].down[1]);
	}
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
}

int main(void)
{
	it_init();
#ifdef IPM_GARBAGE_ALL
	(void)precise; /* ipm_scribble's */
	traffic(1);
#else
	precise();
	traffic(0);
#endif
	return 0;
}
