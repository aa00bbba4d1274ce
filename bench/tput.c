/* SPDX-License-Identifier: MIT */
/*
 * tput.*: one-way throughput of payload bytes at 64 B, 4 KiB, 64 KiB and
 * 1 MiB, from this process to a helper it forks (pinned to another CPU
 * where there is one). Every message carries its sequence number in its
 * first 8 bytes and a byte derived from it in its last; the receiver
 * checks both and counts the message in shared memory. A trial times n
 * messages, from before the first send until the receiver has counted the
 * last; after a warm-up of n/10 messages, full runs take the median of 3
 * trials.
 *
 *   tput.memcpy      the floor for copying payloads: the same messages
 *                    memcpy()d one after another into a 16 MiB ring of
 *                    shared memory (the size of the mailbox queue below),
 *                    one thread, no receiver: the most of the ring the
 *                    queue can use. How much it does use depends on its
 *                    receiver: the early wrap keeps it in its first KiB
 *                    while the receiver keeps up (instrumented, a quiet
 *                    full run used 3 MiB at 1 MiB, 1.1 MiB at 64 KiB, no
 *                    wrap at the ring's end), and a one-way flood fills
 *                    it once the receiver falls behind (on a host loaded
 *                    5 to 8 on 2 CPUs: 460 wraps at the end against 1952
 *                    early ones, 15 MiB used at 1 MiB).
 *   tput.memcpy.window  the same into the ring of a queue whose receiver
 *                    keeps up, one message behind (its early wrap: 4 KiB,
 *                    or two messages): the floor when the queue stays in
 *                    cache. The mailbox's figure lies between its ratios
 *                    to the two; no target uses this one.
 *   tput.socketpair  an AF_UNIX stream socketpair, one write() per message;
 *                    the helper read()s each whole message and checks it
 *   tput.mailbox     IPM mailbox mode over a private ivshmem-server (-n 1
 *                    -l 32M: a queue of about 16 MiB each way): ipm_send()
 *                    with wait = 0, retried at once on -EBUSY; the helper's
 *                    callback checks each message in place. The helper
 *                    busy-polls in ipm_poll() (cfg.spin_ns = 1 s).
 *   tput.mailbox.block  the same with the helper blocking in ipm_poll()
 *                    (cfg.spin_ns = 0), woken by the doorbell.
 *   tput.mailbox.nocheck  tput.mailbox with integrity off (cfg.unchecked:
 *                    no checksums, the callback checks the payload in
 *                    shared memory), 64 B and 1 MiB, on a server of its
 *                    own: against tput.mailbox, what integrity costs.
 *   tput.mailbox.loan  tput.mailbox with the zero-copy send: ipm_loan()
 *                    (-EBUSY retried), the sequence number and last byte
 *                    written in place, ipm_loan_commit() (which sums the
 *                    payload where it is), 64 KiB and 1 MiB: against
 *                    tput.mailbox, what the sender's copy costs.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ivshmem/ipm.h>

#define SEND_TIMEOUT_MS 10000
#define START_TIMEOUT_MS 30000
#define DRAIN_TIMEOUT_NS (60ull * 1000000000ull)
#define WATCHDOG_S 600
#define POLL_SPIN_NS 1000000000u
#define RING_BYTES (16u << 20)
#define MAX_TRIALS 3

static const size_t sizes[] = { 64, 4096, 65536, 1048576 };

#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

struct tput_shared {
	_Atomic uint32_t ready;       /* the helper has joined */
	_Atomic uint32_t parent_set;  /* parent_id is valid */
	_Atomic int32_t child_id;
	_Atomic int32_t parent_id;
	_Atomic uint64_t bad;         /* messages that failed the check */
	/* Written by the receiver only: on a line of its own. */
	_Atomic uint64_t delivered __attribute__((aligned(64)));
};

