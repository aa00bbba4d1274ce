/* SPDX-License-Identifier: MIT */
/*
 * Mailbox traffic between TRAFFIC_PEERS processes, all to all: each sends
 * TRAFFIC_MSGS messages of random sizes (0 to the maximum, 1 MiB ones
 * included) to every other, and each receiver checks every message's
 * stream, sequence number and checksum: in order, none lost, none twice.
 * Peer k sends blocking to peers above it (so blocked senders never form a
 * cycle) and non-blocking to the others, retrying on -EBUSY.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ipmtest.h"

#ifndef TRAFFIC_PEERS
#define TRAFFIC_PEERS 2
#endif
#ifndef TRAFFIC_MSGS
#define TRAFFIC_MSGS 20000
#endif
#ifndef TRAFFIC_SIZE
#define TRAFFIC_SIZE NULL /* the server's default, 4M */
#endif

#define N TRAFFIC_PEERS
#define DEADLINE_MS 100000

static struct tu_server srv;

struct peer {
	int k;
	int to_parent[2], from_parent[2];
};

static int peer_main(void *arg)
{
	struct peer *p = arg;
	struct ipm_config cfg = {
		.mode = IPM_MODE_MAILBOX, .slots = N,
		.send_timeout_ms = 20000,
	};
	struct ipm *ipm = it_open(srv.socket_path, &cfg);
	size_t max = (size_t)ipm_max_data_size_get(ipm);
	struct it_flow f = {
		.msgs = TRAFFIC_MSGS, .expect = (N - 1) * TRAFFIC_MSGS,
		.deadline_ms = DEADLINE_MS,
		.seed = (uint64_t)(p->k + 1) * 0x51ed27ULL,
	};
	struct it_recv r;
	int ids[N], me = it_id(ipm), quit;

	IT_CHECK(max >= 1u << 20, "max data size %zu < 1 MiB", max);
	it_recv_init(&r, me, max, 1);
	ipm_register_callback(ipm, it_recv_cb, &r);
	it_put_int(p->to_parent[1], me);
	/* Everybody's ids, once everybody is there. */
	for (int j = 0; j < N; j++)
		ids[j] = it_get_int(p->from_parent[0], 20000);
	IT_CHECK(ids[p->k] == me, "my id %d, told %d", me, ids[p->k]);
	for (int j = 1; j < N; j++) {
		int to = (p->k + j) % N;

		f.dst[f.ndst] = ids[to];
		f.wait[f.ndst++] = to > p->k;
	}
	it_flow_run(ipm, &r, &f);
	for (int j = 0; j < N; j++)
		IT_CHECK(j == p->k || it_recv_got(&r, ids[j]) == TRAFFIC_MSGS,
			 "%llu messages from %d",
			 (unsigned long long)it_recv_got(&r, ids[j]), ids[j]);
	it_log("peer %d: sent %llu (%llu blocking, %llu >= 1 MiB), -EBUSY "
	       "%llu times; received %llu, %llu MiB, all intact and in order",
	       me, (unsigned long long)f.sent,
	       (unsigned long long)f.blocking, (unsigned long long)f.big,
	       (unsigned long long)f.busy, (unsigned long long)r.total,
	       (unsigned long long)(r.bytes >> 20));
	/* Stay until everybody is done: a peer may still send to us. */
	it_put_int(p->to_parent[1], 1);
	while (it_get(p->from_parent[0], &quit, sizeof(quit), 0) == 0) {
		IT_CHECK(ipm_poll(ipm, 50) >= 0, "ipm_poll");
		IT_CHECK(r.total == (uint64_t)(N - 1) * TRAFFIC_MSGS,
			 "extra messages");
	}
	ipm_close(ipm);
	it_recv_free(&r);
	return 0;
}

int main(void)
{
	struct peer p[N];
	pid_t pid[N];
	int ids[N];
	long long t0;

	it_init();
	it_server(&srv, TRAFFIC_SIZE, 1);
	t0 = tu_now_ns();
	for (int k = 0; k < N; k++) {
		p[k].k = k;
		IT_CHECK(pipe(p[k].to_parent) == 0 &&
			 pipe(p[k].from_parent) == 0, "pipe");
		pid[k] = it_fork(peer_main, &p[k]);
		/* Only the child holds its write end: EOF when it dies. */
		close(p[k].to_parent[1]);
		close(p[k].from_parent[0]);
		ids[k] = it_get_int(p[k].to_parent[0], 10000);
	}
	for (int k = 0; k < N; k++)
		for (int j = 0; j < N; j++)
			it_put_int(p[k].from_parent[1], ids[j]);
	for (int k = 0; k < N; k++)
		IT_CHECK(it_get_int(p[k].to_parent[0], DEADLINE_MS + 10000) ==
			 1, "peer %d", k);
	for (int k = 0; k < N; k++)
		it_put_int(p[k].from_parent[1], 0);
	for (int k = 0; k < N; k++)
		IT_CHECK(it_wait(pid[k], 10000) == 0, "peer %d failed", k);
	it_log("%d peers, %d messages each way per pair, in %lld ms", N,
	       TRAFFIC_MSGS, (tu_now_ns() - t0) / 1000000);
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
	return 0;
}
