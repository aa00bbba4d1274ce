/* SPDX-License-Identifier: MIT */
/*
 * Peers that vanish early: closing right after connect, after a few setup
 * messages, inside a message, after shutdown(), and a burst of them at
 * once. The server must survive every one and still give a newcomer a
 * complete setup. The peers already there hear of each either as joined
 * and then left, or not at all (a peer that came and went before the
 * server told anyone is news to nobody, even one that read part of its
 * setup), never half of it. A marker peer joining and leaving after each
 * round tells where a round's news ends.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "srvtest.h"

#define NVEC   2
#define ROUNDS 500
#define BURST  64

/*
 * Read p's notices up to the marker's leave. Every other peer must come
 * as a join then a leave; returns how many did, their ids in ids[].
 */
static int read_round(struct tpeer *p, int marker, int *ids, int max)
{
	int open[BURST + 1], nopen = 0, count = 0, marker_in = 0;

	for (;;) {
		int id = -1, j, ev = tp_next_event(p, &id, TP_TIMEOUT_MS);

		CHECK(ev >= 0, "peer %d: no notice before the marker %d left",
		      p->id, marker);
		if (id == marker) {
			CHECK(ev == !marker_in, "peer %d: marker %d %s twice",
			      p->id, marker, ev ? "joined" : "left");
			if (!ev)
				break;
			marker_in = 1;
			continue;
		}
		for (j = 0; j < nopen && open[j] != id; j++)
			;
		if (ev == 1) {
			CHECK(j == nopen && nopen < BURST && count < max,
			      "peer %d: %d joined twice, or too many joins",
			      p->id, id);
			open[nopen++] = id;
			ids[count++] = id;
		} else {
			CHECK(j < nopen, "peer %d: %d left, never joined",
			      p->id, id);
			open[j] = open[--nopen];
		}
	}
	CHECK(nopen == 0, "peer %d: %d peers joined and never left", p->id,
	      nopen);
	return count;
}

/*
 * After a round: a marker joins and leaves; both bystanders saw the same
 * newcomers come and go, at most max of them. Returns how many.
 */
static int see_round(const char *path, struct tpeer *w, struct tpeer *b,
		     int max)
{
	int wi[BURST], bi[BURST], nw, nb;
	struct tpeer m;

	tp_join(&m, path, NVEC, NULL, 0, NULL);
	tp_close(&m);
	nw = read_round(w, m.id, wi, max);
	nb = read_round(b, m.id, bi, max);
	CHECK(nw == nb, "watcher saw %d newcomers, bystander %d", nw, nb);
	for (int i = 0; i < nw; i++) {
		CHECK(wi[i] != w->id && wi[i] != b->id, "newcomer got an id "
		      "in use: %d", wi[i]);
		CHECK(wi[i] == bi[i], "watcher saw %d, bystander %d", wi[i],
		      bi[i]);
	}
	return nw;
}

int main(void)
{
	static const char *const args[] = { "-n", "2", NULL };
	/* A newcomer's setup: version, id, shm, 2 peers' vectors, its own. */
	const int setup_len = 3 + 3 * NVEC;
	int others[8], n, count[5] = { 0 }, seen[5] = { 0 }, burst_seen;
	struct tpeer w, b, x, burst[BURST];
	struct tu_server srv;

	tu_server_start(&srv, args);
	tp_join_alone(&w, srv.socket_path, NVEC);
	tp_join(&b, srv.socket_path, NVEC, others, 8, &n);
	CHECK(n == 1 && others[0] == w.id, "bystander's setup: %d peers", n);
	tp_expect_join(&w, b.id);

	for (int r = 0; r < ROUNDS; r++) {
		int mode = r % 5, k = 1 + (r / 5) % (setup_len - 1);
		struct pollfd pfd;
		char buf[8];

		tp_connect(&x, srv.socket_path, NVEC);
		switch (mode) {
		case 0: /* close at once */
			break;
		case 1: /* close after k whole messages */
			tp_read_setup(&x, k);
			break;
		case 2: /* close inside a message, after k - 1 whole ones */
			tp_read_setup(&x, k - 1);
			pfd = (struct pollfd){ .fd = x.sock, .events = POLLIN };
			CHECK(poll(&pfd, 1, TP_TIMEOUT_MS) == 1, "no setup");
			CHECK(recv(x.sock, buf, 1 + r % 7, 0) > 0, "recv: %s",
			      strerror(errno));
			break;
		case 3: /* half-close: the server must take it as leaving */
			tp_read_setup(&x, k);
			CHECK(shutdown(x.sock, SHUT_WR) == 0, "shutdown");
			/* ...and close its end, after what was queued. */
			tp_drain_to_eof(&x, TP_TIMEOUT_MS);
			break;
		case 4: /* shutdown both ways before reading anything */
			CHECK(shutdown(x.sock, SHUT_RDWR) == 0, "shutdown");
			break;
		}
		tp_close(&x);
		seen[mode] += see_round(srv.socket_path, &w, &b, 1);
		count[mode]++;
	}
	srv_alive(&srv);

	/* A burst: many connect, then all close before the server caught up. */
	for (int i = 0; i < BURST; i++)
		tp_connect(&burst[i], srv.socket_path, NVEC);
	for (int i = 0; i < BURST; i++)
		tp_close(&burst[i]);
	burst_seen = see_round(srv.socket_path, &w, &b, BURST);
	tp_expect_quiet(&w, 100);
	tp_expect_quiet(&b, 0);
	srv_alive(&srv);

	/* A newcomer still gets a complete setup, and is seen by both. */
	tp_join(&x, srv.socket_path, NVEC, others, 8, &n);
	CHECK(n == 2 && ((others[0] == w.id && others[1] == b.id) ||
			 (others[0] == b.id && others[1] == w.id)),
	      "newcomer's setup lists %d peers, expected %d and %d", n, w.id,
	      b.id);
	CHECK(others[0] == w.id, "setup not in join order");
	tp_expect_join(&w, x.id);
	tp_expect_join(&b, x.id);
	tp_close(&x);
	tp_expect_leave(&w, x.id);
	tp_expect_leave(&b, x.id);
	tp_close(&b);
	tp_expect_leave(&w, b.id);
	tp_close(&w);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	printf("ok: %d closed at once, %d after some messages, %d inside a "
	       "message, %d half-closed, %d shut down, %d in a burst\n",
	       count[0], count[1], count[2], count[3], count[4], BURST);
	printf("announced to the others: %d, %d, %d, %d, %d; burst %d\n",
	       seen[0], seen[1], seen[2], seen[3], seen[4], burst_seen);
	return 0;
}
