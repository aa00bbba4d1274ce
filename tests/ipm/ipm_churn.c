/* SPDX-License-Identifier: MIT */
/*
 * Peers come and go while traffic flows (4 slots). A steady sender S
 * streams to a receiver R; R streams to whoever else is there. Churners
 * join (retrying while every slot is taken), send to R, take R's messages,
 * and leave after a while: closing, exiting without closing, or killed
 * with SIGKILL mid-traffic. R gets every one of S's messages in order;
 * whatever R gets from a churner, and a churner from R, is intact and in
 * order from the stream's first message.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ipmtest.h"

#define STEADY_MSGS 4000
#define CHURNERS    40
#define AT_ONCE     2
#define SLOTS       4

static struct tu_server srv;

static struct ipm_config cfg(void)
{
	return (struct ipm_config){
		.mode = IPM_MODE_MAILBOX, .slots = SLOTS,
		.send_timeout_ms = 2000,
	};
}

static struct ipm *join(void)
{
	struct ipm_config c = cfg();
	struct ipm *ipm;
	int rc, tries = 0;

	/* A slot frees up when its peer leaves (or the server says so). */
	while ((rc = it_try_open(&ipm, srv.socket_path, &c)) == -ENOSPC) {
		IT_CHECK(++tries < 1000, "no slot for 10 s");
		usleep(10000);
	}
	IT_CHECK(rc == 0, "join: %s", strerror(-rc));
	return ipm;
}

struct ctl {
	int up[2], down[2];
	int r, s;     /* ids of R and S */
	int how;      /* churner: 0 close, 1 exit, 2 SIGKILL */
	int life_ms;
};

static int steady_main(void *arg)
{
	struct ctl *c = arg;
	struct ipm *ipm = join();
	struct it_recv r;
	struct it_flow f = {
		.ndst = 1, .msgs = STEADY_MSGS, .deadline_ms = 60000,
		.seed = 5, .max_size = 65536,
	};

	it_recv_init(&r, it_id(ipm), 1, 1);
	ipm_register_callback(ipm, it_recv_cb, &r);
	it_put_int(c->up[1], it_id(ipm));
	f.dst[0] = it_get_int(c->down[0], 10000);
	for (uint64_t done = 0; done < STEADY_MSGS; done += 100) {
		/* 100 at a time, so the churn has time to happen meanwhile */
		f.msgs = done + 100;
		it_flow_run(ipm, &r, &f);
		usleep(80000);
	}
	IT_CHECK(r.total == 0, "R sent to S");
	it_put_int(c->up[1], (int)f.sent);
	it_get_int(c->down[0], 60000);
	ipm_close(ipm);
	it_recv_free(&r);
	return 0;
}

/* R's stream to each churner, by id. */
struct out {
	int id;
	uint64_t seq;
};

static int receiver_main(void *arg)
{
	struct ctl *c = arg;
	struct ipm *ipm = join();
	size_t max = (size_t)ipm_max_data_size_get(ipm);
	uint8_t *buf = malloc(max);
	struct out out[256];
	uint64_t rng = 77, sent = 0, gone = 0;
	struct it_recv r;
	int quit, steady;

	IT_CHECK(buf, "malloc");
	memset(out, 0, sizeof(out));
	it_recv_init(&r, it_id(ipm), max, 1);
	ipm_register_callback(ipm, it_recv_cb, &r);
	it_put_int(c->up[1], it_id(ipm));
	steady = it_get_int(c->down[0], 10000);
	while (it_get(c->down[0], &quit, sizeof(quit), 0) == 0) {
		int ids[SLOTS], n = ipm_peers(ipm, ids, SLOTS);

		IT_CHECK(n >= 0 && n < SLOTS, "ipm_peers: %d", n);
		for (int i = 0; i < n; i++) {
			struct out *o = &out[ids[i] % 256];
			size_t size = it_rand_size(&rng, 65536);
			int rc;

			if (ids[i] == steady)
				continue;
			if (o->id != ids[i] + 1) {
				o->id = ids[i] + 1;
				o->seq = 0;
			}
			it_msg_make(buf, size, it_stream(it_id(ipm), ids[i]),
				    o->seq);
			rc = ipm_send(ipm, 0, (uint32_t)ids[i], buf, size);
			IT_CHECK(rc == 0 || rc == -EBUSY || rc == -ENOTCONN,
				 "send to %d: %s", ids[i], strerror(-rc));
			if (rc == 0) {
				o->seq++;
				sent++;
			}
			gone += rc == -ENOTCONN;
		}
		IT_CHECK(ipm_poll(ipm, 1) >= 0, "ipm_poll");
	}
	/* Everything from S. */
	while (it_recv_got(&r, steady) < STEADY_MSGS)
		IT_CHECK(ipm_poll(ipm, 100) > 0, "%llu of S's %d messages",
			 (unsigned long long)it_recv_got(&r, steady),
			 STEADY_MSGS);
	it_log("R: %llu messages from S, %llu in all from %u senders, all "
	       "intact and in order; sent %llu to churners (-ENOTCONN %llu "
	       "times)", (unsigned long long)it_recv_got(&r, steady),
	       (unsigned long long)r.total, r.nsrc,
	       (unsigned long long)sent, (unsigned long long)gone);
	it_put_int(c->up[1], (int)r.nsrc);
	ipm_close(ipm);
	it_recv_free(&r);
	free(buf);
	return 0;
}

