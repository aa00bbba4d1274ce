/* SPDX-License-Identifier: MIT */
/*
 * The host transport: a process joined to ivshmem-server through
 * libivshmem. Presence news come from the server.
 */
#include <errno.h>
#include <stdlib.h>

#include <ivshmem/ivshmem.h>
#include <ivshmem/transport.h>

struct host_transport {
	struct ivshm_transport t; /* first: the ops get this pointer */
	struct ivshmem *iv;
};

static struct ivshmem *iv_of(struct ivshm_transport *t)
{
	return ((struct host_transport *)t)->iv;
}

static int host_ring(struct ivshm_transport *t, int peer, unsigned vector)
{
	return ivshmem_ring(iv_of(t), peer, vector);
}

static int host_nudge(struct ivshm_transport *t, int peer, unsigned vector)
{
	return ivshmem_nudge(iv_of(t), peer, vector);
}

static int host_vector_fd(struct ivshm_transport *t, unsigned vector)
{
	return ivshmem_vector_fd(iv_of(t), vector);
}

static int host_ack(struct ivshm_transport *t, unsigned vector)
{
	return ivshmem_ack(iv_of(t), vector);
}

static int host_presence_fd(struct ivshm_transport *t)
{
	return ivshmem_socket_fd(iv_of(t));
}

static int host_next_presence(struct ivshm_transport *t, int *peer, int *what)
{
	struct ivshmem *iv = iv_of(t);
	struct ivshmem_event ev;
	int rc = ivshmem_next_event(iv, &ev);

	if (rc == 0) {
		rc = ivshmem_process(iv);
		if (rc < 0 && rc != -ENOTCONN)
			return rc;
		rc = ivshmem_next_event(iv, &ev);
	}
	if (rc <= 0)
		return rc;
	*peer = ev.peer;
	*what = ev.type == IVSHMEM_EV_PEER_JOINED ? IVSHM_PEER_JOINED :
		ev.type == IVSHMEM_EV_PEER_LEFT ? IVSHM_PEER_LEFT :
						  IVSHM_TRANSPORT_GONE;
	return 1;
}

static int host_peer_live(struct ivshm_transport *t, int peer)
{
	if (peer == t->id)
		return 1;
	return ivshmem_peer_vectors(iv_of(t), peer) >= 0;
}

static void host_close(struct ivshm_transport *t)
{
	ivshmem_close(iv_of(t));
	free(t);
}

static const struct ivshm_transport_ops host_ops = {
	.name = "host",
	.ring = host_ring,
	.vector_fd = host_vector_fd,
	.ack = host_ack,
	.presence_fd = host_presence_fd,
	.next_presence = host_next_presence,
	.peer_live = host_peer_live,
	.close = host_close,
	.nudge = host_nudge,
};

__attribute__((visibility("default")))
int ivshm_transport_host_open(struct ivshm_transport **out,
			      const char *socket_path, unsigned vectors,
			      int timeout_ms)
{
	struct host_transport *h;
	int rc;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	rc = ivshmem_connect(&h->iv, socket_path, vectors, timeout_ms);
	if (rc < 0) {
		free(h);
		return rc;
	}
	h->t = (struct ivshm_transport){
		.ops = &host_ops,
		.mem = ivshmem_mem(h->iv),
		.size = ivshmem_size(h->iv),
		.id = ivshmem_id(h->iv),
		.vectors = ivshmem_vectors(h->iv),
	};
	*out = &h->t;
	return 0;
}
