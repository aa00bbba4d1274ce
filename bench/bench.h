/* SPDX-License-Identifier: MIT */
/*
 * ipm-bench: what every benchmark gets from main.c and the shared helpers.
 *
 * A benchmark is one struct bench_def (one per file, listed in main.c). It
 * measures its figures, baselines included, and adds them to ctx->report.
 * Everything it starts (server, helper processes, sockets in ctx->tmpdir)
 * is registered with bench_child_add()/bench_path_add() so that it is
 * cleaned up at exit and on SIGINT/SIGTERM.
 */
#ifndef IPM_BENCH_BENCH_H
#define IPM_BENCH_BENCH_H

#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "report.h"

struct bench_ctx {
	int quick;                /* --quick: few iterations */
	const char *const *only;  /* --only prefixes, NULL-terminated */
	const char *server_path;  /* ivshmem-server to start */
	char tmpdir[64];          /* private, removed at exit */
	int pinned;               /* this process is pinned to bench_cpu */
	int bench_cpu;            /* -1 when not pinned */
	cpu_set_t others;         /* where helpers go: the other CPUs */
	int cpus;                 /* CPUs we may run on */
	int vm;                   /* --vm: the VM figures too */
	const char *vm_images;    /* their images: DIR/ARCH (build-guest.sh) */
	unsigned vm_pings;        /* round trips per VM figure; 0: default */
	struct report *report;
};

struct bench_def {
	const char *name;           /* for --help */
	const char *const *figures; /* result names it produces, NULL-ended */
	int optin;                  /* runs only with --vm (ctx->vm) */
	/*
	 * Optional, called before anything is measured when the bench will
	 * run: can it run here? 0, or -errno after saying why.
	 */
	int (*check)(struct bench_ctx *ctx);
	int (*run)(struct bench_ctx *ctx); /* 0 or -errno (reported) */
};

extern const struct bench_def bench_rtt;
extern const struct bench_def bench_tput;
extern const struct bench_def bench_fanout;
extern const struct bench_def bench_fanin;
extern const struct bench_def bench_setup;
extern const struct bench_def bench_vm;

/*
 * Make ctx->tmpdir and arrange for the cleanup at exit and on SIGINT,
 * SIGTERM and SIGHUP. 0 or -errno.
 */
int bench_sys_init(struct bench_ctx *ctx);

/* Is the figure 'name' wanted (no --only, or it starts with one)? */
int bench_selected(const struct bench_ctx *ctx, const char *name);

/* Monotonic clock, nanoseconds. */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Progress and errors, always to stderr. */
void bench_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Fork a child that runs fn(arg) and _exits with its return value. The
 * child is moved to ctx->others (when pinning), dies with us
 * (PR_SET_PDEATHSIG) and is registered for cleanup. Returns its pid or
 * -errno.
 */
pid_t bench_fork(struct bench_ctx *ctx, int (*fn)(void *arg), void *arg);

/* SIGTERM a child started by bench_fork(), wait, forget it. */
void bench_child_stop(pid_t pid);

/*
 * Register a path to unlink at exit / on a signal (copied); forget it. A
 * directory is removed (if empty) after the files.
 */
void bench_path_add(const char *path);
void bench_path_remove(const char *path);

/*
 * A private ivshmem-server: -F -q -S ctx->tmpdir/NAME.sock -M /ipm-bench-
 * PID-NAME plus 'args' (NULL-terminated), its log in ctx->tmpdir. Returns
 * once it accepts connections.
 */
struct bench_server {
	pid_t pid;
	char socket_path[108];
	char shm_name[64];
	char log_path[128];
};
int bench_server_start(struct bench_ctx *ctx, struct bench_server *s,
		       const char *name, const char *const *args);
void bench_server_stop(struct bench_server *s);

/* Raise RLIMIT_NOFILE to at least 'want' fds if the hard limit allows. */
int bench_want_fds(unsigned long want);

/*
 * Memory shared with the helpers forked afterwards (MAP_SHARED, zeroed,
 * page-aligned). NULL when it cannot be had.
 */
void *bench_shared_alloc(size_t size);
void bench_shared_free(void *p, size_t size);

/*
 * Kill the whole run (cleanly, with a message naming 'what') if it has
 * not called bench_watchdog(0, ...) within 'seconds': a helper that died
 * must not leave us blocked in a read forever.
 */
void bench_watchdog(unsigned seconds, const char *what);

/*
 * All of buf to / from fd, across short writes and reads and EINTR:
 * 0, -errno, or -EIO (wrote nothing) / -EPIPE (end of file).
 */
int bench_write_full(int fd, const void *buf, size_t len);
int bench_read_full(int fd, void *buf, size_t len);

/* Has the child exited (it is not reaped)? */
int bench_child_dead(pid_t pid);

/*
 * Wait until *v >= want: -ECHILD when 'pid' (if > 0) exits first,
 * -ETIMEDOUT after timeout_ms. For start-up handshakes, not for timing.
 */
int bench_wait_at_least(_Atomic uint32_t *v, uint32_t want, pid_t pid,
			int timeout_ms);

/*
 * In a busy-wait loop: tell the CPU we spin, and give the CPU away when
 * there is only one, or the other side could never run.
 */
void bench_set_cpus(int cpus);
extern int bench_single_cpu;
static inline void bench_relax(void)
{
	if (bench_single_cpu)
		sched_yield();
#if defined(__x86_64__) || defined(__i386__)
	else
		__builtin_ia32_pause();
#endif
}

/* ---- IPM peers joined to a bench server (ipm_util.c) ---- */
struct ipm;
struct ipm_config;

/*
 * Join the server at 'path' with one vector and open an IPM device on it
 * (mailbox mode: 2 slots, spin_ns as given). 0 or -errno.
 */
int bench_ipm_open(struct ipm **out, const char *path, int mailbox,
		   unsigned spin_ns);
/* 'mailbox' for a mailbox with integrity off (cfg.unchecked): its own
 * server, since the first peer decides for the region. */
#define BENCH_MAILBOX_UNCHECKED 2
/* The same with 'vectors' (the server's -n). */
int bench_ipm_open_vectors(struct ipm **out, const char *path,
			   unsigned vectors, int mailbox, unsigned spin_ns);
/* The same with a configuration of the caller's (vectors on the server). */
int bench_ipm_open_cfg(struct ipm **out, const char *path, unsigned vectors,
		       const struct ipm_config *cfg);
/* Our peer id on the server. */
int bench_ipm_id(const struct ipm *ipm);
/*
 * ipm_send(wait = 0), retried while the peer is not known yet (-ENOTCONN:
 * it has just joined and the news is on its way) or its queue is full
 * (-EBUSY), for at most timeout_ms. A send that succeeds at once costs no
 * more than ipm_send().
 */
int bench_ipm_send(struct ipm *ipm, uint32_t id, const void *data,
		   size_t size, int timeout_ms);
/* The same for ipm_loan(wait = 0): *data is the room, to be committed. */
int bench_ipm_loan(struct ipm *ipm, uint32_t id, size_t size, void **data,
		   int timeout_ms);

/* Messages checked by a receiver: a sequence number and a last byte. */
static inline uint8_t bench_tail_byte(uint64_t seq)
{
	return (uint8_t)(seq * 151u + 7u);
}

#endif
