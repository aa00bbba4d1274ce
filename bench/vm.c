/* SPDX-License-Identifier: MIT */
/*
 * rtt.vm.*: doorbell round trips through QEMU's ivshmem-doorbell device,
 * in Linux guests of tests/vm (vm.h) on a private ivshmem-server (-n 2
 * -l 4M). Only with --vm: they boot guests from the images build-guest.sh
 * makes ($BUILD/vm/ARCH, or --vm-images DIR/ARCH).
 *
 *   rtt.vm.guest-guest.aarch64  two aarch64 guests (virt + SMMUv3), the
 *                               Zephyr sample's setup: `ipm-shell --pci`
 *                               (VFIO, MSI-X) in doorbell mode in each, one
 *                               answering with `pong`, the other timing
 *                               `ping`
 *   rtt.vm.guest-host.ARCH      an ARCH guest (aarch64, or x86_64 on q35 +
 *                               intel-iommu) pinging a host peer, a helper
 *                               of ours that rings it back from its
 *                               callback
 *
 * The last part of the name is the guests' architecture, also in the
 * "arch" key; "accel" says kvm or tcg, "clocksource" the guest's clock.
 * Each round trip is timed in the guest (its CLOCK_MONOTONIC, every sample
 * printed by `ping ... samples`), after a warm-up in the same ipm-shell.
 * These are information, not targets: under TCG they measure QEMU's
 * emulation more than our code. Ratio: p50 over rtt.doorbell's (two host
 * peers), when that was measured in the same run.
 *
 * While the guests run, neither we nor anything we start is pinned: QEMU
 * inherits our CPU set, and a guest's vCPU and I/O threads need both CPUs.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ivshmem/ipm.h>

#include "vm.h"
#include "vm_guest.h"

#ifndef IVSHMEM_SOURCE_DIR
#define IVSHMEM_SOURCE_DIR "SRCDIR"
#endif

#define VECTORS 2
#define BOOT_TIMEOUT_S 180
#define START_TIMEOUT_MS 30000
#define SEND_TIMEOUT_MS 5000
#define PINGS 2000
#define WARMUP 100
#define QUICK_PINGS 30
#define QUICK_WARMUP 5

enum { F_GG_ARM, F_GH_ARM, F_GH_X86, NFIGS };

static const char *const figures[] = {
	[F_GG_ARM] = "rtt.vm.guest-guest.aarch64",
	[F_GH_ARM] = "rtt.vm.guest-host.aarch64",
	[F_GH_X86] = "rtt.vm.guest-host.x86_64",
	[NFIGS] = NULL,
};

static const char *const fig_arch[NFIGS] = {
	[F_GG_ARM] = "aarch64", [F_GH_ARM] = "aarch64", [F_GH_X86] = "x86_64",
};

/* As tests/vm/vm-run.sh sets them up. */
static const char *const fig_machine[NFIGS] = {
	[F_GG_ARM] = "virt + SMMUv3", [F_GH_ARM] = "virt + SMMUv3",
	[F_GH_X86] = "q35 + intel-iommu",
};

/* ---- the host peer of rtt.vm.guest-host ---- */

struct pong_shared {
	_Atomic uint32_t ready;
	_Atomic int32_t id;
	_Atomic uint32_t errors;   /* rings back that failed */
};

struct ponger {
	const char *socket_path;
	uint32_t guest;
	struct pong_shared *sh;
};

static void pong_cb(struct ipm *ipm, void *user, uint32_t id,
		    const volatile void *data, size_t size)
{
	struct ponger *p = user;

	(void)id;
	(void)data;
	(void)size;
	if (bench_ipm_send(ipm, p->guest, NULL, 0, SEND_TIMEOUT_MS) < 0)
		atomic_fetch_add(&p->sh->errors, 1);
}

/* The helper: answers every doorbell until it is stopped. */
static int ponger_main(void *arg)
{
	struct ponger *p = arg;
	struct ipm *ipm;
	int rc = bench_ipm_open_vectors(&ipm, p->socket_path, VECTORS, 0, 0);

	if (rc < 0) {
		bench_log("ipm-bench: rtt.vm host peer: cannot open IPM: %s",
			  strerror(-rc));
		return 1;
	}
	ipm_register_callback(ipm, pong_cb, p);
	atomic_store(&p->sh->id, bench_ipm_id(ipm));
	atomic_store(&p->sh->ready, 1);
	for (;;) {
		rc = ipm_poll(ipm, -1);
		if (rc < 0) {
			bench_log("ipm-bench: rtt.vm host peer: ipm_poll: %s",
				  strerror(-rc));
			return 1;
		}
	}
}

/* ---- the figures ---- */

struct vm_run {
	struct bench_ctx *ctx;
	struct bench_ctx unpinned;   /* for what we start meanwhile */
	struct bench_server srv;
	unsigned warmup, pings;
};

