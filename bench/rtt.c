/* SPDX-License-Identifier: MIT */
/*
 * rtt.*: round trips between this process and a helper it forks (pinned to
 * another CPU where there is one). The bench side times each round trip
 * on its own: send, then wait for the reply, with CLOCK_MONOTONIC around
 * both. Warm-up round trips come first and are not counted.
 *
 * Baselines (no IPM code involved):
 *   rtt.eventfd     an eventfd each way, blocking 8-byte reads (0 B)
 *   rtt.spin        a slot each way in shared memory: the payload is
 *                   copied in, then a sequence word is stored (release);
 *                   the other side spins on the word (acquire) and copies
 *                   the payload out
 *   rtt.socketpair  an AF_UNIX stream socketpair, write + read the payload
 *   rtt.pipe        two pipes, write + read the payload
 *   rtt.spin.checked  rtt.spin plus the work no checked message can skip:
 *                   the sender sums a record header and the payload
 *                   (the mailbox's CRC-32C lanes, sum.h) while copying
 *                   it in; the receiver sums it again while copying it
 *                   into a private buffer, compares, and copies it out
 *                   of that. No queue protocol: what integrity alone
 *                   adds to the floor of polling (information; no
 *                   target uses it)
 *
 * IPM, both peers joined to a private ivshmem-server (-n 1 -l 4M):
 *   rtt.doorbell       doorbell mode: ipm_send() rings, the helper's
 *                      callback rings back; both block in ipm_poll()
 *   rtt.mailbox.block  mailbox mode: ipm_send(wait = 0) of the payload,
 *                      the helper's callback copies it out and sends it
 *                      back the same way; our callback copies the reply
 *                      out. Both block in ipm_poll() (cfg.spin_ns = 0).
 *   rtt.mailbox.poll   the same, both busy-polling in ipm_poll() with
 *                      cfg.spin_ns = 1 s (longer than any wait here)
 *   rtt.mailbox.{block,poll}.nocheck  the same with integrity off
 *                      (cfg.unchecked: no checksums, payloads delivered
 *                      in place), on a server of their own: against
 *                      the checked figure, what integrity costs
 *
 * The spec's sizes are 0 B (eventfd, doorbell) and 64 B; full runs add
 * 4 KiB and 64 KiB for the payload-carrying ones (the latency plot).
 * Full runs measure every figure in ROUNDS rounds, each a share of its
 * round trips after its own warm-up, so that a figure and its baseline
 * are interleaved in time rather than seconds apart: on a shared machine
 * the vCPUs' placement, and with it the floor, drifts.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ivshmem/ipm.h>

#include "ipmc_layout.h"
#include "sum.h"

#define SEND_TIMEOUT_MS 5000
#define START_TIMEOUT_MS 30000
#define WATCHDOG_S 600
#define POLL_SPIN_NS 1000000000u
#define ROUNDS 4   /* full runs: each figure in 4 interleaved shares */
#define PAGE 4096u

/* Shared by the two sides: start-up handshake of the IPM figures. */
struct rtt_shared {
	_Atomic uint32_t ready;       /* the helper has joined */
	_Atomic uint32_t parent_set;  /* parent_id is valid */
	_Atomic int32_t child_id;
	_Atomic int32_t parent_id;
	_Atomic uint32_t errors;      /* the helper's failed replies */
};

/* One direction of rtt.spin: the word and the payload right after it. */
struct spin_slot {
	_Atomic uint64_t seq;
	uint8_t data[];
};

/* One direction of rtt.spin.checked: the same with the sum. */
struct checked_slot {
	_Atomic uint64_t seq;
	uint32_t sum, pad;
	uint8_t data[];
};

struct rtt_run;

