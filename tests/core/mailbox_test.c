/* SPDX-License-Identifier: MIT */
/*
 * The core's mailbox (src/core/ipmc.h) in one process, no server: several
 * struct ipmc on one private region, their ops filled by the test (a
 * doorbell that raises a flag, a clock the test moves, presence from a
 * table, a wait that lets the other peers run). Covers laying out and
 * adopting (and refusing) a header, slots running out, the default slot
 * count (item 9), sends and loans both ways, a blocking send acked, a
 * blocking send withdrawn at its deadline (never delivered after), the
 * receiver gone (presence, goodbye, stopped heartbeat), sleeping and
 * doorbells, the counters each peer publishes in its slot line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_errno.h"
#include "ipmc.h"
#include "sum.h"

#include "testutil.h"

#define NPEER  5
#define REGION (256 * 1024)

struct world;

struct peer {
	struct world *w;
	int id;
	struct ipmc mb;
	struct ipmc_ops ops;
	int rung;          /* our vector 0 was rung */
	int nudged;        /* ... nudged */
	unsigned how;      /* what our sleep_how op says (0: no such op) */
	int open;
	/* While we wait: deliver and complete for this peer (-1: none);
	 * hold: only take (claim) the message, never complete it. */
	int serve, hold;
	uint8_t copy[REGION];
};

struct world {
	uint8_t *mem;
	long long now;
	int live[NPEER];       /* 1 live, 0 gone; -1: no presence */
	struct peer p[NPEER];
};

static int w_ring(void *ctx, int peer, unsigned vector)
{
	struct peer *me = ctx;

	CHECK(vector == 0 && peer >= 0 && peer < NPEER, "ring %d", peer);
	me->w->p[peer].rung = 1;
	return 0;
}

static int w_nudge(void *ctx, int peer, unsigned vector)
{
	struct peer *me = ctx;

	CHECK(vector == 0 && peer >= 0 && peer < NPEER, "nudge %d", peer);
	me->w->p[peer].nudged = 1;
	return 0;
}

static unsigned w_how(void *ctx)
{
	return ((struct peer *)ctx)->how;
}

static long long w_now(void *ctx)
{
	return ((struct peer *)ctx)->w->now;
}

static int w_live(void *ctx, int peer)
{
	struct world *w = ((struct peer *)ctx)->w;

	if (peer < 0 || peer >= NPEER)
		return 0;
	return w->live[peer] < 0 ? -ENOTSUP : w->live[peer];
}

static int deliver(struct peer *p, int max);

/* Time passes; the peer we serve runs meanwhile. */
static int w_wait(void *ctx, int ms)
{
	struct peer *me = ctx;

	me->rung = 0;
	me->nudged = 0;
	if (me->serve >= 0 && me->hold) {
		struct peer *r = &me->w->p[me->serve];
		struct ipmc_msg m;

		ipmc_next(&r->mb, r->copy, &m);
	} else if (me->serve >= 0) {
		deliver(&me->w->p[me->serve], 100);
	}
	if (!me->rung && !me->nudged)
		me->w->now += ms;
	return 0;
}

/* What peer p received, by sender: the last payload number. */
static uint32_t last_from[NPEER][NPEER];
static unsigned count_from[NPEER][NPEER];

/* Take up to max messages for p, checking their order and bytes. */
static int deliver(struct peer *p, int max)
{
	struct ipmc_msg m;
	int n = 0;

	while (n < max && ipmc_next(&p->mb, p->copy, &m) == 1) {
		int src = ipmc_token_id(m.src);
		uint32_t k = 0;

		CHECK(src >= 0 && src < NPEER, "src %d", src);
		if (m.len >= 4)
			memcpy(&k, m.data, 4);
		for (uint32_t i = 4; i < m.len; i++)
			CHECK(((const uint8_t *)m.data)[i] == (uint8_t)(k + i),
			      "payload of %u from %d", k, src);
		/* Shorter ones carry no number. */
		CHECK(m.len < 4 || k > last_from[p->id][src],
		      "order from %d: %u after %u", src, k,
		      last_from[p->id][src]);
		if (m.len >= 4)
			last_from[p->id][src] = k;
		count_from[p->id][src]++;
		ipmc_complete(&p->mb);
		n++;
	}
	return n;
}

static void payload(uint8_t *b, uint32_t len, uint32_t k)
{
	for (uint32_t i = 4; i < len; i++)
		b[i] = (uint8_t)(k + i);
	if (len >= 4)
		memcpy(b, &k, 4);
}

