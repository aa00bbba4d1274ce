/* SPDX-License-Identifier: MIT */
/*
 * Doorbell mode (Zephyr's ipm_ivshmem): two host peers notify each other
 * both ways, the callback gets id 0 and no data, nothing is carried,
 * disabled means no callback (the notification stays pending). Then
 * doorbell and mailbox peers on one server and region: doorbells rung at
 * mailbox peers in the middle of their traffic, and by them at a doorbell
 * peer, break nothing; a mailbox peer's empty send to a doorbell peer rings
 * it, one with data is -ENOTCONN; a doorbell peer's ring reaches a mailbox
 * peer's callback as a doorbell (id 0, data NULL, size 0) once its traffic
 * has calmed down, when it asked for them (cfg.doorbells), else never.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ipmtest.h"

#define MIXED_MSGS 10000

static struct tu_server srv;

struct db_count {
	int calls, bad;
};

static void db_cb(struct ipm *ipm, void *user, uint32_t id,
		  const volatile void *data, size_t size)
{
	struct db_count *c = user;

	(void)ipm;
	c->calls++;
	if (id != 0 || data || size)
		c->bad++;
}

static struct ipm *db_open(struct db_count *c)
{
	struct ipm_config cfg = { .mode = IPM_MODE_DOORBELL };
	struct ipm *ipm = it_open(srv.socket_path, &cfg);

	memset(c, 0, sizeof(*c));
	ipm_register_callback(ipm, db_cb, c);
	return ipm;
}

/* ipm_send until the sender knows the peer (its join news may lag). */
static void ring_known(struct ipm *from, int to)
{
	long long deadline = tu_now_ns() + 5000000000LL;
	int rc;

	while ((rc = ipm_send(from, 0, (uint32_t)to, NULL, 0)) == -ENOTCONN) {
		IT_CHECK(tu_now_ns() < deadline, "peer %d unknown after 5 s",
			 to);
		usleep(1000);
	}
	IT_CHECK(rc == 0, "ring %d: %s", to, strerror(-rc));
}

/* Poll until c has 'want' calls; then check no more come. */
static void expect_calls(struct ipm *ipm, struct db_count *c, int want)
{
	long long deadline = tu_now_ns() + 5000000000LL;

	while (c->calls < want) {
		IT_CHECK(ipm_poll(ipm, 50) >= 0, "ipm_poll");
		IT_CHECK(tu_now_ns() < deadline, "%d of %d callbacks in 5 s",
			 c->calls, want);
	}
	IT_CHECK(ipm_process(ipm) == 0, "an extra callback");
	IT_CHECK(c->calls == want, "%d callbacks, want %d", c->calls, want);
	IT_CHECK(c->bad == 0, "callback with an id, data or a size");
}

/* Poll until c has at least 'want' calls (rings may merge into one). */
static void wait_calls(struct ipm *ipm, struct db_count *c, int want)
{
	long long deadline = tu_now_ns() + 5000000000LL;

	while (c->calls < want) {
		IT_CHECK(ipm_poll(ipm, 50) >= 0, "ipm_poll");
		IT_CHECK(tu_now_ns() < deadline, "%d of %d callbacks in 5 s",
			 c->calls, want);
	}
	IT_CHECK(c->bad == 0, "callback with an id, data or a size");
}