struct rtt_kind {
	const char *name;
	int spin;      /* busy-polls: more, cheaper iterations */
	int ipm;       /* needs the server */
	int mailbox;   /* IPM mode */
	unsigned spin_ns;
	int (*open)(struct rtt_run *r);    /* before the fork */
	int (*child)(void *arg);           /* the helper: answers forever */
	int (*ping)(struct rtt_run *r);    /* one round trip */
};

struct rtt_run {
	const struct rtt_kind *k;
	size_t size;
	const char *socket_path;
	struct rtt_shared *sh;
	size_t sh_len;
	struct spin_slot *to_child, *to_parent;
	int p_rd, p_wr, c_rd, c_wr;  /* each side's ends; -1: unused */
	uint8_t *buf;                /* the payload, private to each side */
	uint8_t *copy;               /* rtt.spin.checked: the verified copy */
	int hw;                      /* ... with the CPU's CRC instruction */
	struct ipm *ipm;             /* each side's device */
	uint32_t peer;               /* the other side's id */
	uint64_t seq;
	int got;                     /* our callback saw the reply */
};

/* ---- fds ---- */

static int eventfd_open(struct rtt_run *r)
{
	int a = eventfd(0, EFD_CLOEXEC), b = eventfd(0, EFD_CLOEXEC);

	if (a < 0 || b < 0) {
		int rc = -errno;

		if (a >= 0)
			close(a);
		return rc;
	}
	r->p_wr = r->c_rd = a;
	r->p_rd = r->c_wr = b;
	return 0;
}

static int eventfd_child(void *arg)
{
	struct rtt_run *r = arg;
	uint64_t v;

	for (;;)
		if (bench_read_full(r->c_rd, &v, sizeof(v)) < 0 ||
		    bench_write_full(r->c_wr, &v, sizeof(v)) < 0)
			return 1;
}

static int eventfd_ping(struct rtt_run *r)
{
	uint64_t v = 1;
	int rc = bench_write_full(r->p_wr, &v, sizeof(v));

	return rc ? rc : bench_read_full(r->p_rd, &v, sizeof(v));
}

static int socketpair_open(struct rtt_run *r)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	r->p_rd = r->p_wr = sv[0];
	r->c_rd = r->c_wr = sv[1];
	return 0;
}

