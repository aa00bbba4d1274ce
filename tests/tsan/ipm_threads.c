/* SPDX-License-Identifier: MIT */
/*
 * Two mailbox peers in one process, one thread each, on one mapping of
 * the region, for ThreadSanitizer (ctest label tsan; `.ci/run` runs it in
 * a -DIVSHMEM_TSAN=ON build).
 *
 * Everything else in the tree is one thread per process, and TSan cannot
 * see memory shared between processes. Here both peers join the real
 * server through the real host transport, but the second one's transport
 * is wrapped so that its IPM device works on the first one's mapping: the
 * same bytes at the same addresses, so TSan sees every access either peer
 * makes to the region (the layout set-up race of two ipm_open()s, stamps,
 * heads, tails, flags, payloads) and reports any that the mailbox's
 * release/acquire protocol leaves unordered. Doorbells and presence stay
 * the second transport's own. In a normal build it is one more traffic
 * test: every message checked, in order, none lost.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "ipmtest.h"

#define MSGS 1500
#define MAX_SIZE (64 * 1024)

/* A transport that forwards to a real one but shows another's memory. */
struct alias_tp {
	struct ivshm_transport pub;
	struct ivshm_transport *real;
};

static struct ivshm_transport *real_of(struct ivshm_transport *t)
{
	return ((struct alias_tp *)t)->real;
}

static int a_ring(struct ivshm_transport *t, int peer, unsigned vector)
{
	return real_of(t)->ops->ring(real_of(t), peer, vector);
}

static int a_vector_fd(struct ivshm_transport *t, unsigned vector)
{
	return real_of(t)->ops->vector_fd(real_of(t), vector);
}

static int a_ack(struct ivshm_transport *t, unsigned vector)
{
	return real_of(t)->ops->ack(real_of(t), vector);
}

static int a_presence_fd(struct ivshm_transport *t)
{
	return real_of(t)->ops->presence_fd(real_of(t));
}

static int a_next_presence(struct ivshm_transport *t, int *peer, int *what)
{
	return real_of(t)->ops->next_presence(real_of(t), peer, what);
}

static int a_peer_live(struct ivshm_transport *t, int peer)
{
	return real_of(t)->ops->peer_live(real_of(t), peer);
}

static void a_close(struct ivshm_transport *t)
{
	ivshm_transport_close(real_of(t));
	free(t);
}

static const struct ivshm_transport_ops alias_ops = {
	.name = "alias",
	.ring = a_ring,
	.vector_fd = a_vector_fd,
	.ack = a_ack,
	.presence_fd = a_presence_fd,
	.next_presence = a_next_presence,
	.peer_live = a_peer_live,
	.close = a_close,
};

static struct ivshm_transport *alias(struct ivshm_transport *real,
				     const struct ivshm_transport *mem)
{
	struct alias_tp *a = calloc(1, sizeof(*a));

	CHECK(a, "calloc");
	a->real = real;
	a->pub = *real;
	a->pub.ops = &alias_ops;
	a->pub.mem = mem->mem;
	a->pub.size = mem->size;
	return &a->pub;
}

struct side {
	struct ivshm_transport *t;
	struct ipm_config cfg;
	pthread_barrier_t *go;
	int other, wait;
	struct it_recv r;
	struct it_flow f;
	struct ipm *ipm;
};

static void *side_main(void *arg)
{
	struct side *s = arg;
	struct ipm *ipm;
	int rc;

	/* Both open at once: the layout's set-up race, under TSan. */
	pthread_barrier_wait(s->go);
	rc = ipm_open(&ipm, s->t, &s->cfg);
	CHECK(rc == 0, "ipm_open: %s", strerror(-rc));
	it_recv_init(&s->r, s->t->id, MAX_SIZE, 1);
	ipm_register_callback(ipm, it_recv_cb, &s->r);
	/* Wait until the other side holds its slot. */
	for (int n = 0; ipm_peers(ipm, (int[1]){ 0 }, 1) < 1; n++) {
		CHECK(n < 1000, "the other peer never showed up");
		CHECK(ipm_poll(ipm, 10) >= 0, "ipm_poll");
	}
	s->f = (struct it_flow){
		.ndst = 1, .dst = { s->other }, .wait = { s->wait },
		.msgs = MSGS, .expect = MSGS, .max_size = MAX_SIZE,
		.deadline_ms = 240000, .seed = (uint64_t)s->t->id + 1,
	};
	it_flow_run(ipm, &s->r, &s->f);
	/* Let the other side finish its blocking sends before we go. */
	pthread_barrier_wait(s->go);
	s->ipm = ipm;
	return NULL;
}

static void run(const char *sock, unsigned spin_ns)
{
	struct ivshm_transport *ta, *tb;
	struct side a = { 0 }, b = { 0 };
	pthread_barrier_t go;
	pthread_t th[2];
	int rc;

	rc = ivshm_transport_host_open(&ta, sock, 1, 5000);
	CHECK(rc == 0, "transport: %s", strerror(-rc));
	rc = ivshm_transport_host_open(&tb, sock, 1, 5000);
	CHECK(rc == 0, "transport: %s", strerror(-rc));
	pthread_barrier_init(&go, NULL, 2);
	a.t = ta;
	b.t = alias(tb, ta);
	a.other = b.t->id;
	b.other = a.t->id;
	/* Blocking one way only: two blocked senders would wait on each
	 * other (a blocking send does not deliver). */
	a.wait = 1;
	a.cfg = b.cfg = (struct ipm_config){
		.mode = IPM_MODE_MAILBOX, .spin_ns = spin_ns,
		.send_timeout_ms = 120000,
	};
	a.go = b.go = &go;
	CHECK(pthread_create(&th[0], NULL, side_main, &a) == 0, "thread");
	CHECK(pthread_create(&th[1], NULL, side_main, &b) == 0, "thread");
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	pthread_barrier_destroy(&go);
	/* b first: it works on a's mapping. */
	ipm_close(b.ipm);
	ipm_close(a.ipm);
	for (int i = 0; i < 2; i++) {
		struct side *s = i ? &b : &a;

		CHECK(s->f.sent == MSGS && s->r.total == MSGS &&
		      s->r.bad == 0 && s->r.gaps == 0,
		      "peer %d: sent %llu, got %llu (%llu bad, %llu gaps)",
		      s->t->id, (unsigned long long)s->f.sent,
		      (unsigned long long)s->r.total,
		      (unsigned long long)s->r.bad,
		      (unsigned long long)s->r.gaps);
		it_recv_free(&s->r);
	}
	it_log("spin %u ns: %d messages each way between two threads, "
	       "%llu blocking, all intact and in order", spin_ns, MSGS,
	       (unsigned long long)a.f.blocking);
}

int main(void)
{
	struct tu_server srv;

	it_init();
	it_server(&srv, NULL, 1);
	run(srv.socket_path, 0);     /* sleepers: doorbells, sleeping flags */
	run(srv.socket_path, 20000); /* busy pollers: stamps only */
	CHECK(tu_server_stop(&srv) == 0, "server exit status");
	return 0;
}
