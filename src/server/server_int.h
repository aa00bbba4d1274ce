/* SPDX-License-Identifier: MIT */
/*
 * The server's peer table, shared by server.c (the loop) and
 * server_state.c (saving it for a restart and taking it back after
 * exec). Nothing outside the server core sees these.
 */
#ifndef IVSHMEM_SERVER_SERVER_INT_H
#define IVSHMEM_SERVER_SERVER_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "sendq.h"
#include "server.h"
#include "wire.h"

struct peer {
	int sock;
	int id;
	pid_t pid;             /* SO_PEERCRED at connect (-1: unknown) */
	uid_t uid;
	gid_t gid;
	int64_t joined;        /* CLOCK_REALTIME seconds */
	uint64_t seq;          /* join order, from 1 */
	int doomed;            /* leaving at the end of this loop turn */
	int blocked;           /* socket full: waiting for EPOLLOUT */
	int greeted;           /* version, id and shm staged */
	int reads;             /* it has been seen reading: no window */
	int windowed;          /* it was stopped at PEER_WINDOW */
	unsigned staged;       /* messages staged, up to WINDOW_AFTER */
	struct peer *cur;      /* last peer of the list staged to it */
	uint64_t cur_seq;      /* every peer with seq <= this was staged */
	struct sendq stage;    /* the messages being sent now */
	struct idq leaves;     /* peers it was told of that left since */
	struct peer *prev, *next;  /* all peers, in join order */
	struct peer *doom_next;
	struct fdref *vec[];   /* cfg->vectors */
};

struct server {
	const struct server_config *cfg;
	const struct log_sink *log;
	int epfd, listen_fd, stop_fd;
	int reserve_fd;            /* spent to refuse a peer when out of fds */
	int trace;                 /* -vv: every message */
	struct fdref *shm;
	struct peer *head, *tail;
	unsigned npeers;
	unsigned next_id;
	uint64_t next_seq;
	int need_pass;             /* some peer may have news to send */
	struct peer *doomed;
	struct peer *by_id[IVPROTO_NUM_IDS];
	char listen_tag, stop_tag; /* epoll cookies */
	int listen_paused;         /* out of fds: not accepting for now */
	unsigned long dropped;     /* connections gone before they were served */
	int watch_fd;              /* reported to the caller (-1: none) */
	char watch_tag;
	const struct server_hooks *hooks;
	unsigned long joins, leaves, refused;
	unsigned long disc[SERVER_DISC_MAX];
};

#endif
