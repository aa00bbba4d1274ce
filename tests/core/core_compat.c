/* SPDX-License-Identifier: MIT */
/*
 * Byte compatibility: the core (src/core) and the IPM layer (src/ipm)
 * exchange messages over one region of a real ivshmem-server, from two
 * processes. The core's side here is a host transport with the core's ops
 * filled from it; the other side is ipm_open()'s mailbox. Both orders of
 * laying the region out (the core first with 4 slots, or src/ipm first
 * with 3); payloads both ways, copied and loaned, non-blocking and
 * blocking (acked), each self-checking (tests/ipm/ipmtest.h); no loss and
 * no refusal counted on either side.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ivshmem/ipm.h>

#include "ipmtest.h"
#include "ipmc.h"
#include "sum.h"

#define NB      20      /* non-blocking messages each way */
#define BL      3       /* blocking ones */
#define LOANS   2       /* loaned (64 KiB, then 200 KiB), blocking */

struct env {
	struct ivshm_transport *t;
	struct ipmc *mb;
};

static int env_ring(void *ctx, int peer, unsigned vector)
{
	struct env *e = ctx;

	return e->t->ops->ring(e->t, peer, vector);
}

static long long env_now_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int env_live(void *ctx, int peer)
{
	struct env *e = ctx;

	return e->t->ops->peer_live(e->t, peer);
}

/* The transport's presence news: a leave frees its slots. */
static void env_news(void *ctx)
{
	struct env *e = ctx;
	int peer, what;

	while (e->t->ops->next_presence(e->t, &peer, &what) == 1)
		if (what == IVSHM_PEER_LEFT)
			ipmc_peer_left(e->mb, peer);
}

/* Presence news first, then the doorbell. */
static int env_wait(void *ctx, int timeout_ms)
{
	struct env *e = ctx;
	struct pollfd fds[2] = {
		{ .fd = e->t->ops->vector_fd(e->t, 0), .events = POLLIN },
		{ .fd = e->t->ops->presence_fd(e->t), .events = POLLIN },
	};
	int rc = poll(fds, 2, timeout_ms);

	env_news(ctx);
	if (rc > 0 && fds[0].revents)
		e->t->ops->ack(e->t, 0);
	return rc;
}

static const struct ipmc_ops ops_template = {
	.ring = env_ring, .now_ms = env_now_ms, .peer_live = env_live,
	.wait = env_wait, .news = env_news,
};

static size_t size_of(int i)
{
	static const size_t sizes[] = { 0, 1, 31, 32, 63, 64, 100, 4000,
					65536, 100000 };

	return sizes[i % (int)(sizeof(sizes) / sizeof(sizes[0]))];
}

/* The src/ipm side: take everything the core sends, then send back. */
struct side {
	const char *sock;
	int core_id;       /* -1: find it among the peers */
	unsigned slots;    /* lay out first with these (0: join) */
	int ready_fd;      /* tells the parent it is open */
};

static int ipm_side(void *arg)
{
	struct side *sd = arg;
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX,
				  .slots = sd->slots ? sd->slots : 2 };
	struct ipm *ipm = it_open(sd->sock, &cfg);
	struct it_recv rcv;
	struct ipm_stats st;
	int me = it_id(ipm), core = sd->core_id, ids[8];
	uint8_t *buf = malloc(1 << 20);
	long long until;

	IT_CHECK(buf, "malloc");
	it_recv_init(&rcv, me, 1 << 20, 1);
	ipm_register_callback(ipm, it_recv_cb, &rcv);
	it_put_int(sd->ready_fd, me);
	until = tu_now_ns() + 20000000000LL;
	while (core < 0) {
		IT_CHECK(tu_now_ns() < until, "the core never showed up");
		if (ipm_peers(ipm, ids, 8) >= 1)
			core = ids[0];
		else
			ipm_poll(ipm, 10);
	}
	while (it_recv_got(&rcv, core) < NB + BL + LOANS) {
		IT_CHECK(tu_now_ns() < until, "got %llu from the core",
			 (unsigned long long)it_recv_got(&rcv, core));
		ipm_poll(ipm, 100);
	}
	IT_CHECK(rcv.bad == 0 && rcv.gaps == 0, "bad %llu gaps %llu",
		 (unsigned long long)rcv.bad, (unsigned long long)rcv.gaps);
	for (int i = 0; i < NB + BL; i++) {
		size_t n = size_of(i);
		int rc;

		it_msg_make(buf, n, it_stream(me, core), (uint64_t)i);
		while ((rc = ipm_send(ipm, i >= NB, (uint32_t)core, buf, n)) ==
		       -EBUSY)
			ipm_poll(ipm, 1);
		IT_CHECK(rc == 0, "ipm_send %d to the core: %s", i,
			 strerror(-rc));
	}
	ipm_stats(ipm, &st);
	IT_CHECK(st.lost == 0 && st.corrupt == 0 && st.replayed == 0 &&
		 st.foreign == 0 && st.dropped == 0 && st.withdrawn == 0,
		 "src/ipm refused some: lost %llu corrupt %llu",
		 (unsigned long long)st.lost, (unsigned long long)st.corrupt);
	/* Stay until the core has taken them all (it closes the pipe). */
	ipm_poll(ipm, 200);
	it_recv_free(&rcv);
	free(buf);
	ipm_close(ipm);
	return 0;
}

