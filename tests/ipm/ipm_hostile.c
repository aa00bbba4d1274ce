/* SPDX-License-Identifier: MIT */
/*
 * Issue 12's observed mailbox attacks, each fed exactly as observed:
 *
 *  item 6  A live non-mailbox peer writes its own token (8 bytes) into
 *          mailbox peer A's slot owner. Nobody is evicted: B's sends to A
 *          and A's blocking sends to B are delivered, every blocking send
 *          that returned 0 was delivered, and A's token is back.
 *  item 6' The receiver's tail is advanced past a blocking send's record
 *          without delivering it (what a receiver skipping it did): the
 *          send does not take that for completion: -ETIMEDOUT, and the
 *          record is never delivered afterwards.
 *  item 7  A record left in a queue to the victim -- a "new" stamp, a bad
 *          type, the head unchanged -- does not make ipm_poll spin: a
 *          500 ms poll uses well under 100 ms of CPU (bound generous on
 *          purpose; before the fix it used ~499 ms), in every stamp state.
 *  item 8  A blocking send that timed out is never delivered later, so
 *          a retry does not deliver it twice.
 *  wakes   Sleepers wait edge-triggered and are woken by nudges (a write
 *          of 0 that cannot block): a peer sharing the sleeper's eventfd
 *          that takes its counter to 0 over and over (nudges then wake
 *          nobody), or fills it and clears O_NONBLOCK (rings would fail
 *          or block), costs latency only: every message, blocking sends
 *          too, is delivered, in order, and no send blocks for long.
 *  views   A peer killed leaves its token and an attached queue behind; a
 *          newcomer must not take that dead token for its slot's owner
 *          for good: the next peer to claim the slot is heard (what
 *          ipm-bench's second pair on one server ran into).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <ivshmem/ivshmem.h>

#include "ipmtest.h"
#include "ipmc_layout.h"
#include "shm_access.h"

#define MSG 200
#define ROUNDS 20

static struct tu_server srv;

/* Where things are in the region (2 slots, as every peer here asks). */
static struct ipmc_geometry geo(const struct ipm *ipm)
{
	const struct ivshm_transport *t = ipm_transport(ipm);
	struct ipmc_geometry g;

	IT_CHECK(ipmc_geometry(&g, t->size, 2) == 0, "geometry");
	return g;
}

static struct ipmc_slot *slot_line(void *mem, unsigned s)
{
	return (struct ipmc_slot *)((uint8_t *)mem + IPMC_LINE) + s;
}

static unsigned slot_of(void *mem, int id)
{
	for (unsigned s = 0; s < 2; s++)
		if (ipmc_token_id(shm_load_acquire(&slot_line(mem, s)->owner)) ==
		    id)
			return s;
	IT_CHECK(0, "peer %d holds no slot", id);
}

static struct ipmc_qctl *queue(void *mem, const struct ipmc_geometry *g,
				   unsigned from, unsigned to)
{
	return (struct ipmc_qctl *)((uint8_t *)mem + g->queue_offset +
		ipmc_queue_index(g->slots, from, to) * g->queue_stride);
}

/* Item 6: B, in a child, receives strictly and sends on command. */
enum { CMD_SEND = 1, CMD_COUNT, CMD_QUIT };

struct bside {
	int up[2], down[2];
};

static int b_main(void *arg)
{
	struct bside *c = arg;
	struct ipm_config cfg = {
		.mode = IPM_MODE_MAILBOX, .slots = 2, .send_timeout_ms = 2000,
	};
	struct ipm *b = it_open(srv.socket_path, &cfg);
	struct it_recv rb;
	uint8_t buf[MSG];
	uint64_t seq = 0;
	int cmd, to, ok;

	it_recv_init(&rb, it_id(b), (size_t)ipm_max_data_size_get(b), 1);
	ipm_register_callback(b, it_recv_cb, &rb);
	it_put_int(c->up[1], it_id(b));
	for (;;) {
		IT_CHECK(ipm_poll(b, 5) >= 0, "b: ipm_poll");
		if (it_get(c->down[0], &cmd, sizeof(cmd), 0) != 1)
			continue;
		if (cmd == CMD_QUIT)
			break;
		if (cmd == CMD_COUNT) {
			it_put_int(c->up[1], (int)rb.total);
			continue;
		}
		to = it_get_int(c->down[0], 1000);
		ok = 0;
		for (int i = 0; i < ROUNDS; i++) {
			it_msg_make(buf, MSG, it_stream(it_id(b), to), seq);
			if (ipm_send(b, 1, (uint32_t)to, buf, MSG) == 0) {
				ok++;
				seq++;
			}
		}
		it_put_int(c->up[1], ok);
	}
	it_recv_free(&rb);
	ipm_close(b);
	return 0;
}