static void w_init(struct world *w, int presence)
{
	memset(w, 0, sizeof(*w));
	memset(last_from, 0, sizeof(last_from));
	memset(count_from, 0, sizeof(count_from));
	w->mem = aligned_alloc(4096, REGION);
	CHECK(w->mem, "alloc");
	memset(w->mem, 0, REGION);
	w->now = 1000;
	for (int i = 0; i < NPEER; i++) {
		struct peer *p = &w->p[i];

		w->live[i] = presence ? 0 : -1;
		p->w = w;
		p->id = i;
		p->serve = -1;
		p->ops = (struct ipmc_ops){ .ctx = p, .ring = w_ring,
					    .now_ms = w_now,
					    .peer_live = w_live,
					    .wait = w_wait,
					    .nudge = w_nudge };
	}
}

static int w_open(struct world *w, int i, unsigned slots, int unchecked,
		  int timeout)
{
	struct ipmc_config cfg = { .slots = slots, .unchecked = unchecked,
				   .send_timeout_ms = timeout,
				   .nonce = 0x1000u + (uint32_t)i * 77 +
					    (uint32_t)w->now };
	int rc = ipmc_open(&w->p[i].mb, w->mem, REGION, i, &cfg, &w->p[i].ops);

	if (rc == 0) {
		w->p[i].open = 1;
		if (w->live[i] >= 0)
			w->live[i] = 1;
	}
	return rc;
}

static void w_free(struct world *w)
{
	free(w->mem);
}

static void test_header(void)
{
	static struct world w;
	uint8_t save[64];

	w_init(&w, 1);
	CHECK(w_open(&w, 0, 3, 0, 0) == 0, "lay out");
	CHECK(w.p[0].mb.g.slots == 3, "3 slots");
	/* Another integrity setting: refused. */
	CHECK(w_open(&w, 1, 0, 1, 0) == -EPROTO, "unchecked vs checked");
	/* The header as written: adopted, whatever slots we asked for. */
	CHECK(w_open(&w, 1, 2, 0, 0) == 0 && w.p[1].mb.g.slots == 3, "adopt");
	CHECK(w_open(&w, 2, 0, 0, 0) == 0, "third");
	CHECK(w_open(&w, 3, 0, 0, 0) == -ENOSPC, "slots run out");
	/* A header that is not what its slots say, another version,
	 * something else in the region. */
	memcpy(save, w.mem, 64);
	w.mem[40] ^= 0x40; /* queue_stride */
	CHECK(w_open(&w, 3, 0, 0, 0) == -EPROTO, "bad stride");
	memcpy(w.mem, save, 64);
	w.mem[16] = 2;  /* version */
	CHECK(w_open(&w, 3, 0, 0, 0) == -EPROTONOSUPPORT, "version 2");
	memcpy(w.mem, save, 64);
	w.mem[0] ^= 1;  /* magic */
	CHECK(w_open(&w, 3, 0, 0, 0) == -EPROTO, "not ours");
	memcpy(w.mem, save, 64);
	/* A peer that left frees its slot: a newcomer takes it. */
	ipmc_close(&w.p[2].mb);
	w.live[2] = 0;
	CHECK(w_open(&w, 3, 0, 0, 0) == 0, "reclaimed");
	w_free(&w);
}

static void test_default_slots(void)
{
	struct ipmc_geometry g;
	uint64_t sizes[] = { 64 * 1024, 1 << 20, 4 << 20, 16 << 20,
			     64ull << 20, 1ull << 30 };

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int n = ipmc_default_slots(sizes[i]);

		CHECK(n >= 2 && n <= 64, "default slots %d", n);
		CHECK(ipmc_geometry(&g, sizes[i], (unsigned)n) == 0, "fits");
		/* Useful queues, and one more slot would make them not. */
		CHECK(n == 2 || g.queue_cap >= IPMC_USEFUL_CAP, "useful");
		if (n < 64 && ipmc_geometry(&g, sizes[i], (unsigned)n + 1) == 0)
			CHECK(g.queue_cap < IPMC_USEFUL_CAP, "the most");
		printf("default slots for %llu bytes: %d\n",
		       (unsigned long long)sizes[i], n);
	}
	CHECK(ipmc_default_slots(4 << 20) == 4, "4 MiB: 4 peers");
	CHECK(ipmc_default_slots(8192) == -ENOSPC, "too small");
}

