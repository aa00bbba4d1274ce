/* SPDX-License-Identifier: MIT */
#include "hostpeer.h"

#include <string.h>

#include "testutil.h"

void hp_connect(struct hostpeer *hp, const char *socket_path,
		unsigned vectors)
{
	int rc;

	memset(hp, 0, sizeof(*hp));
	rc = ivshmem_connect(&hp->iv, socket_path, vectors, 10000);
	CHECK(rc == 0, "ivshmem_connect %s: %s", socket_path, strerror(-rc));
	hp->id = ivshmem_id(hp->iv);
	CHECK(ivshmem_vectors(hp->iv) == vectors, "host peer has %u vectors, "
	      "asked for %u", ivshmem_vectors(hp->iv), vectors);
	/*
	 * Peers already there are reported as JOINED at once: forget them,
	 * so that waits for JOINED are about peers that join later. (One may
	 * be tu_server_start()'s probe that the server has not seen leave.)
	 */
	for (struct ivshmem_event e; ivshmem_next_event(hp->iv, &e) == 1;)
		CHECK(e.type == IVSHMEM_EV_PEER_JOINED, "event %d at connect",
		      e.type);
}

void hp_close(struct hostpeer *hp)
{
	ivshmem_close(hp->iv);
	hp->iv = NULL;
}

static int matches(const struct hostpeer *hp, const struct ivshmem_event *e,
		   enum ivshmem_event_type type, int peer)
{
	if (e->type != type)
		return 0;
	return peer < 0 ? e->peer != hp->id : e->peer == peer;
}

static void note_event(struct hostpeer *hp, const struct ivshmem_event *e)
{
	if (hp->nev < HP_MAX_EVENTS)
		hp->ev[hp->nev++] = *e;
}

int hp_wait_event(struct hostpeer *hp, enum ivshmem_event_type type,
		  int peer, int timeout_ms, struct ivshmem_event *ev)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;

	for (unsigned i = 0; i < hp->nev; i++) {
		if (matches(hp, &hp->ev[i], type, peer)) {
			*ev = hp->ev[i];
			memmove(&hp->ev[i], &hp->ev[i + 1],
				(hp->nev - i - 1) * sizeof(hp->ev[0]));
			hp->nev--;
			return 1;
		}
	}
	for (;;) {
		long long left = (deadline - tu_now_ns()) / 1000000;
		struct ivshmem_event e;
		unsigned v;
		int rc;

		if (left < 0)
			return 0;
		rc = ivshmem_wait(hp->iv, (int)left, &v);
		CHECK(rc >= 0, "ivshmem_wait: %s", strerror(-rc));
		if (rc == 1)
			hp->rung[v]++;
		while (ivshmem_next_event(hp->iv, &e) == 1) {
			if (matches(hp, &e, type, peer)) {
				*ev = e;
				/* Keep the rest for later waits. */
				while (ivshmem_next_event(hp->iv, &e) == 1)
					note_event(hp, &e);
				return 1;
			}
			note_event(hp, &e);
		}
	}
}

int hp_wait_vector(struct hostpeer *hp, int timeout_ms, unsigned *vector)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;

	for (unsigned v = 0; v < IVSHMEM_MAX_VECTORS; v++) {
		if (hp->rung[v]) {
			hp->rung[v]--;
			*vector = v;
			return 1;
		}
	}
	for (;;) {
		long long left = (deadline - tu_now_ns()) / 1000000;
		struct ivshmem_event e;
		int rc;

		if (left < 0)
			return 0;
		rc = ivshmem_wait(hp->iv, (int)left, vector);
		CHECK(rc >= 0, "ivshmem_wait: %s", strerror(-rc));
		if (rc == 1)
			return 1;
		while (ivshmem_next_event(hp->iv, &e) == 1)
			note_event(hp, &e);
	}
}

void hp_ring(struct hostpeer *hp, int peer, unsigned vector)
{
	int rc = ivshmem_ring(hp->iv, peer, vector);

	CHECK(rc == 0, "ivshmem_ring(%d, %u) from peer %d: %s", peer, vector,
	      hp->id, strerror(-rc));
}

int hp_start_device(struct hostpeer *hp, struct ivdev *dev, const char *sock,
		    unsigned vectors, unsigned *joined_vectors)
{
	struct ivshmem_event ev;

	ivdev_start(dev, sock, vectors);
	CHECK(hp_wait_event(hp, IVSHMEM_EV_PEER_JOINED, -1, 10000, &ev),
	      "vectors=%u: the device did not join within 10 s", vectors);
	CHECK(ivdev_position(dev) == ev.peer, "vectors=%u: IVPosition %d, "
	      "device joined as %d", vectors, ivdev_position(dev), ev.peer);
	if (joined_vectors)
		*joined_vectors = ev.vectors;
	return ev.peer;
}
