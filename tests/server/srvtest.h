/* SPDX-License-Identifier: MIT */
/*
 * Raw-protocol test peers for the server tests. Every message a test peer
 * reads is checked against the protocol; every fd it receives is closed at
 * once (only whether there was one is kept).
 */
#ifndef IVSHMEM_TESTS_SRVTEST_H
#define IVSHMEM_TESTS_SRVTEST_H

#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"
#include "wire.h"

/* How long a test waits for something the server should send. */
#define TP_TIMEOUT_MS 10000

struct tpeer {
	int sock;          /* non-blocking */
	int id;            /* -1 until read */
	unsigned nvec;
	struct ivproto_rx rx;
};

/*
 * Receive one message within timeout_ms (0: only what is there now). Its
 * fd, if any, is closed and *had_fd tells whether there was one. Returns 0,
 * -ETIMEDOUT, or an error from ivproto_recv (-ECONNRESET: EOF).
 */
int tp_recv(struct tpeer *p, int64_t *value, int *had_fd, int timeout_ms);

/* Connect a non-blocking socket to the server without reading anything. */
void tp_connect(struct tpeer *p, const char *path, unsigned nvec);
/* Read k whole setup messages; returns the id message's value, or -1. */
int tp_read_setup(struct tpeer *p, int k);

/*
 * tp_connect, then read and check the whole setup: version, own id, shm
 * fd, nvec messages with an fd for each peer already there, then nvec for
 * its own id. Those peers' ids go to others[0..*n) (others may be NULL).
 * Returns 0, or -ECONNRESET when the server closed the connection without
 * sending anything (refused); any other deviation fails the test.
 */
int tp_try_join(struct tpeer *p, const char *path, unsigned nvec,
		int *others, int max, int *n);

/* tp_try_join's checks, for a peer tp_connect()ed earlier. */
int tp_read_join(struct tpeer *p, int *others, int max, int *n);

/* tp_try_join that must succeed. */
void tp_join(struct tpeer *p, const char *path, unsigned nvec, int *others,
	     int max, int *n);

/*
 * tp_join, then wait until every peer listed in the setup has left (one
 * that just closed may still be there): the server then holds this peer
 * alone.
 */
void tp_join_alone(struct tpeer *p, const char *path, unsigned nvec);

/*
 * Next notice: 1 for a join (all nvec messages read and checked), 0 for a
 * leave, -ETIMEDOUT if none began within timeout_ms. *id: whose.
 */
int tp_next_event(struct tpeer *p, int *id, int timeout_ms);

void tp_expect_join(struct tpeer *p, int id);
void tp_expect_leave(struct tpeer *p, int id);

/* Nothing arrives for ms milliseconds. */
void tp_expect_quiet(struct tpeer *p, int ms);

/* The server closes the connection without sending a single message. */
void tp_expect_refused(struct tpeer *p);

/* Read (and drop) messages until EOF; returns how many there were. */
long tp_drain_to_eof(struct tpeer *p, int timeout_ms);

void tp_close(struct tpeer *p);

/* Does the file have a line containing a (and b, unless NULL)? */
int srv_log_has(const char *path, const char *a, const char *b);
/* Wait until it does; fails the test after timeout_ms. */
void srv_log_wait(const char *path, const char *a, const char *b,
		  int timeout_ms);

/* Fail the test unless the server process is still running. */
void srv_alive(const struct tu_server *s);

/* Wait until the server has 'want' fds open; returns the last count. */
int srv_wait_fds(pid_t pid, int want, int timeout_ms);

/*
 * The server's fd count once it stopped changing (the same for 100 ms): a
 * peer's leave is told before its fds are closed.
 */
int srv_settled_fds(pid_t pid);

/*
 * Restart the server in place and wait until the new program serves:
 * srv_restart() with SIGHUP (until it logs its n-th restart),
 * srv_ctl_restart() with "ivshmem-ctl restart" (which must answer
 * "restarts n").
 */
void srv_restart(const struct tu_server *s, unsigned n);
void srv_ctl_restart(const struct tu_server *s, unsigned n);

/* Copy a file (e.g. the server's program, to replace it later). */
void srv_copy_file(const char *from, const char *to, mode_t mode);

/* Raise RLIMIT_NOFILE's soft limit to the hard one; returns it. */
long srv_raise_nofile(void);

#endif
