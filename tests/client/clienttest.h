/* SPDX-License-Identifier: MIT */
/* Helpers for the ivshmem-client tests: a client on pipes or a pty. */
#ifndef IVSHMEM_TESTS_CLIENTTEST_H
#define IVSHMEM_TESTS_CLIENTTEST_H

#include <sys/types.h>

#include <ivshmem/ivshmem.h>

#include "testutil.h"

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* A running ivshmem-client and what it printed so far. */
struct ct_proc {
	pid_t pid;
	int in;			/* its stdin; -1 once closed */
	int out;		/* its stdout and stderr */
	int pty;		/* in and out are one pty master */
	char buf[1 << 16];
	size_t len;		/* bytes in buf */
	size_t pos;		/* ct_expect() searches from here */
	int status;		/* exit status once reaped, else -1 */
	double cpu_s;		/* its user+system time once reaped */
};

const char *ct_client_bin(void);

/* Start argv with stdin a pipe and stdout+stderr another. */
void ct_spawn(struct ct_proc *p, const char *const *argv);
/* Start argv on a new pty (its controlling terminal), 80x24. */
void ct_spawn_pty(struct ct_proc *p, const char *const *argv,
		  int ignore_sighup);

/* Write text to its stdin. */
void ct_send(struct ct_proc *p, const char *text);
/* Close its stdin (the pty master for a pty). */
void ct_close_in(struct ct_proc *p);

/*
 * Read its output until needle appears after p->pos, then move p->pos past
 * it. 1 when found, 0 on timeout or EOF.
 */
int ct_expect(struct ct_proc *p, const char *needle, int timeout_ms);
/* Read whatever it prints for ms milliseconds (or until EOF). */
void ct_drain(struct ct_proc *p, int ms);

/* Wait for it to exit: its exit status (128+sig), -1 on timeout. */
int ct_wait_exit(struct ct_proc *p, int timeout_ms);
/* Kill (if running) and reap; close our ends. */
void ct_finish(struct ct_proc *p);

/* User+system CPU seconds of a live process, from /proc/PID/stat. */
double ct_cpu_s(pid_t pid);

/* Connect a libivshmem peer with 'vectors' vectors; exits on failure. */
struct ivshmem *ct_peer(const char *socket_path, unsigned vectors);
/*
 * Process server news (never touching our vectors) until an event of this
 * type comes about peer 'id' (any peer if id < 0); other events are
 * dropped. Returns the peer's id, or -1 after timeout_ms.
 */
int ct_peer_event(struct ivshmem *iv, enum ivshmem_event_type type, int id,
		  int timeout_ms);
/* Consume and return the pending count of each of our vectors. */
void ct_peer_acks(struct ivshmem *iv, int *counts);

#endif
