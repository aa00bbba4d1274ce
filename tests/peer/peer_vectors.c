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

int main(void)
{
	fewer();
	more();
	return 0;
}
