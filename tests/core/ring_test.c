/* SPDX-License-Identifier: MIT */
/*
 * The core's per-pair ring (src/core/ring.c) in one process, no server:
 * a queue in a private buffer, its two ends driven by hand, and a third
 * party writing where it should not. Covers wrap-around, full and empty,
 * every stamp state and head case, the checked tail, acks, claims and
 * withdrawals, early wraps, loans, indexes near the 2^32-line wrap of tail_check, and
 * hostile bytes (a seeded scribbler over every byte of the queue: nothing
 * is delivered that was not sent, in order, once).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_errno.h"
#include "ring.h"
#include "sum.h"

#include "testutil.h"

#define TX_TOK (UINT64_C(0x1111) << 32 | 1) /* peer 0 */
#define RX_TOK (UINT64_C(0x2222) << 32 | 2) /* peer 1 */

struct q {
	uint8_t *mem;
	struct ipmc_qctl *ctl;
	uint64_t cap;
	struct ipmc_tx tx;
	struct ipmc_rx rx;
	struct ipmc_stats st;
	uint8_t copy[1 << 16];
	int hw;
};

/* A zeroed queue of 'cap' ring bytes, both ends attached. */
static void q_init(struct q *q, uint64_t cap, int check, uint64_t start)
{
	free(q->mem);
	memset(q, 0, sizeof(*q));
	q->mem = aligned_alloc(64, IPMC_QUEUE_CTL + cap);
	CHECK(q->mem, "alloc");
	memset(q->mem, 0, IPMC_QUEUE_CTL + cap);
	q->ctl = (struct ipmc_qctl *)q->mem;
	q->cap = cap;
	q->hw = ipm_sum_hw();
	/* A queue that has carried traffic before: both indexes at start. */
	q->ctl->head = start;
	q->ctl->pgen = TX_TOK;
	ipmc_rx_attach(&q->rx, q->ctl, cap, RX_TOK, check, q->hw, &q->st);
	ipmc_tx_attach(&q->tx, q->ctl, cap, TX_TOK, check, q->hw);
}

/* A payload that says what it is: number n, length len. */
static void fill(uint8_t *p, uint32_t len, uint32_t n)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(n * 31 + i * 7);
	if (len >= 4)
		memcpy(p, &n, 4);
}

static int is(const uint8_t *p, uint32_t len, uint32_t n)
{
	uint8_t want[4096];

	if (len > sizeof(want))
		return 0;
	fill(want, len, n);
	return memcmp(p, want, len) == 0;
}

/* Copying send of payload n: 0 or the reserve's error. */
static int send(struct q *q, uint32_t len, uint32_t n, uint32_t flags,
		struct ipmc_resv *out)
{
	static uint8_t buf[1 << 16];
	struct ipmc_resv r;
	int rc = ipmc_tx_reserve(&q->tx, RX_TOK, len, flags, &r);

	if (rc)
		return rc;
	CHECK(len <= sizeof(buf), "payload too big for the test");
	fill(buf, len, n);
	ipmc_tx_publish(&q->tx, &r, buf);
	if (out)
		*out = r;
	return 0;
}

/* Receive and complete one: 1 with its number in *n, or 0. */
static int recv1(struct q *q, int heads, uint32_t *n, uint32_t *len)
{
	struct ipmc_msg m;

	if (!ipmc_rx_next(&q->rx, TX_TOK, heads, q->copy, &m))
		return 0;
	if (n) {
		*n = 0;
		if (m.len >= 4)
			memcpy(n, m.data, 4);
	}
	if (len)
		*len = m.len;
	CHECK(m.src == TX_TOK, "src");
	ipmc_rx_complete(&q->rx, &m);
	return 1;
}

static void test_empty_and_one(void)
{
	struct q q = { 0 };
	uint32_t n, len;
	int moved = 0;

	q_init(&q, 1024, 1, 0);
	CHECK(!ipmc_rx_pending(&q.rx, 1, &moved), "empty: nothing pending");
	CHECK(!recv1(&q, 1, NULL, NULL), "empty: nothing delivered");
	CHECK(send(&q, 100, 7, 0, NULL) == 0, "send");
	CHECK(ipmc_rx_pending(&q.rx, 0, &moved), "pending by the stamp");
	CHECK(recv1(&q, 0, &n, &len) && n == 7 && len == 100, "one: %u", n);
	CHECK(is(q.copy, 100, 7), "payload");
	CHECK(!recv1(&q, 1, NULL, NULL), "empty again");
	CHECK(q.st.delivered == 1 && !q.st.lost && !q.st.corrupt, "stats");
	/* A zero-length message. */
	CHECK(send(&q, 0, 0, 0, NULL) == 0 && recv1(&q, 0, NULL, &len) &&
	      len == 0, "empty payload");
	free(q.mem);
}

/* Fill the ring, then drain: -EBUSY exactly when no room is left. */
static void test_full(void)
{
	struct q q = { 0 };
	uint32_t k = 0, n;
	int rc;

	q_init(&q, 1024, 1, 0);
	/* 100 bytes take 3 lines: five fit in 16 lines (no wrap at 15). */
	while ((rc = send(&q, 100, k, 0, NULL)) == 0)
		k++;
	CHECK(rc == -EBUSY && k == 5, "full after %u: %d", k, rc);
	CHECK(send(&q, 100, 99, 0, NULL) == -EBUSY, "still full");
	CHECK(recv1(&q, 0, &n, NULL) && n == 0, "first out");
	/* The room comes back only through a checked tail. */
	CHECK(send(&q, 100, k, 0, NULL) == 0, "room again");
	k++;
	for (uint32_t i = 1; i < k; i++)
		CHECK(recv1(&q, 0, &n, NULL) && n == i, "order %u: %u", i, n);
	CHECK(!recv1(&q, 1, NULL, NULL), "drained");
	/* Too big ever to fit. */
	CHECK(send(&q, 1024, 0, 0, NULL) == -EMSGSIZE, "EMSGSIZE");
	free(q.mem);
}

