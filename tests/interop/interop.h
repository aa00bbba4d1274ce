/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the interop tests: QEMU's reference programs (built by
 * build-qemu-ref.sh into $IVSHMEM_QEMU_REF_DIR), child processes whose
 * output goes to a log file, and waiting for libivshmem events.
 */
#ifndef IVSHMEM_TESTS_INTEROP_H
#define IVSHMEM_TESTS_INTEROP_H

#include <stddef.h>
#include <sys/types.h>

#include <ivshmem/ivshmem.h>

#include "testutil.h"

/* Set up: SIGPIPE ignored, and every process started by iu_spawn()
 * killed and every name given to iu_cleanup_shm() unlinked at exit. */
void iu_init(void);

/*
 * Path of QEMU's reference program 'name' (ivshmem-server or
 * ivshmem-client). When it is missing the test is skipped (exit 77), or
 * fails under CI (CI set and non-empty).
 */
const char *iu_ref_bin(const char *name);

/* shm_unlink(name) at exit (QEMU's server leaves it behind when killed). */
void iu_cleanup_shm(const char *name);

struct iu_proc {
	pid_t pid;
	int in;              /* write end of its stdin, or -1 */
	char log[256];       /* its stdout and stderr */
	size_t seen;         /* how far iu_expect_output() has read */
};

/*
 * Start argv (argv[0] searched in PATH) with stdout and stderr appended to
 * a fresh log file named after 'tag' in the test's directory; with_stdin
 * gives it a pipe on stdin (p->in), else /dev/null. Killed at exit.
 */
void iu_spawn(struct iu_proc *p, const char *tag, const char *const *argv,
	      int with_stdin);

/*
 * Our ivshmem-client on server 'sock' with 2 vectors, one option and its
 * argument (--dump, --ring ...): run to the end, output in out; its exit
 * status, as tu_run().
 */
int iu_our_client(const char *sock, const char *opt, const char *arg,
		  char *out, size_t outlen);

/* Start our ivshmem-client --wait VECTOR --timeout SECONDS on 'sock'. */
void iu_spawn_our_wait(struct iu_proc *p, const char *tag, const char *sock,
		       const char *vector, const char *timeout_s);

/* Write a line to its stdin (adds the newline). */
void iu_send(struct iu_proc *p, const char *line);

/*
 * Wait up to timeout_ms for 'text' in its log past the last match, and
 * move past it. Returns a pointer to the text that follows (valid until
 * the next call). Fails the test, showing the log, on timeout.
 */
const char *iu_expect_output(struct iu_proc *p, const char *text,
			     int timeout_ms);

/* Whether 'text' is anywhere in its log (no waiting). */
int iu_output_has(struct iu_proc *p, const char *text);

/* Wait up to timeout_ms for it to exit: its status, or -1 (then killed). */
int iu_wait_exit(struct iu_proc *p, int timeout_ms);

/* SIGTERM it, then iu_wait_exit(). */
int iu_stop(struct iu_proc *p, int timeout_ms);

/* Print its log to stderr, framed, for the ctest output. */
void iu_show_log(const struct iu_proc *p, const char *title);

/*
 * A libivshmem peer under test, with the events and rings it saw that no
 * one has asked about yet.
 */
#define IU_BACKLOG 64
struct iu_peer {
	struct ivshmem *iv;
	const char *name;
	struct ivshmem_event backlog[IU_BACKLOG];
	int nbacklog;
	unsigned long long rung;
};

/* ivshmem_connect() with 'vectors', waiting up to 10 s for the server
 * to listen, or fail the test. */
void iu_peer_connect(struct iu_peer *p, const char *name, const char *sock,
		     unsigned vectors);

/*
 * Wait for an event of 'type' from 'peer' (-1: any peer, the oldest
 * first); events that do not match stay for later calls, so every join
 * must be asked about for "any peer" to mean the newest one. Returns the
 * event.
 */
struct ivshmem_event iu_expect_event(struct iu_peer *p,
				     enum ivshmem_event_type type, int peer,
				     int timeout_ms);

/* Wait until every vector in 'mask' was rung since the last call that
 * returned it; those bits are then cleared. */
void iu_expect_rung(struct iu_peer *p, unsigned long long mask,
		    int timeout_ms);

/* The oldest join not yet asked about, then that peer's leave: a peer
 * that came and went (one of our ivshmem-client runs). Returns its id. */
int iu_expect_come_and_go(struct iu_peer *p, int timeout_ms);

/* Let the peer take in what is pending for 'ms' (events kept). */
void iu_peer_idle(struct iu_peer *p, int ms);

#endif