static void run(const char *sock, int core_first)
{
	static struct ipmc mb;
	struct env e = { .mb = &mb };
	struct ipmc_ops ops = ops_template;
	struct ipmc_config cfg = { .slots = 4, .hw_sum = 1 };
	struct side sd = { .sock = sock, .core_id = -1 };
	uint8_t *buf = malloc(1 << 20), *copy = malloc(1 << 20);
	int pfd[2], peer, rc;
	pid_t pid;
	uint64_t expect = 0;

	CHECK(buf && copy && pipe(pfd) == 0, "setup");
	ops.ctx = &e;
	cfg.hw_sum = ipm_sum_hw();
	while (getrandom(&cfg.nonce, sizeof(cfg.nonce), 0) != 4 || !cfg.nonce)
		;
	sd.ready_fd = pfd[1];
	if (core_first) {
		CHECK(ivshm_transport_host_open(&e.t, sock, 1, 5000) == 0,
		      "transport");
		rc = ipmc_open(&mb, e.t->mem, e.t->size, e.t->id, &cfg, &ops);
		CHECK(rc == 0, "ipmc_open (laying out): %s", strerror(-rc));
		sd.core_id = e.t->id;
		pid = it_fork(ipm_side, &sd);
		peer = it_get_int(pfd[0], 20000);
	} else {
		sd.slots = 3;
		pid = it_fork(ipm_side, &sd);
		peer = it_get_int(pfd[0], 20000);
		CHECK(ivshm_transport_host_open(&e.t, sock, 1, 5000) == 0,
		      "transport");
		rc = ipmc_open(&mb, e.t->mem, e.t->size, e.t->id, &cfg, &ops);
		CHECK(rc == 0, "ipmc_open (adopting): %s", strerror(-rc));
		CHECK(mb.g.slots == 3, "adopted %u slots", mb.g.slots);
	}
	/*
	 * Until our view has the other side, attached: the first send that
	 * does not fail -ENOTCONN is message 0 of the stream, a zero-length
	 * one (it_msg_check's pattern for seq 0).
	 */
	for (int i = 0; (rc = ipmc_send(&mb, peer, NULL, 0, 0)) == -ENOTCONN;
	     i++) {
		CHECK(i < 2000, "src/ipm's peer %d never attached", peer);
		env_wait(&e, 10);
	}
	CHECK(rc == 0, "the first send: %s", strerror(-rc));
	for (int i = 1; i < NB + BL; i++) {
		size_t n = size_of(i);

		it_msg_make(buf, n, it_stream(e.t->id, peer), (uint64_t)i);
		while ((rc = ipmc_send(&mb, peer, buf, (uint32_t)n,
				       i >= NB)) == -EBUSY)
			env_wait(&e, 1);
		CHECK(rc == 0, "ipmc_send %d: %s", i, strerror(-rc));
	}
	for (int i = NB + BL; i < NB + BL + LOANS; i++) {
		size_t n = i == NB + BL ? 65536 : 200000;
		struct ipmc_loan l;

		rc = ipmc_loan(&mb, peer, (uint32_t)n, 1, &l);
		CHECK(rc == 0, "ipmc_loan %zu: %s", n, strerror(-rc));
		it_msg_make(l.data, n, it_stream(e.t->id, peer), (uint64_t)i);
		rc = ipmc_loan_commit(&mb, &l);
		CHECK(rc == 0, "ipmc_loan_commit %zu: %s", n, strerror(-rc));
	}
	/* And back: the core receives what src/ipm sends. */
	long long until = tu_now_ns() + 20000000000LL;
	while (expect < NB + BL) {
		struct ipmc_msg m;
		uint64_t seq = expect;

		CHECK(tu_now_ns() < until, "got %llu from src/ipm",
		      (unsigned long long)expect);
		if (!ipmc_next(&mb, copy, &m)) {
			if (!ipmc_idle(&mb, 0))
				env_wait(&e, 100);
			ipmc_awake(&mb);
			continue;
		}
		CHECK(ipmc_token_id(m.src) == peer, "from %d",
		      ipmc_token_id(m.src));
		CHECK(m.len == size_of((int)expect), "size %u", m.len);
		CHECK(it_msg_check((uint8_t *)m.data, m.len,
				   it_stream(peer, e.t->id), &seq) ==
		      IT_MSG_OK && seq == expect, "message %llu",
		      (unsigned long long)expect);
		ipmc_complete(&mb);
		expect++;
	}
	CHECK(mb.stats.delivered == NB + BL && !mb.stats.lost &&
	      !mb.stats.corrupt && !mb.stats.replayed && !mb.stats.foreign &&
	      !mb.stats.dropped && !mb.stats.send_withdrawn, "core stats");
	CHECK(it_wait(pid, 30000) == 0, "the src/ipm side failed");
	ipmc_close(&mb);
	ivshm_transport_close(e.t);
	close(pfd[0]);
	close(pfd[1]);
	free(buf);
	free(copy);
	printf("core_compat: %s first: %d messages each way\n",
	       core_first ? "the core" : "src/ipm", NB + BL);
}

int main(void)
{
	struct tu_server s1, s2;

	it_init();
	it_server(&s1, "4M", 1);
	run(s1.socket_path, 1);
	it_server(&s2, "4M", 1);
	run(s2.socket_path, 0);
	return 0;
}
