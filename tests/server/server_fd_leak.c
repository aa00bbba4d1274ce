/* SPDX-License-Identifier: MIT */
/*
 * No fd leak: 10,000 peers connect and go, in every way a peer can go
 * (after its whole setup, at once, after some messages, inside a message,
 * after sending data, after a half-close), while a watcher checks what
 * it hears: joins in the order of the cycles, each followed by its leave;
 * every peer that got its whole setup announced (one that went before
 * the server told anybody may never be). Afterwards the server has
 * exactly as many fds open as before.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "srvtest.h"

#define NVEC   2
#define CYCLES 10000
#define NMODES 6

static int cyc_id[CYCLES];              /* -1: never read */
static char must_join[CYCLES], heard[CYCLES];
static char present[IVPROTO_NUM_IDS];
static long joins, leaves;
static int next_cyc;                    /* joins heard are of cycles >= */
static int cyc_of[IVPROTO_NUM_IDS];     /* the cycle a known id is of */

static void drain(struct tpeer *w, int timeout_ms)
{
	int id, ev;

	while ((ev = tp_next_event(w, &id, timeout_ms)) >= 0) {
		if (ev == 1) {
			int c = cyc_of[id] - 1;

			/* An id not read from its setup: an unknown cycle. */
			if (c < 0)
				for (c = next_cyc; c < CYCLES && cyc_id[c] >= 0;
				     c++)
					;
			CHECK(c >= next_cyc && c < CYCLES, "join of peer %d "
			      "out of order: cycle %d, after %d", id, c,
			      next_cyc);
			heard[c] = 1;
			next_cyc = c + 1;
			CHECK(!present[id], "peer %d joined twice", id);
			present[id] = 1;
			joins++;
		} else {
			CHECK(present[id], "peer %d left, not there", id);
			present[id] = 0;
			leaves++;
		}
	}
}

int main(void)
{
	static const char *const args[] = { "-n", "2", NULL };
	/* At least this much setup: version, id, shm, watcher's, own. */
	const int setup_len = 3 + 2 * NVEC;
	int fds_before, fds_mid = 0, fds_after, count[NMODES] = { 0 };
	struct tu_server srv;
	struct tpeer w, x;
	struct pollfd pfd;
	long long t0;
	char buf[8];

	tu_server_start(&srv, args);
	tp_join_alone(&w, srv.socket_path, NVEC);
	fds_before = srv_settled_fds(srv.pid);
	t0 = tu_now_ns();
	for (int i = 0; i < CYCLES; i++) {
		int mode = i % NMODES, k = 1 + (i / NMODES) % (setup_len - 1);

		cyc_id[i] = -1;
		must_join[i] = mode == 0 || mode == 4;
		switch (mode) {
		case 0: /* a whole setup */
			tp_join(&x, srv.socket_path, NVEC, NULL, 0, NULL);
			cyc_id[i] = x.id;
			break;
		case 1: /* at once */
			tp_connect(&x, srv.socket_path, NVEC);
			break;
		case 2: /* after k messages */
			tp_connect(&x, srv.socket_path, NVEC);
			cyc_id[i] = tp_read_setup(&x, k);
			break;
		case 3: /* inside a message */
			tp_connect(&x, srv.socket_path, NVEC);
			cyc_id[i] = tp_read_setup(&x, k - 1);
			pfd = (struct pollfd){ .fd = x.sock, .events = POLLIN };
			CHECK(poll(&pfd, 1, TP_TIMEOUT_MS) == 1, "no setup");
			CHECK(recv(x.sock, buf, 1 + i % 7, 0) > 0, "recv: %s",
			      strerror(errno));
			break;
		case 4: /* sends data: the server disconnects it */
			tp_join(&x, srv.socket_path, NVEC, NULL, 0, NULL);
			cyc_id[i] = x.id;
			CHECK(send(x.sock, "x", 1, MSG_NOSIGNAL) == 1, "send");
			tp_drain_to_eof(&x, TP_TIMEOUT_MS);
			break;
		case 5: /* half-close */
			tp_connect(&x, srv.socket_path, NVEC);
			cyc_id[i] = tp_read_setup(&x, k);
			CHECK(shutdown(x.sock, SHUT_WR) == 0, "shutdown");
			tp_drain_to_eof(&x, TP_TIMEOUT_MS);
			break;
		}
		tp_close(&x);
		if (cyc_id[i] >= 0)
			cyc_of[cyc_id[i]] = i + 1;
		count[mode]++;
		drain(&w, 0);
		if (i == CYCLES / 2)
			fds_mid = tu_count_fds(srv.pid);
	}
	drain(&w, 500);
	CHECK(joins == leaves, "%ld joins heard, %ld leaves", joins, leaves);
	for (int i = 0; i < CYCLES; i++)
		CHECK(heard[i] || !must_join[i], "cycle %d: peer %d had its "
		      "whole setup, its join was never heard", i, cyc_id[i]);
	srv_alive(&srv);
	fds_after = srv_wait_fds(srv.pid, fds_before, 5000);
	printf("%d peers came and went in %.2f s (%d whole setup, %d at once, "
	       "%d after some messages, %d inside a message, %d sent data, "
	       "%d half-closed)\n", CYCLES, (tu_now_ns() - t0) / 1e9,
	       count[0], count[1], count[2], count[3], count[4], count[5]);
	printf("the watcher heard %ld of them\n", joins);
	printf("server fds: %d before, %d halfway, %d after\n", fds_before,
	       fds_mid, fds_after);
	CHECK(fds_after == fds_before, "server fds: %d before, %d after",
	      fds_before, fds_after);
	tp_close(&w);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	printf("ok\n");
	return 0;
}
