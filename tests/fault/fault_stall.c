/* SPDX-License-Identifier: MIT */
/*
 * A mailbox peer that stalls forever (SIGSTOP: fault_stall), and one that
 * runs out of fds (RLIMIT_NOFILE: fault_nofile, built from this file with
 * FAULT_NOFILE), through the real server, public API only.
 *
 * Stalled: senders to it get -EBUSY once its queue is full (wait=0) and
 * -ETIMEDOUT after their send timeout (wait=1), never a hang; two other
 * peers keep exchanging in full meanwhile; once it is killed, sends to it
 * get -ENOTCONN.
 *
 * Out of fds: ipm_open's transport, started with every RLIMIT_NOFILE from
 * 3 up to one that suffices, either works or fails with -EMFILE, a clear
 * error, never a crash; the server and the other peers do not notice, and
 * the peers that failed leave no slot taken.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ipmtest.h"

#define TIMEOUT_MS 1000

static struct tu_server srv;

struct chan {
	int up[2], down[2];
};

static void chan_open(struct chan *c)
{
	CHECK(pipe(c->up) == 0 && pipe(c->down) == 0, "pipe");
}

static struct ipm_config cfg3(void)
{
	return (struct ipm_config){
		.mode = IPM_MODE_MAILBOX, .slots = 3,
		.send_timeout_ms = TIMEOUT_MS,
	};
}

/* The staller: joins, then polls until it is stopped for good. */
static int staller_main(void *arg)
{
	struct chan *c = arg;
	struct ipm_config cfg = cfg3();
	struct ipm *ipm = it_open(srv.socket_path, &cfg);
	struct it_recv r;

	it_recv_init(&r, it_id(ipm), (size_t)ipm_max_data_size_get(ipm), 1);
	ipm_register_callback(ipm, it_recv_cb, &r);
	it_put_int(c->up[1], it_id(ipm));
	for (;;)
		IT_CHECK(ipm_poll(ipm, -1) >= 0, "ipm_poll");
}

/* Peers A and B: exchange in full; A also sends to the staller. */
struct pair {
	struct chan ch;
	int is_a;
};

static int pair_main(void *arg)
{
	struct pair *p = arg;
	struct ipm_config cfg = cfg3();
	struct ipm *ipm = it_open(srv.socket_path, &cfg);
	size_t max = (size_t)ipm_max_data_size_get(ipm);
	uint8_t *buf = malloc(65536);
	struct it_recv r;
	int other, stalled, rc, n = 0;
	long long t0;

	IT_CHECK(buf, "malloc");
	it_recv_init(&r, it_id(ipm), max, 1);
	ipm_register_callback(ipm, it_recv_cb, &r);
	it_put_int(p->ch.up[1], it_id(ipm));
	other = it_get_int(p->ch.down[0], 10000);
	stalled = it_get_int(p->ch.down[0], 10000);
	if (p->is_a) {
		/* wait=0 to the stalled peer: -EBUSY once its queue is full */
		memset(buf, 0x5a, 65536);
		while ((rc = ipm_send(ipm, 0, (uint32_t)stalled, buf,
				      65536)) == 0)
			IT_CHECK(++n < 10000, "the stalled queue never fills");
		IT_CHECK(rc == -EBUSY, "wait=0 to a stalled peer: %s",
			 strerror(-rc));
		it_put_int(p->ch.up[1], n);
		/* wait=1: -ETIMEDOUT after the send timeout, no hang */
		t0 = tu_now_ns();
		rc = ipm_send(ipm, 1, (uint32_t)stalled, buf, 64);
		IT_CHECK(rc == -ETIMEDOUT, "wait=1 to a stalled peer: %s",
			 strerror(-rc));
		it_put_int(p->ch.up[1], (int)((tu_now_ns() - t0) / 1000000));
		/*
		 * The 64 KiB messages may have left room for small ones (the
		 * staller can take one before SIGSTOP lands, and the room
		 * left then differs): fill it, so that until we hear of its
		 * death (below) a send to it can only find its queue full.
		 * With room it would be queued (0), and lost with the peer,
		 * as a wait=0 send may be (CI saw that once).
		 */
		while ((rc = ipm_send(ipm, 0, (uint32_t)stalled, buf,
				      64)) == 0)
			IT_CHECK(++n < 100000, "the stalled queue never fills");
		IT_CHECK(rc == -EBUSY, "64 B to a stalled peer: %s",
			 strerror(-rc));
	}
	/* Meanwhile (B) and then (A): a full exchange between the two. */
	{
		struct it_flow f = {
			.ndst = 1, .dst = { other }, .msgs = 400,
			.expect = 400, .deadline_ms = 60000,
			.seed = (uint64_t)p->is_a + 7,
		};

		it_flow_run(ipm, &r, &f);
		IT_CHECK(r.bad == 0 && r.gaps == 0 && r.total == 400,
			 "exchange: %llu", (unsigned long long)r.total);
	}
	it_put_int(p->ch.up[1], (int)r.total);
	/* The staller is killed now: its slot goes, sends get -ENOTCONN. */
	it_get_int(p->ch.down[0], 30000);
	if (p->is_a) {
		for (int tries = 0;; tries++) {
			rc = ipm_send(ipm, 0, (uint32_t)stalled, buf, 64);
			if (rc == -ENOTCONN)
				break;
			IT_CHECK(rc == -EBUSY && tries < 500, "a send to a "
				 "killed peer: %s", strerror(-rc));
			IT_CHECK(ipm_poll(ipm, 10) >= 0, "ipm_poll");
		}
	}
	/* Let the other side finish taking our messages. */
	it_put_int(p->ch.up[1], 0);
	it_get_int(p->ch.down[0], 30000);
	ipm_close(ipm);
	it_recv_free(&r);
	free(buf);
	return 0;
}

