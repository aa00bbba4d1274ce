/* SPDX-License-Identifier: MIT */
/* The server's event loop: peers joining and leaving, never blocking. */
#ifndef IVSHMEM_SERVER_SERVER_H
#define IVSHMEM_SERVER_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "log.h"

struct server;

/*
 * listen_fd: a non-blocking listening socket (-1: none, peers come through
 * server_add_peer); shm_fd: the memory to hand out (duplicated, the caller
 * keeps its own); stop_fd: watched for the caller, e.g. a signalfd (-1:
 * none). None is closed by the server.
 */
int server_create(struct server **out, const struct server_config *cfg,
		  const struct log_sink *log, int listen_fd, int shm_fd,
		  int stop_fd);

/* server_step()'s bits: stop_fd, or the watched fd, is readable. */
#define SERVER_STEP_STOP  1
#define SERVER_STEP_WATCH 2

/*
 * One turn of the loop: wait up to timeout_ms (-1: without limit) for
 * events and handle them all. Returns 0, SERVER_STEP_* bits for the fds
 * the caller is to read, or -errno on a fatal error.
 */
int server_step(struct server *s, int timeout_ms);

/*
 * Watch one more fd for the caller in the same epoll (e.g. the control
 * socket's own epoll fd): server_step() reports SERVER_STEP_WATCH. One at
 * most (-EBUSY); not closed by the server.
 */
int server_watch(struct server *s, int fd);

/*
 * Serve a connected, non-blocking stream socket as a new peer (the server
 * owns it from now on, refused or not). The listening socket's peers come
 * this way too; the fuzzer drives the server through it.
 */
void server_add_peer(struct server *s, int sock);

/* Why peers were disconnected (those that left on their own are leaves). */
enum server_disc {
	SERVER_DISC_SENT_DATA,  /* sent bytes, which the protocol forbids */
	SERVER_DISC_STALLED,    /* stopped reading (--max-backlog) */
	SERVER_DISC_ERROR,      /* send/recv error, out of memory */
	SERVER_DISC_MAX
};

struct server_stats {
	unsigned peers;
	unsigned in_setup;      /* not yet sent their whole setup */
	unsigned blocked;       /* socket full, waiting for the peer to read */
	size_t staged;          /* messages being sent, all peers */
	size_t leaves;          /* leave notices waiting, all peers */
	unsigned long dropped;  /* connections that hung up before served */
	unsigned long joins, left, refused;  /* totals since start */
	unsigned long disc[SERVER_DISC_MAX];
};

struct server_peer_info {
	int id;
	unsigned vectors;
	pid_t pid;              /* -1, uid/gid (uid_t)-1: unknown */
	uid_t uid;
	gid_t gid;
	int64_t joined;         /* CLOCK_REALTIME seconds */
	size_t queued;          /* messages staged plus leave notices queued */
	int in_setup;
};

/*
 * The peer with the lowest id >= from_id into *pi; returns its id, or -1
 * when there is none. Ids are stable, so a listing can resume from id + 1
 * whatever joined or left in between.
 */
int server_peer_info(const struct server *s, int from_id,
		     struct server_peer_info *pi);

void server_get_stats(const struct server *s, struct server_stats *st);

/*
 * Joins, leaves, refusals and disconnects so far, summed: it changes when
 * the peer table did. O(1), unlike server_get_stats() (for every turn).
 */
unsigned long server_events(const struct server *s);

/*
 * Across exec (a restart, see restart.c): server_save() writes the peer
 * table (ids, credentials, join order, what each peer is still to be
 * sent, the fds' numbers) into b; server_set_inherit() makes every fd it
 * holds survive exec (inherit) or close-on-exec again. In the new
 * program server_restore() takes the table back into a server that has
 * no peers yet: 0, or -errno with err saying why (nothing adopted).
 */
struct st_buf;
struct st_rd;
struct server_peer_fds;
void server_save(const struct server *s, struct st_buf *b);
/*
 * The same format for peers known only by their fds (systemd's fd store
 * after a crash): n peers in join order, each taken as set up and told of
 * all the others, nothing queued; credentials from SO_PEERCRED.
 */
void server_save_adopted(struct st_buf *b, unsigned nvec, int shm_fd,
			 const struct server_peer_fds *peers, size_t n);
int server_set_inherit(struct server *s, int inherit);
int server_restore(struct server *s, struct st_rd *r, char *err,
		   size_t errlen);

/*
 * Told of each peer as it enters the table and as it leaves it (e.g. to
 * keep its fds in systemd's fd store). Called from inside the loop: must
 * not call back into the server.
 */
struct server_peer_fds {
	int id;
	uint64_t seq;           /* join order */
	int64_t joined;         /* CLOCK_REALTIME seconds */
	int sock;
	unsigned nvec;
	const int *vec;         /* nvec eventfds */
};

struct server_hooks {
	void *ctx;
	void (*joined)(void *ctx, const struct server_peer_fds *pf);
	void (*left)(void *ctx, const struct server_peer_fds *pf);
};

/* Set (or with NULL clear) the hooks; h is not copied. */
void server_set_hooks(struct server *s, const struct server_hooks *h);

/* Disconnect every peer and free. */
void server_destroy(struct server *s);

#endif