struct tput_run {
	size_t size;
	int mailbox, loan;
	unsigned spin_ns;
	const char *socket_path;
	struct tput_shared *sh;
	int p_fd, c_fd;          /* socketpair ends */
	uint8_t *buf;            /* the message, private to each side */
	struct ipm *ipm;
	uint32_t peer;
	uint64_t expect;         /* receiver: next sequence number */
};

static void fill(uint8_t *buf, size_t size, uint64_t seq)
{
	memcpy(buf, &seq, sizeof(seq));
	buf[size - 1] = bench_tail_byte(seq);
}

static int good(const volatile uint8_t *p, size_t size, size_t want,
		uint64_t seq)
{
	uint64_t got;

	if (size != want)
		return 0;
	memcpy(&got, (const void *)p, sizeof(got));
	return got == seq && p[size - 1] == bench_tail_byte(seq);
}

/* The receiver has checked the message: count it. */
static void delivered(struct tput_run *r, int ok)
{
	if (!ok)
		atomic_fetch_add(&r->sh->bad, 1);
	r->expect++;
	atomic_store_explicit(&r->sh->delivered, r->expect,
			      memory_order_release);
}

/* The sender: wait until the receiver has counted 'n' in all. */
static int wait_delivered(struct tput_run *r, uint64_t n, pid_t pid)
{
	uint64_t deadline = bench_now_ns() + DRAIN_TIMEOUT_NS;

	for (unsigned i = 1;; i++) {
		if (atomic_load_explicit(&r->sh->delivered,
					 memory_order_acquire) >= n)
			return 0;
		if (!(i % 4096)) {
			if (bench_child_dead(pid))
				return -ECHILD;
			if (bench_now_ns() > deadline)
				return -ETIMEDOUT;
		}
		bench_relax();
	}
}

/* ---- socketpair ---- */

static int stream_child(void *arg)
{
	struct tput_run *r = arg;

	for (;;) {
		if (bench_read_full(r->c_fd, r->buf, r->size) < 0)
			return 1;
		delivered(r, good(r->buf, r->size, r->size, r->expect));
	}
}

static int stream_send(struct tput_run *r, uint64_t seq)
{
	fill(r->buf, r->size, seq);
	return bench_write_full(r->p_fd, r->buf, r->size);
}

/* ---- mailbox ---- */

static void recv_cb(struct ipm *ipm, void *user, uint32_t id,
		    const volatile void *data, size_t size)
{
	struct tput_run *r = user;

	(void)ipm;
	(void)id;
	delivered(r, good(data, size, r->size, r->expect));
}

static int mailbox_child(void *arg)
{
	struct tput_run *r = arg;
	int rc;

	rc = bench_ipm_open(&r->ipm, r->socket_path, 1, r->spin_ns);
	if (rc < 0) {
		bench_log("ipm-bench: tput.mailbox helper: cannot open IPM: %s",
			  strerror(-rc));
		return 1;
	}
	ipm_register_callback(r->ipm, recv_cb, r);
	atomic_store(&r->sh->child_id, bench_ipm_id(r->ipm));
	atomic_store(&r->sh->ready, 1);
	for (;;) {
		rc = ipm_poll(r->ipm, -1);
		if (rc < 0) {
			bench_log("ipm-bench: tput.mailbox helper: ipm_poll: %s",
				  strerror(-rc));
			return 1;
		}
	}
}

static int mailbox_attach(struct tput_run *r, pid_t child)
{
	int rc = bench_wait_at_least(&r->sh->ready, 1, child,
				     START_TIMEOUT_MS);

	if (rc < 0)
		return rc;
	r->peer = (uint32_t)atomic_load(&r->sh->child_id);
	rc = bench_ipm_open(&r->ipm, r->socket_path, 1, 0);
	if (rc < 0)
		return rc;
	if (r->size > (size_t)ipm_max_data_size_get(r->ipm))
		return -EMSGSIZE;
	atomic_store(&r->sh->parent_id, bench_ipm_id(r->ipm));
	atomic_store(&r->sh->parent_set, 1);
	return 0;
}

