/* SPDX-License-Identifier: MIT */
/*
 * Peers that stop reading must neither block the server nor make any
 * other peer miss a message. One stalled peer never reads at all, another
 * reads its setup and then stops. HOLD more peers join (and read what
 * they get) while a watcher checks it sees each join; then they all leave.
 * A stalled peer costs the server nothing for joins (they are read from
 * the peer table when its socket has room), but the leaves of the peers
 * it was told of pile up: with --max-backlog 8 each stalled peer is
 * disconnected (its socket reaches EOF), a log line says why, and the
 * watcher, which reads, is told of every join and every leave once and
 * is never disconnected itself.
 */
#include <stdio.h>
#include <string.h>

#include "srvtest.h"

/* More than a socket holds (about 278 messages): the stalled fill up. */
#define HOLD 400

static struct tpeer held[HOLD];
static int held_id[HOLD];

/* Held peers read what they are sent, as live peers do. */
static void drain_held(int from, int to)
{
	for (int i = from; i < to; i++) {
		int64_t v;
		int f;

		while (tp_recv(&held[i], &v, &f, 0) == 0)
			;
	}
}

/* The watcher's next notice: a leave of a held or stalled peer, once. */
static int see_leave(struct tpeer *w, const int *stalled, int *left)
{
	int id = -1, ev = tp_next_event(w, &id, TP_TIMEOUT_MS), k;

	CHECK(ev == 0, "watcher: %s %d", ev == 1 ? "join of" : "nothing,", id);
	for (k = 0; k < HOLD && held_id[k] != id; k++)
		;
	if (k == HOLD)
		k = id == stalled[0] ? HOLD : id == stalled[1] ? HOLD + 1 : -1;
	CHECK(k >= 0, "watcher: leave of %d, which never joined", id);
	CHECK(!left[k], "watcher: %d left twice", id);
	left[k] = 1;
	return 1;
}

int main(void)
{
	static const char *const args[] = { "--max-backlog", "8", NULL };
	int stalled[2], others[8], n, left[HOLD + 2] = { 0 }, nleft = 0;
	struct tpeer w, s1, s2;
	struct tu_server srv;
	long long start;
	char needle[64];

	CHECK(srv_raise_nofile() > HOLD + 64, "cannot hold %d sockets", HOLD);
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
	for (int i = 0; i < HOLD; i++) {
		tp_join(&held[i], srv.socket_path, 1, NULL, 0, NULL);
		CHECK(tp_next_event(&w, &held_id[i], TP_TIMEOUT_MS) == 1 &&
		      held_id[i] == held[i].id,
		      "watcher: no join for held peer %d", i);
		for (int j = 0; j < i; j++)
			CHECK(held_id[j] != held_id[i], "id %d twice",
			      held_id[i]);
		drain_held(0, i + 1);
	}
	srv_alive(&srv);
	/*
	 * They leave one by one, everybody else reading as they go. Every
	 * held peer and both stalled ones leave, each once.
	 */
	for (int i = 0; i <= HOLD; i++) {
		if (i < HOLD)
			tp_close(&held[i]);
		drain_held(i + 1, HOLD);
		while (i < HOLD ? !left[i] : nleft < HOLD + 2)
			nleft += see_leave(&w, stalled, left);
	}
	tp_expect_quiet(&w, 100);
	srv_alive(&srv);

	for (int i = 0; i < 2; i++) {
		snprintf(needle, sizeof(needle), "peer %d disconnected",
			 stalled[i]);
		srv_log_wait(srv.log_path, needle, "unread", TP_TIMEOUT_MS);
	}
	snprintf(needle, sizeof(needle), "peer %d disconnected", w.id);
	CHECK(!srv_log_has(srv.log_path, needle, NULL),
	      "the watcher, which reads, was disconnected");
	/* The server closed them: what they never read, then EOF. */
	printf("stalled peer %d: %ld messages in its socket at EOF\n",
	       stalled[0], tp_drain_to_eof(&s1, TP_TIMEOUT_MS));
	printf("stalled peer %d: %ld messages in its socket at EOF\n",
	       stalled[1], tp_drain_to_eof(&s2, TP_TIMEOUT_MS));
	tp_close(&s1);
	tp_close(&s2);
	/* The watcher still gets a newcomer's join and leave. */
	{
		struct tpeer c;

		tp_join(&c, srv.socket_path, 1, others, 8, &n);
		CHECK(n == 1 && others[0] == w.id, "setup lists %d peers", n);
		tp_expect_join(&w, c.id);
		tp_close(&c);
		tp_expect_leave(&w, c.id);
	}
	tp_close(&w);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	printf("ok: %d peers joined and left in %.2f s\n", HOLD,
	       (tu_now_ns() - start) / 1e9);
	return 0;
}
