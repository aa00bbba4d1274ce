/* SPDX-License-Identifier: MIT */
/*
 * Per-peer outgoing message queue. The server never blocks on a peer: what
 * the socket does not take now waits here until it drains (EPOLLOUT).
 * Queued fds are reference-counted so an eventfd outlives its peer for as
 * long as a message announcing it is still queued for somebody.
 */
#ifndef IVSHMEM_SERVER_SENDQ_H
#define IVSHMEM_SERVER_SENDQ_H

#include <stddef.h>
#include <stdint.h>

struct fdref {
	int fd;
	unsigned refs;
};

/* Wrap fd with one reference; NULL on ENOMEM (fd left open). */
struct fdref *fdref_new(int fd);
struct fdref *fdref_get(struct fdref *r);
/* Drop a reference; the fd is closed with the last one. NULL is ok. */
void fdref_put(struct fdref *r);

struct sendq_msg {
	int64_t value;
	struct fdref *fd; /* NULL: no fd */
};

struct sendq {
	struct sendq_msg *ring;
	size_t cap, head, len;
	size_t off; /* bytes of the head message already sent */
};

/* Queue a message; takes its own reference on fd. 0 or -ENOMEM. */
int sendq_push(struct sendq *q, int64_t value, struct fdref *fd);

/*
 * Send as much as the socket takes. Returns 0 when the queue is empty,
 * -EAGAIN when the socket is full, or -errno when the peer is gone.
 */
int sendq_flush(struct sendq *q, int sock);

static inline size_t sendq_len(const struct sendq *q)
{
	return q->len;
}

/* Drop every queued message and free the ring. */
void sendq_clear(struct sendq *q);

/* A FIFO of peer ids: the leaves a peer is still to be told of. */
struct idq {
	int32_t *ids;
	size_t cap, head, len;
};

/* 0 or -ENOMEM. */
int idq_push(struct idq *q, int32_t id);
/* The oldest id; the queue must not be empty. */
int32_t idq_pop(struct idq *q);
void idq_clear(struct idq *q);

#endif
