/* SPDX-License-Identifier: MIT */
/*
 * fanout.doorbell: one peer rings N others, time until all have woken.
 *
 * N helpers (pinned to the CPUs other than ours where there are any) each
 * open an IPM device in doorbell mode on a private ivshmem-server and
 * block in ipm_poll(); their callback adds one to a counter in shared
 * memory. We join last, and per round ipm_send() to each of them in turn,
 * then spin on the counter until all N have counted this round: the time
 * from before the first ring until then. A round starts only once every
 * helper has counted the previous one, so no doorbell is merged with
 * another.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ivshmem/ipm.h>

#define MAX_FANOUT 16
#define SEND_TIMEOUT_MS 5000
#define START_TIMEOUT_MS 30000
#define ROUND_TIMEOUT_NS (10ull * 1000000000ull)
#define WATCHDOG_S 600

static const int fanouts[] = { 1, 4, 16 };

#define NFANOUTS (sizeof(fanouts) / sizeof(fanouts[0]))

struct fanout_shared {
	_Atomic uint32_t ready;            /* helpers joined */
	_Atomic int32_t ids[MAX_FANOUT];
	_Atomic uint64_t woken __attribute__((aligned(64)));
};

struct fanout_run {
	const char *socket_path;
	struct fanout_shared *sh;
	int index;                          /* the helper's */
};

static void woken_cb(struct ipm *ipm, void *user, uint32_t id,
		     const volatile void *data, size_t size)
{
	struct fanout_run *r = user;

	(void)ipm;
	(void)id;
	(void)data;
	(void)size;
	atomic_fetch_add_explicit(&r->sh->woken, 1, memory_order_release);
}

static int helper(void *arg)
{
	struct fanout_run *r = arg;
	struct ipm *ipm;
	int rc = bench_ipm_open(&ipm, r->socket_path, 0, 0);

	if (rc < 0) {
		bench_log("ipm-bench: fanout helper: cannot open IPM: %s",
			  strerror(-rc));
		return 1;
	}
	ipm_register_callback(ipm, woken_cb, r);
	atomic_store(&r->sh->ids[r->index], bench_ipm_id(ipm));
	atomic_fetch_add(&r->sh->ready, 1);
	for (;;) {
		rc = ipm_poll(ipm, -1);
		if (rc < 0) {
			bench_log("ipm-bench: fanout helper: ipm_poll: %s",
				  strerror(-rc));
			return 1;
		}
	}
}

/* One round: ring them all, wait for all. */
static int round_trip(struct ipm *ipm, struct fanout_shared *sh,
		      const uint32_t *ids, int n, uint64_t *ns)
{
	uint64_t want = atomic_load(&sh->woken) + (uint64_t)n;
	uint64_t t0 = bench_now_ns();
	int rc;

	for (int i = 0; i < n; i++) {
		rc = bench_ipm_send(ipm, ids[i], NULL, 0, SEND_TIMEOUT_MS);
		if (rc < 0)
			return rc;
	}
	for (unsigned i = 1;; i++) {
		if (atomic_load_explicit(&sh->woken, memory_order_acquire) >=
		    want)
			break;
		if (!(i % 4096) && bench_now_ns() - t0 > ROUND_TIMEOUT_NS)
			return -ETIMEDOUT;
		bench_relax();
	}
	*ns = bench_now_ns() - t0;
	return 0;
}

static int measure(struct bench_ctx *ctx, const char *socket_path, int n,
		   struct stats_summary *sum)
{
	unsigned warmup = ctx->quick ? 20 : 500;
	unsigned iters = ctx->quick ? 300 : (n > 4 ? 5000 : 20000);
	struct fanout_run r = { .socket_path = socket_path };
	pid_t pids[MAX_FANOUT];
	uint32_t ids[MAX_FANOUT];
	struct ipm *ipm = NULL;
	struct stats st = { 0 };
	int started = 0, rc;

	r.sh = bench_shared_alloc(sizeof(*r.sh));
	if (!r.sh)
		return -ENOMEM;
	rc = stats_init(&st, iters);
	for (int i = 0; !rc && i < n; i++) {
		pid_t pid;

		r.index = i;
		pid = bench_fork(ctx, helper, &r);
		if (pid < 0)
			rc = (int)pid;
		else
			pids[started++] = pid;
	}
	if (!rc)
		rc = bench_wait_at_least(&r.sh->ready, (uint32_t)n, pids[0],
					 START_TIMEOUT_MS);
	/* Joining last, we learn of every helper during our setup. */
	if (!rc)
		rc = bench_ipm_open(&ipm, socket_path, 0, 0);
	for (int i = 0; !rc && i < n; i++)
		ids[i] = (uint32_t)atomic_load(&r.sh->ids[i]);
	bench_watchdog(WATCHDOG_S, "fanout.doorbell");
	for (unsigned i = 0; !rc && i < warmup + iters; i++) {
		uint64_t ns;

		if (i == warmup)
			stats_reset(&st);
		rc = round_trip(ipm, r.sh, ids, n, &ns);
		if (!rc)
			rc = stats_add(&st, ns);
	}
	bench_watchdog(0, NULL);
	/* One wake-up per helper per round: none merged, none extra. */
	if (!rc && atomic_load(&r.sh->woken) !=
		   (uint64_t)(warmup + iters) * (uint64_t)n) {
		bench_log("ipm-bench: fanout.doorbell: %llu wake-ups, not %llu",
			  (unsigned long long)atomic_load(&r.sh->woken),
			  (unsigned long long)(warmup + iters) * n);
		rc = -EPROTO;
	}
	if (!rc)
		stats_summarise(&st, sum);
	for (int i = 0; i < started; i++)
		bench_child_stop(pids[i]);
	ipm_close(ipm);
	stats_free(&st);
	bench_shared_free(r.sh, sizeof(*r.sh));
	return rc;
}

static int run(struct bench_ctx *ctx)
{
	static const char *const args[] = { "-n", "1", "-l", "1M", NULL };
	struct bench_server srv;
	int rc;

	rc = bench_server_start(ctx, &srv, "fanout", args);
	if (rc < 0)
		return rc;
	for (size_t i = 0; !rc && i < NFANOUTS; i++) {
		struct stats_summary sum;
		struct result *res;

		bench_log("fanout.doorbell: 1 peer rings %d", fanouts[i]);
		rc = measure(ctx, srv.socket_path, fanouts[i], &sum);
		if (rc < 0) {
			bench_log("ipm-bench: fanout.doorbell %d peers: %s",
				  fanouts[i], strerror(-rc));
			break;
		}
		res = report_add_latency(ctx->report, "fanout.doorbell", 0,
					 fanouts[i], &sum);
		if (!res) {
			rc = -ENOMEM;
			break;
		}
		if (i == 0)
			report_set_note(res, "doorbell mode; woken peers count "
					"in shared memory, we spin on it");
	}
	bench_server_stop(&srv);
	return rc;
}

static const char *const figures[] = { "fanout.doorbell", NULL };

const struct bench_def bench_fanout = {
	.name = "fanout",
	.figures = figures,
	.run = run,
};