/* Many laps with sizes that force WRAP records, from 'start'. */
static void laps(uint64_t start, int check)
{
	struct q q = { 0 };
	uint32_t sent = 0, got = 0, n, len;

	q_init(&q, 1024, check, start);
	while (got < 2000) {
		uint32_t l = (sent * 37) % 400;

		if (sent < 2000 && send(&q, l, sent, 0, NULL) == 0) {
			sent++;
			if (sent % 3)
				continue;
		}
		if (recv1(&q, got % 5 == 0, &n, &len)) {
			CHECK(n == got || len < 4, "lap order: %u != %u", n,
			      got);
			CHECK(len == (got * 37) % 400, "len");
			if (check)
				CHECK(is(q.copy, len, got), "payload %u", got);
			got++;
		}
	}
	CHECK(q.tx.head > start + 1024 * 100, "laps made");
	CHECK(q.st.delivered == 2000 && !q.st.lost && !q.st.corrupt &&
	      !q.st.dropped && !q.st.foreign, "clean laps");
	free(q.mem);
}

static void test_wrap(void)
{
	laps(0, 1);
	laps(0, 0);
	/* tail_check holds the line number's low 32 bits: cross 2^32. */
	laps((UINT64_C(1) << 32) * 64 - 64 * 40, 1);
	laps(UINT64_C(0x7ffffffff000), 1);
}

/*
 * A receiver that keeps up: the sender wraps early, so the queue stays in
 * its first window (plus a record). One that lags: the whole ring is used.
 */
static void test_early_wrap(void)
{
	struct q q = { 0 };
	uint64_t most = 0;
	uint32_t n, k;

	q_init(&q, 65536, 1, 0);
	for (k = 0; k < 3000; k++) {
		uint64_t off;

		CHECK(send(&q, 100, k, 0, NULL) == 0, "send %u", k);
		off = (q.tx.head - 1) % q.cap;
		if (off > most)
			most = off;
		CHECK(recv1(&q, 0, &n, NULL) && n == k, "recv %u", k);
	}
	CHECK(most < IPMC_WINDOW + 2 * 192, "kept up: the ring used up to %llu",
	      (unsigned long long)most);
	CHECK(q.tx.head > 3000 * 192, "and it wrapped");
	/*
	 * Lagging, up to 200 messages (38 KiB) behind: an early wrap's pad
	 * counts against the room until the receiver passes it, so sends
	 * may find the queue full (-EBUSY); nothing is lost or reordered.
	 */
	uint32_t got = k;
	for (; k < 9000; k++) {
		while (send(&q, 100, k, 0, NULL) == -EBUSY)
			CHECK(recv1(&q, 0, &n, NULL) && n == got++, "lagging");
		if (k - got > 200)
			CHECK(recv1(&q, 0, &n, NULL) && n == got++, "lagging");
	}
	while (recv1(&q, 0, &n, NULL))
		CHECK(n == got++, "the rest");
	CHECK(got == 9000, "all of them: %u", got);
	CHECK(!q.st.lost && !q.st.corrupt && !q.st.dropped, "clean");
	free(q.mem);
}

/*
 * Strict ping-pong (one message outstanding), payloads around 4 KiB and
 * their multiples: the receiver takes each message and the next one is
 * sent either after it completed or while it still holds it (a reply
 * sent from inside its callback). The only unconsumed record is then the
 * one it holds, plus whatever WRAP the sender left: a non-blocking send
 * must never find the queue full (ipm-shell's `ping 3 300 4096` once got
 * -EBUSY: the receiver had passed an early wrap's WRAP but its stored
 * tail was still before it).
 */
static void test_ping_pong(void)
{
	static const uint64_t caps[] = { 16384, 65536, 348544, 2093056 };
	static const uint32_t base[] = { 4000, 4048, 4096, 4112, 4200 };
	struct q q = { 0 };

	for (unsigned c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		for (unsigned b = 0; b < sizeof(base) / sizeof(base[0]); b++) {
			for (uint32_t mul = 1; mul <= 4; mul++) {
				uint32_t len = base[b] * mul;

				/* Two records must fit whatever the offset. */
				if (4 * ipmc_rec_size(len) > caps[c])
					continue;
				/* Held or completed before the next send:
				 * always, never, alternately, at random. */
				for (int how = 0; how < 4; how++) {
					uint64_t x = 0x9e3779b97f4a7c15ull;
					struct ipmc_msg m;
					uint32_t n;
					int rc, hold;

					q_init(&q, caps[c], 1, 0);
					CHECK(send(&q, len, 0, 0, NULL) == 0,
					      "first");
					for (uint32_t k = 1; k < 400; k++) {
						CHECK(ipmc_rx_next(&q.rx, TX_TOK,
								   k % 3 == 0,
								   q.copy,
								   &m) == 1,
						      "take %u", k - 1);
						memcpy(&n, m.data, 4);
						CHECK(n == k - 1, "order");
						x ^= x << 13;
						x ^= x >> 7;
						x ^= x << 17;
						hold = how == 0 ? 1 : how == 1 ?
						       0 : how == 2 ? (int)(k % 2) :
						       (int)(x >> 33 & 1);
						if (!hold)
							ipmc_rx_complete(&q.rx,
									 &m);
						rc = send(&q, len, k, 0, NULL);
						CHECK(rc == 0, "cap %llu len %u "
						      "%s: send %u: %d",
						      (unsigned long long)
						      caps[c], len, hold ?
						      "held" : "completed",
						      k, rc);
						if (hold)
							ipmc_rx_complete(&q.rx,
									 &m);
					}
					CHECK(!q.st.lost && !q.st.corrupt &&
					      !q.st.dropped, "clean");
					if (caps[c] >= 4 * IPMC_WINDOW &&
					    2 * ipmc_rec_size(len) <=
					    IPMC_WINDOW * 3)
						CHECK(q.tx.head > 2 * caps[c],
						      "it wrapped early");
				}
			}
		}
	}
	free(q.mem);
}

