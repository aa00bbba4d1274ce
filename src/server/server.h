/* SPDX-License-Identifier: MIT */
/* The server's event loop: peers joining and leaving, never blocking. */
#ifndef IVSHMEM_SERVER_SERVER_H
#define IVSHMEM_SERVER_SERVER_H

#include <stddef.h>

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

/*
 * One turn of the loop: wait up to timeout_ms (-1: without limit) for
 * events and handle them all. Returns 0, 1 when stop_fd is readable (the
 * caller reads it; nothing else was handled), or -errno on a fatal error.
 */
int server_step(struct server *s, int timeout_ms);

/*
 * Serve a connected, non-blocking stream socket as a new peer (the server
 * owns it from now on, refused or not). The listening socket's peers come
 * this way too; the fuzzer drives the server through it.
 */
void server_add_peer(struct server *s, int sock);

struct server_stats {
	unsigned peers;
	unsigned in_setup;      /* not yet sent their whole setup */
	unsigned blocked;       /* socket full, waiting for the peer to read */
	size_t staged;          /* messages being sent, all peers */
	size_t leaves;          /* leave notices waiting, all peers */
	unsigned long dropped;  /* connections that hung up before served */
};

void server_get_stats(const struct server *s, struct server_stats *st);

/* Disconnect every peer and free. */
void server_destroy(struct server *s);

#endif
