/* SPDX-License-Identifier: MIT */
/*
 * 2,048 concurrent peers with 2 vectors, every one seeing every join and
 * every leave. One process holds all the connections in an epoll loop and
 * reads them non-blockingly, each with its own struct ivproto_rx; every fd
 * received is closed at once (there are millions). Each connection's
 * stream is checked message by message against the exact sequence:
 *   0, own id, -1 + fd, (each earlier peer's id + fd) x 2, (own id + fd)
 *   x 2, (each later peer's id + fd) x 2, then one id per peer that left.
 * Join positions and leave order are global: the first connection to see
 * a position's id fixes it and every other connection must agree.
 * Peers join in batches and then leave in batches, in a shuffled order.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "srvtest.h"

#define NCONN 2048
#define NVEC  2
#define BATCH 64

struct conn {
	int sock;
	int id;            /* own id, once read */
	int pos;           /* join position */
	long step;         /* messages received */
	struct ivproto_rx rx;
};

static struct conn conns[NCONN];
static int order[NCONN];                /* id by join position, or -1 */
static int pos_of[IVPROTO_NUM_IDS];     /* join position by id, or -1 */
static int leave_order[NCONN];          /* ids in the order told, or -1 */
static char closed_id[IVPROTO_NUM_IDS], left_told[IVPROTO_NUM_IDS];
static int njoined, nclosed;
static long long pending, received;

static void bind_pos(const struct conn *c, int pos, int64_t v)
{
	CHECK(v >= 0 && v <= IVPROTO_MAX_PEER_ID, "connection %d: message "
	      "%ld: bad id %lld", c->pos, c->step, (long long)v);
	if (order[pos] < 0) {
		CHECK(pos_of[v] < 0, "peer id %lld at join positions %d and "
		      "%d", (long long)v, pos_of[v], pos);
		order[pos] = (int)v;
		pos_of[v] = pos;
	}
	CHECK(order[pos] == v, "connection %d: message %ld: join position %d "
	      "is peer %d, got %lld", c->pos, c->step, pos, order[pos],
	      (long long)v);
}

static void on_leave(const struct conn *c, long l, int64_t v)
{
	CHECK(l < nclosed, "connection %d: leave #%ld (%lld), only %d closed",
	      c->pos, l, (long long)v, nclosed);
	CHECK(v >= 0 && v <= IVPROTO_MAX_PEER_ID && v != c->id,
	      "connection %d: leave of %lld", c->pos, (long long)v);
	if (leave_order[l] < 0) {
		CHECK(closed_id[v] && !left_told[v], "connection %d: leave of "
		      "%lld, which %s", c->pos, (long long)v,
		      closed_id[v] ? "was told already" : "is still connected");
		leave_order[l] = (int)v;
		left_told[v] = 1;
	}
	CHECK(leave_order[l] == v, "connection %d: leave #%ld is peer %d, got "
	      "%lld", c->pos, l, leave_order[l], (long long)v);
}

static void on_message(struct conn *c, int64_t v, int had_fd)
{
	long s = c->step;

	if (s == 0) {
		CHECK(v == IVPROTO_VERSION && !had_fd, "connection %d: version "
		      "%lld", c->pos, (long long)v);
	} else if (s == 1) {
		CHECK(!had_fd, "connection %d: id with an fd", c->pos);
		bind_pos(c, c->pos, v);
		c->id = (int)v;
	} else if (s == 2) {
		CHECK(v == IVPROTO_SHM_ID && had_fd, "connection %d: shm "
		      "message %lld%s", c->pos, (long long)v,
		      had_fd ? "" : " without an fd");
	} else if (s - 3 < (long)njoined * NVEC) {
		CHECK(had_fd, "connection %d: message %ld: %lld without an fd, "
		      "expected a vector", c->pos, s, (long long)v);
		bind_pos(c, (int)((s - 3) / NVEC), v);
	} else {
		CHECK(njoined == NCONN, "connection %d: message %ld (%lld) "
		      "beyond the %d joins so far", c->pos, s, (long long)v,
		      njoined);
		CHECK(!had_fd, "connection %d: message %ld: %lld with an fd, "
		      "expected a leave", c->pos, s, (long long)v);
		on_leave(c, s - 3 - (long)NCONN * NVEC, v);
	}
	c->step++;
	received++;
	pending--;
}

/* Read until every connection has all it should have by now. */
static void pump(int epfd, const char *phase)
{
	struct epoll_event evs[256];

	while (pending > 0) {
		int n = epoll_wait(epfd, evs, 256, TP_TIMEOUT_MS);

		CHECK(n > 0, "%s: no progress for %d ms, %lld messages missing",
		      phase, TP_TIMEOUT_MS, pending);
		for (int i = 0; i < n; i++) {
			struct conn *c = &conns[evs[i].data.u32];

			for (;;) {
				int64_t v;
				int fd, rc = ivproto_recv(&c->rx, c->sock, &v,
							  &fd);

				if (rc == -EAGAIN)
					break;
				CHECK(rc == 0, "%s: connection %d (peer %d): "
				      "%s", phase, c->pos, c->id,
				      strerror(-rc));
				if (fd >= 0)
					close(fd);
				on_message(c, v, fd >= 0);
			}
		}
	}
	CHECK(pending == 0, "%s: %lld messages too many", phase, -pending);
}