static int mailbox_send(struct tput_run *r, uint64_t seq)
{
	fill(r->buf, r->size, seq);
	return bench_ipm_send(r->ipm, r->peer, r->buf, r->size,
			      SEND_TIMEOUT_MS);
}

/* The zero-copy send: written in place, then committed. */
static int mailbox_loan_send(struct tput_run *r, uint64_t seq)
{
	void *p;
	int rc = bench_ipm_loan(r->ipm, r->peer, r->size, &p,
				SEND_TIMEOUT_MS);

	if (rc)
		return rc;
	fill(p, r->size, seq);
	return ipm_loan_commit(r->ipm);
}

/* ---- trials ---- */

/* The baselines first (below T_MAILBOX). */
enum { T_MEMCPY, T_MEMCPY_WINDOW, T_SOCKETPAIR, T_MAILBOX, T_MAILBOX_BLOCK,
       T_MAILBOX_NC, T_MAILBOX_LOAN, NKINDS };

static const char *const names[NKINDS] = {
	"tput.memcpy", "tput.memcpy.window", "tput.socketpair",
	"tput.mailbox", "tput.mailbox.block", "tput.mailbox.nocheck",
	"tput.mailbox.loan",
};

static uint64_t messages(const struct bench_ctx *ctx, size_t size)
{
	uint64_t bytes = ctx->quick ? 64ull << 20 : 2ull << 30;
	uint64_t hi = ctx->quick ? 50000 : 2000000, lo = ctx->quick ? 20 : 200;
	uint64_t n = bytes / size;

	return n > hi ? hi : n < lo ? lo : n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A message's room in a ring of cache lines. */
static size_t line_up(size_t size)
{
	return (size + 63) & ~(size_t)63;
}

/*
 * tput.memcpy.window's ring: what a mailbox queue whose receiver stays one
 * message behind uses, its sender wrapping early (docs/mailbox-layout.md)
 * once 4 KiB in and the lap's first message consumed: 4 KiB, or two
 * messages.
 */
static size_t window_bytes(size_t size)
{
	size_t two = 2 * line_up(size);

	return two > 4096 ? two : 4096;
}

/* memcpy: no helper. Returns the seconds taken by n messages. */
static double memcpy_n(uint8_t *ring, size_t ring_bytes, uint8_t *buf,
		       size_t size, uint64_t n, uint64_t *seq, size_t *off)
{
	uint64_t t0 = bench_now_ns();

	for (uint64_t i = 0; i < n; i++) {
		fill(buf, size, (*seq)++);
		if (*off + size > ring_bytes)
			*off = 0;
		memcpy(ring + *off, buf, size);
		*off += line_up(size);
	}
	__asm__ __volatile__("" ::: "memory");
	return (double)(bench_now_ns() - t0) / 1e9;
}

static int measure_memcpy(size_t size, size_t ring_bytes, uint64_t n,
			  int trials, double *secs)
{
	uint8_t *ring = bench_shared_alloc(RING_BYTES);
	uint8_t *buf = calloc(1, size);
	uint64_t seq = 0;
	size_t off = 0;

	if (!ring || !buf) {
		bench_shared_free(ring, RING_BYTES);
		free(buf);
		return -ENOMEM;
	}
	memset(ring, 0, RING_BYTES);
	memcpy_n(ring, ring_bytes, buf, size, n / 10 + 1, &seq, &off);
	for (int t = 0; t < trials; t++)
		secs[t] = memcpy_n(ring, ring_bytes, buf, size, n, &seq, &off);
	bench_shared_free(ring, RING_BYTES);
	free(buf);
	return 0;
}

/* n messages and the wait for the receiver; seconds in *secs. */
static int send_n(struct tput_run *r, int mailbox, uint64_t n, uint64_t *seq,
		  pid_t pid, double *secs)
{
	uint64_t t0 = bench_now_ns();
	int rc = 0;

	for (uint64_t i = 0; !rc && i < n; i++)
		rc = r->loan ? mailbox_loan_send(r, (*seq)++) :
		     mailbox ? mailbox_send(r, (*seq)++) :
			       stream_send(r, (*seq)++);
	if (!rc)
		rc = wait_delivered(r, *seq, pid);
	*secs = (double)(bench_now_ns() - t0) / 1e9;
	return rc;
}

static int measure_pair(struct bench_ctx *ctx, int kind, size_t size,
			const char *socket_path, uint64_t n, int trials,
			double *secs)
{
	int mailbox = kind == T_MAILBOX_NC ? BENCH_MAILBOX_UNCHECKED :
		      kind == T_MAILBOX || kind == T_MAILBOX_BLOCK ||
		      kind == T_MAILBOX_LOAN;
	struct tput_run r = {
		.size = size, .mailbox = mailbox,
		.loan = kind == T_MAILBOX_LOAN,
		.spin_ns = kind == T_MAILBOX || kind == T_MAILBOX_NC ||
			   kind == T_MAILBOX_LOAN ? POLL_SPIN_NS : 0,
		.socket_path = socket_path, .p_fd = -1, .c_fd = -1,
	};
	uint64_t seq = 0;
	pid_t pid = -1;
	double warm;
	int rc = 0;

	r.sh = bench_shared_alloc(sizeof(*r.sh));
	r.buf = calloc(1, size);
	if (!r.sh || !r.buf) {
		rc = -ENOMEM;
		goto out;
	}
	if (!mailbox) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
			       sv) < 0) {
			rc = -errno;
			goto out;
		}
		r.p_fd = sv[0];
		r.c_fd = sv[1];
	}
	pid = bench_fork(ctx, mailbox ? mailbox_child : stream_child, &r);
	if (pid < 0) {
		rc = (int)pid;
		goto out;
	}
	if (mailbox) {
		rc = mailbox_attach(&r, pid);
		if (rc < 0)
			goto out;
	}
	bench_watchdog(WATCHDOG_S, names[kind]);
	rc = send_n(&r, mailbox, n / 10 + 1, &seq, pid, &warm);
	for (int t = 0; !rc && t < trials; t++)
		rc = send_n(&r, mailbox, n, &seq, pid, &secs[t]);
	bench_watchdog(0, NULL);
	if (!rc && atomic_load(&r.sh->bad)) {
		bench_log("ipm-bench: %s %zu B: %llu messages failed the check",
			  names[kind], size,
			  (unsigned long long)atomic_load(&r.sh->bad));
		rc = -EPROTO;
	}
