/* SPDX-License-Identifier: MIT */
/*
 * Peers killed with SIGKILL in the middle of a message.
 *
 * A receiver killed while its sender is blocked (inside the callback, with
 * the message held; or never processing, with the queue full): the sender
 * gets -ENOTCONN at once, not a hang nor -ETIMEDOUT, and with 2 slots the
 * dead receiver's slot is reclaimed by the next peer, which gets traffic.
 *
 * Senders killed at random moments while queuing large messages: the
 * receiver keeps getting everything from a steady sender, everything it
 * gets from the killed ones is intact and in order, and each newcomer in
 * the dead sender's slot (3 slots) is heard in full.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ipmtest.h"

static struct tu_server srv;

struct chan {
	int up[2], down[2]; /* child -> parent, parent -> child */
};

static void chan_open(struct chan *c)
{
	IT_CHECK(pipe(c->up) == 0 && pipe(c->down) == 0, "pipe");
}

/* After fork: keep only the parent's ends, so a dead child means EOF. */
static void chan_parent(struct chan *c)
{
	close(c->up[1]);
	close(c->down[0]);
}

static void chan_close(struct chan *c)
{
	close(c->up[0]);
	close(c->down[1]);
}

/* Part 1: receivers killed under a blocked sender. */

struct victim {
	struct chan ch;
	int mode; /* 0: dies inside the callback; 1: never processes */
};

static void hold_cb(struct ipm *ipm, void *user, uint32_t id,
		    const volatile void *data, size_t size)
{
	struct victim *v = user;

	(void)ipm;
	(void)id;
	(void)data;
	it_put_int(v->ch.up[1], (int)size);
	for (;;)
		pause(); /* killed mid-message */
}

static int victim_main(void *arg)
{
	struct victim *v = arg;
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX, .slots = 2 };
	struct ipm *ipm = it_open(srv.socket_path, &cfg);

	ipm_register_callback(ipm, hold_cb, v);
	it_put_int(v->ch.up[1], it_id(ipm));
	if (v->mode == 1)
		for (;;)
			pause();
	for (;;)
		IT_CHECK(ipm_poll(ipm, -1) >= 0, "ipm_poll");
}

/* The sender, driven by commands: target id, then what to do. */
enum { DO_BLOCKING_BIG = 1, DO_FILL_THEN_BLOCK, DO_FLOW, DO_QUIT };

static int blocked_sender(void *arg)
{
	struct chan *ch = arg;
	struct ipm_config cfg = {
		.mode = IPM_MODE_MAILBOX, .slots = 2, .send_timeout_ms = 30000,
	};
	struct ipm *ipm = it_open(srv.socket_path, &cfg);
	size_t max = (size_t)ipm_max_data_size_get(ipm);
	uint8_t *buf = malloc(max);
	struct it_recv r;

	IT_CHECK(buf, "malloc");
	it_recv_init(&r, it_id(ipm), max, 1);
	ipm_register_callback(ipm, it_recv_cb, &r);
	it_put_int(ch->up[1], it_id(ipm));
	for (;;) {
		int cmd = it_get_int(ch->down[0], 60000), to, rc, n = 0;
		long long t0;

		if (cmd == DO_QUIT)
			break;
		to = it_get_int(ch->down[0], 1000);
		if (cmd == DO_BLOCKING_BIG) {
			it_msg_make(buf, 1u << 20, it_stream(it_id(ipm), to), 0);
			it_put_int(ch->up[1], 0);
			t0 = tu_now_ns();
			rc = ipm_send(ipm, 1, (uint32_t)to, buf, 1u << 20);
			it_put_int(ch->up[1], rc);
			it_put_int(ch->up[1],
				   (int)((tu_now_ns() - t0) / 1000000));
		} else if (cmd == DO_FILL_THEN_BLOCK) {
			while ((rc = ipm_send(ipm, 0, (uint32_t)to, buf,
					      65536)) == 0)
				IT_CHECK(++n < 1000, "never full");
			IT_CHECK(rc == -EBUSY, "filling: %s", strerror(-rc));
			it_put_int(ch->up[1], n);
			t0 = tu_now_ns();
			rc = ipm_send(ipm, 1, (uint32_t)to, buf, 65536);
			it_put_int(ch->up[1], rc);
			it_put_int(ch->up[1],
				   (int)((tu_now_ns() - t0) / 1000000));
		} else {
			struct it_flow f = {
				.ndst = 1, .dst = { to }, .msgs = 500,
				.deadline_ms = 20000, .seed = 99,
			};

			it_flow_run(ipm, &r, &f);
			it_put_int(ch->up[1], (int)f.sent);
			it_put_int(ch->up[1], (int)f.big);
		}
	}
	ipm_close(ipm);
	it_recv_free(&r);
	free(buf);
	return 0;
}

