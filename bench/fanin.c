/* SPDX-License-Identifier: MIT */
/*
 * fanin.mailbox: N senders into one receiver, 64-byte messages, IPM
 * mailbox mode: what a receiver watching many queues costs.
 *
 * We open the receiving device first (it lays the region out), busy-
 * polling (cfg.spin_ns 1 s) in ipm_poll(); N helpers each open one,
 * wait for the start and send their share of the messages with
 * ipm_send(wait = 0), -EBUSY retried at once. Every message carries its
 * sender's sequence number in its first 8 bytes and a byte derived from
 * it in its last; our callback checks both per sender. A trial times all
 * N shares, from the start until the last is delivered.
 *
 * N = 1, 4 and 16 on a 64 MiB region cut into N + 1 slots, and the most
 * the server's default region holds with the default slot count (the
 * helpers join one by one until one is refused with -ENOSPC: the figure
 * says how many that was).
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ivshmem/ipm.h>

#define MAX_SENDERS 63
#define MSG 64
#define SEND_TIMEOUT_MS 10000
#define START_TIMEOUT_MS 30000
#define DRAIN_TIMEOUT_NS (120ull * 1000000000ull)
#define WATCHDOG_S 900
#define POLL_SPIN_NS 1000000000u
#define MAX_ID 65536

static const int fanins[] = { 1, 4, 16 };

#define NFANINS (sizeof(fanins) / sizeof(fanins[0]))

struct fanin_shared {
	_Atomic uint32_t go;
	_Atomic uint64_t share;       /* messages per sender, set before go */
	_Atomic int32_t recv_id;
	/* Per helper: 1 joined, -errno refused. */
	_Atomic int32_t joined[MAX_SENDERS];
	_Atomic uint64_t bad;
};

struct fanin_run {
	const char *socket_path;
	unsigned slots;        /* 0: the default */
	struct fanin_shared *sh;
	int index;
	/* The receiver's: per sender id, the next sequence number. */
	uint64_t *next;
	uint64_t delivered;
};

static int open_dev(struct ipm **out, const char *path, unsigned slots,
		    unsigned spin_ns)
{
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX, .slots = slots,
				  .spin_ns = spin_ns };

	return bench_ipm_open_cfg(out, path, 1, &cfg);
}

static int sender(void *arg)
{
	struct fanin_run *r = arg;
	uint8_t buf[MSG] = { 0 };
	struct ipm *ipm;
	int rc = open_dev(&ipm, r->socket_path, r->slots, 0);

	atomic_store(&r->sh->joined[r->index], rc < 0 ? rc : 1);
	if (rc < 0)
		return 0; /* refused: the region is full, as it may be */
	while (!atomic_load_explicit(&r->sh->go, memory_order_acquire))
		bench_relax();
	for (uint64_t seq = 0; seq < atomic_load(&r->sh->share); seq++) {
		memcpy(buf, &seq, sizeof(seq));
		buf[MSG - 1] = bench_tail_byte(seq);
		rc = bench_ipm_send(ipm, (uint32_t)atomic_load(&r->sh->recv_id),
				    buf, MSG, SEND_TIMEOUT_MS);
		if (rc < 0) {
			bench_log("ipm-bench: fanin.mailbox sender: %s",
				  strerror(-rc));
			return 1;
		}
	}
	for (;;)
		ipm_poll(ipm, -1); /* stay until stopped */
}

static void recv_cb(struct ipm *ipm, void *user, uint32_t id,
		    const volatile void *data, size_t size)
{
	struct fanin_run *r = user;
	uint64_t seq;

	(void)ipm;
	memcpy(&seq, (const void *)data, sizeof(seq));
	if (size != MSG || id >= MAX_ID || seq != r->next[id] ||
	    ((const volatile uint8_t *)data)[MSG - 1] != bench_tail_byte(seq))
		atomic_fetch_add(&r->sh->bad, 1);
	else
		r->next[id]++;
	r->delivered++;
}

/*
 * One figure: n senders (n 0: as many as join), slots per device. The
 * senders that joined in *joined, the seconds in *secs.
 */