/* The record at the receiver's tail, for writing on. */
static uint8_t *at_tail(struct q *q)
{
	return q->rx.ring + q->rx.tail % q->cap;
}

static void test_stamps(void)
{
	struct q q = { 0 };
	uint64_t *stamp, good;
	uint32_t n;

	q_init(&q, 1024, 1, 0);
	CHECK(send(&q, 10, 1, 0, NULL) == 0, "send");
	stamp = (uint64_t *)at_tail(&q);
	good = *stamp;
	CHECK((good & IPMC_ST_MASK) == IPMC_ST_PUBLISHED && good >> 6 == 1,
	      "stamp %llx", (unsigned long long)good);
	/* State 0 (zeroed) or >3: not new; a stamp from an earlier lap
	 * (index <= tail) or more than cap ahead: not new. Without a head
	 * look nothing happens; with one the head says something is there
	 * and the queue is dropped. */
	uint64_t bad[] = { good & ~IPMC_ST_MASK, (good & ~IPMC_ST_MASK) | 5,
			   0 | IPMC_ST_PUBLISHED, 2048 | IPMC_ST_PUBLISHED };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q_init(&q, 1024, 1, 0);
		CHECK(send(&q, 10, 1, 0, NULL) == 0, "send");
		*(uint64_t *)at_tail(&q) = bad[i];
		CHECK(!recv1(&q, 0, NULL, NULL), "bad stamp %u, no heads", i);
		CHECK(!recv1(&q, 1, NULL, NULL) && q.st.dropped == 1,
		      "bad stamp %u: dropped", i);
		/* The sender goes on from the dropped head. */
		CHECK(send(&q, 10, 2, 0, NULL) == 0 && recv1(&q, 0, &n, NULL) &&
		      n == 2, "after drop");
	}
	/* WITHDRAWN: skipped, counted; CLAIMED at our tail: a scribble. */
	q_init(&q, 1024, 1, 0);
	CHECK(send(&q, 10, 1, 0, NULL) == 0 && send(&q, 10, 2, 0, NULL) == 0 &&
	      send(&q, 10, 3, 0, NULL) == 0, "send 3");
	*(uint64_t *)at_tail(&q) = (64 * 1) | IPMC_ST_WITHDRAWN;
	*(uint64_t *)(at_tail(&q) + 64) = (64 * 2) | IPMC_ST_CLAIMED;
	CHECK(recv1(&q, 0, &n, NULL) && n == 3, "third: %u", n);
	CHECK(q.st.withdrawn == 1 && q.st.corrupt == 1 && q.st.lost == 2,
	      "withdrawn %llu corrupt %llu lost %llu",
	      (unsigned long long)q.st.withdrawn,
	      (unsigned long long)q.st.corrupt,
	      (unsigned long long)q.st.lost);
	free(q.mem);
}

