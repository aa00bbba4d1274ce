/* SPDX-License-Identifier: MIT */
/*
 * A libivshmem peer on the host, as the QEMU tests use it: waiting for one
 * kind of event while noting everything else that happens meanwhile.
 */
#ifndef IVSHMEM_TESTS_HOSTPEER_H
#define IVSHMEM_TESTS_HOSTPEER_H

#include <ivshmem/ivshmem.h>

#include "ivdev.h"

#define HP_MAX_EVENTS 64

struct hostpeer {
	struct ivshmem *iv;
	int id;
	unsigned rung[IVSHMEM_MAX_VECTORS]; /* rings seen by event waits */
	/* Events seen by vector waits (and others), not yet waited for. */
	struct ivshmem_event ev[HP_MAX_EVENTS];
	unsigned nev;
};

/*
 * Connect with 'vectors' vectors; fails the test on error. The JOINED
 * events of the peers already there are dropped.
 */
void hp_connect(struct hostpeer *hp, const char *socket_path,
		unsigned vectors);
void hp_close(struct hostpeer *hp);

/*
 * Start a QEMU device with 'vectors' vectors on the server at sock, wait
 * (10 s at most) until the host peer sees it join, and check that its
 * IVPosition is the id it joined as. Returns that id; *joined_vectors (may
 * be NULL) gets the vector count it joined with.
 */
int hp_start_device(struct hostpeer *hp, struct ivdev *dev, const char *sock,
		    unsigned vectors, unsigned *joined_vectors);

/*
 * Wait up to timeout_ms for an event of this type about 'peer' (-1: any
 * peer but ourselves); events noted earlier count. Other events are
 * noted (or dropped when there is no room), vector rings counted in
 * hp->rung. Returns 1 with *ev filled, 0 on timeout.
 */
int hp_wait_event(struct hostpeer *hp, enum ivshmem_event_type type,
		  int peer, int timeout_ms, struct ivshmem_event *ev);

/*
 * Wait up to timeout_ms for any of our vectors to be rung (counts already
 * in hp->rung are taken first). Returns 1 with *vector set, 0 on timeout.
 */
int hp_wait_vector(struct hostpeer *hp, int timeout_ms, unsigned *vector);

/* Ring peer's vector; fails the test on error. */
void hp_ring(struct hostpeer *hp, int peer, unsigned vector);

#endif