static int pipe_open(struct rtt_run *r)
{
	int a[2], b[2];

	if (pipe2(a, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(b, O_CLOEXEC) < 0) {
		int rc = -errno;

		close(a[0]);
		close(a[1]);
		return rc;
	}
	r->p_wr = a[1];
	r->c_rd = a[0];
	r->c_wr = b[1];
	r->p_rd = b[0];
	return 0;
}

/* The payload back as it came: socketpair and pipe. */
static int stream_child(void *arg)
{
	struct rtt_run *r = arg;

	for (;;)
		if (bench_read_full(r->c_rd, r->buf, r->size) < 0 ||
		    bench_write_full(r->c_wr, r->buf, r->size) < 0)
			return 1;
}

static int stream_ping(struct rtt_run *r)
{
	int rc = bench_write_full(r->p_wr, r->buf, r->size);

	return rc ? rc : bench_read_full(r->p_rd, r->buf, r->size);
}

/* ---- rtt.spin ---- */

static int spin_open(struct rtt_run *r)
{
	(void)r;
	return 0;   /* the slots are in r->sh's mapping */
}

static void spin_put(struct spin_slot *s, const uint8_t *buf, size_t size,
		     uint64_t seq)
{
	memcpy(s->data, buf, size);
	atomic_store_explicit(&s->seq, seq, memory_order_release);
}

static void spin_get(struct spin_slot *s, uint8_t *buf, size_t size,
		     uint64_t seq)
{
	while (atomic_load_explicit(&s->seq, memory_order_acquire) != seq)
		bench_relax();
	memcpy(buf, s->data, size);
}

static int spin_child(void *arg)
{
	struct rtt_run *r = arg;
	uint64_t seq = 0;

	/* Until we are killed. */
	while (seq != UINT64_MAX) {
		seq++;
		spin_get(r->to_child, r->buf, r->size, seq);
		spin_put(r->to_parent, r->buf, r->size, seq);
	}
	return 0;
}

static int spin_ping(struct rtt_run *r)
{
	r->seq++;
	spin_put(r->to_child, r->buf, r->size, r->seq);
	spin_get(r->to_parent, r->buf, r->size, r->seq);
	return 0;
}

/* ---- rtt.spin.checked ---- */

/* The header bytes a record's sum covers, for message seq. */
static void checked_header(uint8_t h[IPMC_REC_SUMMED_LEN], uint64_t seq,
			   size_t size)
{
	struct ipmc_rec rec = { .type = IPMC_REC_MSG, .len = (uint32_t)size,
				.src = 1, .dst = 2, .seq = seq };

	memcpy(h, (const uint8_t *)&rec + IPMC_REC_SUMMED_OFF,
	       IPMC_REC_SUMMED_LEN);
}

static int checked_open(struct rtt_run *r)
{
	r->copy = malloc(r->size ? r->size : 1);
	r->hw = ipm_sum_hw();
	return r->copy ? 0 : -ENOMEM;
}

static void checked_put(struct rtt_run *r, struct spin_slot *slot,
			uint64_t seq)
{
	struct checked_slot *s = (struct checked_slot *)slot;
	uint8_t h[IPMC_REC_SUMMED_LEN];

	checked_header(h, seq, r->size);
	s->sum = ipm_sum_rec(s->data, r->buf, r->size, seq * IPMC_LINE, h,
			     r->hw);
	atomic_store_explicit(&s->seq, seq, memory_order_release);
}

/* A sum that does not match is a failed reply: it cannot happen here. */
static int checked_get(struct rtt_run *r, struct spin_slot *slot,
		       uint64_t seq)
{
	struct checked_slot *s = (struct checked_slot *)slot;
	uint8_t h[IPMC_REC_SUMMED_LEN];

	while (atomic_load_explicit(&s->seq, memory_order_acquire) != seq)
		bench_relax();
	checked_header(h, seq, r->size);
	if (ipm_sum_rec(r->copy, s->data, r->size, seq * IPMC_LINE, h,
			r->hw) != s->sum)
		return -EBADMSG;
	memcpy(r->buf, r->copy, r->size);
	return 0;
}

static int checked_child(void *arg)
{
	struct rtt_run *r = arg;
	uint64_t seq = 0;

	while (seq != UINT64_MAX) {
		seq++;
		if (checked_get(r, r->to_child, seq) < 0)
			atomic_fetch_add(&r->sh->errors, 1);
		checked_put(r, r->to_parent, seq);
	}
	return 0;
}

static int checked_ping(struct rtt_run *r)
{
	r->seq++;
	checked_put(r, r->to_child, r->seq);
	return checked_get(r, r->to_parent, r->seq);
}

/* ---- IPM: doorbell and mailbox ---- */

static int ipm_open_none(struct rtt_run *r)
{
	(void)r;
	return 0;
}

/* The payload (if any) is copied out: it lives in shared memory. */
static void copy_out(struct rtt_run *r, const volatile void *data,
		     size_t size)
{
	if (size != r->size)
		atomic_fetch_add(&r->sh->errors, 1);
	else if (size)
		memcpy(r->buf, (const void *)data, size);
}

static void child_cb(struct ipm *ipm, void *user, uint32_t id,
		     const volatile void *data, size_t size)
{
	struct rtt_run *r = user;

	(void)id;
	copy_out(r, data, size);
	if (bench_ipm_send(ipm, r->peer, r->k->mailbox ? r->buf : NULL,
			   r->k->mailbox ? r->size : 0, SEND_TIMEOUT_MS) < 0)
		atomic_fetch_add(&r->sh->errors, 1);
}

static void parent_cb(struct ipm *ipm, void *user, uint32_t id,
		      const volatile void *data, size_t size)
{
	struct rtt_run *r = user;

	(void)ipm;
	(void)id;
	copy_out(r, data, size);
	r->got = 1;
}

static int ipm_child(void *arg)
{
	struct rtt_run *r = arg;
	int rc;

	rc = bench_ipm_open(&r->ipm, r->socket_path, r->k->mailbox,
			    r->k->spin_ns);
	if (rc < 0) {
		bench_log("ipm-bench: %s helper: cannot open IPM: %s",
			  r->k->name, strerror(-rc));
		return 1;
	}
	ipm_register_callback(r->ipm, child_cb, r);
	atomic_store(&r->sh->child_id, bench_ipm_id(r->ipm));
	atomic_store(&r->sh->ready, 1);
	if (bench_wait_at_least(&r->sh->parent_set, 1, 0,
				START_TIMEOUT_MS) < 0)
		return 1;
	r->peer = (uint32_t)atomic_load(&r->sh->parent_id);
	for (;;) {
		rc = ipm_poll(r->ipm, -1);
		if (rc < 0) {
			bench_log("ipm-bench: %s helper: ipm_poll: %s",
				  r->k->name, strerror(-rc));
			return 1;
		}
	}
}

/* After the fork: join once the helper has, and tell it our id. */
static int ipm_attach(struct rtt_run *r, pid_t child)
{
	int rc = bench_wait_at_least(&r->sh->ready, 1, child,
				     START_TIMEOUT_MS);

	if (rc < 0)
		return rc;
	r->peer = (uint32_t)atomic_load(&r->sh->child_id);
	rc = bench_ipm_open(&r->ipm, r->socket_path, r->k->mailbox,
			    r->k->spin_ns);
	if (rc < 0)
		return rc;
	ipm_register_callback(r->ipm, parent_cb, r);
	atomic_store(&r->sh->parent_id, bench_ipm_id(r->ipm));
	atomic_store(&r->sh->parent_set, 1);
	return 0;
}

static int ipm_ping(struct rtt_run *r)
{
	int rc;

	r->got = 0;
	rc = bench_ipm_send(r->ipm, r->peer, r->k->mailbox ? r->buf : NULL,
			    r->k->mailbox ? r->size : 0, SEND_TIMEOUT_MS);
	while (!rc && !r->got) {
		rc = ipm_poll(r->ipm, -1);
		if (rc > 0)
			rc = 0;
	}
	return rc;
}

/* ---- the figures ---- */

enum { K_EVENTFD, K_SPIN, K_SPIN_CHECKED, K_SOCKETPAIR, K_PIPE, K_DOORBELL,
       K_MBLOCK, K_MPOLL, K_MBLOCK_NC, K_MPOLL_NC, NKINDS };

static const struct rtt_kind kinds[NKINDS] = {
	[K_EVENTFD] = { "rtt.eventfd", 0, 0, 0, 0, eventfd_open,
			eventfd_child, eventfd_ping },
	[K_SPIN] = { "rtt.spin", 1, 0, 0, 0, spin_open, spin_child,
		     spin_ping },
	[K_SPIN_CHECKED] = { "rtt.spin.checked", 1, 0, 0, 0, checked_open,
			     checked_child, checked_ping },
	[K_SOCKETPAIR] = { "rtt.socketpair", 0, 0, 0, 0, socketpair_open,
			   stream_child, stream_ping },
	[K_PIPE] = { "rtt.pipe", 0, 0, 0, 0, pipe_open, stream_child,
		     stream_ping },
	[K_DOORBELL] = { "rtt.doorbell", 0, 1, 0, 0, ipm_open_none,
			 ipm_child, ipm_ping },
	[K_MBLOCK] = { "rtt.mailbox.block", 0, 1, 1, 0, ipm_open_none,
		       ipm_child, ipm_ping },
	[K_MPOLL] = { "rtt.mailbox.poll", 1, 1, 1, POLL_SPIN_NS,
		      ipm_open_none, ipm_child, ipm_ping },
	/* Integrity off: what checksums and private copies cost. */
	[K_MBLOCK_NC] = { "rtt.mailbox.block.nocheck", 0, 1,
			  BENCH_MAILBOX_UNCHECKED, 0, ipm_open_none,
			  ipm_child, ipm_ping },
	[K_MPOLL_NC] = { "rtt.mailbox.poll.nocheck", 1, 1,
			 BENCH_MAILBOX_UNCHECKED, POLL_SPIN_NS,
			 ipm_open_none, ipm_child, ipm_ping },
};

/* What runs, in order: the spec's sizes, then (full runs) the sweep. */
struct rtt_step {
	int kind;
	size_t size;
	int sweep;
};

static const struct rtt_step steps[] = {
	{ K_EVENTFD, 0, 0 }, { K_SPIN, 64, 0 }, { K_SPIN_CHECKED, 64, 0 },
	{ K_SOCKETPAIR, 64, 0 },
	{ K_PIPE, 64, 0 }, { K_DOORBELL, 0, 0 }, { K_MBLOCK, 64, 0 },
	{ K_MPOLL, 64, 0 }, { K_MBLOCK_NC, 64, 0 }, { K_MPOLL_NC, 64, 0 },
	{ K_SPIN, 4096, 1 }, { K_SOCKETPAIR, 4096, 1 }, { K_PIPE, 4096, 1 },
	{ K_MBLOCK, 4096, 1 }, { K_MPOLL, 4096, 1 },
	{ K_SPIN, 65536, 1 }, { K_SOCKETPAIR, 65536, 1 },
	{ K_PIPE, 65536, 1 }, { K_MBLOCK, 65536, 1 }, { K_MPOLL, 65536, 1 },
};

#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

/* A baseline runs when it or a figure measured against it is wanted. */
static int wanted(const struct bench_ctx *ctx, int kind)
{
	if (bench_selected(ctx, kinds[kind].name))
		return 1;
	switch (kind) {
	case K_EVENTFD:
		return bench_selected(ctx, kinds[K_DOORBELL].name) ||
		       bench_selected(ctx, kinds[K_MBLOCK].name) ||
		       bench_selected(ctx, kinds[K_MBLOCK_NC].name);
	case K_SOCKETPAIR:
	case K_MBLOCK:
		return bench_selected(ctx, kinds[K_MBLOCK].name) ||
		       bench_selected(ctx, kinds[K_MBLOCK_NC].name);
	case K_SPIN:
	case K_SPIN_CHECKED:
	case K_MPOLL:
		return bench_selected(ctx, kinds[K_MPOLL].name) ||
		       bench_selected(ctx, kinds[K_MPOLL_NC].name);
	}
	return 0;
}

static void iterations(const struct bench_ctx *ctx, const struct rtt_step *s,
		       unsigned *warmup, unsigned *iters)
{
	int spin = kinds[s->kind].spin;

	if (ctx->quick) {
		*warmup = 200;
		*iters = spin ? 5000 : 2000;
	} else if (s->sweep) {
		*warmup = 1000;
		*iters = spin ? 50000 : 20000;
	} else {
		*warmup = spin ? 20000 : 5000;
		*iters = spin ? 200000 : 100000;
	}
}

static void run_close(struct rtt_run *r)
{
	int fds[4] = { r->p_rd, r->p_wr, r->c_rd, r->c_wr };

	for (int i = 0; i < 4; i++) {
		int dup = 0;

		for (int j = 0; j < i; j++)
			dup |= fds[j] == fds[i];
		if (fds[i] >= 0 && !dup)
			close(fds[i]);
	}
	ipm_close(r->ipm);
	free(r->buf);
	free(r->copy);
	bench_shared_free(r->sh, r->sh_len);
}

/* One round of step s: a warm-up, then 'iters' round trips into *st. */
static int measure(struct bench_ctx *ctx, const struct rtt_step *s,
		   const char *socket_path, unsigned iters, struct stats *st)
{
	const struct rtt_kind *k = &kinds[s->kind];
	size_t slot = (sizeof(struct checked_slot) + s->size + PAGE - 1) /
		      PAGE * PAGE;
	struct rtt_run r = {
		.k = k, .size = s->size, .socket_path = socket_path,
		.p_rd = -1, .p_wr = -1, .c_rd = -1, .c_wr = -1,
		.sh_len = PAGE + 2 * slot,
	};
	unsigned warmup, total;
	pid_t pid = -1;
	int rc;

	iterations(ctx, s, &warmup, &total);
	r.sh = bench_shared_alloc(r.sh_len);
	r.buf = calloc(1, s->size ? s->size : 1);
	if (!r.sh || !r.buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->size; i++)
		r.buf[i] = (uint8_t)i;
	r.to_child = (struct spin_slot *)((uint8_t *)r.sh + PAGE);
	r.to_parent = (struct spin_slot *)((uint8_t *)r.sh + PAGE + slot);
	rc = k->open(&r);
	if (rc < 0)
		goto out;
	pid = bench_fork(ctx, k->child, &r);
	if (pid < 0) {
		rc = (int)pid;
		goto out;
	}
	if (k->ipm) {
		rc = ipm_attach(&r, pid);
		if (rc < 0)
			goto out;
	}
	bench_watchdog(WATCHDOG_S, k->name);
	for (unsigned i = 0; !rc && i < warmup + iters; i++) {
		uint64_t t0, t1;

		t0 = bench_now_ns();
		rc = k->ping(&r);
		t1 = bench_now_ns();
		if (!rc && i >= warmup)
			rc = stats_add(st, t1 - t0);
	}
	bench_watchdog(0, NULL);
	if (!rc && atomic_load(&r.sh->errors)) {
		bench_log("ipm-bench: %s: %u bad or failed replies", k->name,
			  atomic_load(&r.sh->errors));
		rc = -EPROTO;
	}
out:
	if (pid > 0)
		bench_child_stop(pid);
	run_close(&r);
	return rc;
}

/* Figure name at size: its ratio to base (and to base2), and its note. */
static void relate(struct report *rep, const char *name, size_t size,
		   const char *base, size_t bsize, const char *base2,
		   size_t b2size, const char *note)
{
	struct result *res = report_find(rep, name, size, -1);

	if (!res)
		return;
	report_set_ratio(res, report_find(rep, base, bsize, -1));
	if (base2)
		report_set_ratio2(res, report_find(rep, base2, b2size, -1));
	report_set_note(res, note);
}

static void set_ratios(struct bench_ctx *ctx)
{
	static const size_t sizes[] = { 64, 4096, 65536 };
	static const char block_note[] = "ipm_send(wait=0), the callback "
		"replies; both block in ipm_poll() (spin_ns 0)";
	struct report *rep = ctx->report;
	struct result *res;

	relate(rep, "rtt.doorbell", 0, "rtt.eventfd", 0, NULL, 0,
	       "doorbell mode, both sides block in ipm_poll(); the helper "
	       "rings back from its callback");
	relate(rep, "rtt.mailbox.block", 64, "rtt.eventfd", 0,
	       "rtt.socketpair", 64, block_note);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (sizes[i] != 64)
			relate(rep, "rtt.mailbox.block", sizes[i],
			       "rtt.socketpair", sizes[i], NULL, 0,
			       block_note);
		relate(rep, "rtt.mailbox.poll", sizes[i], "rtt.spin", sizes[i],
		       "rtt.spin.checked", sizes[i],
		       "as rtt.mailbox.block, both busy-poll in ipm_poll() "
		       "(spin_ns 1 s)");
	}
	/* Integrity off: against the same baseline, and against on. */
	relate(rep, "rtt.mailbox.block.nocheck", 64, "rtt.eventfd", 0,
	       "rtt.mailbox.block", 64, "as rtt.mailbox.block, integrity off "
	       "(cfg.unchecked: no checksums, delivered in place)");
	relate(rep, "rtt.mailbox.poll.nocheck", 64, "rtt.spin", 64,
	       "rtt.mailbox.poll", 64, "as rtt.mailbox.poll, integrity off");
	relate(rep, "rtt.spin.checked", 64, "rtt.spin", 64, NULL, 0,
	       "rtt.spin with the record sum on both sides and the "
	       "receiver's private copy: the floor of a checked message");
	res = report_find(rep, "rtt.spin", 64, -1);
	if (res && ctx->cpus < 2)
		report_set_note(res, "one CPU: the spinning sides yield to "
				"each other");
}