out:
	if (pid > 0)
		bench_child_stop(pid);
	if (r.p_fd >= 0) {
		close(r.p_fd);
		close(r.c_fd);
	}
	ipm_close(r.ipm);
	free(r.buf);
	bench_shared_free(r.sh, sizeof(*r.sh));
	return rc;
}

static int wanted(const struct bench_ctx *ctx, int kind)
{
	/* The figures measured against tput.mailbox want it too. */
	int vs = bench_selected(ctx, names[T_MAILBOX_NC]) ||
		 bench_selected(ctx, names[T_MAILBOX_LOAN]);

	return bench_selected(ctx, names[kind]) ||
	       (kind < T_MAILBOX && bench_selected(ctx, "tput.mailbox")) ||
	       ((kind < T_MAILBOX || kind == T_MAILBOX) && vs);
}

static void set_notes(struct bench_ctx *ctx)
{
	static const char *const notes[NKINDS] = {
		"memcpy into a 16 MiB shared ring, one thread",
		"as tput.memcpy, the ring of a queue whose receiver keeps "
		"up (4 KiB, or two messages)",
		"one write() per message; the helper reads and checks each",
		"ipm_send(wait=0), -EBUSY retried; the helper's callback "
		"checks each; it busy-polls (spin_ns 1 s)",
		"as tput.mailbox, the helper blocks in ipm_poll() "
		"(spin_ns 0)",
		"as tput.mailbox, integrity off (cfg.unchecked)",
		"as tput.mailbox, the zero-copy send: ipm_loan(), 9 bytes "
		"written in place, ipm_loan_commit()",
	};
	struct report *rep = ctx->report;

	for (size_t i = 0; i < NSIZES; i++) {
		const struct result *mc = report_find(rep, names[T_MEMCPY],
						      sizes[i], -1);
		const struct result *sp = report_find(rep, names[T_SOCKETPAIR],
						      sizes[i], -1);

		for (int k = 0; k < NKINDS; k++) {
			struct result *res = report_find(rep, names[k],
							 sizes[i], -1);

			if (!res)
				continue;
			if (k == T_MAILBOX_NC || k == T_MAILBOX_LOAN) {
				report_set_ratio(res, mc);
				report_set_ratio2(res, report_find(rep,
					names[T_MAILBOX], sizes[i], -1));
			} else if (k >= T_MAILBOX) {
				report_set_ratio(res, mc);
				report_set_ratio2(res, sp);
			}
			if (i == 0 || (k == T_MAILBOX_LOAN && sizes[i] == 65536))
				report_set_note(res, notes[k]);
		}
	}
}