static int good_receiver(void *arg)
{
	struct chan *ch = arg;
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX, .slots = 2 };
	struct ipm *ipm = it_open(srv.socket_path, &cfg);
	struct it_recv r;
	int quit;

	it_recv_init(&r, it_id(ipm), (size_t)ipm_max_data_size_get(ipm), 1);
	ipm_register_callback(ipm, it_recv_cb, &r);
	it_put_int(ch->up[1], it_id(ipm));
	while (it_get(ch->down[0], &quit, sizeof(quit), 0) == 0)
		IT_CHECK(ipm_poll(ipm, 20) >= 0, "ipm_poll");
	it_put_int(ch->up[1], (int)r.total);
	ipm_close(ipm);
	it_recv_free(&r);
	return 0;
}

static pid_t start_victim(struct victim *v, int mode, int *id)
{
	pid_t pid;
	int rc;

	v->mode = mode;
	chan_open(&v->ch);
	pid = it_fork(victim_main, v);
	chan_parent(&v->ch);
	/* With 2 slots, this join needs the dead peer's slot back. */
	rc = it_get(v->ch.up[0], id, sizeof(*id), 10000);
	IT_CHECK(rc == 1, "receiver did not join (exit %d)", it_wait(pid, 1));
	return pid;
}

static void kill_under_sender(struct chan *a, int mode)
{
	struct victim v;
	int id, rc, ms, got;
	pid_t pid = start_victim(&v, mode, &id);

	it_put_int(a->down[1], mode == 0 ? DO_BLOCKING_BIG :
					   DO_FILL_THEN_BLOCK);
	it_put_int(a->down[1], id);
	it_get_int(a->up[0], 5000);
	if (mode == 0) {
		got = it_get_int(v.ch.up[0], 5000);
		IT_CHECK(got == 1 << 20, "the receiver got %d bytes", got);
	}
	/* The sender is blocked now, and stays so. */
	IT_CHECK(it_get(a->up[0], &rc, sizeof(rc), 300) == 0,
		 "the blocking send returned %d with the receiver stuck", rc);
	kill(pid, SIGKILL);
	IT_CHECK(it_wait(pid, 5000) == 128 + SIGKILL, "victim");
	rc = it_get_int(a->up[0], 10000);
	ms = it_get_int(a->up[0], 1000);
	/*
	 * Inside its callback, the receiver had claimed the message: it was
	 * delivered, so the send succeeded (an error would invite a retry,
	 * a duplicate). With a full queue it never got the message.
	 */
	IT_CHECK(rc == (mode == 0 ? 0 : -ENOTCONN), "blocked send when its "
		 "receiver was killed: %d (%s)", rc, strerror(-rc));
	IT_CHECK(ms < 5000, "the send returned after %d ms", ms);
	it_log("receiver killed %s: the blocked sender got %s",
	       mode == 0 ? "inside its callback" : "with a full queue",
	       mode == 0 ? "0 (it was delivered)" : "-ENOTCONN");
	chan_close(&v.ch);
}

static void killed_receivers(void)
{
	struct chan a, b;
	pid_t pa, pb;
	int id, sent, total;

	it_server(&srv, NULL, 1);
	chan_open(&a);
	pa = it_fork(blocked_sender, &a);
	chan_parent(&a);
	it_get_int(a.up[0], 10000);

	kill_under_sender(&a, 0);
	kill_under_sender(&a, 1);
	kill_under_sender(&a, 0);

	/* The slot is reclaimed: a new receiver joins and hears it all. */
	chan_open(&b);
	pb = it_fork(good_receiver, &b);
	chan_parent(&b);
	id = it_get_int(b.up[0], 10000);
	it_put_int(a.down[1], DO_FLOW);
	it_put_int(a.down[1], id);
	sent = it_get_int(a.up[0], 30000);
	IT_CHECK(sent == 500, "sent %d", sent);
	it_log("new receiver in the reclaimed slot: %d messages (%d >= 1 MiB)",
	       sent, it_get_int(a.up[0], 1000));
	usleep(200000);
	it_put_int(b.down[1], 1);
	total = it_get_int(b.up[0], 10000);
	IT_CHECK(total == 500, "the new receiver got %d of 500", total);
	it_put_int(a.down[1], DO_QUIT);
	IT_CHECK(it_wait(pa, 10000) == 0, "sender");
	IT_CHECK(it_wait(pb, 10000) == 0, "receiver");
	chan_close(&a);
	chan_close(&b);
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
}

/* Part 2: senders killed mid-message. */

#define STEADY_MSGS 3000
#define FINAL_MSGS 300
#define DOOMED 6

struct rx_expect {
	int steady, steady_msgs, final, final_msgs;
};

