/* SPDX-License-Identifier: MIT */
/*
 * The server stops under two connected peers: each gets SERVER_GONE once,
 * then -ENOTCONN; waiting does not spin on the dead socket; doorbells
 * between the peers keep working; nothing leaks.
 */
#include "peertest.h"

int main(void)
{
	struct ivshmem *a, *b;
	struct tu_server s;
	long long t0;
	int base, rc;

	pt_server_start(&s, NULL);
	base = tu_count_fds(0);
	pt_pair(&s, &a, &b);

	CHECK(pt_server_stop(&s) == 0, "server exit status");
	pt_expect_event(a, IVSHMEM_EV_SERVER_GONE, -1, 0);
	pt_expect_event(b, IVSHMEM_EV_SERVER_GONE, -1, 0);
	CHECK(ivshmem_process(a) == -ENOTCONN, "process after gone");
	CHECK(ivshmem_process(a) == -ENOTCONN, "process after gone");

	/* The socket is at EOF for good: wait must sleep, not spin. */
	t0 = tu_now_ns();
	pt_expect_quiet(a, 100);
	CHECK(tu_now_ns() - t0 >= 90000000LL, "wait returned early");

	/* The peers and their eventfds outlive the server. */
	CHECK(ivshmem_peer_vectors(a, ivshmem_id(b)) == 1, "b forgotten");
	CHECK(ivshmem_ring(a, ivshmem_id(b), 0) == 0, "ring b");
	pt_expect_ring(b, 0);
	CHECK(ivshmem_ring(b, ivshmem_id(a), 0) == 0, "ring a");
	pt_expect_ring(a, 0);

	ivshmem_close(a);
	ivshmem_close(b);
	CHECK(tu_count_fds(0) == base, "%d fds after close, expected %d",
	      tu_count_fds(0), base);

	/* No server any more: its socket was removed. */
	rc = ivshmem_connect(&a, s.socket_path, 1, 1000);
	CHECK(rc == -ENOENT, "connect without server: %d", rc);
	CHECK(tu_count_fds(0) == base, "fds after a failed connect");
	return 0;
}