static void __attribute__((unused)) stalled_peer(void)
{
	struct chan cs;
	struct pair a = { .is_a = 1 }, b = { .is_a = 0 };
	pid_t ps, pa, pb;
	int sid, aid, bid, n, ms;

	it_server(&srv, NULL, 1);
	chan_open(&cs);
	ps = it_fork(staller_main, &cs);
	sid = it_get_int(cs.up[0], 10000);
	chan_open(&a.ch);
	chan_open(&b.ch);
	pa = it_fork(pair_main, &a);
	pb = it_fork(pair_main, &b);
	aid = it_get_int(a.ch.up[0], 10000);
	bid = it_get_int(b.ch.up[0], 10000);
	usleep(100000);
	CHECK(kill(ps, SIGSTOP) == 0, "SIGSTOP");
	it_put_int(a.ch.down[1], bid);
	it_put_int(a.ch.down[1], sid);
	it_put_int(b.ch.down[1], aid);
	it_put_int(b.ch.down[1], sid);
	n = it_get_int(a.ch.up[0], 30000);
	ms = it_get_int(a.ch.up[0], 30000);
	it_log("stalled peer: wait=0 sends got -EBUSY after %d messages of "
	       "64 KiB; wait=1 got -ETIMEDOUT after %d ms (timeout %d ms)",
	       n, ms, TIMEOUT_MS);
	/* A functional bound, generous: it must not hang. */
	CHECK(ms < 10 * TIMEOUT_MS, "wait=1 took %d ms", ms);
	CHECK(it_get_int(a.ch.up[0], 60000) == 400, "A's exchange");
	CHECK(it_get_int(b.ch.up[0], 60000) == 400, "B's exchange");
	it_log("the other two exchanged 400 messages each way meanwhile");
	kill(ps, SIGKILL);
	CHECK(it_wait(ps, 5000) == 128 + SIGKILL, "staller");
	it_put_int(a.ch.down[1], 1);
	it_put_int(b.ch.down[1], 1);
	it_get_int(a.ch.up[0], 30000);
	it_get_int(b.ch.up[0], 30000);
	it_put_int(a.ch.down[1], 1);
	it_put_int(b.ch.down[1], 1);
	CHECK(it_wait(pa, 10000) == 0, "peer A");
	CHECK(it_wait(pb, 10000) == 0, "peer B");
	it_log("once killed, sends to it got -ENOTCONN");
	CHECK(tu_server_stop(&srv) == 0, "server exit status");
}

/* Open with RLIMIT_NOFILE 'lim' (fds above 2 closed): exits with -rc. */
static int nofile_main(void *arg)
{
	struct rlimit rl = { (rlim_t)(intptr_t)arg, (rlim_t)(intptr_t)arg };
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX, .slots = 2 };
	struct ipm *ipm;
	int rc;

	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	IT_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit");
	rc = it_try_open(&ipm, srv.socket_path, &cfg);
	if (rc == 0)
		ipm_close(ipm);
	return -rc;
}

static void __attribute__((unused)) out_of_fds(void)
{
	int emfile = 0, unclear = 0, lim, st = -1;
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX, .slots = 2 };
	struct ipm *x, *y;
	char msg[16];

	it_server(&srv, NULL, 1);
	for (lim = 3; lim < 64; lim++) {
		st = it_wait(it_fork(nofile_main, (void *)(intptr_t)lim),
			     20000);
		it_log("RLIMIT_NOFILE %d: %s", lim, st == 0 ? "works" :
		       st > 0 && st < 128 ? strerror(st) : "signal or hang");
		CHECK(st >= 0 && st < 128, "ipm_open with RLIMIT_NOFILE %d: "
		      "a signal or a hang (%d)", lim, st);
		if (st == 0)
			break;
		if (st == EMFILE)
			emfile++;
		else
			unclear++;
	}
	CHECK(st == 0, "no RLIMIT_NOFILE under 64 lets ipm_open work");
	CHECK(unclear == 0, "%d limits gave another error than -EMFILE "
	      "(above): running out of fds must say so", unclear);
	CHECK(emfile > 0, "no limit was too small");
	it_log("RLIMIT_NOFILE 3..%d: -EMFILE (%d limits); %d: works", lim - 1,
	       emfile, lim);
	/* Nothing left behind: both slots free, the pair talks. */
	x = it_open(srv.socket_path, &cfg);
	y = it_open(srv.socket_path, &cfg);
	snprintf(msg, sizeof(msg), "after");
	CHECK(ipm_send(x, 0, (uint32_t)it_id(y), msg, 6) == 0, "send");
	CHECK(ipm_poll(y, 2000) == 1, "the message after the fd failures");
	ipm_close(x);
	ipm_close(y);
	CHECK(tu_server_stop(&srv) == 0, "server exit status");
}

int main(void)
{
	it_init();
#ifdef FAULT_NOFILE
	out_of_fds();
#else
	stalled_peer();
#endif
	return 0;
}