static int send_k(struct world *w, int from, int to, uint32_t len,
		  uint32_t k, int wait)
{
	uint8_t buf[4096];

	payload(buf, len, k);
	return ipmc_send(&w->p[from].mb, to, buf, len, wait);
}

static void test_traffic(int unchecked)
{
	static struct world w;
	struct ipmc_loan l;
	uint32_t k = 1;

	w_init(&w, 1);
	for (int i = 0; i < 4; i++)
		CHECK(w_open(&w, i, 4, unchecked, 0) == 0, "open %d", i);
	/* All to all, copied and loaned, until each queue wrapped. */
	for (int round = 0; round < 300; round++) {
		for (int a = 0; a < 4; a++)
			for (int b = 0; b < 4; b++) {
				uint32_t len = (uint32_t)(round * 13 + a) % 3000;
				int rc;

				if (a == b)
					continue;
				if (round % 2) {
					rc = send_k(&w, a, b, len, k, 0);
				} else {
					rc = ipmc_loan(&w.p[a].mb, b, len, 0, &l);
					if (rc == 0) {
						payload(l.data, len, k);
						rc = ipmc_loan_commit(&w.p[a].mb,
								      &l);
					}
				}
				CHECK(rc == 0 || rc == -EBUSY, "send: %d", rc);
				k++;
			}
		for (int i = 0; i < 4; i++)
			deliver(&w.p[i], 1000);
	}
	for (int a = 0; a < 4; a++) {
		struct ipmc_stats *st = &w.p[a].mb.stats;

		CHECK(!st->corrupt && !st->replayed && !st->foreign &&
		      !st->dropped && !st->lost, "peer %d refused some", a);
		for (int b = 0; b < 4; b++)
			CHECK(a == b || count_from[a][b] > 100, "%d from %d: %u",
			      a, b, count_from[a][b]);
	}
	/* Unknown peer, too big. */
	CHECK(send_k(&w, 0, 4, 10, k, 0) == -ENOTCONN, "no such peer");
	CHECK(ipmc_send(&w.p[0].mb, 1, w.mem, ipmc_max_size(&w.p[0].mb) + 1,
			0) == -EMSGSIZE, "too big");
	w_free(&w);
}

static void test_blocking(void)
{
	static struct world w;
	struct ipmc_loan l;

	w_init(&w, 1);
	CHECK(w_open(&w, 0, 2, 0, 500) == 0 && w_open(&w, 1, 2, 0, 500) == 0,
	      "open");
	/* Acked: the receiver runs while we wait, and rings us. */
	w.p[0].serve = 1;
	CHECK(send_k(&w, 0, 1, 100, 1, 1) == 0, "acked");
	CHECK(count_from[1][0] == 1 && w.p[0].rung, "delivered, rung");
	CHECK(ipmc_loan(&w.p[0].mb, 1, 2000, 1, &l) == 0, "loan");
	payload(l.data, 2000, 2);
	CHECK(ipmc_loan_commit(&w.p[0].mb, &l) == 0 && count_from[1][0] == 2,
	      "loan acked");
	/* Nobody serves the receiver: -ETIMEDOUT, withdrawn, and it is
	 * never delivered afterwards. */
	w.p[0].serve = -1;
	long long t0 = w.now;
	CHECK(send_k(&w, 0, 1, 100, 3, 1) == -ETIMEDOUT, "timed out");
	CHECK(w.now - t0 >= 500, "waited its timeout");
	CHECK(w.p[0].mb.stats.send_withdrawn == 1, "counted");
	CHECK(deliver(&w.p[1], 10) == 0 && w.p[1].mb.stats.withdrawn == 1,
	      "never delivered");
	/* The next one takes its number: no gap at the receiver. */
	CHECK(send_k(&w, 0, 1, 100, 4, 0) == 0 && deliver(&w.p[1], 10) == 1 &&
	      w.p[1].mb.stats.lost == 0, "no gap");
	/* A full queue and nobody draining it: a blocking send gives up
	 * at its deadline without publishing (-ETIMEDOUT), a non-blocking
	 * one at once (-EBUSY). */
	uint32_t queued = 0;
	while (send_k(&w, 0, 1, 3000, 100 + queued, 0) == 0)
		queued++;
	t0 = w.now;
	CHECK(send_k(&w, 0, 1, 3000, 999, 0) == -EBUSY, "full: EBUSY");
	CHECK(send_k(&w, 0, 1, 3000, 999, 1) == -ETIMEDOUT &&
	      w.now - t0 >= 500, "full, blocking: ETIMEDOUT");
	CHECK(deliver(&w.p[1], 1000) == (int)queued &&
	      w.p[1].mb.stats.lost == 0, "what was queued, nothing more");
	/* Claimed by the deadline but not completed (the receiver holds
	 * it): delivered, so 0, and the stamp stays CLAIMED. */
	w.p[0].serve = 1;
	w.p[0].hold = 1;
	CHECK(send_k(&w, 0, 1, 10, 5, 1) == 0, "claimed: delivered");
	CHECK(w.p[1].mb.held && w.p[0].mb.stats.send_withdrawn == 1,
	      "held, not withdrawn");
	ipmc_complete(&w.p[1].mb);
	w_free(&w);
}

