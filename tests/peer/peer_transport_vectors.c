/* SPDX-License-Identifier: MIT */
/*
 * Issue 12, item 2, through the host transport ipm-shell uses: against
 * `ivshmem-server -n 1` with two peers, a transport opened with 2 vectors
 * (ipm-shell -n 2) sees each peer that was there before it as joined, live
 * and ringable, and sees it leave. The same with 0 (every vector the server gives).
 */
#include "ivshmem/transport.h"
#include "peertest.h"

static void presence(struct ivshm_transport *t, int peer, int what)
{
	long long deadline = tu_now_ns() + 5000000000LL;
	int p, w, rc;

	for (;;) {
		rc = t->ops->next_presence(t, &p, &w);
		CHECK(rc >= 0, "next_presence: %s", strerror(-rc));
		if (rc == 1 && p == peer && w == what)
			return;
		CHECK(tu_now_ns() < deadline, "no presence %d for peer %d",
		      what, peer);
		if (rc == 0)
			usleep(2000);
	}
}

static void run(unsigned vectors)
{
	const char *args[] = { "-n", "1", NULL };
	struct ivshm_transport *t;
	struct ivshmem *iv[2];
	struct tu_server s;
	int rc, id[2];

	pt_server_start(&s, args);
	for (int i = 0; i < 2; i++) {
		rc = ivshmem_connect(&iv[i], s.socket_path, 1, 5000);
		CHECK(rc == 0, "connect: %s", strerror(-rc));
		if (i == 0)
			pt_settle(iv[0]);
		id[i] = ivshmem_id(iv[i]);
	}
	pt_expect_event(iv[0], IVSHMEM_EV_PEER_JOINED, id[1], 1);
	pt_expect_event(iv[1], IVSHMEM_EV_PEER_JOINED, id[0], 1);
	rc = ivshm_transport_host_open(&t, s.socket_path, vectors, 5000);
	CHECK(rc == 0, "transport open: %s", strerror(-rc));
	CHECK(t->vectors == 1, "transport has %u vectors", t->vectors);
	for (int i = 0; i < 2; i++) {
		presence(t, id[i], IVSHM_PEER_JOINED);
		CHECK(t->ops->peer_live(t, id[i]) == 1, "peer %d not live",
		      id[i]);
		pt_expect_event(iv[i], IVSHMEM_EV_PEER_JOINED, t->id, 1);
		CHECK(t->ops->ring(t, id[i], 0) == 0, "ring %d", id[i]);
		CHECK(t->ops->ring(t, id[i], 1) == -EINVAL, "ring %d:1",
		      id[i]);
		pt_expect_ring(iv[i], 0);
	}
	for (int i = 0; i < 2; i++) {
		ivshmem_close(iv[i]);
		presence(t, id[i], IVSHM_PEER_LEFT);
		CHECK(t->ops->peer_live(t, id[i]) == 0, "peer %d still live",
		      id[i]);
	}
	t->ops->close(t);
	CHECK(pt_server_stop(&s) == 0, "server exit status");
	printf("ok: transport with %u vectors against -n 1\n", vectors);
}

int main(void)
{
	run(2);
	run(0);
	return 0;
}
