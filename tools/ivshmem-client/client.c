/* SPDX-License-Identifier: MIT */
#include "client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define VECTORS(n) (n), cli_plural((unsigned long)(n), "vector", "vectors")

void client_dump(struct ivshmem *iv, FILE *out)
{
	int n = ivshmem_peers(iv, NULL, 0);
	int *ids = n > 0 ? calloc((size_t)n, sizeof(*ids)) : NULL;

	fprintf(out, "own id: %d\n", ivshmem_id(iv));
	fprintf(out, "shared memory: %zu bytes at %p\n", ivshmem_size(iv),
		ivshmem_mem(iv));
	fprintf(out, "shared memory sealed against shrinking: %s\n",
		ivshmem_mem_sealed(iv) ? "yes" : "no");
	fprintf(out, "vectors: %u\n", ivshmem_vectors(iv));
	if (n > 0 && ids)
		n = ivshmem_peers(iv, ids, n);
	fprintf(out, "peers: %d\n", n < 0 ? 0 : n);
	for (int i = 0; ids && i < n; i++)
		fprintf(out, "  peer %d: %d %s\n", ids[i],
			VECTORS(ivshmem_peer_vectors(iv, ids[i])));
	free(ids);
}

static int ring_peer(struct ivshmem *iv, int peer, int vector,
		     const struct client_ring_out *o)
{
	int nvec = ivshmem_peer_vectors(iv, peer);
	int rc;

	if (peer == ivshmem_id(iv))
		nvec = (int)ivshmem_vectors(iv);
	if (nvec < 0) {
		fprintf(o->err, "%sno peer %d\n", o->prefix, peer);
		return nvec;
	}
	if (vector != CLIENT_ALL && vector >= nvec) {
		/* -n: we keep no more of a peer's vectors than that. */
		if (o->limit && nvec == (int)o->limit)
			fprintf(o->err, "%speer %d has no vector %d that we "
				"kept: -n %u keeps %d %s\n", o->prefix, peer,
				vector, o->limit, VECTORS(nvec));
		else
			fprintf(o->err, "%speer %d has no vector %d (it has "
				"%d %s)\n", o->prefix, peer, vector,
				VECTORS(nvec));
		return -EINVAL;
	}
	for (int v = 0; v < nvec; v++) {
		if (vector != CLIENT_ALL && v != vector)
			continue;
		rc = ivshmem_ring(iv, peer, (unsigned)v);
		if (rc < 0) {
			fprintf(o->err, "%scannot ring peer %d vector %d: %s\n",
				o->prefix, peer, v, strerror(-rc));
			return rc;
		}
		if (o->log)
			fprintf(o->log, "rang peer %d vector %d\n", peer, v);
	}
	return 0;
}

int client_ring(struct ivshmem *iv, int peer, int vector,
		const struct client_ring_out *o)
{
	int n, rc = 0, *ids;

	if (peer != CLIENT_ALL)
		return ring_peer(iv, peer, vector, o);
	n = ivshmem_peers(iv, NULL, 0);
	if (n <= 0)
		return 0;
	ids = calloc((size_t)n, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	n = ivshmem_peers(iv, ids, n);
	for (int i = 0; i < n && rc == 0; i++)
		rc = ring_peer(iv, ids[i], vector, o);
	free(ids);
	return rc;
}

static int parse_num(const char *s, const char *end, int max, int *out)
{
	long v = 0;

	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

int client_parse_target(const char *text, int *peer, int *vector)
{
	const char *colon = strchr(text, ':');

	if (!strcmp(text, "all")) {
		*peer = *vector = CLIENT_ALL;
		return 0;
	}
	if (!colon)
		return -EINVAL;
	if (colon - text == 3 && !strncmp(text, "all", 3))
		*peer = CLIENT_ALL;
	else if (parse_num(text, colon, IVSHMEM_MAX_PEER_ID, peer) < 0)
		return -EINVAL;
	if (!strcmp(colon + 1, "all")) {
		*vector = CLIENT_ALL;
		return 0;
	}
	return parse_num(colon + 1, colon + strlen(colon),
			 IVSHMEM_MAX_VECTORS - 1, vector);
}

void client_present(struct ivshmem *iv, FILE *out)
{
	struct ivshmem_event ev;

	/* Without ivshmem_process(), only what connecting queued. */
	while (ivshmem_next_event(iv, &ev) == 1) {
		if (ev.type == IVSHMEM_EV_PEER_JOINED)
			fprintf(out, "peer %d is here (%u %s)\n",
				ev.peer, VECTORS(ev.vectors));
		else if (ev.type == IVSHMEM_EV_PEER_LEFT)
			fprintf(out, "peer %d left\n", ev.peer);
	}
	fflush(out);
}

int client_report(struct ivshmem *iv, FILE *out, unsigned long long *rung)
{
	struct ivshmem_event ev;
	int rc = ivshmem_process(iv), gone = rc == -ENOTCONN;

	while (ivshmem_next_event(iv, &ev) == 1) {
		switch (ev.type) {
		case IVSHMEM_EV_PEER_JOINED:
			fprintf(out, "peer %d joined (%u %s)\n", ev.peer,
				VECTORS(ev.vectors));
			break;
		case IVSHMEM_EV_PEER_LEFT:
			fprintf(out, "peer %d left\n", ev.peer);
			break;
		case IVSHMEM_EV_SERVER_GONE:
			fprintf(out, "the server closed the connection\n");
			gone = 1;
			break;
		}
	}
	for (unsigned v = 0; v < ivshmem_vectors(iv); v++) {
		int n = ivshmem_ack(iv, v);

		if (n <= 0)
			continue;
		/* An eventfd carries no sender: say only what is known. */
		fprintf(out, "notification on our vector %u (%d pending; the "
			"sender is not known to eventfds)\n", v, n);
		if (rung)
			*rung |= 1ULL << v;
	}
	fflush(out);
	return gone ? -ENOTCONN : 0;
}