static void watch(int epfd, struct conn *c)
{
	struct epoll_event ev = {
		.events = EPOLLIN,
		.data.u32 = (uint32_t)c->pos,
	};

	CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, c->sock, &ev) == 0, "epoll_ctl");
}

int main(void)
{
	static const char *const args[] = { "-n", "2", NULL };
	static int perm[NCONN];
	long long t0, t_join, t_leave;
	int epfd, fds_idle, fds_full, fds_after, live = NCONN;
	long limit = srv_raise_nofile();
	struct tu_server srv;
	struct tpeer first;
	unsigned rnd = 12345;

	CHECK(limit >= NCONN + 100, "RLIMIT_NOFILE hard limit %ld is too low",
	      limit);
	memset(order, -1, sizeof(order));
	memset(pos_of, -1, sizeof(pos_of));
	memset(leave_order, -1, sizeof(leave_order));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	CHECK(epfd >= 0, "epoll_create1");
	tu_server_start(&srv, args);

	/* The first connection reads its setup itself, once alone. */
	tp_join_alone(&first, srv.socket_path, NVEC);
	fds_idle = srv_settled_fds(srv.pid);
	t0 = tu_now_ns();
	conns[0] = (struct conn){
		.sock = first.sock, .id = first.id, .pos = 0,
		.step = 3 + NVEC, .rx = first.rx,
	};
	order[0] = first.id;
	pos_of[first.id] = 0;
	watch(epfd, &conns[0]);
	njoined = 1;

	while (njoined < NCONN) {
		for (int b = 0; b < BATCH && njoined < NCONN; b++) {
			struct conn *c = &conns[njoined];
			struct tpeer p;

			tp_connect(&p, srv.socket_path, NVEC);
			*c = (struct conn){
				.sock = p.sock, .id = -1, .pos = njoined,
				.rx = IVPROTO_RX_INIT,
			};
			watch(epfd, c);
			/* Its setup, and its join told to those there. */
			pending += 3 + NVEC * (njoined + 1) + NVEC * njoined;
			njoined++;
		}
		pump(epfd, "joining");
	}
	t_join = tu_now_ns() - t0;
	fds_full = tu_count_fds(srv.pid);
	for (int i = 0; i < NCONN; i++)
		CHECK(conns[i].step == 3 + NVEC * NCONN, "connection %d has "
		      "%ld messages", i, conns[i].step);
	printf("%d peers joined in %.2f s (%lld messages), server fds: %d "
	       "idle, %d with all peers\n", NCONN, t_join / 1e9, received,
	       fds_idle, fds_full);
	fflush(stdout);
	srv_alive(&srv);

	/* Leave in a shuffled order, a batch at a time. */
	for (int i = 0; i < NCONN; i++)
		perm[i] = i;
	for (int i = NCONN - 1; i > 0; i--) {
		int j, tmp;

		rnd = rnd * 1103515245u + 12345u;
		j = (int)((rnd >> 8) % (unsigned)(i + 1));
		tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
	}
	t0 = tu_now_ns();
	received = 0;
	/* Down to one peer, which must have been told of all the others. */
	for (int i = 0; i < NCONN - 1; ) {
		int k = 0;

		for (; k < BATCH && i < NCONN - 1; k++, i++) {
			struct conn *c = &conns[perm[i]];

			CHECK(c->step == 3 + NVEC * NCONN + nclosed,
			      "connection %d has %ld messages before leaving",
			      c->pos, c->step);
			epoll_ctl(epfd, EPOLL_CTL_DEL, c->sock, NULL);
			ivproto_rx_reset(&c->rx);
			close(c->sock);
			c->sock = -1;
			closed_id[c->id] = 1;
		}
		nclosed += k;
		live -= k;
		pending += (long long)live * k;
		pump(epfd, "leaving");
	}
	t_leave = tu_now_ns() - t0;
	for (int i = 0; i < NCONN; i++)
		CHECK(left_told[conns[i].id] || i == perm[NCONN - 1],
		      "nobody was told peer %d left", conns[i].id);
	CHECK(conns[perm[NCONN - 1]].step == 3 + NVEC * NCONN + NCONN - 1,
	      "the last peer has %ld messages", conns[perm[NCONN - 1]].step);
	close(conns[perm[NCONN - 1]].sock);
	ivproto_rx_reset(&conns[perm[NCONN - 1]].rx);
	/* An idle peer holds its socket and one eventfd per vector. */
	fds_after = srv_wait_fds(srv.pid, fds_idle - 1 - NVEC, 5000);
	printf("%d peers left in %.2f s (%lld messages), server fds: %d\n",
	       NCONN, t_leave / 1e9, received, fds_after);
	CHECK(fds_after == fds_idle - 1 - NVEC, "server fds: %d with one idle "
	      "peer (%d vectors), %d with none", fds_idle, NVEC, fds_after);
	srv_alive(&srv);
	close(epfd);
	CHECK(tu_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	printf("ok\n");
	return 0;
}