/*
 * A believable head forged a few lines ahead in the sender's control
 * line, and the receiver drops up to it while idle (the bare-metal
 * guest's case: host-to-guest blocking sends then timed out until the
 * peers restarted). A blocking send finds its record passed over,
 * withdraws it and publishes it again where the receiver is: 0, it was
 * delivered, once; the next ones go through too, and nothing is lost.
 */
static void test_forged_head(void)
{
	static struct world w;
	struct ipmc_qctl *q;

	for (unsigned lines = 1; lines <= 6; lines++) {
		for (uint32_t len = 10; len <= 1000; len *= 10) {
			uint32_t k = 1;

			w_init(&w, 1);
			CHECK(w_open(&w, 0, 2, 0, 500) == 0 &&
			      w_open(&w, 1, 2, 0, 500) == 0, "open");
			w.p[0].serve = 1;
			for (; k <= 3; k++)
				CHECK(send_k(&w, 0, 1, len, k, 1) == 0, "before");
			q = w.p[0].mb.peer[1].tx.ctl;
			q->head += 64 * lines;
			/* With its check: as a forger who computes it (the
			 * bare word is ignored), or as a forged stamp's index
			 * or WRAP sends the receiver past the sender. */
			q->head_check = ipmc_head_word(q->head,
						       w.p[1].mb.token,
						       w.p[0].mb.token,
						       w.p[0].mb.hw);
			/* The receiver wakes up and looks at the heads. */
			w.p[1].mb.heads_due = 1;
			CHECK(deliver(&w.p[1], 10) == 0, "nothing there");
			for (; k <= 10; k++) {
				long long t0 = w.now;

				CHECK(send_k(&w, 0, 1, len, k, 1) == 0,
				      "%u lines, %u bytes: send %u", lines, len,
				      k);
				CHECK(w.now - t0 < 500, "before the deadline");
			}
			CHECK(count_from[1][0] == 10 &&
			      last_from[1][0] == 10 &&
			      w.p[1].mb.stats.lost == 0 &&
			      w.p[0].mb.stats.send_withdrawn == 0,
			      "%u lines, %u bytes: %u delivered, %llu lost, "
			      "%llu withdrawn", lines, len, count_from[1][0],
			      (unsigned long long)w.p[1].mb.stats.lost,
			      (unsigned long long)
			      w.p[0].mb.stats.send_withdrawn);
			w_free(&w);
		}
	}
}

