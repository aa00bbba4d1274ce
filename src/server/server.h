/* SPDX-License-Identifier: MIT */
/* The server's event loop: peers joining and leaving, never blocking. */
#ifndef IVSHMEM_SERVER_SERVER_H
#define IVSHMEM_SERVER_SERVER_H

#include "config.h"
#include "log.h"

struct server;

/*
 * listen_fd: a non-blocking listening socket; shm_fd: the memory to hand
 * out (duplicated, the caller keeps its own); stop_fd: readable when the
 * server should stop (e.g. a signalfd). None is closed by the server.
 */
int server_create(struct server **out, const struct server_config *cfg,
		  const struct log_sink *log, int listen_fd, int shm_fd,
		  int stop_fd);

/* Serve until stop_fd becomes readable. 0, or -errno on a fatal error. */
int server_run(struct server *s);

/* Disconnect every peer and free. */
void server_destroy(struct server *s);

#endif