static int run(struct bench_ctx *ctx)
{
	static const char *const args[] = { "-n", "1", "-l", "32M", NULL };
	/* Integrity off is the first peer's choice for the whole region:
	 * tput.mailbox.nocheck gets a server of its own. */
	struct bench_server srv = { .pid = 0 }, srv_nc = { .pid = 0 };
	int trials = ctx->quick ? 1 : MAX_TRIALS, rc = 0;

	for (int k = 0; !rc && k < NKINDS; k++) {
		struct bench_server *sv = k == T_MAILBOX_NC ? &srv_nc : &srv;

		if (!wanted(ctx, k))
			continue;
		if (k >= T_MAILBOX && !sv->pid) {
			rc = bench_server_start(ctx, sv, sv == &srv ? "tput" :
						"tput-nocheck", args);
			if (rc < 0)
				break;
		}
		for (size_t i = 0; !rc && i < NSIZES; i++) {
			uint64_t n = messages(ctx, sizes[i]);
			double secs[MAX_TRIALS], mid, bytes;

			/* The cost of integrity: the spec's two sizes; of
			 * the copy: where copying dominates. */
			if (k == T_MAILBOX_NC && sizes[i] != 64 &&
			    sizes[i] != 1048576)
				continue;
			if (k == T_MAILBOX_LOAN && sizes[i] < 65536)
				continue;
			bench_log("%s: %zu B, %d x %llu messages", names[k],
				  sizes[i], trials, (unsigned long long)n);
			if (k == T_MEMCPY || k == T_MEMCPY_WINDOW)
				rc = measure_memcpy(sizes[i],
						    k == T_MEMCPY ? RING_BYTES :
						    window_bytes(sizes[i]),
						    n, trials, secs);
			else
				rc = measure_pair(ctx, k, sizes[i],
						  sv->socket_path, n, trials,
						  secs);
			if (rc < 0) {
				bench_log("ipm-bench: %s %zu B: %s", names[k],
					  sizes[i], strerror(-rc));
				break;
			}
			qsort(secs, (size_t)trials, sizeof(secs[0]),
			      cmp_double);
			mid = secs[trials / 2];
			bytes = (double)n * (double)sizes[i];
			if (!report_add_throughput(ctx->report, names[k],
						   sizes[i], -1,
						   bytes / mid / 1e6,
						   (double)n / mid))
				rc = -ENOMEM;
		}
	}
	if (srv.pid)
		bench_server_stop(&srv);
	if (srv_nc.pid)
		bench_server_stop(&srv_nc);
	set_notes(ctx);
	return rc;
}

static const char *const figures[] = {
	"tput.memcpy", "tput.memcpy.window", "tput.socketpair", "tput.mailbox",
	"tput.mailbox.block", "tput.mailbox.nocheck", "tput.mailbox.loan",
	NULL,
};

const struct bench_def bench_tput = {
	.name = "tput",
	.figures = figures,
	.run = run,
};