static void test_heads(void)
{
	struct q q = { 0 };
	int moved = 0;
	uint32_t n;

	/* A scribbled head: not a multiple of 64, more than cap ahead. */
	q_init(&q, 1024, 1, 0);
	q.ctl->head = 65;
	CHECK(!ipmc_rx_pending(&q.rx, 1, &moved) && !recv1(&q, 1, NULL, NULL) &&
	      !q.st.dropped, "head 65 ignored");
	q.ctl->head = 64 * 100;
	CHECK(!recv1(&q, 1, NULL, NULL) && !q.st.dropped, "head > cap ignored");
	/*
	 * A plausible head (aligned, a few lines ahead) is believed only
	 * with its check: the bare word is ignored (integrity on) ...
	 */
	q.ctl->head = 64 * 3;
	CHECK(!ipmc_rx_pending(&q.rx, 1, &moved) && !recv1(&q, 1, NULL, NULL) &&
	      !q.st.dropped, "plausible but unchecked: ignored");
	/* ... and a checked one from another pair too ... */
	q.ctl->head_check = ipmc_head_word(64 * 3, RX_TOK + 1, TX_TOK, q.hw);
	CHECK(!recv1(&q, 1, NULL, NULL) && !q.st.dropped, "another pair's");
	/* ... but not in an unchecked region, nor one a forger computed:
	 * then the receiver drops up to it. The sender puts its own head
	 * back when it finds itself full. */
	q.ctl->head_check = ipmc_head_word(64 * 3, RX_TOK, TX_TOK, q.hw);
	CHECK(!recv1(&q, 1, NULL, NULL) && q.st.dropped == 1, "plausible: drop");
	/* The receiver followed a bogus head past the sender's: the sender
	 * follows its checked tail there. */
	uint32_t sent = 0;
	for (int round = 0; round < 3; round++) {
		while (send(&q, 100, 10 + sent, 0, NULL) == 0)
			sent++;
		while (recv1(&q, 0, &n, NULL))
			;
	}
	/* What it published before it read that tail is a counted gap. */
	CHECK(q.st.delivered + q.st.lost == sent && q.st.lost <= 1 &&
	      q.st.delivered > 10, "after the bogus head: %llu + %llu != %u",
	      (unsigned long long)q.st.delivered,
	      (unsigned long long)q.st.lost, sent);
	q_init(&q, 1024, 0, 0);
	q.ctl->head = 64 * 3;
	CHECK(!recv1(&q, 1, NULL, NULL) && q.st.dropped == 1,
	      "unchecked region: a plausible head is believed");
	/* Garbage at the tail that the head does not explain: counted
	 * once, then the queue is empty for delivery and waiting. */
	q_init(&q, 1024, 1, 0);
	CHECK(send(&q, 10, 1, 0, NULL) == 0, "send");
	memset(at_tail(&q) + 8, 0xee, 8); /* type and len */
	q.ctl->head = 0; /* and the head says nothing is there */
	q.ctl->head_check = ipmc_head_word(0, RX_TOK, TX_TOK, q.hw);
	q.tx.head = 0;
	CHECK(!recv1(&q, 1, NULL, NULL) && q.st.corrupt == 1, "stuck");
	CHECK(!recv1(&q, 1, NULL, NULL) && q.st.corrupt == 1, "once");
	moved = 0;
	CHECK(!ipmc_rx_pending(&q.rx, 1, &moved), "stuck is not pending");
	free(q.mem);
}

/*
 * A believable head forged N lines ahead of the real one (the bare word,
 * which is ignored, and with its check), at each moment
 * that matters: the receiver idle, a record reserved but not published
 * yet (a loan), right after a WRAP at the ring's end, right after an
 * early wrap. The receiver looks at the heads once (as after a wake-up)
 * and then never again of its own accord (the bare-metal guest's busy
 * poll). Every message the sender publishes afterwards is delivered in
 * order, once, or counted lost, and after a few the pair flows again.
 */
static void forged_head(int moment, unsigned lines, uint32_t len,
			int checked)
{
	struct q q = { 0 };
	struct ipmc_resv r;
	uint32_t sent = 0, last = 0, n, flowing = 0, k;
	int loaned = 0;

	q_init(&q, 65536, 1, 0);
	/* Up to the moment: idle (0), loan (1), WRAP (2), early wrap (3). */
	for (k = 0; k < 3 || (moment == 2 && q.tx.head < 2 * q.cap) ||
		    (moment == 3 && q.tx.head < q.cap); k++) {
		if (moment == 2) {
			/* A lagging receiver: the sender walks the ring. */
			CHECK(send(&q, len, ++sent, 0, NULL) == 0, "lagging");
			if (sent % 4 == 0) {
				while (recv1(&q, 0, &n, NULL))
					CHECK(n == ++last, "before");
			}
			continue;
		}
		CHECK(send(&q, len, ++sent, 0, NULL) == 0, "before");
		CHECK(recv1(&q, 0, &n, NULL) && n == ++last, "before");
	}
	while (recv1(&q, 0, &n, NULL))
		CHECK(n == ++last, "before: %u", n);
	CHECK(last == sent && !q.st.lost, "in step before");
	if (moment == 1) {
		CHECK(ipmc_tx_reserve(&q.tx, RX_TOK, len, 0, &r) == 0, "loan");
		fill(r.data, len, ++sent);
		loaned = 1;
	}
	q.ctl->head = q.tx.head + 64 * lines;
	/* The bare word is not believed; one with its check (a forger who
	 * computes it, as a forged stamp's index or WRAP would do) is. */
	if (checked)
		q.ctl->head_check = ipmc_head_word(q.tx.head + 64 * lines,
						   RX_TOK, TX_TOK, q.hw);
	/* The receiver's look at the heads: it drops up to the forgery. */
	CHECK(!recv1(&q, 1, &n, NULL), "nothing there");
	if (loaned)
		ipmc_tx_publish(&q.tx, &r, NULL);
	for (k = 0; k < 300; k++) {
		uint32_t before = last;

		int rc = send(&q, len, ++sent, 0, NULL);

		CHECK(rc == 0, "moment %d, %u lines, %u bytes: send %u: %d "
		      "(head %llu, tail %llu, delivered %llu)", moment, lines,
		      len, sent, rc, (unsigned long long)q.tx.head,
		      (unsigned long long)q.rx.tail,
		      (unsigned long long)q.st.delivered);
		/* A busy poll: many looks between two sends. */
		for (int looks = 0; looks < 64; looks++) {
			while (recv1(&q, 0, &n, NULL)) {
				CHECK(n > last && n <= sent, "order: %u "
				      "after %u", n, last);
				last = n;
			}
		}
		if (last == sent && last > before)
			flowing++;
		else
			CHECK(!flowing || k < 2, "moment %d, %u lines: stopped "
			      "again at %u", moment, lines, sent);
	}
	CHECK(flowing > 290, "moment %d, %u lines, %u bytes: flowing again "
	      "only for the last %u", moment, lines, len, flowing);
	CHECK(checked || (!q.st.lost && !q.st.dropped), "unchecked head "
	      "believed: %llu lost", (unsigned long long)q.st.lost);
	CHECK(q.st.delivered + q.st.lost == sent && q.st.lost <= lines + 2,
	      "moment %d, %u lines: %llu delivered + %llu lost != %u sent",
	      moment, lines, (unsigned long long)q.st.delivered,
	      (unsigned long long)q.st.lost, sent);
	free(q.mem);
}