static void foreign_token(void)
{
	struct ipm_config cfg = {
		.mode = IPM_MODE_MAILBOX, .slots = 2, .send_timeout_ms = 2000,
	};
	struct ipm *a;
	struct ivshmem *p;
	struct bside c;
	struct it_recv ra;
	uint8_t buf[MSG];
	uint64_t token, foreign, seq = 0;
	long long deadline;
	unsigned sa;
	int idb, ok, rc, got;
	pid_t pid;

	it_server(&srv, NULL, 1);
	a = it_open(srv.socket_path, &cfg);
	it_recv_init(&ra, it_id(a), (size_t)ipm_max_data_size_get(a), 1);
	ipm_register_callback(a, it_recv_cb, &ra);
	IT_CHECK(pipe(c.up) == 0 && pipe(c.down) == 0, "pipe");
	pid = it_fork(b_main, &c);
	close(c.up[1]);
	close(c.down[0]);
	idb = it_get_int(c.up[0], 10000);

	/* The non-mailbox peer: its own token into A's slot owner. */
	rc = ivshmem_connect(&p, srv.socket_path, 1, 5000);
	IT_CHECK(rc == 0, "plain peer: %s", strerror(-rc));
	sa = slot_of(ivshmem_mem(p), it_id(a));
	token = shm_load_acquire(&slot_line(ivshmem_mem(p), sa)->owner);
	foreign = UINT64_C(0x5eed) << 32 | (uint32_t)(ivshmem_id(p) + 1);
	shm_store_release(&slot_line(ivshmem_mem(p), sa)->owner, foreign);

	/* B -> A, blocking: every one of them delivered to A. */
	it_put_int(c.down[1], CMD_SEND);
	it_put_int(c.down[1], it_id(a));
	deadline = tu_now_ns() + 20000000000LL;
	while (ra.total < ROUNDS && tu_now_ns() < deadline)
		IT_CHECK(ipm_poll(a, 10) >= 0, "a: ipm_poll");
	ok = it_get_int(c.up[0], 20000);
	IT_CHECK(ok == ROUNDS && ra.total == ROUNDS, "B -> A: %d of %d "
		 "blocking sends returned 0, A got %llu", ok, ROUNDS,
		 (unsigned long long)ra.total);
	IT_CHECK(ra.bad == 0 && ra.gaps == 0, "B -> A: bad messages");

	/* A -> B, blocking, the foreign token written again before each. */
	for (int i = 0; i < ROUNDS; i++) {
		shm_store_release(&slot_line(ivshmem_mem(p), sa)->owner,
				  foreign);
		it_msg_make(buf, MSG, it_stream(it_id(a), idb), seq++);
		rc = ipm_send(a, 1, (uint32_t)idb, buf, MSG);
		IT_CHECK(rc == 0, "A -> B blocking send #%d: %s", i,
			 strerror(-rc));
	}
	it_put_int(c.down[1], CMD_COUNT);
	got = it_get_int(c.up[0], 5000);
	IT_CHECK(got == ROUNDS, "B got %d of A's %d acknowledged sends", got,
		 ROUNDS);
	IT_CHECK(ipm_process(a) >= 0, "a: ipm_process");
	IT_CHECK(shm_load_acquire(&slot_line(ivshmem_mem(p), sa)->owner) ==
		 token, "A's token was not put back");
	it_log("item 6: a foreign token in A's slot evicted nobody: %d "
	       "blocking sends each way, all delivered", ROUNDS);

	it_put_int(c.down[1], CMD_QUIT);
	IT_CHECK(it_wait(pid, 10000) == 0, "B");
	close(c.up[0]);
	close(c.down[1]);
	ivshmem_close(p);
	it_recv_free(&ra);
	ipm_close(a);
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
}