static int churner_main(void *arg)
{
	struct ctl *c = arg;
	struct ipm *ipm = join();
	struct it_recv r;
	long long end = tu_now_ns() + c->life_ms * 1000000LL;
	uint64_t rng = (uint64_t)getpid(), seq = 0;
	uint8_t buf[4096];

	it_recv_init(&r, it_id(ipm), 65536, 1);
	ipm_register_callback(ipm, it_recv_cb, &r);
	while (tu_now_ns() < end) {
		size_t size = it_rand_size(&rng, sizeof(buf));
		int rc;

		it_msg_make(buf, size, it_stream(it_id(ipm), c->r), seq);
		rc = ipm_send(ipm, (int)(seq % 4 == 0), (uint32_t)c->r, buf,
			      size);
		IT_CHECK(rc == 0 || rc == -EBUSY, "send to R: %s",
			 strerror(-rc));
		seq += rc == 0;
		IT_CHECK(ipm_poll(ipm, 2) >= 0, "ipm_poll");
	}
	IT_CHECK(r.nsrc <= 1 && (r.nsrc == 0 || r.src[0] == c->r),
		 "messages from somebody other than R");
	if (c->how == 2)
		raise(SIGKILL);
	if (c->how == 1)
		_exit(0);
	ipm_close(ipm);
	it_recv_free(&r);
	return 0;
}

int main(void)
{
	struct ctl rc, sc, ch[CHURNERS];
	pid_t pr, ps, pc[CHURNERS];
	uint64_t rng = 2024;
	int next = 0, reaped = 0, heard, sent;

	it_init();
	it_server(&srv, NULL, 1);
	IT_CHECK(pipe(rc.up) == 0 && pipe(rc.down) == 0 && pipe(sc.up) == 0 &&
		 pipe(sc.down) == 0, "pipe");
	pr = it_fork(receiver_main, &rc);
	rc.r = it_get_int(rc.up[0], 10000);
	ps = it_fork(steady_main, &sc);
	sc.s = it_get_int(sc.up[0], 10000);
	it_put_int(sc.down[1], rc.r);
	it_put_int(rc.down[1], sc.s);

	/* Churners, AT_ONCE at a time, each living 20..400 ms. */
	while (reaped < CHURNERS) {
		while (next < CHURNERS && next - reaped < AT_ONCE) {
			ch[next].r = rc.r;
			ch[next].how = (int)(it_rand(&rng) % 3);
			ch[next].life_ms = 20 + (int)(it_rand(&rng) % 380);
			pc[next] = it_fork(churner_main, &ch[next]);
			next++;
		}
		{
			int st = it_wait(pc[reaped], 30000),
			    want = ch[reaped].how == 2 ? 128 + SIGKILL : 0;

			IT_CHECK(st == want, "churner %d (way out %d): exit %d",
				 reaped, ch[reaped].how, st);
		}
		reaped++;
	}
	sent = it_get_int(sc.up[0], 60000);
	IT_CHECK(sent == STEADY_MSGS, "S sent %d", sent);
	it_put_int(rc.down[1], 0);
	heard = it_get_int(rc.up[0], 30000);
	it_put_int(sc.down[1], 0);
	IT_CHECK(it_wait(pr, 10000) == 0, "R");
	IT_CHECK(it_wait(ps, 10000) == 0, "S");
	it_log("%d churners came and went; R heard %d senders", CHURNERS,
	       heard);
	IT_CHECK(heard > CHURNERS / 2, "R heard few churners");
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
	return 0;
}
