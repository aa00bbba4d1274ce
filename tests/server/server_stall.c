/* SPDX-License-Identifier: MIT */
/*
 * Peers that stop reading must neither block the server nor make any
 * other peer miss a message. One stalled peer never reads at all, another
 * reads its setup and then stops. Peers then join and leave one after
 * another while a watcher checks it sees every join and leave, in order.
 * With --max-backlog 8 the stalled peers' queues soon pass their bound:
 * each is disconnected (its socket reaches EOF), a log line says why, and
 * the watcher is told it left.
 */
#include <stdio.h>
#include <string.h>

#include "srvtest.h"

#define MAX_CHURN 20000
#define AFTER     100   /* churn cycles once both stalled peers are gone */

static int stalled[2], gone_at[2] = { -1, -1 };

/* A leave of a stalled peer may come between any two notices. */
static int is_stalled_leave(int ev, int id, int cycle)
{
	for (int i = 0; i < 2; i++) {
		if (ev == 0 && id == stalled[i]) {
			CHECK(gone_at[i] < 0, "stalled peer %d left twice", id);
			gone_at[i] = cycle;
			return 1;
		}
	}
	return 0;
}

static void expect(struct tpeer *w, int join, int want, int cycle)
{
	int id = -1, ev;

	do
		ev = tp_next_event(w, &id, TP_TIMEOUT_MS);
	while (is_stalled_leave(ev, id, cycle));
	CHECK(ev == join && id == want, "cycle %d: watcher expected %s of %d, "
	      "got %s %d", cycle, join ? "join" : "leave", want,
	      ev == 1 ? "join of" : ev == 0 ? "leave of" : "nothing", id);
}

int main(void)
{
	static const char *const args[] = { "--max-backlog", "8", NULL };
	long long t0, worst = 0, start;
	int others[8], n, cycle, last_gone = -1;
	struct tpeer w, s1, s2, c;
	struct tu_server srv;
	char needle[64];

	tu_server_start(&srv, args);
	tp_join_alone(&w, srv.socket_path, 1);
	/* s1 never reads a byte: its id is only known from the watcher. */
	tp_connect(&s1, srv.socket_path, 1);
	CHECK(tp_next_event(&w, &stalled[0], TP_TIMEOUT_MS) == 1,
	      "watcher: no join of the first stalled peer");
	tp_join(&s2, srv.socket_path, 1, others, 8, &n);
	CHECK(n == 2 && others[0] == w.id && others[1] == stalled[0],
	      "second stalled peer's setup lists %d peers", n);
	stalled[1] = s2.id;
	tp_expect_join(&w, s2.id);

	start = tu_now_ns();
	for (cycle = 0; last_gone < 0 || cycle < last_gone + AFTER; cycle++) {
		CHECK(cycle < MAX_CHURN, "stalled peers still connected after "
		      "%d peers joined and left (gone at %d, %d)", cycle,
		      gone_at[0], gone_at[1]);
		t0 = tu_now_ns();
		tp_join(&c, srv.socket_path, 1, others, 8, &n);
		CHECK(n >= 1 && others[0] == w.id, "cycle %d: setup does not "
		      "start with the watcher", cycle);
		for (int i = 1; i < n; i++) {
			int j = others[i] == stalled[0] ? 0 :
				others[i] == stalled[1] ? 1 : -1;

			CHECK(j >= 0 && gone_at[j] < 0, "cycle %d: setup lists "
			      "peer %d, which is not there", cycle, others[i]);
		}
		expect(&w, 1, c.id, cycle);
		tp_close(&c);
		expect(&w, 0, c.id, cycle);
		if (tu_now_ns() - t0 > worst)
			worst = tu_now_ns() - t0;
		if (last_gone < 0 && gone_at[0] >= 0 && gone_at[1] >= 0)
			last_gone = cycle;
	}
	tp_expect_quiet(&w, 100);
	srv_alive(&srv);

	for (int i = 0; i < 2; i++) {
		snprintf(needle, sizeof(needle), "peer %d disconnected",
			 stalled[i]);
		srv_log_wait(srv.log_path, needle, "unread", TP_TIMEOUT_MS);
	}
	/* The server closed them: what they never read, then EOF. */
	printf("stalled peer %d: %ld messages in its socket, disconnected "
	       "after %d peers joined and left\n", stalled[0],
	       tp_drain_to_eof(&s1, TP_TIMEOUT_MS), gone_at[0]);
	printf("stalled peer %d: %ld messages in its socket, disconnected "
	       "after %d peers joined and left\n", stalled[1],
	       tp_drain_to_eof(&s2, TP_TIMEOUT_MS), gone_at[1]);
	tp_close(&s1);
	tp_close(&s2);
	tp_close(&w);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	printf("ok: %d peers joined and left in %.2f s, slowest %.2f ms\n",
	       cycle, (tu_now_ns() - start) / 1e9, worst / 1e6);
	return 0;
}
