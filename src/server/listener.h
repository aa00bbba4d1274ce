/* SPDX-License-Identifier: MIT */
/* The server's listening UNIX socket. */
#ifndef IVSHMEM_SERVER_LISTENER_H
#define IVSHMEM_SERVER_LISTENER_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct listener {
	int fd;
	char path[108];         /* ours to remove at exit ("": none) */
	char name[108];         /* where it listens, for logs and SOCK.ctl */
	dev_t dev;
	ino_t ino;
};

/*
 * Check that cfg->socket_path can be served: its directory exists and is
 * writable, and no live server listens there (-EADDRINUSE). Touches
 * nothing. A stale socket (nothing listening) is reported in *stale.
 */
int listener_check(const struct server_config *cfg, int *stale, char *err,
		   size_t errlen);

/* Replace a stale socket, bind, apply cfg's permissions and listen. */
int listener_open(struct listener *l, const struct server_config *cfg,
		  char *err, size_t errlen);

/*
 * Take over a listening socket passed by the service manager (socket
 * activation): it must be a listening AF_UNIX stream socket. Its file is
 * not ours: listener_close() leaves it. *differs is set when it is bound
 * elsewhere than cfg->socket_path.
 */
int listener_adopt(struct listener *l, int fd, const struct server_config *cfg,
		   int *differs, char *err, size_t errlen);

/* Close; remove the path too if it is still our socket. */
void listener_close(struct listener *l);

#endif