static void test_gone(void)
{
	static struct world w;

	/* Presence: the transport says it left. */
	w_init(&w, 1);
	CHECK(w_open(&w, 0, 3, 0, 300) == 0 && w_open(&w, 1, 3, 0, 300) == 0,
	      "open");
	CHECK(send_k(&w, 0, 1, 10, 1, 0) == 0, "there");
	w.live[1] = 0;
	ipmc_peer_left(&w.p[0].mb, 1);
	CHECK(send_k(&w, 0, 1, 10, 2, 0) == -ENOTCONN, "left: ENOTCONN");
	w_free(&w);

	/* No presence: a goodbye is gone at once; a stopped heartbeat
	 * after 5 s. */
	w_init(&w, 0);
	for (int i = 0; i < 3; i++)
		CHECK(w_open(&w, i, 3, 0, 300) == 0, "open %d", i);
	CHECK(send_k(&w, 0, 1, 10, 1, 0) == 0 && send_k(&w, 0, 2, 10, 1, 0) == 0,
	      "there");
	ipmc_close(&w.p[1].mb);
	CHECK(send_k(&w, 0, 1, 10, 2, 0) == -ENOTCONN, "goodbye");
	for (int i = 0; i < 30; i++) {
		w.now += 250;
		ipmc_tick(&w.p[0].mb); /* peer 2 stopped */
	}
	CHECK(send_k(&w, 0, 2, 10, 2, 0) == -ENOTCONN, "heartbeat stopped");
	int ids[8];
	CHECK(ipmc_peers(&w.p[0].mb, ids, 8) == 0, "nobody left");
	/* A live one that keeps ticking stays. */
	CHECK(w_open(&w, 3, 3, 0, 300) == 0, "newcomer");
	for (int i = 0; i < 30; i++) {
		w.now += 250;
		ipmc_tick(&w.p[0].mb);
		ipmc_tick(&w.p[3].mb);
	}
	CHECK(ipmc_peers(&w.p[0].mb, ids, 8) == 1 && ids[0] == 3, "peer 3");
	CHECK(send_k(&w, 0, 3, 10, 1, 0) == 0 && deliver(&w.p[3], 10) == 1,
	      "talks");
	w_free(&w);
}

static void test_sleep(void)
{
	static struct world w;

	w_init(&w, 1);
	CHECK(w_open(&w, 0, 2, 0, 0) == 0 && w_open(&w, 1, 2, 0, 0) == 0,
	      "open");
	/* Awake: no doorbell. Idle (flagged sleeping): rung. */
	CHECK(send_k(&w, 0, 1, 10, 1, 0) == 0 && !w.p[1].rung, "no ring");
	CHECK(ipmc_idle(&w.p[1].mb, 0) == 1, "idle sees it");
	ipmc_awake(&w.p[1].mb);
	CHECK(deliver(&w.p[1], 10) == 1, "delivered");
	CHECK(ipmc_idle(&w.p[1].mb, 0) == 0, "nothing more");
	CHECK(send_k(&w, 0, 1, 10, 2, 0) == 0 && w.p[1].rung, "rung");
	CHECK(ipmc_pending(&w.p[1].mb, 0) == 1, "pending");
	ipmc_awake(&w.p[1].mb);
	CHECK(deliver(&w.p[1], 10) == 1, "delivered");
	/* A sleeper that says a nudge wakes it is nudged, not rung; the
	 * same for a blocked sender woken by the ack. */
	w.p[1].ops.sleep_how = w_how;
	w.p[1].how = IPMC_SLEEP_NUDGE;
	w.p[1].rung = 0;
	CHECK(ipmc_idle(&w.p[1].mb, 0) == 0, "idle");
	CHECK(send_k(&w, 0, 1, 10, 3, 0) == 0 && w.p[1].nudged &&
	      !w.p[1].rung, "nudged");
	ipmc_awake(&w.p[1].mb);
	CHECK(deliver(&w.p[1], 10) == 1, "delivered");
	w.p[0].ops.sleep_how = w_how;
	w.p[0].how = IPMC_SLEEP_NUDGE;
	w.p[0].serve = 1;
	CHECK(send_k(&w, 0, 1, 10, 4, 1) == 0, "acked");
	CHECK(w.p[0].nudged && !w.p[0].rung, "the sender nudged");
	/* A scribbled own owner word is put back. */
	memset(w.mem + 64 + 64 * w.p[1].mb.me, 0, 8);
	CHECK(deliver(&w.p[1], 10) == 0, "pass");
	uint64_t owner;
	memcpy(&owner, w.mem + 64 + 64 * w.p[1].mb.me, 8);
	CHECK(owner == w.p[1].mb.token, "owner word put back");
	w_free(&w);
}

/* The words slot s of the region holds for its published counters. */
static void stats_words(struct world *w, unsigned s, uint64_t out[4])
{
	memcpy(out, w->mem + 64 + 64 * s + 32, 4 * 8);
}

/*
 * Each peer's counters land in its slot line at its heartbeat (not at
 * each message), checked over its token and slot: a scribbled word fails
 * the check and heals at the next heartbeat; a close clears them.
 */
