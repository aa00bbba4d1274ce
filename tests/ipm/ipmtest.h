/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the IPM tests: devices on a private server, forked peers,
 * bounded waits, and self-checking messages.
 *
 * A forked child must never exit() (the parent's atexit handlers would kill
 * the server and remove the temporary directory): IT_CHECK and it_exit()
 * use _exit() outside the test's main process.
 */
#ifndef IVSHMEM_TESTS_IPMTEST_H
#define IVSHMEM_TESTS_IPMTEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ivshmem/ipm.h>

#include "testutil.h"

void it_exit(int code) __attribute__((noreturn));

/* CHECK that is safe in forked children too. */
#define IT_CHECK(cond, ...) do {                                           \
	if (!(cond)) {                                                     \
		fprintf(stderr, "[%d] %s:%d: CHECK(%s) failed: ",          \
			(int)getpid(), __FILE__, __LINE__, #cond);         \
		fprintf(stderr, __VA_ARGS__);                              \
		fprintf(stderr, "\n");                                     \
		it_exit(1);                                                \
	}                                                                  \
} while (0)

/* Log a line prefixed with our pid. */
void it_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Call first thing in main(): remembers the main process. */
void it_init(void);

/* A private server: -l size (NULL: default 4M), -n vectors. */
void it_server(struct tu_server *s, const char *size, unsigned vectors);

/* Join the server and open an IPM device: 0 or -errno. */
int it_try_open(struct ipm **out, const char *sock, const struct ipm_config *c);
/* The same, failing the test on error. */
struct ipm *it_open(const char *sock, const struct ipm_config *cfg);
/* Our peer id. */
int it_id(const struct ipm *ipm);

/* Run fn(arg) in a child that exits with its return value. */
pid_t it_fork(int (*fn)(void *arg), void *arg);
/*
 * Wait up to timeout_ms for a child: its exit status, 128 + signal, or -1
 * after killing it when it did not exit in time (a hang).
 */
int it_wait(pid_t pid, int timeout_ms);

/* Pipes between processes: a small fixed-size record each way. */
void it_put(int fd, const void *buf, size_t len);
/* 1 with buf filled, 0 on timeout, -1 on EOF. */
int it_get(int fd, void *buf, size_t len, int timeout_ms);
void it_put_int(int fd, int v);
int it_get_int(int fd, int timeout_ms); /* fails the test on timeout/EOF */

/* Microseconds of CPU this process used so far (user + system). */
long long it_cpu_us(void);

/* xorshift64*: a seedable generator. */
uint64_t it_rand(uint64_t *state);

/*
 * Self-checking messages. A message of at least IT_MSG_HDR bytes carries a
 * header (magic, its size, its stream, a sequence number) and a checksum
 * over all of it; a shorter one is a pattern of (stream, seq, size) that the
 * receiver can only check against the number it expects.
 * 'stream' names the sender/receiver pair: it_stream(src, dst).
 */
#define IT_MSG_HDR 32u

static inline uint32_t it_stream(int src, int dst)
{
	return (uint32_t)src << 16 | (uint32_t)dst;
}

void it_msg_make(uint8_t *buf, size_t size, uint32_t stream, uint64_t seq);

enum it_verdict {
	IT_MSG_OK = 0,
	IT_MSG_BAD_HDR,  /* not one of ours / the wrong size or stream */
	IT_MSG_BAD_SUM,  /* header fine, bytes changed */
	IT_MSG_BAD_SHORT /* short message, not what was expected */
};

/*
 * Check a received copy (changed meanwhile, restored after). *seq is the
 * number expected on input (used by short messages) and the message's own
 * on output.
 */
enum it_verdict it_msg_check(uint8_t *buf, size_t size, uint32_t stream,
			     uint64_t *seq);

/*
 * A random message size up to max: mostly small (0 included), some
 * medium, and now and then a large one (exactly max, exactly 1 MiB when it
 * fits, or anything above max / 2).
 */
size_t it_rand_size(uint64_t *rng, size_t max);

/*
 * A receiver's book-keeping for several senders, meant as the callback's
 * user data (it_recv_cb). Messages are copied out of the shared memory
 * before they are checked.
 */
#define IT_MAX_SRC 64

struct it_recv {
	int my_id;
	int strict;          /* fail the test on any bad/out-of-order one */
	unsigned nsrc;
	int src[IT_MAX_SRC]; /* sender ids, filled as they are first seen */
	uint64_t next[IT_MAX_SRC];
	uint64_t got[IT_MAX_SRC];
	uint64_t total, bad, gaps, bytes;
	uint64_t doorbells;  /* bare doorbells (data NULL): not messages */
	uint8_t *buf;        /* at least the largest message */
};

void it_recv_init(struct it_recv *r, int my_id, size_t max, int strict);
void it_recv_free(struct it_recv *r);
/* Messages received from src so far (in order, checked). */
uint64_t it_recv_got(const struct it_recv *r, int src);
void it_recv_cb(struct ipm *ipm, void *user, uint32_t id,
		const volatile void *data, size_t size);

/*
 * Send 'msgs' messages of random sizes to each of 'ndst' peers, round
 * robin, while taking what arrives, then keep taking until 'expect'
 * messages in all have arrived. Non-blocking sends retry on -EBUSY (taking
 * messages meanwhile). Fails the test on any error, or when it takes more
 * than deadline_ms, unless 'tolerant': then errors are counted and the
 * message is skipped.
 */
struct it_flow {
	int ndst;
	int dst[IT_MAX_SRC];
	int wait[IT_MAX_SRC];     /* blocking sends to dst[i] */
	uint64_t msgs;            /* to each destination */
	uint64_t expect;          /* to receive, in all */
	size_t min_size, max_size; /* max 0: ipm_max_data_size_get() */
	int tolerant;
	int deadline_ms;
	uint64_t seed;
	/* What happened. */
	uint64_t sent, busy, errors, big, blocking;
	uint64_t seq[IT_MAX_SRC];
};

void it_flow_run(struct ipm *ipm, struct it_recv *r, struct it_flow *f);

#endif
