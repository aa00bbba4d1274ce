/* SPDX-License-Identifier: MIT */
/*
 * An ivshmem transport: what the IPM layer needs from whatever gives it
 * the shared memory and the doorbells. A host process gets them from the
 * server (ivshm_transport_host_open); a Linux guest gets them from the PCI
 * device. Each backend fills one ops table, as Zephyr's drivers do.
 */
#ifndef IVSHMEM_TRANSPORT_H
#define IVSHMEM_TRANSPORT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ivshm_transport;

enum ivshm_presence {
	IVSHM_PEER_JOINED = 1,
	IVSHM_PEER_LEFT = 2,
	IVSHM_TRANSPORT_GONE = 3, /* no more presence news (server gone) */
};

struct ivshm_transport_ops {
	const char *name;
	/* Ring vector 'vector' of peer 'peer'. 0 or -errno. */
	int (*ring)(struct ivshm_transport *t, int peer, unsigned vector);
	/*
	 * A pollable fd that becomes readable when our 'vector' is rung, or
	 * -ENOTSUP when the transport can only be polled (the IPM layer then
	 * watches the shared memory instead).
	 */
	int (*vector_fd)(struct ivshm_transport *t, unsigned vector);
	/* Consume vector's pending notifications: how many, 0 if none. */
	int (*ack)(struct ivshm_transport *t, unsigned vector);
	/* A pollable fd for presence news, or -ENOTSUP when there are none. */
	int (*presence_fd)(struct ivshm_transport *t);
	/*
	 * Next presence change, without blocking: 1 with *peer and *what
	 * filled, 0 when there is none, -errno on failure.
	 */
	int (*next_presence)(struct ivshm_transport *t, int *peer, int *what);
	/* 1 when the peer is known live, 0 when known gone, -ENOTSUP. */
	int (*peer_live)(struct ivshm_transport *t, int peer);
	void (*close)(struct ivshm_transport *t);
};

struct ivshm_transport {
	const struct ivshm_transport_ops *ops;
	void *mem;        /* the shared memory, mapped read-write */
	size_t size;
	int id;           /* our peer id */
	unsigned vectors; /* our vector count */
};

/* Join the ivshmem server at socket_path (see ivshmem_connect()). */
int ivshm_transport_host_open(struct ivshm_transport **out,
			      const char *socket_path, unsigned vectors,
			      int timeout_ms);

/* Close any transport. NULL is accepted. */
void ivshm_transport_close(struct ivshm_transport *t);

#ifdef __cplusplus
}
#endif
#endif