static int rx_main(void *arg)
{
	struct chan *ch = arg;
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX, .slots = 3 };
	struct ipm *ipm = it_open(srv.socket_path, &cfg);
	struct rx_expect e;
	struct it_recv r;
	long long deadline;

	it_recv_init(&r, it_id(ipm), (size_t)ipm_max_data_size_get(ipm), 1);
	ipm_register_callback(ipm, it_recv_cb, &r);
	it_put_int(ch->up[1], it_id(ipm));
	while (it_get(ch->down[0], &e, sizeof(e), 0) == 0)
		IT_CHECK(ipm_poll(ipm, 5) >= 0, "ipm_poll");
	deadline = tu_now_ns() + 20000000000LL;
	while (it_recv_got(&r, e.steady) < (uint64_t)e.steady_msgs ||
	       it_recv_got(&r, e.final) < (uint64_t)e.final_msgs) {
		IT_CHECK(ipm_poll(ipm, 50) >= 0, "ipm_poll");
		IT_CHECK(tu_now_ns() < deadline, "steady %llu/%d, final "
			 "%llu/%d", (unsigned long long)it_recv_got(&r,
								   e.steady),
			 e.steady_msgs,
			 (unsigned long long)it_recv_got(&r, e.final),
			 e.final_msgs);
	}
	IT_CHECK(r.bad == 0 && r.gaps == 0, "bad messages");
	it_put_int(ch->up[1], (int)r.total);
	it_put_int(ch->up[1], (int)r.nsrc);
	ipm_close(ipm);
	it_recv_free(&r);
	return 0;
}

struct tx {
	struct chan ch;
	int rx, msgs; /* msgs < 0: until killed */
	int pace_us;
	size_t min;
};

static int tx_main(void *arg)
{
	struct tx *x = arg;
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX, .slots = 3 };
	struct ipm *ipm;
	size_t max;
	uint64_t rng = (uint64_t)getpid() * 0x9e37ULL;
	uint8_t *buf;
	int rc, tries = 0;

	/* A killed sender's slot comes back once the server says it left. */
	while ((rc = it_try_open(&ipm, srv.socket_path, &cfg)) == -ENOSPC) {
		IT_CHECK(++tries < 500, "no slot for 5 s");
		usleep(10000);
	}
	IT_CHECK(rc == 0, "open: %s", strerror(-rc));
	max = (size_t)ipm_max_data_size_get(ipm);
	buf = malloc(max);
	IT_CHECK(buf, "malloc");
	it_put_int(x->ch.up[1], it_id(ipm));
	for (int seq = 0; x->msgs < 0 || seq < x->msgs; seq++) {
		size_t size = x->min + it_rand(&rng) % (max - x->min + 1);

		if (x->min == 0)
			size = it_rand_size(&rng, max);
		it_msg_make(buf, size, it_stream(it_id(ipm), x->rx),
			    (uint64_t)seq);
		while ((rc = ipm_send(ipm, seq % 2, (uint32_t)x->rx, buf,
				      size)) == -EBUSY)
			IT_CHECK(ipm_poll(ipm, 1) >= 0, "ipm_poll");
		IT_CHECK(rc == 0, "send: %s", strerror(-rc));
		if (x->pace_us)
			usleep((useconds_t)x->pace_us);
	}
	it_get_int(x->ch.down[0], 30000);
	ipm_close(ipm);
	free(buf);
	return 0;
}

static pid_t start_tx(struct tx *x, int rx, int msgs, size_t min, int pace,
		      int *id)
{
	pid_t pid;

	x->rx = rx;
	x->msgs = msgs;
	x->min = min;
	x->pace_us = pace;
	chan_open(&x->ch);
	pid = it_fork(tx_main, x);
	chan_parent(&x->ch);
	*id = it_get_int(x->ch.up[0], 10000);
	return pid;
}

static void killed_senders(void)
{
	struct rx_expect e;
	struct chan rch;
	struct tx steady, doomed, final;
	pid_t prx, psteady, pfinal;
	uint64_t rng = 42;
	int rx, total, senders;

	it_server(&srv, "16M", 1);
	chan_open(&rch);
	prx = it_fork(rx_main, &rch);
	chan_parent(&rch);
	rx = it_get_int(rch.up[0], 10000);
	psteady = start_tx(&steady, rx, STEADY_MSGS, 0, 500, &e.steady);
	e.steady_msgs = STEADY_MSGS;

	for (int i = 0; i < DOOMED; i++) {
		int id;
		pid_t pid = start_tx(&doomed, rx, -1, 512 * 1024, 0, &id);

		usleep((useconds_t)(20000 + it_rand(&rng) % 200000));
		kill(pid, SIGKILL);
		IT_CHECK(it_wait(pid, 5000) == 128 + SIGKILL, "doomed sender "
			 "%d exited on its own", id);
		chan_close(&doomed.ch);
	}
	pfinal = start_tx(&final, rx, FINAL_MSGS, 0, 0, &e.final);
	e.final_msgs = FINAL_MSGS;
	it_put(rch.down[1], &e, sizeof(e));
	total = it_get_int(rch.up[0], 30000);
	senders = it_get_int(rch.up[0], 1000);
	it_log("receiver: %d messages, all intact and in order, from %d "
	       "senders (%d killed mid-stream)", total, senders, DOOMED);
	IT_CHECK(senders >= DOOMED, "the killed senders were not heard");
	it_put_int(steady.ch.down[1], 0);
	it_put_int(final.ch.down[1], 0);
	IT_CHECK(it_wait(psteady, 10000) == 0, "steady sender");
	IT_CHECK(it_wait(pfinal, 10000) == 0, "final sender");
	IT_CHECK(it_wait(prx, 10000) == 0, "receiver");
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
}

int main(void)
{
	it_init();
	killed_receivers();
	killed_senders();
	return 0;
}
