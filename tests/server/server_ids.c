/* SPDX-License-Identifier: MIT */
/*
 * 16-bit peer ids: never handed out while in use, reused only after
 * wrap-around. A watcher stays connected throughout, and so does the peer
 * that gets id HOLD_ID. Meanwhile more than 65,536 peers connect one after
 * another, each reading just its version and id before it closes: every
 * id must be the previous one plus one, modulo 65536, skipping the ids in
 * use, on both sides of the wrap. The two held peers check that each of
 * those peers they hear of joins (in order) and leaves.
 */
#include <string.h>

#include "srvtest.h"

#define CYCLES  (IVPROTO_NUM_IDS + 1000)
#define HOLD_ID 500

static int cyc_id[CYCLES];
static int ncycles;

struct watcher {
	struct tpeer p;
	int next;                     /* cycle whose join comes next */
	long joins, leaves;
	char present[IVPROTO_NUM_IDS];
};

/* Read what is there (or wait for it) and check it. */
static void drain(struct watcher *w, int timeout_ms)
{
	int id, ev;

	while ((ev = tp_next_event(&w->p, &id, timeout_ms)) >= 0) {
		if (ev == 1) {
			int c = w->next;

			/* Skipped: peers gone before anyone was told. */
			while (c < ncycles && cyc_id[c] != id)
				c++;
			CHECK(c < ncycles, "peer %d: join of %d, not of a "
			      "cycle from %d on", w->p.id, id, w->next);
			w->next = c;
			CHECK(!w->present[id], "peer %d: %d joined twice",
			      w->p.id, id);
			w->present[id] = 1;
			w->next++;
			w->joins++;
		} else {
			CHECK(w->present[id], "peer %d: %d left, not there",
			      w->p.id, id);
			w->present[id] = 0;
			w->leaves++;
		}
	}
}

int main(void)
{
	static struct watcher w, h;
	static const char *const args[] = { NULL };
	int prev, others[64], n, wraps = 0, skips = 0, extra = 0;
	int hold_cycle = -1;
	long long t0;
	struct tu_server srv;
	struct tpeer x;

	tu_server_start(&srv, args);
	tp_join_alone(&w.p, srv.socket_path, 1);
	prev = w.p.id;
	t0 = tu_now_ns();
	for (int i = 0; i < CYCLES; i++) {
		int want = (prev + 1) % IVPROTO_NUM_IDS;

		while (want == w.p.id || (hold_cycle >= 0 && want == HOLD_ID)) {
			want = (want + 1) % IVPROTO_NUM_IDS;
			skips++;
		}
		if (want == HOLD_ID && hold_cycle < 0) {
			/* This one stays: it reads its whole setup. */
			tp_join(&h.p, srv.socket_path, 1, others, 64, &n);
			CHECK(h.p.id == want, "cycle %d: id %d, expected %d", i,
			      h.p.id, want);
			CHECK(n >= 1 && others[0] == w.p.id,
			      "held peer's setup");
			/* The last few may not be gone yet, in join order. */
			for (int j = 1; j < n; j++) {
				CHECK(others[j] > others[j - 1] &&
				      others[j] < want &&
				      others[j] >= want - 64,
				      "held peer's setup lists %d",
				      others[j]);
				h.present[others[j]] = 1;
				extra++;
			}
			hold_cycle = i;
			h.next = i + 1;
		} else {
			int64_t v;
			int f, rc;

			tp_connect(&x, srv.socket_path, 1);
			rc = tp_recv(&x, &v, &f, TP_TIMEOUT_MS);
			CHECK(rc == 0 && v == IVPROTO_VERSION, "cycle %d: no "
			      "version", i);
			rc = tp_recv(&x, &v, &f, TP_TIMEOUT_MS);
			CHECK(rc == 0 && !f, "cycle %d: no id", i);
			CHECK(v == want, "cycle %d: id %lld, expected %d "
			      "(held: %d and %d)", i, (long long)v, want,
			      w.p.id, HOLD_ID);
			tp_close(&x);
		}
		if (want < prev)
			wraps++;
		prev = cyc_id[i] = want;
		ncycles = i + 1;
		drain(&w, 0);
		if (hold_cycle >= 0)
			drain(&h, 0);
	}
	CHECK(wraps == 1 && skips == 2, "%d wraps, %d ids skipped", wraps,
	      skips);
	/*
	 * Everything told: every join heard was followed by its leave, but
	 * the held peer's; a peer gone before anyone heard of it may never
	 * have been announced.
	 */
	drain(&w, 500);
	drain(&h, 500);
	CHECK(w.joins == w.leaves + 1 && w.present[HOLD_ID], "watcher: %ld "
	      "joins, %ld leaves", w.joins, w.leaves);
	CHECK(h.joins + extra == h.leaves, "held peer: %ld joins and %d in "
	      "its setup, %ld leaves", h.joins, extra, h.leaves);
	printf("the watcher heard %ld of the %d joins\n", w.joins, CYCLES);
	tp_close(&h.p);
	tp_expect_leave(&w.p, HOLD_ID);
	tp_close(&w.p);
	srv_alive(&srv);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	printf("ok: %d peers in %.2f s, ids %d..%d, wrapped to %d, skipping "
	       "held ids %d and %d\n", CYCLES, (tu_now_ns() - t0) / 1e9,
	       cyc_id[0], IVPROTO_MAX_PEER_ID, cyc_id[CYCLES - 1], w.p.id,
	       HOLD_ID);
	return 0;
}