static int measure(struct bench_ctx *ctx, const char *path, int n,
		   unsigned slots, uint64_t total, int *joined, double *secs)
{
	struct fanin_run r = { .socket_path = path, .slots = slots };
	pid_t pids[MAX_SENDERS];
	struct ipm *ipm = NULL;
	int started = 0, want = n ? n : MAX_SENDERS, rc;

	*joined = 0;
	uint64_t t0, deadline;

	r.sh = bench_shared_alloc(sizeof(*r.sh));
	r.next = calloc(MAX_ID, sizeof(*r.next));
	if (!r.sh || !r.next) {
		rc = -ENOMEM;
		goto out;
	}
	rc = open_dev(&ipm, path, slots, POLL_SPIN_NS);
	if (rc < 0)
		goto out;
	ipm_register_callback(ipm, recv_cb, &r);
	atomic_store(&r.sh->recv_id, (int32_t)ipm_transport(ipm)->id);
	/* One by one: each has joined (or was refused) before the next. */
	for (int i = 0; i < want; i++) {
		pid_t pid;
		uint64_t until = bench_now_ns() + START_TIMEOUT_MS * 1000000ull;

		r.index = i;
		pid = bench_fork(ctx, sender, &r);
		if (pid < 0) {
			rc = (int)pid;
			goto out;
		}
		pids[started++] = pid;
		while (!atomic_load(&r.sh->joined[i])) {
			if (bench_now_ns() > until) {
				rc = -ETIMEDOUT;
				goto out;
			}
			ipm_poll(ipm, 1);
		}
		if (atomic_load(&r.sh->joined[i]) < 0) {
			rc = atomic_load(&r.sh->joined[i]);
			if (n || rc != -ENOSPC)
				goto out;
			rc = 0;
			break;
		}
		*joined = i + 1;
	}
	atomic_store(&r.sh->share, total / (uint64_t)*joined);
	bench_watchdog(WATCHDOG_S, "fanin.mailbox");
	t0 = bench_now_ns();
	deadline = t0 + DRAIN_TIMEOUT_NS;
	atomic_store_explicit(&r.sh->go, 1, memory_order_release);
	while (r.delivered < atomic_load(&r.sh->share) * (uint64_t)*joined) {
		rc = ipm_poll(ipm, 10);
		if (rc < 0)
			break;
		rc = 0;
		if (bench_now_ns() > deadline) {
			rc = -ETIMEDOUT;
			break;
		}
	}
	*secs = (double)(bench_now_ns() - t0) / 1e9;
	bench_watchdog(0, NULL);
	if (!rc && atomic_load(&r.sh->bad)) {
		bench_log("ipm-bench: fanin.mailbox: %llu messages failed the "
			  "check", (unsigned long long)atomic_load(&r.sh->bad));
		rc = -EPROTO;
	}
out:
	for (int i = 0; i < started; i++)
		bench_child_stop(pids[i]);
	ipm_close(ipm);
	free(r.next);
	if (r.sh)
		bench_shared_free(r.sh, sizeof(*r.sh));
	return rc;
}

static int run(struct bench_ctx *ctx)
{
	static const char *const big[] = { "-n", "1", "-l", "64M", NULL };
	static const char *const dflt[] = { "-n", "1", NULL };
	uint64_t total = ctx->quick ? 20000 : 2000000;
	int rc = 0;

	for (size_t i = 0; !rc && i <= NFANINS; i++) {
		/* The last: the server's default region, default slots. */
		int n = i < NFANINS ? fanins[i] : 0, joined = n;
		struct bench_server srv;
		struct result *res;
		double secs = 0;

		rc = bench_server_start(ctx, &srv, "fanin", n ? big : dflt);
		if (rc < 0)
			break;
		if (n)
			bench_log("fanin.mailbox: %d %s, %llu messages of %d B",
				  n, n == 1 ? "sender" : "senders",
				  (unsigned long long)total, MSG);
		else
			bench_log("fanin.mailbox: as many senders as the "
				  "default region holds, %llu messages of "
				  "%d B", (unsigned long long)total, MSG);
		rc = measure(ctx, srv.socket_path, n, n ? (unsigned)n + 1 : 0,
			     total, &joined, &secs);
		bench_server_stop(&srv);
		if (rc < 0) {
			bench_log("ipm-bench: fanin.mailbox %d senders: %s", n,
				  strerror(-rc));
			break;
		}
		total = total / (uint64_t)joined * (uint64_t)joined;
		res = report_add_throughput(ctx->report, "fanin.mailbox", MSG,
					    joined, (double)total * MSG /
					    secs / 1e6, (double)total / secs);
		if (!res) {
			rc = -ENOMEM;
			break;
		}
		if (i == 0)
			report_set_note(res, "N senders, ipm_send(wait=0) "
					"-EBUSY retried, into one receiver "
					"busy-polling; 64 MiB, N + 1 slots");
		if (!n)
			report_set_note(res, "the most senders the server's "
					"default region holds (default "
					"slots): the peer count says how many");
		total = ctx->quick ? 20000 : 2000000;
	}
	return rc;
}

static const char *const figures[] = { "fanin.mailbox", NULL };

const struct bench_def bench_fanin = {
	.name = "fanin",
	.figures = figures,
	.run = run,
};