/* Item 6': the tail moves past the record, nobody delivered it. */
struct tail_push {
	struct ipmc_qctl *q;
};

static int push_tail(void *arg)
{
	struct tail_push *tp = arg;

	usleep(50000);
	/* What a receiver skipping the record as foreign did. */
	shm_store_release(&tp->q->tail, shm_load_acquire(&tp->q->head));
	return 0;
}

static void count_cb(struct ipm *ipm, void *user, uint32_t id,
		     const volatile void *data, size_t size)
{
	(void)ipm;
	(void)id;
	(void)data;
	(void)size;
	(*(int *)user)++;
}

static void bare_tail(void)
{
	struct ipm_config cfg = {
		.mode = IPM_MODE_MAILBOX, .slots = 2, .send_timeout_ms = 300,
	};
	struct ipm *a, *b;
	struct ipmc_geometry g;
	struct ipm_stats st;
	struct tail_push tp;
	uint8_t buf[MSG] = { 1 };
	int n = 0, rc;
	pid_t pid;

	it_server(&srv, NULL, 1);
	a = it_open(srv.socket_path, &cfg);
	b = it_open(srv.socket_path, &cfg);
	ipm_register_callback(b, count_cb, &n);
	g = geo(a);
	tp.q = queue(ipm_transport(a)->mem, &g,
		     slot_of(ipm_transport(a)->mem, it_id(a)),
		     slot_of(ipm_transport(a)->mem, it_id(b)));
	pid = it_fork(push_tail, &tp);
	rc = ipm_send(a, 1, (uint32_t)it_id(b), buf, MSG);
	IT_CHECK(it_wait(pid, 5000) == 0, "tail pusher");
	IT_CHECK(rc == -ETIMEDOUT, "a blocking send took a bare tail advance "
		 "for completion: %d (%s)", rc, strerror(-rc));
	while (ipm_poll(b, 50) > 0)
		;
	IT_CHECK(n == 0, "the withdrawn message was delivered");
	/* The retry is the only copy (item 8). */
	IT_CHECK(ipm_send(a, 0, (uint32_t)it_id(b), buf, MSG) == 0, "retry");
	while (ipm_poll(b, 50) > 0)
		;
	IT_CHECK(n == 1, "after the retry: %d delivered", n);
	ipm_stats(b, &st);
	IT_CHECK(st.delivered == 1 && st.replayed == 0 && st.corrupt == 0,
		 "receiver counters");
	it_log("item 6'/8: a bare tail advance is no completion; the "
	       "timed-out send is withdrawn, its retry delivered once");
	ipm_close(a);
	ipm_close(b);
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
}