static void test_published(void)
{
	static struct world w;
	struct ipmc *rx;
	struct ipmc_slot_stats st;
	struct ipmc_tx *tx;
	uint64_t words[4];
	unsigned s;

	w_init(&w, 1);
	CHECK(w_open(&w, 0, 2, 0, 0) == 0 && w_open(&w, 1, 2, 0, 0) == 0,
	      "open");
	rx = &w.p[1].mb;
	s = rx->me;
	tx = &w.p[0].mb.peer[s].tx;
	stats_words(&w, s, words);
	CHECK(ipmc_stats_read(words, rx->token, s, &st, 0) == 1 &&
	      st.delivered == 0 && st.corrupt == 0, "published at open");
	for (uint32_t k = 1; k <= 5; k++)
		CHECK(send_k(&w, 0, 1, 100, k, 0) == 0, "send %u", k);
	/* #6's payload scribbled: corrupt; #7 then shows a gap: lost. */
	CHECK(send_k(&w, 0, 1, 100, 6, 0) == 0, "send 6");
	tx->ring[(tx->head - ipmc_rec_size(100)) % tx->cap +
		 IPMC_REC_HDR + 50] ^= 1;
	CHECK(send_k(&w, 0, 1, 100, 7, 0) == 0, "send 7");
	CHECK(deliver(&w.p[1], 100) == 6, "6 delivered");
	CHECK(rx->stats.delivered == 6 && rx->stats.corrupt == 1 &&
	      rx->stats.lost == 1, "counted");
	/* Not yet: the heartbeat publishes them. */
	stats_words(&w, s, words);
	CHECK(ipmc_stats_read(words, rx->token, s, &st, 0) == 1 &&
	      st.delivered == 0, "published before the heartbeat");
	w.now += 250;
	ipmc_heartbeat(rx, 0);
	stats_words(&w, s, words);
	CHECK(ipmc_stats_read(words, rx->token, s, &st, 0) == 1,
	      "not published");
	CHECK(st.delivered == 6 && st.corrupt == 1 && st.lost == 1 &&
	      !st.replayed && !st.withdrawn && !st.foreign && !st.dropped &&
	      !st.send_withdrawn, "published %u delivered, %u corrupt, %u "
	      "lost", st.delivered, st.corrupt, st.lost);
	/* Both check implementations agree; bound to token and slot. */
	CHECK(ipmc_stats_read(words, rx->token, s, &st, ipm_sum_hw()) == 1,
	      "the CPU's check");
	CHECK(ipmc_stats_read(words, w.p[0].mb.token, s, &st, 0) == -EBADMSG,
	      "another owner's token passes");
	CHECK(ipmc_stats_read(words, rx->token, !s, &st, 0) == -EBADMSG,
	      "another slot passes");
	memset(words, 0, sizeof(words));
	CHECK(ipmc_stats_read(words, rx->token, s, &st, 0) == 0,
	      "zero: not published");
	/* Any single bit of the line's four words flipped fails. */
	for (unsigned bit = 0; bit < 256; bit++) {
		stats_words(&w, s, words);
		words[bit / 64] ^= UINT64_C(1) << bit % 64;
		CHECK(ipmc_stats_read(words, rx->token, s, &st, 0) == -EBADMSG,
		      "bit %u flipped passes", bit);
	}
	/* Scribbled in the region: healed at the next heartbeat. */
	w.mem[64 + 64 * s + 40] ^= 0x55;
	stats_words(&w, s, words);
	CHECK(ipmc_stats_read(words, rx->token, s, &st, 0) == -EBADMSG,
	      "scribbled passes");
	w.now += 250;
	ipmc_heartbeat(rx, 0);
	stats_words(&w, s, words);
	CHECK(ipmc_stats_read(words, rx->token, s, &st, 0) == 1 &&
	      st.delivered == 6, "not healed");
	/* Saturated, not wrapped. */
	rx->stats.delivered = UINT64_C(1) << 40;
	rx->stats.dropped = 70000;
	ipmc_tick(rx);
	stats_words(&w, s, words);
	CHECK(ipmc_stats_read(words, rx->token, s, &st, 0) == 1 &&
	      st.delivered == UINT32_MAX && st.dropped == UINT16_MAX &&
	      st.corrupt == 1, "saturation");
	ipmc_close(rx);
	stats_words(&w, s, words);
	CHECK(!(words[0] | words[1] | words[2] | words[3]),
	      "counters left behind at close");
	ipmc_close(&w.p[0].mb);
	w_free(&w);
}

int main(void)
{
	test_header();
	test_default_slots();
	test_traffic(0);
	test_traffic(1);
	test_blocking();
	test_forged_head();
	test_gone();
	test_sleep();
	test_published();
	printf("mailbox_test: ok\n");
	return 0;
}