/*
 * QEMU, the server and the host peer inherit our CPU set: while guests
 * run we use every CPU we may (pinned = 0), then pin ourselves again.
 */
static void set_pinned(const struct bench_ctx *ctx, int pinned)
{
	cpu_set_t set;

	if (!ctx->pinned)
		return;
	if (pinned) {
		CPU_ZERO(&set);
		CPU_SET(ctx->bench_cpu, &set);
	} else {
		set = ctx->others;
		CPU_SET(ctx->bench_cpu, &set);
	}
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		bench_log("ipm-bench: rtt.vm: sched_setaffinity: %s",
			  strerror(errno));
}

static void image_dir(const struct bench_ctx *ctx, const char *arch,
		      char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ctx->vm_images, arch);
}

/*
 * A guest's files (console socket and logs, in tests/vm's temp dir) are
 * removed at exit by vm.c, not when a signal ends us: register them.
 */
static void forget_on_signal(const struct vm *vm)
{
	char dir[256], path[300];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", vm->log_path);
	slash = strrchr(dir, '/');
	if (!slash)
		return;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/%s.con", dir, vm->name);
	bench_path_add(path);
	bench_path_add(vm->log_path);
	bench_path_add(vm->qemu_log_path);
	bench_path_add(dir);
}

static void boot(struct vm_run *r, struct vm *vm, const char *name,
		 const char *arch)
{
	char dir[512];
	int rc;
	struct vm_config cfg = {
		.arch = arch,
		.server_socket = r->srv.socket_path,
		.image_dir = dir,
	};

	image_dir(r->ctx, arch, dir, sizeof(dir));
	bench_log("rtt.vm: booting %s (%s)", name, arch);
	fflush(NULL);
	vm_start(vm, name, &cfg);
	forget_on_signal(vm);
	rc = vm_expect(vm, VM_PROMPT, BOOT_TIMEOUT_S);
	if (rc < 0)
		vm_fail(vm, "no shell prompt within %d s (%s): %s",
			BOOT_TIMEOUT_S, vm->accel, strerror(-rc));
	vm->boot_ns = (long long)bench_now_ns() - vm->start_ns;
	bench_log("rtt.vm: %s up in %.1f s (%s)", name, vm->boot_ns / 1e9,
		  vm->accel);
}

/*
 * Add the figure with its keys; st is summarised (sorted). 'who' are the
 * guests, 'what' they did.
 */
static int add(struct vm_run *r, int fig, struct vm *vm, struct stats *st,
	       const char *who, const char *what)
{
	char clock[32], note[160];
	struct stats_summary sum;
	struct result *res;
	int rc = vmg_clocksource(vm, clock, sizeof(clock));

	if (rc < 0)
		return rc;
	stats_summarise(st, &sum);
	res = report_add_latency(r->ctx->report, figures[fig], 0, -1, &sum);
	if (!res)
		return -ENOMEM;
	report_set_str(res, "arch", fig_arch[fig]);
	report_set_str(res, "accel", vm->accel);
	report_set_str(res, "clocksource", clock);
	report_set_ratio(res, report_find(r->ctx->report, "rtt.doorbell", 0,
					  -1));
	snprintf(note, sizeof(note), "information, not a target: %s (%s, "
		 "VFIO, MSI-X, %s), doorbell mode, %s; timed in the guest",
		 who, fig_machine[fig], vm->accel, what);
	report_set_note(res, note);
	return 0;
}

static int guest_guest(struct vm_run *r, struct vm *a, struct vm *b)
{
	struct stats st;
	int ia, ib, rc;

	rc = vmg_peer_id(a, &ia);
	if (!rc)
		rc = vmg_peer_id(b, &ib);
	if (!rc)
		rc = vmg_pong(b, ia);
	if (rc < 0)
		return rc;
	bench_log("%s: %u round trips %s <-> %s", figures[F_GG_ARM],
		  r->pings, a->name, b->name);
	rc = stats_init(&st, r->pings);
	if (!rc)
		rc = vmg_ping(a, ib, r->warmup, r->pings, &st);
	if (!rc)
		rc = add(r, F_GG_ARM, a, &st, "two aarch64 guests",
			 "ping in one, pong in the other");
	stats_free(&st);
	return rc;
}