/* Item 7: a record that cannot be consumed must not keep us awake. */
static void no_spin(void)
{
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX, .slots = 2 };
	static const uint64_t states[] = {
		IPMC_ST_PUBLISHED, IPMC_ST_CLAIMED, IPMC_ST_WITHDRAWN, 0,
	};
	struct ipm *a, *b;
	struct ipmc_geometry g;
	struct ipmc_qctl *q;
	uint8_t *ring, buf[MSG] = { 7 };
	int n = 0;

	it_server(&srv, NULL, 1);
	a = it_open(srv.socket_path, &cfg);
	b = it_open(srv.socket_path, &cfg);
	ipm_register_callback(b, count_cb, &n);
	g = geo(a);
	q = queue(ipm_transport(a)->mem, &g,
		  slot_of(ipm_transport(a)->mem, it_id(a)),
		  slot_of(ipm_transport(a)->mem, it_id(b)));
	ring = (uint8_t *)q + IPMC_QUEUE_CTL;
	for (unsigned i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		uint64_t h = shm_load_acquire(&q->head), at = h % g.queue_cap;
		struct ipmc_rec *r = (struct ipmc_rec *)(ring + at);
		long long cpu, t0, ms;
		int rc;

		/* The observed record: new stamp, bad type, head unchanged. */
		r->type = 0xbadbad;
		r->len = 16;
		shm_store_release(&r->end, (h + IPMC_LINE) | states[i]);
		cpu = it_cpu_us();
		t0 = tu_now_ns();
		rc = ipm_poll(b, 500);
		ms = (tu_now_ns() - t0) / 1000000;
		cpu = (it_cpu_us() - cpu) / 1000;
		it_log("item 7: stamp state %llu: ipm_poll(500) returned %d "
		       "after %lld ms, %lld ms of CPU",
		       (unsigned long long)states[i], rc, ms, cpu);
		IT_CHECK(rc == 0 && ms >= 450, "ipm_poll: %d after %lld ms",
			 rc, ms);
		IT_CHECK(cpu < 100, "ipm_poll(500) burnt %lld ms of CPU", cpu);
		/* The sender's next message overwrites it: flowing again. */
		IT_CHECK(ipm_send(a, 0, (uint32_t)it_id(b), buf, MSG) == 0,
			 "send");
		n = 0;
		while (ipm_poll(b, 50) > 0)
			;
		IT_CHECK(n == 1, "after the stuck record: %d delivered", n);
	}
	ipm_close(a);
	ipm_close(b);
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
}

/* Wakes: B sleeps between messages while its counter is attacked. */
#define WAKE_MSGS 30

struct wake_side {
	int up[2];
	int attack; /* 1: take the counter to 0; 2: fill it, blocking */
};

/* Another holder of the same open file description (fork shares it). */
static int attacker(void *arg)
{
	const uint64_t full = UINT64_C(0xfffffffffffffffe);
	int fd = *(int *)arg & 0xffff, how = *(int *)arg >> 16;
	uint64_t v;

	for (;;) {
		int fl = fcntl(fd, F_GETFL);

		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		if (how == 1) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, 1) == 1)
				(void)!read(fd, &v, sizeof(v));
		} else {
			(void)!write(fd, &full, sizeof(full));
			usleep(1000);
		}
	}
	return 0;
}

static int wake_b(void *arg)
{
	struct wake_side *w = arg;
	struct ipm_config cfg = {
		.mode = IPM_MODE_MAILBOX, .send_timeout_ms = 5000,
	};
	struct ipm *b = it_open(srv.socket_path, &cfg);
	int fdarg;
	struct it_recv rb;
	long long end;
	pid_t pid;

	it_recv_init(&rb, it_id(b), MSG, 1);
	ipm_register_callback(b, it_recv_cb, &rb);
	fdarg = ipm_transport(b)->ops->vector_fd(
		(struct ivshm_transport *)ipm_transport(b), 0) |
		w->attack << 16;
	pid = it_fork(attacker, &fdarg);
	it_put_int(w->up[1], it_id(b));
	end = tu_now_ns() + 60 * 1000000000LL;
	while (rb.total < WAKE_MSGS && tu_now_ns() < end)
		IT_CHECK(ipm_poll(b, 200) >= 0, "b: ipm_poll");
	kill(pid, SIGKILL);
	it_wait(pid, 5000);
	/* Everything arrived (strict: in order, intact): tell A. */
	it_put_int(w->up[1], (int)rb.total);
	/* Keep answering A's last blocking send until it closes. */
	for (int i = 0; i < 10; i++)
		ipm_poll(b, 50);
	it_recv_free(&rb);
	ipm_close(b);
	return 0;
}

