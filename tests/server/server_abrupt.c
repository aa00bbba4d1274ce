/* SPDX-License-Identifier: MIT */
/*
 * Peers that vanish early: closing right after connect, after a few setup
 * messages, inside a message, after shutdown(), and a burst of them at
 * once. The server must survive every one, announce each as joined and
 * then left to the peers already there, and still give a newcomer a
 * complete setup.
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

/* Both bystanders see one newcomer join and leave; returns its id. */
static int see_join_leave(struct tpeer *w, struct tpeer *b, int known)
{
	int id = -1, other = -1;

	CHECK(tp_next_event(w, &id, TP_TIMEOUT_MS) == 1,
	      "watcher: no join (round's newcomer %d)", known);
	CHECK(known < 0 || id == known, "watcher: join of %d, expected %d",
	      id, known);
	CHECK(id != w->id && id != b->id, "newcomer got an id in use: %d",
	      id);
	tp_expect_leave(w, id);
	CHECK(tp_next_event(b, &other, TP_TIMEOUT_MS) == 1,
	      "bystander: no join");
	CHECK(other == id, "bystander: join of %d, watcher saw %d", other, id);
	tp_expect_leave(b, id);
	return id;
}

int main(void)
{
	static const char *const args[] = { "-n", "2", NULL };
	/* A newcomer's setup: version, id, shm, 2 peers' vectors, its own. */
	const int setup_len = 3 + 3 * NVEC;
	int others[8], n, count[5] = { 0 }, present[BURST], npresent = 0;
	struct tpeer w, b, x, burst[BURST];
	struct tu_server srv;

	tu_server_start(&srv, args);
	tp_join_alone(&w, srv.socket_path, NVEC);
	tp_join(&b, srv.socket_path, NVEC, others, 8, &n);
	CHECK(n == 1 && others[0] == w.id, "bystander's setup: %d peers", n);
	tp_expect_join(&w, b.id);

	for (int r = 0; r < ROUNDS; r++) {
		int mode = r % 5, known = -1, k = 1 + (r / 5) % (setup_len - 1);
		struct pollfd pfd;
		char buf[8];

		tp_connect(&x, srv.socket_path, NVEC);
		switch (mode) {
		case 0: /* close at once */
			break;
		case 1: /* close after k whole messages */
			known = tp_read_setup(&x, k);
			break;
		case 2: /* close inside a message, after k - 1 whole ones */
			known = tp_read_setup(&x, k - 1);
			pfd = (struct pollfd){ .fd = x.sock, .events = POLLIN };
			CHECK(poll(&pfd, 1, TP_TIMEOUT_MS) == 1, "no setup");
			CHECK(recv(x.sock, buf, 1 + r % 7, 0) > 0, "recv: %s",
			      strerror(errno));
			break;
		case 3: /* half-close: the server must take it as leaving */
			known = tp_read_setup(&x, k);
			CHECK(shutdown(x.sock, SHUT_WR) == 0, "shutdown");
			/* ...and close its end, after what was queued. */
			tp_drain_to_eof(&x, TP_TIMEOUT_MS);
			break;
		case 4: /* shutdown both ways before reading anything */
			CHECK(shutdown(x.sock, SHUT_RDWR) == 0, "shutdown");
			break;
		}
		tp_close(&x);
		see_join_leave(&w, &b, known);
		count[mode]++;
	}
	srv_alive(&srv);

	/* A burst: many connect, then all close before the server caught up. */
	for (int i = 0; i < BURST; i++)
		tp_connect(&burst[i], srv.socket_path, NVEC);
	for (int i = 0; i < BURST; i++)
		tp_close(&burst[i]);
	for (int seen = 0; seen < 2 * BURST; seen++) {
		int id = -1, j, ev = tp_next_event(&w, &id, TP_TIMEOUT_MS);

		CHECK(ev >= 0, "burst: watcher saw %d of %d notices", seen,
		      2 * BURST);
		for (j = 0; j < npresent && present[j] != id; j++)
			;
		if (ev == 1) {
			CHECK(j == npresent && npresent < BURST,
			      "burst: peer %d joined twice or too many joins",
			      id);
			present[npresent++] = id;
		} else {
			CHECK(j < npresent, "burst: peer %d left, not there",
			      id);
			present[j] = present[--npresent];
		}
	}
	CHECK(npresent == 0, "burst: %d peers never left", npresent);
	for (int seen = 0; seen < 2 * BURST; seen++) {
		int id;

		CHECK(tp_next_event(&b, &id, TP_TIMEOUT_MS) >= 0,
		      "burst: bystander saw %d of %d notices", seen, 2 * BURST);
	}
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
	return 0;
}
