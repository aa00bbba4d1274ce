/* SPDX-License-Identifier: MIT */
/* The event queue: what ivshmem_next_event() hands out. */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

/*
 * Make room for n more events plus one spare. Callers reserve before they
 * change any state, so pushing never fails halfway through a message and
 * the spare always leaves room for SERVER_GONE.
 */
int ivp_evq_reserve(struct ivp_evq *q, size_t n)
{
	struct ivshmem_event *ev;
	size_t cap = q->cap ? q->cap : 16;

	while (cap < q->len + n + 1) {
		if (cap > SIZE_MAX / 2 / sizeof(*ev))
			return -ENOMEM;
		cap *= 2;
	}
	if (cap == q->cap)
		return 0;
	ev = malloc(cap * sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	/* Unwrap into the new buffer, oldest first. */
	for (size_t i = 0; i < q->len; i++)
		ev[i] = q->ev[(q->head + i) & (q->cap - 1)];
	free(q->ev);
	q->ev = ev;
	q->cap = cap;
	q->head = 0;
	return 0;
}

void ivp_evq_push(struct ivp_evq *q, enum ivshmem_event_type type, int peer,
		  unsigned vectors)
{
	struct ivshmem_event *e;

	if (q->len == q->cap)  /* a missing reserve: drop, never overflow */
		return;
	e = &q->ev[(q->head + q->len) & (q->cap - 1)];
	e->type = type;
	e->peer = peer;
	e->vectors = vectors;
	q->len++;
	q->pushed++;
}

void ivp_evq_free(struct ivp_evq *q)
{
	free(q->ev);
	q->ev = NULL;
	q->cap = q->head = q->len = 0;
}

IVSHMEM_EXPORT int ivshmem_next_event(struct ivshmem *iv,
				      struct ivshmem_event *ev)
{
	struct ivp_evq *q = &iv->evq;

	if (!ev)
		return -EINVAL;
	if (!q->len)
		return 0;
	*ev = q->ev[q->head];
	q->head = (q->head + 1) & (q->cap - 1);
	q->len--;
	return 1;
}
