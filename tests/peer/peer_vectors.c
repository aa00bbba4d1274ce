/* SPDX-License-Identifier: MIT */
/*
 * A real server configured with another vector count than we ask for:
 * fewer leaves us with what it gave (after a short grace period, not the
 * whole timeout), more has the extra fds closed, for us and for peers.
 */
#include "peertest.h"

/* Server with 1 vector, we ask for 3. */
static void fewer(void)
{
	const char *args[] = { "-n", "1", NULL };
	struct ivshmem *a, *b;
	struct tu_server s;
	long long t0;
	int base, rc;

	pt_server_start(&s, args);
	base = tu_count_fds(0);
	t0 = tu_now_ns();
	rc = ivshmem_connect(&a, s.socket_path, 3, 10000);
	CHECK(rc == 0, "connect a: %s", strerror(-rc));
	pt_settle(a);
	CHECK(tu_now_ns() - t0 < 3000000000LL, "connect waited for the "
	      "timeout instead of the grace period");
	CHECK(ivshmem_vectors(a) == 1, "vectors %u", ivshmem_vectors(a));
	CHECK(ivshmem_vector_fd(a, 1) == -EINVAL, "vector fd 1");

	rc = ivshmem_connect(&b, s.socket_path, 1, 5000);
	CHECK(rc == 0, "connect b: %s", strerror(-rc));
	CHECK(ivshmem_vectors(b) == 1, "vectors %u", ivshmem_vectors(b));
	pt_expect_event(a, IVSHMEM_EV_PEER_JOINED, ivshmem_id(b), 1);
	pt_expect_event(b, IVSHMEM_EV_PEER_JOINED, ivshmem_id(a), 1);
	CHECK(ivshmem_ring(b, ivshmem_id(a), 1) == -EINVAL, "ring vector 1");
	CHECK(ivshmem_ring(b, ivshmem_id(a), 0) == 0, "ring vector 0");
	pt_expect_ring(a, 0);

	ivshmem_close(a);
	ivshmem_close(b);
	CHECK(tu_count_fds(0) == base, "%d fds after close, expected %d",
	      tu_count_fds(0), base);
	CHECK(pt_server_stop(&s) == 0, "server exit status");
}

/* Server with 4 vectors, we ask for 2. */
static void more(void)
{
	const char *args[] = { "-n", "4", NULL };
	struct ivshmem *a, *b;
	struct tu_server s;
	int base, rc, b_id;

	pt_server_start(&s, args);
	base = tu_count_fds(0);
	rc = ivshmem_connect(&a, s.socket_path, 2, 5000);
	CHECK(rc == 0, "connect a: %s", strerror(-rc));
	pt_settle(a);
	CHECK(ivshmem_vectors(a) == 2, "vectors %u", ivshmem_vectors(a));
	/* Our vectors 2 and 3 were read (and closed) by process. */
	pt_expect_quiet(a, 100);
	CHECK(tu_count_fds(0) == base + 1 + 2, "%d fds, expected %d",
	      tu_count_fds(0), base + 3);

	rc = ivshmem_connect(&b, s.socket_path, 2, 5000);
	CHECK(rc == 0, "connect b: %s", strerror(-rc));
	pt_expect_event(a, IVSHMEM_EV_PEER_JOINED, ivshmem_id(b), 2);
	pt_expect_event(b, IVSHMEM_EV_PEER_JOINED, ivshmem_id(a), 2);
	pt_expect_quiet(a, 100);
	pt_expect_quiet(b, 100);
	CHECK(tu_count_fds(0) == base + 2 * (1 + 2 + 2), "%d fds, expected %d",
	      tu_count_fds(0), base + 10);
	CHECK(ivshmem_ring(a, ivshmem_id(b), 1) == 0, "ring vector 1");
	pt_expect_ring(b, 1);
	CHECK(ivshmem_ring(a, ivshmem_id(b), 2) == -EINVAL, "ring vector 2");

	b_id = ivshmem_id(b);
	ivshmem_close(b);
	pt_expect_event(a, IVSHMEM_EV_PEER_LEFT, b_id, 2);
	ivshmem_close(a);
	CHECK(tu_count_fds(0) == base, "%d fds after close, expected %d",
	      tu_count_fds(0), base);
	CHECK(pt_server_stop(&s) == 0, "server exit status");
}

/*
 * Issue 12, item 2: `ivshmem-server -n 1` with peers there and a client
 * asking 2. Every existing peer is reported with its 1 vector, listed,
 * ringable, and gets its LEFT; connect does not wait for a grace period.
 */
