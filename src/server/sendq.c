/* SPDX-License-Identifier: MIT */
#include "sendq.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "wire.h"

struct fdref *fdref_new(int fd)
{
	struct fdref *r = malloc(sizeof(*r));

	if (r) {
		r->fd = fd;
		r->refs = 1;
	}
	return r;
}

struct fdref *fdref_get(struct fdref *r)
{
	if (r)
		r->refs++;
	return r;
}

void fdref_put(struct fdref *r)
{
	if (r && --r->refs == 0) {
		close(r->fd);
		free(r);
	}
}

static int grow(struct sendq *q)
{
	size_t cap = q->cap ? q->cap * 2 : 16;
	struct sendq_msg *ring = malloc(cap * sizeof(*ring));

	if (!ring)
		return -ENOMEM;
	for (size_t i = 0; i < q->len; i++)
		ring[i] = q->ring[(q->head + i) % q->cap];
	free(q->ring);
	q->ring = ring;
	q->cap = cap;
	q->head = 0;
	return 0;
}

int sendq_push(struct sendq *q, int64_t value, struct fdref *fd)
{
	if (q->len == q->cap && grow(q) < 0)
		return -ENOMEM;
	q->ring[(q->head + q->len) % q->cap] = (struct sendq_msg){
		.value = value,
		.fd = fdref_get(fd),
	};
	q->len++;
	return 0;
}

static void pop(struct sendq *q)
{
	fdref_put(q->ring[q->head].fd);
	q->head = (q->head + 1) % q->cap;
	q->len--;
	q->off = 0;
}

int sendq_flush(struct sendq *q, int sock)
{
	while (q->len) {
		const struct sendq_msg *m = &q->ring[q->head];
		int64_t values[IVPROTO_BATCH_MAX];
		size_t k = 0;
		int n;

		/*
		 * The head and the fd-less messages after it in one send (e.g.
		 * the version and the id): one syscall fewer per setup.
		 */
		do {
			values[k] = q->ring[(q->head + k) % q->cap].value;
			k++;
		} while (k < q->len && k < IVPROTO_BATCH_MAX &&
			 !q->ring[(q->head + k) % q->cap].fd);
		n = ivproto_send_batch(sock, values, k,
				       m->fd ? m->fd->fd : -1, q->off);
		if (n < 0)
			return n;
		for (size_t sent = q->off + (size_t)n;
		     sent >= IVPROTO_MSG_SIZE; sent -= IVPROTO_MSG_SIZE)
			pop(q);           /* pop() sets off to 0 */
		q->off = (q->off + (size_t)n) % IVPROTO_MSG_SIZE;
	}
	/* Give back the memory a long setup burst needed. */
	if (q->cap > 64) {
		free(q->ring);
		q->ring = NULL;
		q->cap = q->head = 0;
	}
	return 0;
}

void sendq_clear(struct sendq *q)
{
	while (q->len)
		pop(q);
	free(q->ring);
	q->ring = NULL;
	q->cap = q->head = q->off = 0;
}

int idq_push(struct idq *q, int32_t id)
{
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 8;
		int32_t *ids = malloc(cap * sizeof(*ids));

		if (!ids)
			return -ENOMEM;
		for (size_t i = 0; i < q->len; i++)
			ids[i] = q->ids[(q->head + i) % q->cap];
		free(q->ids);
		q->ids = ids;
		q->cap = cap;
		q->head = 0;
	}
	q->ids[(q->head + q->len) % q->cap] = id;
	q->len++;
	return 0;
}

int32_t idq_pop(struct idq *q)
{
	int32_t id = q->ids[q->head];

	q->head = (q->head + 1) % q->cap;
	if (--q->len == 0 && q->cap > 64)
		idq_clear(q);  /* give back what a burst of leaves needed */
	return id;
}

void idq_clear(struct idq *q)
{
	free(q->ids);
	*q = (struct idq){ 0 };
}