static void two_doorbell_peers(void)
{
	struct db_count c1, c2;
	struct ipm *d1 = db_open(&c1), *d2 = db_open(&c2);
	int id1 = it_id(d1), id2 = it_id(d2), rc;
	uint8_t byte = 0;

	IT_CHECK(ipm_max_data_size_get(d1) == 0, "max data size %d",
		 ipm_max_data_size_get(d1));
	IT_CHECK(ipm_max_id_val_get(d1) == 65535, "max id");
	IT_CHECK(ipm_send(d1, 0, (uint32_t)id2, &byte, 1) == -EMSGSIZE,
		 "1 byte in doorbell mode");
	IT_CHECK(ipm_send(d1, 0, 65536, NULL, 0) == -EINVAL, "id 65536");
	IT_CHECK(ipm_send(d1, 0, 65535, NULL, 0) == -ENOTCONN, "no such peer");
	IT_CHECK(ipm_peers(d1, NULL, 0) == -ENOTSUP, "peers in doorbell mode");

	ring_known(d1, id2);
	expect_calls(d2, &c2, 1);
	ring_known(d2, id1);
	expect_calls(d1, &c1, 1);
	for (int i = 0; i < 200; i++) {
		struct ipm *from = i % 2 ? d2 : d1, *to = i % 2 ? d1 : d2;
		struct db_count *c = i % 2 ? &c1 : &c2;

		rc = ipm_send(from, i % 3 == 0, (uint32_t)it_id(to), NULL, 0);
		IT_CHECK(rc == 0, "ring #%d: %s", i, strerror(-rc));
		expect_calls(to, c, c->calls + 1);
	}
	/* Several rings before the receiver looks: one callback at least. */
	for (int i = 0; i < 5; i++)
		IT_CHECK(ipm_send(d1, 0, (uint32_t)id2, NULL, 0) == 0, "ring");
	IT_CHECK(ipm_poll(d2, 1000) >= 1, "5 rings, no callback");
	IT_CHECK(ipm_poll(d2, 100) == 0, "callbacks for rings already seen");

	/* Disabled: the doorbell stays pending, delivered once enabled. */
	ipm_set_enabled(d2, 0);
	c2.calls = 0;
	IT_CHECK(ipm_send(d1, 0, (uint32_t)id2, NULL, 0) == 0, "ring");
	IT_CHECK(ipm_poll(d2, 300) == 0 && c2.calls == 0,
		 "callback while disabled");
	ipm_set_enabled(d2, 1);
	expect_calls(d2, &c2, 1);

	/* A peer that left. */
	ipm_close(d2);
	{
		long long deadline = tu_now_ns() + 5000000000LL;

		while ((rc = ipm_send(d1, 0, (uint32_t)id2, NULL, 0)) == 0) {
			IT_CHECK(tu_now_ns() < deadline, "peer %d left, "
				 "still ringable after 5 s", id2);
			usleep(1000);
		}
		IT_CHECK(rc == -ENOTCONN, "ring a peer that left: %d", rc);
	}
	ipm_close(d1);
	it_log("doorbell peers %d and %d rang each other both ways", id1, id2);
}

/* A mailbox peer: traffic with the other one, doorbells at the third. */
struct mixed {
	int k;
	int to_parent[2], from_parent[2];
};

static int mailbox_peer(void *arg)
{
	struct mixed *m = arg;
	/* The first takes doorbells (cfg.doorbells), the second not. */
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX,
				  .doorbells = m->k == 0 };
	struct ipm *ipm = it_open(srv.socket_path, &cfg);
	struct ivshm_transport *t = (struct ivshm_transport *)ipm_transport(ipm);
	struct it_flow f = {
		.ndst = 1, .msgs = MIXED_MSGS, .expect = MIXED_MSGS,
		.deadline_ms = 60000, .seed = (uint64_t)m->k + 7,
	};
	struct it_recv r;
	long long deadline;
	uint64_t before;
	int db, rc;

	it_recv_init(&r, it_id(ipm), (size_t)ipm_max_data_size_get(ipm), 1);
	ipm_register_callback(ipm, it_recv_cb, &r);
	it_put_int(m->to_parent[1], it_id(ipm));
	f.dst[0] = it_get_int(m->from_parent[0], 10000);
	db = it_get_int(m->from_parent[0], 10000);
	f.wait[0] = m->k == 0;

	/*
	 * A doorbell peer has no mailbox: a payload is -ENOTCONN, an empty
	 * send rings its vector 0 (its callback fires), it is not listed.
	 */
	rc = ipm_send(ipm, 0, (uint32_t)db, "x", 1);
	IT_CHECK(rc == -ENOTCONN, "mailbox send to doorbell peer %d: %d", db,
		 rc);
	rc = ipm_send(ipm, 1, (uint32_t)db, NULL, 0);
	IT_CHECK(rc == 0, "empty mailbox send to doorbell peer %d: %s", db,
		 strerror(-rc));
	{
		int ids[4], n = ipm_peers(ipm, ids, 4);

		IT_CHECK(n == 1 && ids[0] == f.dst[0], "%d mailbox peers "
			 "listed (first %d), want just %d", n, ids[0],
			 f.dst[0]);
	}
	/* Its doorbell, through our transport: its callback fires. */
	rc = t->ops->ring(t, db, 0);
	IT_CHECK(rc == 0, "ringing doorbell peer %d: %s", db, strerror(-rc));
	it_put_int(m->to_parent[1], 1);

	it_flow_run(ipm, &r, &f);
	IT_CHECK(it_recv_got(&r, f.dst[0]) == MIXED_MSGS, "got %llu",
		 (unsigned long long)it_recv_got(&r, f.dst[0]));
	/* The parent rings us until we say 2: a doorbell now traffic ended. */
	before = r.doorbells;
	deadline = tu_now_ns() + 10000000000LL;
	while (cfg.doorbells && r.doorbells == before) {
		IT_CHECK(ipm_poll(ipm, 50) >= 0, "ipm_poll");
		IT_CHECK(tu_now_ns() < deadline, "no doorbell from peer %d "
			 "within 10 s of the traffic's end", db);
	}
	IT_CHECK(cfg.doorbells || r.doorbells == 0, "%llu doorbells passed "
		 "on without cfg.doorbells", (unsigned long long)r.doorbells);
	rc = t->ops->ring(t, db, 0);
	IT_CHECK(rc == 0, "ringing doorbell peer %d: %s", db, strerror(-rc));
	it_log("mailbox peer %d: %llu sent, %llu received intact, "
	       "-EBUSY %llu times, %llu doorbells", it_id(ipm),
	       (unsigned long long)f.sent, (unsigned long long)r.total,
	       (unsigned long long)f.busy, (unsigned long long)r.doorbells);
	it_put_int(m->to_parent[1], 2);
	it_get_int(m->from_parent[0], 30000);
	ipm_close(ipm);
	it_recv_free(&r);
	return 0;
}