static void half_peers(void)
{
	const char *args[] = { "-n", "1", NULL };
	struct ivshmem *a, *b, *c;
	struct tu_server s;
	int base, rc, ids[2];
	long long t0;

	pt_server_start(&s, args);
	base = tu_count_fds(0);
	pt_pair(&s, &a, &b);
	t0 = tu_now_ns();
	rc = ivshmem_connect(&c, s.socket_path, 2, 5000);
	CHECK(rc == 0, "connect c: %s", strerror(-rc));
	CHECK(tu_now_ns() - t0 < 400000000LL, "connect c waited %lld ms",
	      (tu_now_ns() - t0) / 1000000);
	CHECK(ivshmem_vectors(c) == 1, "c has %u vectors", ivshmem_vectors(c));
	ids[0] = ivshmem_id(a);
	ids[1] = ivshmem_id(b);
	pt_expect_event(c, IVSHMEM_EV_PEER_JOINED, ids[0], 1);
	pt_expect_event(c, IVSHMEM_EV_PEER_JOINED, ids[1], 1);
	pt_expect_peers(c, ids, 2);
	pt_expect_event(b, IVSHMEM_EV_PEER_JOINED, ivshmem_id(c), 1);
	pt_expect_event(a, IVSHMEM_EV_PEER_JOINED, ivshmem_id(c), 1);
	for (int i = 0; i < 2; i++) {
		CHECK(ivshmem_ring(c, ids[i], 0) == 0, "ring %d", ids[i]);
		CHECK(ivshmem_ring(c, ids[i], 1) == -EINVAL, "ring %d:1",
		      ids[i]);
	}
	pt_expect_ring(b, 0);
	pt_expect_ring(a, 0);
	ivshmem_close(a);
	pt_expect_event(c, IVSHMEM_EV_PEER_LEFT, ids[0], 1);
	ivshmem_close(b);
	pt_expect_event(c, IVSHMEM_EV_PEER_LEFT, ids[1], 1);
	pt_expect_peers(c, NULL, 0);
	ivshmem_close(c);
	CHECK(tu_count_fds(0) == base, "%d fds after close, expected %d",
	      tu_count_fds(0), base);
	CHECK(pt_server_stop(&s) == 0, "server exit status");
	printf("ok: -n 1 server, asking 2, with peers there\n");
}

/* vectors 0 against `-n 2`: each peer takes, and sees, both vectors. */
static void take_all(void)
{
	const char *args[] = { "-n", "2", NULL };
	struct ivshmem *a, *b;
	struct tu_server s;
	int base, rc;
	long long t0;

	pt_server_start(&s, args);
	base = tu_count_fds(0);
	/* First in: nothing tells the count but the grace period. */
	rc = ivshmem_connect(&a, s.socket_path, 0, 5000);
	CHECK(rc == 0, "connect a: %s", strerror(-rc));
	pt_settle(a);
	CHECK(ivshmem_vectors(a) == 2, "a has %u vectors", ivshmem_vectors(a));
	/* Second: the peer before it tells the count, no waiting. */
	t0 = tu_now_ns();
	rc = ivshmem_connect(&b, s.socket_path, 0, 5000);
	CHECK(rc == 0, "connect b: %s", strerror(-rc));
	CHECK(tu_now_ns() - t0 < 400000000LL, "connect b waited %lld ms",
	      (tu_now_ns() - t0) / 1000000);
	CHECK(ivshmem_vectors(b) == 2, "b has %u vectors", ivshmem_vectors(b));
	pt_expect_event(b, IVSHMEM_EV_PEER_JOINED, ivshmem_id(a), 2);
	pt_expect_event(a, IVSHMEM_EV_PEER_JOINED, ivshmem_id(b), 2);
	CHECK(ivshmem_ring(b, ivshmem_id(a), 1) == 0, "ring a:1");
	pt_expect_ring(a, 1);
	CHECK(ivshmem_ring(a, ivshmem_id(b), 1) == 0, "ring b:1");
	pt_expect_ring(b, 1);
	ivshmem_close(b);
	ivshmem_close(a);
	CHECK(tu_count_fds(0) == base, "%d fds after close, expected %d",
	      tu_count_fds(0), base);
	CHECK(pt_server_stop(&s) == 0, "server exit status");
	printf("ok: -n 2 server, taking all\n");
}

int main(void)
{
	fewer();
	more();
	half_peers();
	take_all();
	return 0;
}