static void test_forged_head(void)
{
	for (int moment = 0; moment < 4; moment++)
		for (unsigned lines = 1; lines <= 8; lines++) {
			for (int checked = 0; checked < 2; checked++) {
				forged_head(moment, lines, 10, checked);
				forged_head(moment, lines, 100, checked);
				forged_head(moment, lines, 1000, checked);
			}
		}
}

/* Structure and integrity of one record, each field scribbled. */
static void test_records(void)
{
	struct q q = { 0 };
	uint32_t n;
	static const struct {
		unsigned off, width;
		const char *what;
		int corrupt, foreign, dropped;
	} f[] = {
		{ 8, 4, "type", 0, 0, 1 },   { 12, 4, "len", 0, 0, 1 },
		{ 16, 8, "src", 0, 1, 0 },   { 24, 8, "dst", 0, 1, 0 },
		{ 32, 8, "seq", 1, 0, 0 },   { 40, 4, "flags", 1, 0, 0 },
		{ 44, 4, "sum", 1, 0, 0 },   { 60, 1, "payload", 1, 0, 0 },
	};

	for (unsigned i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		q_init(&q, 1024, 1, 0);
		CHECK(send(&q, 100, 1, 0, NULL) == 0 &&
		      send(&q, 100, 2, 0, NULL) == 0, "send");
		for (unsigned b = 0; b < f[i].width; b++)
			at_tail(&q)[f[i].off + b] ^= 0x5a;
		CHECK(recv1(&q, 1, &n, NULL) == !f[i].dropped, "%s", f[i].what);
		if (!f[i].dropped)
			CHECK(n == 2, "%s: the next one: %u", f[i].what, n);
		CHECK(q.st.corrupt == (uint64_t)f[i].corrupt &&
		      q.st.foreign == (uint64_t)f[i].foreign &&
		      q.st.dropped == (uint64_t)f[i].dropped,
		      "%s: corrupt %llu foreign %llu dropped %llu", f[i].what,
		      (unsigned long long)q.st.corrupt,
		      (unsigned long long)q.st.foreign,
		      (unsigned long long)q.st.dropped);
	}
	/* An old record copied forward with a fitted stamp: a replay. */
	q_init(&q, 1024, 1, 0);
	uint8_t old[192];
	CHECK(send(&q, 100, 1, 0, NULL) == 0, "send");
	memcpy(old, at_tail(&q), sizeof(old));
	CHECK(recv1(&q, 0, &n, NULL) && n == 1, "first");
	CHECK(send(&q, 100, 2, 0, NULL) == 0, "second");
	memcpy(at_tail(&q) + 8, old + 8, sizeof(old) - 8);
	CHECK(!recv1(&q, 0, NULL, NULL), "copied: not delivered");
	CHECK(q.st.corrupt == 1, "its sum covers the index");
	free(q.mem);
}

/* The sender believes only a tail the receiver wrote for it. */
static void test_tail_check(void)
{
	struct q q = { 0 };
	uint64_t w, t;

	q_init(&q, 1024, 1, 0);
	while (send(&q, 100, 0, 0, NULL) == 0)
		;
	while (recv1(&q, 0, NULL, NULL))
		;
	w = q.ctl->tail_check;
	t = q.ctl->tail;
	/* A bare tail (scribbled hint, word zeroed): no room believed. */
	q.ctl->tail_check = 0;
	q.tx.tail_seen = q.tx.head - q.cap; /* forget what we knew */
	CHECK(send(&q, 100, 1, 0, NULL) == -EBUSY, "no word, no room");
	/* An ack word in its place does not pass as a tail. */
	q.ctl->tail_check = ipmc_ack_word(t / 64, RX_TOK, TX_TOK, q.hw);
	CHECK(send(&q, 100, 1, 0, NULL) == -EBUSY, "ack word is no tail");
	/* The receiver puts its own back on its next pass. */
	CHECK(!recv1(&q, 0, NULL, NULL) && q.ctl->tail_check == w,
	      "healed");
	CHECK(send(&q, 100, 1, 0, NULL) == 0, "room again");
	/* An older word of the receiver's, replayed: no room from it. */
	while (send(&q, 100, 2, 0, NULL) == 0)
		;
	w = q.ctl->tail_check;  /* the tail the sender now believes */
	t = q.tx.tail_seen;
	while (recv1(&q, 0, NULL, NULL))
		;
	CHECK(q.ctl->tail_check != w, "moved on");
	q.ctl->tail_check = w;
	CHECK(send(&q, 100, 3, 0, NULL) == -EBUSY && q.tx.tail_seen == t,
	      "replayed word: still full");
	CHECK(!recv1(&q, 0, NULL, NULL), "the receiver puts its own back");
	CHECK(send(&q, 100, 3, 0, NULL) == 0, "room from the real one");
	/* A word for another sender token: not for us. */
	q_init(&q, 1024, 1, 0);
	while (send(&q, 100, 0, 0, NULL) == 0)
		;
	recv1(&q, 0, NULL, NULL);
	q.ctl->tail_check = ipmc_tail_word(q.rx.tail, RX_TOK,
					   TX_TOK + (UINT64_C(1) << 32), q.hw);
	q.tx.tail_seen = q.tx.head - q.cap;
	CHECK(send(&q, 100, 1, 0, NULL) == -EBUSY, "another sender's tail");
	free(q.mem);
}