static void mixed_modes(void)
{
	struct db_count c, c2;
	struct ipm *db = db_open(&c), *db2 = NULL;
	struct mixed m[2];
	pid_t pid[2];
	int ids[2], done = 0, rings = 0, calls, rc;

	for (int k = 0; k < 2; k++) {
		m[k].k = k;
		IT_CHECK(pipe(m[k].to_parent) == 0 &&
			 pipe(m[k].from_parent) == 0, "pipe");
		pid[k] = it_fork(mailbox_peer, &m[k]);
		close(m[k].to_parent[1]);
		close(m[k].from_parent[0]);
		ids[k] = it_get_int(m[k].to_parent[0], 10000);
	}
	for (int k = 0; k < 2; k++) {
		it_put_int(m[k].from_parent[1], ids[!k]);
		it_put_int(m[k].from_parent[1], it_id(db));
	}
	for (int k = 0; k < 2; k++)
		IT_CHECK(it_get_int(m[k].to_parent[0], 10000) == 1, "peer %d",
			 k);
	/* Both rang us: an empty ipm_send, then through the transport. */
	wait_calls(db, &c, 1);
	calls = c.calls;

	/* Ring the mailbox peers while they exchange; a newcomer too. */
	while (done < 2) {
		int v;

		for (int k = 0; k < 2; k++) {
			rc = ipm_send(db, 0, (uint32_t)ids[k], NULL, 0);
			IT_CHECK(rc == 0, "ring mailbox peer %d: %s", ids[k],
				 strerror(-rc));
			rings++;
			if (it_get(m[k].to_parent[0], &v, sizeof(v), 0)) {
				IT_CHECK(v == 2, "peer %d: %d", k, v);
				done++;
			}
		}
		if (rings == 40)
			db2 = db_open(&c2);
		if (rings == 120) {
			ipm_close(db2);
			db2 = NULL;
		}
		IT_CHECK(ipm_poll(db, 1) >= 0, "ipm_poll");
	}
	/* Both rang us again at the end: one more callback at least. */
	wait_calls(db, &c, calls + 1);
	for (int k = 0; k < 2; k++)
		it_put_int(m[k].from_parent[1], 0);
	for (int k = 0; k < 2; k++)
		IT_CHECK(it_wait(pid[k], 10000) == 0, "mailbox peer %d", k);
	ipm_close(db2);
	ipm_close(db);
	it_log("mixed: %d doorbells at mailbox peers during their traffic",
	       rings);
}

int main(void)
{
	it_init();
	it_server(&srv, NULL, 1);
	two_doorbell_peers();
	mixed_modes();
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
	return 0;
}
