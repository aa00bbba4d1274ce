/* SPDX-License-Identifier: MIT */
/* The peer table: an array of peers sorted by id, binary searched. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Index of id in the table, or where it would be inserted. */
static size_t slot(const struct ivshmem *iv, int id)
{
	size_t lo = 0, hi = iv->npeers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (iv->peers[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Any peer in the table, also one whose vectors are still arriving. */
struct ivp_peer *ivp_peer_find(const struct ivshmem *iv, int id)
{
	size_t i = slot(iv, id);

	if (i < iv->npeers && iv->peers[i]->id == id)
		return iv->peers[i];
	return NULL;
}

/* Only peers the caller has been told about (JOINED queued). */
const struct ivp_peer *ivp_peer_live(const struct ivshmem *iv, int id)
{
	const struct ivp_peer *p = ivp_peer_find(iv, id);

	return p && p->complete ? p : NULL;
}

/* A new peer without vectors; id must not be in the table yet. */
struct ivp_peer *ivp_peer_insert(struct ivshmem *iv, int id, unsigned cap)
{
	size_t i = slot(iv, id);
	struct ivp_peer *p;

	if (iv->npeers == iv->peers_cap) {
		size_t n = iv->peers_cap ? iv->peers_cap * 2 : 8;
		struct ivp_peer **a = realloc(iv->peers, n * sizeof(*a));

		if (!a)
			return NULL;
		iv->peers = a;
		iv->peers_cap = n;
	}
	p = malloc(sizeof(*p) + cap * sizeof(p->fd[0]));
	if (!p)
		return NULL;
	p->id = id;
	p->complete = 0;
	p->nvec = 0;
	p->cap = cap;
	memmove(&iv->peers[i + 1], &iv->peers[i],
		(iv->npeers - i) * sizeof(iv->peers[0]));
	iv->peers[i] = p;
	iv->npeers++;
	return p;
}

/* Close the fds of vectors nvec and up. */
void ivp_peer_trim(struct ivp_peer *p, unsigned nvec)
{
	while (p->nvec > nvec)
		close(p->fd[--p->nvec]);
}

void ivp_peer_remove(struct ivshmem *iv, int id)
{
	size_t i = slot(iv, id);
	struct ivp_peer *p;

	if (i >= iv->npeers || iv->peers[i]->id != id)
		return;
	p = iv->peers[i];
	ivp_peer_trim(p, 0);
	free(p);
	iv->npeers--;
	memmove(&iv->peers[i], &iv->peers[i + 1],
		(iv->npeers - i) * sizeof(iv->peers[0]));
	if (iv->pending == id)
		iv->pending = -1;
}

void ivp_peers_free(struct ivshmem *iv)
{
	for (size_t i = 0; i < iv->npeers; i++) {
		ivp_peer_trim(iv->peers[i], 0);
		free(iv->peers[i]);
	}
	free(iv->peers);
	iv->peers = NULL;
	iv->npeers = iv->peers_cap = 0;
	iv->pending = -1;
}

IVSHMEM_EXPORT int ivshmem_peers(const struct ivshmem *iv, int *ids, int max)
{
	int n = 0;

	if (max < 0 || (max > 0 && !ids))
		return -EINVAL;
	for (size_t i = 0; i < iv->npeers; i++) {
		if (!iv->peers[i]->complete)
			continue;
		if (n < max)
			ids[n] = iv->peers[i]->id;
		n++;
	}
	return n;
}

IVSHMEM_EXPORT int ivshmem_peer_vectors(const struct ivshmem *iv, int peer)
{
	const struct ivp_peer *p = ivp_peer_live(iv, peer);

	return p ? (int)p->nvec : -ENOENT;
}