static void test_ack_claim_withdraw(void)
{
	struct q q = { 0 };
	struct ipmc_resv r;
	struct ipmc_msg m;
	uint32_t n;

	/* Claimed, then acked on completion. */
	q_init(&q, 1024, 1, 0);
	CHECK(send(&q, 50, 1, IPMC_RF_ACK, &r) == 0, "send");
	CHECK(!ipmc_tx_taken(&q.tx, r.seq, RX_TOK), "not taken yet");
	CHECK(ipmc_rx_next(&q.rx, TX_TOK, 0, q.copy, &m) == 1 && m.ack,
	      "claimed");
	CHECK((*(uint64_t *)r.at & IPMC_ST_MASK) == IPMC_ST_CLAIMED, "stamp");
	CHECK(ipmc_tx_taken(&q.tx, r.seq, RX_TOK) &&
	      !ipmc_tx_acked(&q.tx, r.seq, RX_TOK), "claim word, no ack");
	CHECK(ipmc_tx_withdraw(&q.tx, &r, 0) == 0, "claimed: delivered");
	ipmc_rx_complete(&q.rx, &m);
	CHECK(ipmc_tx_acked(&q.tx, r.seq, RX_TOK), "acked");
	CHECK(!ipmc_tx_acked(&q.tx, r.seq + 1, RX_TOK), "only that seq");

	/* Withdrawn before the receiver looked: never delivered, and the
	 * next message takes its number (no gap). */
	q_init(&q, 1024, 1, 0);
	CHECK(send(&q, 50, 1, IPMC_RF_ACK, &r) == 0, "send");
	/* Swapped, but a claim word may still come: the grace first. */
	CHECK(ipmc_tx_withdraw(&q.tx, &r, 0) == -EINPROGRESS, "grace");
	CHECK(ipmc_tx_withdraw(&q.tx, &r, 1) == 1, "withdrawn");
	CHECK(send(&q, 50, 2, 0, NULL) == 0, "next");
	CHECK(recv1(&q, 0, &n, NULL) && n == 2, "the next only");
	CHECK(q.st.withdrawn == 1 && q.st.lost == 0 && q.st.delivered == 1,
	      "withdrawn %llu lost %llu",
	      (unsigned long long)q.st.withdrawn,
	      (unsigned long long)q.st.lost);
	/* A scribbler puts PUBLISHED back over the withdrawn stamp: its
	 * inverted sum keeps it undeliverable. */
	q_init(&q, 1024, 1, 0);
	CHECK(send(&q, 50, 1, IPMC_RF_ACK, &r) == 0, "send");
	/* Swapped, but a claim word may still come: the grace first. */
	CHECK(ipmc_tx_withdraw(&q.tx, &r, 0) == -EINPROGRESS, "grace");
	CHECK(ipmc_tx_withdraw(&q.tx, &r, 1) == 1, "withdrawn");
	*(uint64_t *)r.at = r.end | IPMC_ST_PUBLISHED;
	CHECK(!recv1(&q, 0, NULL, NULL) && q.st.corrupt == 1, "not revived");

	/*
	 * The receiver swapped, a third party put PUBLISHED back, our swap
	 * wins before the receiver stored its claim word: the grace lets
	 * that word come, and then the send was delivered.
	 */
	q_init(&q, 1024, 1, 0);
	CHECK(send(&q, 50, 1, IPMC_RF_ACK, &r) == 0, "send");
	CHECK(ipmc_rx_next(&q.rx, TX_TOK, 0, q.copy, &m) == 1, "claimed");
	uint64_t word = q.ctl->claim;
	q.ctl->claim = 0; /* as if not stored yet */
	*(uint64_t *)r.at = r.end | IPMC_ST_PUBLISHED;
	CHECK(ipmc_tx_withdraw(&q.tx, &r, 0) == -EINPROGRESS, "in grace");
	q.ctl->claim = word; /* the receiver's next instruction */
	CHECK(ipmc_tx_withdraw(&q.tx, &r, 1) == 0, "its claim word came");
	ipmc_rx_complete(&q.rx, &m);
	/* A CLAIMED stamp with no claim word: wait the grace, then it is
	 * a scribble and the record is withdrawn. */
	q_init(&q, 1024, 1, 0);
	CHECK(send(&q, 50, 1, IPMC_RF_ACK, &r) == 0, "send");
	*(uint64_t *)r.at = r.end | IPMC_ST_CLAIMED;
	CHECK(ipmc_tx_withdraw(&q.tx, &r, 0) == -EINPROGRESS, "in grace");
	CHECK(ipmc_tx_withdraw(&q.tx, &r, 1) == 1, "after grace");
	CHECK((*(uint64_t *)r.at & IPMC_ST_MASK) == IPMC_ST_WITHDRAWN,
	      "stamp withdrawn");
	/* A claim word for it, whatever the stamp: delivered. */
	q_init(&q, 1024, 1, 0);
	CHECK(send(&q, 50, 1, IPMC_RF_ACK, &r) == 0, "send");
	CHECK(ipmc_rx_next(&q.rx, TX_TOK, 0, q.copy, &m) == 1, "claimed");
	*(uint64_t *)r.at = r.end | IPMC_ST_PUBLISHED; /* scribbled back */
	CHECK(ipmc_tx_withdraw(&q.tx, &r, 1) == 0, "claim word decides");
	/*
	 * Open case (a) of tests/model/README.md: the receiver claimed it
	 * and is still in its callback when the deadline and the grace
	 * have passed, and a third party wrote over the claim word: the
	 * receiver's claimed stamp says it was taken: 0, not withdrawn.
	 */
	q_init(&q, 1024, 1, 0);
	CHECK(send(&q, 50, 1, IPMC_RF_ACK, &r) == 0, "send");
	CHECK(ipmc_rx_next(&q.rx, TX_TOK, 0, q.copy, &m) == 1, "claimed");
	q.ctl->claim = 0x0123456789abcdefull;
	CHECK(ipmc_tx_withdraw(&q.tx, &r, 1) == 0, "claim word scribbled: "
	      "the stamp decides");
	ipmc_rx_complete(&q.rx, &m);
	CHECK(ipmc_tx_acked(&q.tx, r.seq, RX_TOK), "delivered and acked");
	/* A plain CLAIMED state (a scribble) is no claimed stamp. */
	CHECK(send(&q, 50, 2, IPMC_RF_ACK, &r) == 0, "send");
	*(uint64_t *)r.at = r.end | IPMC_ST_CLAIMED;
	CHECK(ipmc_tx_withdraw(&q.tx, &r, 1) == 1, "forged CLAIMED");
	/* The receiver puts its scribbled ack back on its next look. */
	q.ctl->ack = 0;
	CHECK(!recv1(&q, 0, NULL, NULL), "nothing more");
	CHECK(ipmc_tx_acked(&q.tx, 1, RX_TOK), "ack put back");
	/* Forged acks and claims (other seq, other tokens) do not pass. */
	q.ctl->ack = ipmc_ack_word(r.seq, RX_TOK + 1, TX_TOK, q.hw);
	q.ctl->claim = ipmc_ack_word(r.seq, RX_TOK, TX_TOK, q.hw);
	CHECK(!ipmc_tx_taken(&q.tx, r.seq, RX_TOK), "forged words");
	free(q.mem);
}