static void wakes(int attack)
{
	struct ipm_config cfg = {
		.mode = IPM_MODE_MAILBOX, .send_timeout_ms = 5000,
	};
	struct wake_side w = { .attack = attack };
	uint8_t buf[MSG];
	long long worst = 0;
	struct ipm *a;
	int b_id, got;
	pid_t pid;

	it_server(&srv, NULL, 1);
	a = it_open(srv.socket_path, &cfg);
	IT_CHECK(pipe(w.up) == 0, "pipe");
	pid = it_fork(wake_b, &w);
	b_id = it_get_int(w.up[0], 10000);
	for (uint64_t i = 0; i < WAKE_MSGS; i++) {
		long long t0 = tu_now_ns(), took;
		int rc;

		usleep(3000); /* B goes back to sleep */
		it_msg_make(buf, MSG, it_stream(it_id(a), b_id), i);
		do {
			rc = ipm_send(a, (int)(i % 2), (uint32_t)b_id, buf,
				      MSG);
		} while (rc == -ENOTCONN && tu_now_ns() - t0 < 2000000000LL);
		took = (tu_now_ns() - t0) / 1000000;
		worst = took > worst ? took : worst;
		IT_CHECK(rc == 0, "send %llu: %s", (unsigned long long)i,
			 strerror(-rc));
	}
	got = it_get_int(w.up[0], 60000);
	it_log("wakes: B's counter %s: %d of %d delivered in order, the "
	       "slowest send took %lld ms",
	       attack == 1 ? "taken to 0 over and over" :
			     "filled and made blocking", got, WAKE_MSGS,
	       worst);
	IT_CHECK(got == WAKE_MSGS, "%d of %d delivered", got, WAKE_MSGS);
	/* A ring could have blocked until B read; a nudge cannot. */
	IT_CHECK(worst < 3000, "a send took %lld ms", worst);
	IT_CHECK(it_wait(pid, 10000) == 0, "b exit");
	ipm_close(a);
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
}

/* Views: the slot of a peer killed before we joined. */
static int killed_main(void *arg)
{
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX, .slots = 2 };
	struct ipm *b = it_open(srv.socket_path, &cfg);
	int *fd = arg;

	it_put_int(fd[1], it_id(b));
	pause(); /* until SIGKILL: the slot keeps its token */
	return 0;
}

static void dead_token(void)
{
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX, .slots = 2 };
	struct ipm *a, *c, *d;
	uint8_t buf[MSG] = { 3 };
	int fd[2], nc = 0, nd = 0;
	pid_t pid;

	it_server(&srv, NULL, 1);
	a = it_open(srv.socket_path, &cfg);
	IT_CHECK(pipe(fd) == 0, "pipe");
	pid = it_fork(killed_main, fd);
	it_get_int(fd[0], 10000);
	kill(pid, SIGKILL);
	IT_CHECK(it_wait(pid, 5000) == 128 + SIGKILL, "killed peer");
	ipm_close(a); /* its slot is free, the killed one's is not */
	usleep(100000);
	c = it_open(srv.socket_path, &cfg);
	ipm_register_callback(c, count_cb, &nc);
	IT_CHECK(ipm_poll(c, 10) >= 0, "c: poll"); /* c looks at the slots */
	d = it_open(srv.socket_path, &cfg);
	ipm_register_callback(d, count_cb, &nd);
	IT_CHECK(ipm_send(d, 0, (uint32_t)it_id(c), buf, MSG) == 0, "d -> c");
	IT_CHECK(ipm_send(c, 0, (uint32_t)it_id(d), buf, MSG) == 0, "c -> d");
	for (int i = 0; i < 20 && (nc < 1 || nd < 1); i++) {
		IT_CHECK(ipm_poll(c, 10) >= 0 && ipm_poll(d, 10) >= 0, "poll");
	}
	IT_CHECK(nc == 1 && nd == 1, "after a killed peer's slot was "
		 "reclaimed: c got %d, d got %d", nc, nd);
	it_log("views: the killed peer's token did not stick; the slot's "
	       "next owner is heard");
	close(fd[0]);
	close(fd[1]);
	ipm_close(c);
	ipm_close(d);
	IT_CHECK(tu_server_stop(&srv) == 0, "server exit status");
}

int main(void)
{
	it_init();
	dead_token();
	foreign_token();
	bare_tail();
	no_spin();
	wakes(1);
	wakes(2);
	return 0;
}