static int guest_host(struct vm_run *r, int fig, struct vm *g)
{
	struct pong_shared *sh = bench_shared_alloc(sizeof(*sh));
	struct ponger p = { .socket_path = r->srv.socket_path, .sh = sh };
	char who[32];
	struct stats st = { 0 };
	pid_t pid = -1;
	int gid, rc;

	if (!sh)
		return -ENOMEM;
	rc = vmg_peer_id(g, &gid);
	if (rc < 0)
		goto out;
	p.guest = (uint32_t)gid;
	pid = bench_fork(&r->unpinned, ponger_main, &p);
	if (pid < 0) {
		rc = (int)pid;
		goto out;
	}
	rc = bench_wait_at_least(&sh->ready, 1, pid, START_TIMEOUT_MS);
	if (rc < 0)
		goto out;
	bench_log("%s: %u round trips %s <-> host peer %d", figures[fig],
		  r->pings, g->name, atomic_load(&sh->id));
	rc = stats_init(&st, r->pings);
	if (!rc)
		rc = vmg_ping(g, atomic_load(&sh->id), r->warmup, r->pings,
			      &st);
	if (!rc && atomic_load(&sh->errors)) {
		bench_log("ipm-bench: %s: the host peer could not ring back "
			  "%u times", figures[fig], atomic_load(&sh->errors));
		rc = -EPROTO;
	}
	snprintf(who, sizeof(who), "an %s guest", fig_arch[fig]);
	if (!rc)
		rc = add(r, fig, g, &st, who, "pings a host peer that rings "
			 "back");
out:
	if (pid > 0)
		bench_child_stop(pid);
	stats_free(&st);
	bench_shared_free(sh, sizeof(*sh));
	return rc;
}

static int measure(struct vm_run *r, const int *sel)
{
	struct vm a, b, x;
	int rc = 0;

	if (sel[F_GG_ARM] || sel[F_GH_ARM]) {
		boot(r, &a, "arm-a", "aarch64");
		if (sel[F_GG_ARM]) {
			boot(r, &b, "arm-b", "aarch64");
			rc = guest_guest(r, &a, &b);
			vm_kill(&b);
		}
		if (!rc && sel[F_GH_ARM])
			rc = guest_host(r, F_GH_ARM, &a);
		vm_kill(&a);
	}
	if (!rc && sel[F_GH_X86]) {
		boot(r, &x, "x86", "x86_64");
		rc = guest_host(r, F_GH_X86, &x);
		vm_kill(&x);
	}
	return rc;
}

static int run(struct bench_ctx *ctx)
{
	static const char *const args[] = { "-n", "2", "-l", "4M", NULL };
	struct vm_run r = { .ctx = ctx };
	int sel[NFIGS], rc;

	for (int i = 0; i < NFIGS; i++)
		sel[i] = bench_selected(ctx, figures[i]);
	r.warmup = ctx->quick ? QUICK_WARMUP : WARMUP;
	r.pings = ctx->vm_pings ? ctx->vm_pings :
		  ctx->quick ? QUICK_PINGS : PINGS;
	r.unpinned = *ctx;
	r.unpinned.pinned = 0;
	set_pinned(ctx, 0);
	rc = bench_server_start(&r.unpinned, &r.srv, "vm", args);
	if (!rc) {
		rc = measure(&r, sel);
		bench_server_stop(&r.srv);
	}
	set_pinned(ctx, 1);
	return rc;
}

/* A file the guests of 'arch' need; -ENOENT after saying what to do. */
static int need_file(const struct bench_ctx *ctx, const char *arch,
		     const char *file)
{
	char dir[512], path[600];
	struct stat st;

	image_dir(ctx, arch, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (!stat(path, &st))
		return 0;
	bench_log("ipm-bench: --vm: no %s guest image: %s is missing; make it "
		  "with `sh %s/tests/vm/build-guest.sh %s %s %s` (or `ctest -R "
		  "vm_image` in the build tree), or give --vm-images DIR", arch,
		  path, IVSHMEM_SOURCE_DIR, arch, IVSHMEM_SOURCE_DIR, dir);
	return -ENOENT;
}

/* Is 'prog' in $PATH? */
static int in_path(const char *prog)
{
	const char *env = getenv("PATH");
	char *dirs = strdup(env ? env : "/usr/bin:/bin"), *save = NULL;
	int found = 0;

	for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", d, prog);
		found = !access(path, X_OK);
	}
	free(dirs);
	return found;
}

static int check(struct bench_ctx *ctx)
{
	static const char *const arches[] = { "aarch64", "x86_64" };
	int rc = 0;

	for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++) {
		char qemu[64];
		int used = 0;

		for (int f = 0; f < NFIGS; f++)
			used |= !strcmp(fig_arch[f], arches[i]) &&
				bench_selected(ctx, figures[f]);
		if (!used)
			continue;
		if (need_file(ctx, arches[i], "vmlinuz") < 0 ||
		    need_file(ctx, arches[i], "initramfs.gz") < 0)
			rc = -ENOENT;
		snprintf(qemu, sizeof(qemu), "qemu-system-%s", arches[i]);
		if (!in_path(qemu)) {
			bench_log("ipm-bench: --vm: %s is not installed", qemu);
			rc = -ENOENT;
		}
	}
	return rc;
}

const struct bench_def bench_vm = {
	.name = "rtt.vm",
	.figures = figures,
	.optin = 1,
	.check = check,
	.run = run,
};