static void test_loan(void)
{
	struct q q = { 0 };
	struct ipmc_resv r, r2;
	uint32_t n;

	q_init(&q, 4096, 1, 0);
	CHECK(ipmc_tx_reserve(&q.tx, RX_TOK, 1000, 0, &r) == 0, "reserve");
	CHECK(ipmc_tx_reserve(&q.tx, RX_TOK, 10, 0, &r2) == -EALREADY,
	      "one loan at a time");
	fill(r.data, 1000, 5);
	CHECK(!recv1(&q, 1, NULL, NULL), "nothing before the commit");
	ipmc_tx_publish(&q.tx, &r, NULL);
	CHECK(recv1(&q, 0, &n, NULL) && n == 5 && is(q.copy, 1000, 5),
	      "loaned bytes delivered");
	/* Abandoned: nothing published, the room is reused. */
	CHECK(ipmc_tx_reserve(&q.tx, RX_TOK, 1000, 0, &r) == 0, "reserve");
	memset(r.data, 0xab, 1000);
	ipmc_tx_abandon(&q.tx, &r);
	CHECK(!recv1(&q, 1, NULL, NULL), "abandoned: nothing");
	CHECK(send(&q, 1000, 6, 0, NULL) == 0 && recv1(&q, 0, &n, NULL) &&
	      n == 6 && q.st.lost == 0, "next after abandon");
	/* Bytes changed after the commit are caught by the sum. */
	CHECK(ipmc_tx_reserve(&q.tx, RX_TOK, 100, 0, &r) == 0, "reserve");
	fill(r.data, 100, 7);
	ipmc_tx_publish(&q.tx, &r, NULL);
	((uint8_t *)r.data)[50] ^= 1;
	CHECK(!recv1(&q, 0, NULL, NULL) && q.st.corrupt == 1, "late write");
	free(q.mem);
}

/* Newcomers at either end continue where the queue is. */
static void test_attach(void)
{
	struct q q = { 0 };
	uint32_t n;

	q_init(&q, 1024, 1, 0);
	for (uint32_t k = 0; k < 7; k++) {
		CHECK(send(&q, 100, k, 0, NULL) == 0, "send");
		CHECK(recv1(&q, 0, &n, NULL), "recv");
	}
	CHECK(send(&q, 100, 50, 0, NULL) == 0, "left queued");
	/* A new sender with the same token (a restart would change the
	 * nonce; the tail is checked for pgen, the last sender). */
	ipmc_tx_attach(&q.tx, q.ctl, q.cap, TX_TOK, 1, q.hw);
	CHECK(q.tx.tail_seen == q.rx.tail, "believes the checked tail");
	/* A new receiver skips what was left for its predecessor. */
	ipmc_rx_attach(&q.rx, q.ctl, q.cap, RX_TOK, 1, q.hw, &q.st);
	CHECK(!recv1(&q, 1, NULL, NULL), "leftover skipped");
	CHECK(send(&q, 100, 51, 0, NULL) == 0 && recv1(&q, 0, &n, NULL) &&
	      n == 51, "new pair: %u", n);
	free(q.mem);
}