static int run(struct bench_ctx *ctx)
{
	static const char *const args[] = { "-n", "1", "-l", "4M", NULL };
	/* Integrity off is the first peer's choice for the whole region:
	 * those figures get a server of their own. */
	struct bench_server srv = { .pid = 0 }, srv_nc = { .pid = 0 };
	struct stats st[NSTEPS] = { { 0 } };
	const unsigned rounds = ctx->quick ? 1 : ROUNDS;
	int rc = 0;

	/*
	 * Every step runs in each round, a share of its round trips at a
	 * time: a baseline and the figure compared with it are measured
	 * minutes apart otherwise, and the host may have moved our vCPUs
	 * (or got busier) in between.
	 */
	for (unsigned round = 0; !rc && round < rounds; round++) {
		for (size_t i = 0; !rc && i < NSTEPS; i++) {
			const struct rtt_step *s = &steps[i];
			const struct rtt_kind *k = &kinds[s->kind];
			unsigned warmup, iters;

			if (!wanted(ctx, s->kind) || (s->sweep && ctx->quick))
				continue;
			iterations(ctx, s, &warmup, &iters);
			if (!round)
				rc = stats_init(&st[i], iters);
			struct bench_server *sv =
				k->mailbox == BENCH_MAILBOX_UNCHECKED ?
				&srv_nc : &srv;

			if (!rc && k->ipm && !sv->pid)
				rc = bench_server_start(ctx, sv, sv == &srv ? "rtt" :
						"rtt-nocheck",
							args);
			if (rc < 0)
				break;
			bench_log("%s: %zu B (round %u of %u)", k->name,
				  s->size, round + 1, rounds);
			iters = iters / rounds +
				(round < iters % rounds ? 1 : 0);
			rc = measure(ctx, s, sv->socket_path, iters, &st[i]);
			if (rc < 0)
				bench_log("ipm-bench: %s %zu B: %s", k->name,
					  s->size, strerror(-rc));
		}
	}
	for (size_t i = 0; !rc && i < NSTEPS; i++) {
		struct stats_summary sum;

		if (!st[i].n)
			continue;
		stats_summarise(&st[i], &sum);
		if (!report_add_latency(ctx->report, kinds[steps[i].kind].name,
					steps[i].size, -1, &sum))
			rc = -ENOMEM;
	}
	for (size_t i = 0; i < NSTEPS; i++)
		stats_free(&st[i]);
	if (srv.pid)
		bench_server_stop(&srv);
	if (srv_nc.pid)
		bench_server_stop(&srv_nc);
	set_ratios(ctx);
	return rc;
}

static const char *const figures[] = {
	"rtt.eventfd", "rtt.spin", "rtt.spin.checked", "rtt.socketpair",
	"rtt.pipe",
	"rtt.doorbell", "rtt.mailbox.block", "rtt.mailbox.poll",
	"rtt.mailbox.block.nocheck", "rtt.mailbox.poll.nocheck", NULL,
};

const struct bench_def bench_rtt = {
	.name = "rtt",
	.figures = figures,
	.run = run,
};