static uint64_t rnd = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return rnd;
}

/*
 * A scribbler writing random words, plausible stamps and tokens, and old
 * records copied forward anywhere in the queue, between every step. The
 * payloads carry their number and checksum: whatever is delivered was
 * sent, in order, once. Once it stops, traffic flows again.
 */
static void test_scribbler(int check)
{
	struct q q = { 0 };
	uint32_t sent = 0, last = 0, got = 0;
	int have = 0;
	const size_t total = IPMC_QUEUE_CTL + 2048;

	q_init(&q, 2048, check, 0);
	for (int step = 0; step < 200000; step++) {
		uint64_t x = next_rand();
		struct ipmc_msg m;

		if (x % 4 == 0 && step < 190000) {
			uint64_t off = (next_rand() % (total / 8)) * 8, v;

			switch ((x >> 8) % 6) {
			case 0: v = next_rand(); break;
			case 1: v = (next_rand() % 64) * 64 |
				    (next_rand() % 4); break;
			case 2: v = TX_TOK; break;
			case 3: v = RX_TOK; break;
			case 4: v = q.ctl->head + 64 * (next_rand() % 8);
				break;
			default: {
				uint64_t from = (next_rand() % (total / 64)) *
						64;
				uint64_t to = (next_rand() % (total / 64)) * 64;

				memmove(q.mem + to, q.mem + from, 64);
				continue;
			}
			}
			memcpy(q.mem + off, &v, 8);
			continue;
		}
		if (x % 3 == 0) {
			uint32_t len = 8 + (uint32_t)(next_rand() % 300);
			uint8_t buf[400];
			struct ipmc_resv r;

			if (ipmc_tx_reserve(&q.tx, RX_TOK, len, 0, &r) == 0) {
				uint32_t s = sent + 1;

				for (uint32_t i = 8; i < len; i++)
					buf[i] = (uint8_t)(s + i);
				memcpy(buf, &s, 4);
				memcpy(buf + 4, &len, 4);
				ipmc_tx_publish(&q.tx, &r, buf);
				sent++;
			}
			continue;
		}
		if (ipmc_rx_next(&q.rx, TX_TOK, x % 7 == 0, q.copy, &m) != 1)
			continue;
		have = 1;
		if (check) {
			uint32_t s, len;

			CHECK(m.len >= 8, "short delivery %u", m.len);
			memcpy(&s, m.data, 4);
			memcpy(&len, (const uint8_t *)m.data + 4, 4);
			CHECK(len == m.len, "length %u != %u", len, m.len);
			CHECK(s > last && s <= sent, "order: %u after %u "
			      "(sent %u)", s, last, sent);
			for (uint32_t i = 8; i < len; i++)
				CHECK(((const uint8_t *)m.data)[i] ==
				      (uint8_t)(s + i), "payload of %u", s);
			last = s;
		}
		got++;
		ipmc_rx_complete(&q.rx, &m);
	}
	/*
	 * The scribbler stopped. A receiver that dropped up to a plausible
	 * bogus head sits past the sender's head: the sender follows once
	 * it finds itself full, so at most a ring's worth is lost (counted
	 * as a gap); from then on every message gets through. Unchecked, a
	 * scribbled sequence number can be delivered and stop the queue
	 * (docs/mailbox-layout.md): no such promise there.
	 */
	uint32_t flowing = 0, tries = 0;
	while (check && flowing < 50) {
		uint8_t buf[16] = { 0 };
		uint32_t s = sent + 1, len = 16;
		struct ipmc_resv r;
		struct ipmc_msg m;

		CHECK(++tries < 2048 / 64 + 100, "does not flow again");
		memcpy(buf, &s, 4);
		memcpy(buf + 4, &len, 4);
		for (int i = 8; i < 16; i++)
			buf[i] = (uint8_t)(s + i);
		if (ipmc_tx_reserve(&q.tx, RX_TOK, 16, 0, &r) == 0) {
			ipmc_tx_publish(&q.tx, &r, buf);
			sent++;
		}
		if (ipmc_rx_next(&q.rx, TX_TOK, 1, q.copy, &m) == 1) {
			uint32_t got_s;

			memcpy(&got_s, m.data, 4);
			CHECK(!check || got_s == sent, "the latest: %u != %u",
			      got_s, sent);
			ipmc_rx_complete(&q.rx, &m);
			flowing++;
		} else {
			CHECK(!flowing, "stopped again after %u", flowing);
		}
	}
	printf("scribbler (%s): %u sent, %u delivered; lost %llu corrupt %llu "
	       "replayed %llu foreign %llu dropped %llu\n",
	       check ? "checked" : "unchecked", sent, got,
	       (unsigned long long)q.st.lost, (unsigned long long)q.st.corrupt,
	       (unsigned long long)q.st.replayed,
	       (unsigned long long)q.st.foreign,
	       (unsigned long long)q.st.dropped);
	(void)have;
	free(q.mem);
}

int main(void)
{
	test_empty_and_one();
	test_full();
	test_wrap();
	test_early_wrap();
	test_ping_pong();
	test_stamps();
	test_heads();
	test_forged_head();
	test_records();
	test_tail_check();
	test_ack_claim_withdraw();
	test_loan();
	test_attach();
	test_scribbler(1);
	test_scribbler(0);
	printf("ring_test: ok\n");
	return 0;
}
