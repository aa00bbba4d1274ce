/* SPDX-License-Identifier: MIT */
/*
 * Three peers on a real ivshmem-server: ids, JOINED/LEFT events, vector
 * counts, doorbells between them and to ourselves, the shared memory, and
 * no fd left behind.
 */
#include <dlfcn.h>
#include <unistd.h>

#include "peertest.h"

#define MB (1024 * 1024)

int main(void)
{
	const char *args[] = { "-n", "2", "-l", "1M", NULL };
	struct ivshmem *a, *b, *c;
	struct ivshmem_event ev;
	struct tu_server s;
	long long t0;

	/* The shared library exports its API and nothing else. */
	CHECK(dlsym(RTLD_DEFAULT, "ivshmem_connect"), "ivshmem_connect not "
	      "found: not linked to libivshmem.so?");
	CHECK(!dlsym(RTLD_DEFAULT, "ivp_connect_fd"),
	      "the internal ivp_connect_fd is exported");
	int base, rc, b_id, c_id;
	char *ma, *mb, *mc;

	pt_server_start(&s, args);
	base = tu_count_fds(0);

	rc = ivshmem_connect(&a, s.socket_path, 2, 5000);
	CHECK(rc == 0, "connect a: %s", strerror(-rc));
	pt_settle(a);
	CHECK(ivshmem_id(a) >= 0 && ivshmem_id(a) <= IVSHMEM_MAX_PEER_ID,
	      "id %d", ivshmem_id(a));
	CHECK(ivshmem_vectors(a) == 2, "vectors %u", ivshmem_vectors(a));
	CHECK(ivshmem_size(a) == MB, "size %zu", ivshmem_size(a));
	CHECK(ivshmem_mem(a) != NULL, "no memory");
	CHECK(ivshmem_peers(a, NULL, 0) == 0, "a has peers");
	CHECK(ivshmem_next_event(a, &ev) == 0, "a has an event");
	/* The socket and our two eventfds; the shm fd is not kept. */
	CHECK(tu_count_fds(0) == base + 3, "%d fds, expected %d",
	      tu_count_fds(0), base + 3);

	/* b learns of a at connect, a learns of b from the server. */
	rc = ivshmem_connect(&b, s.socket_path, 2, 5000);
	CHECK(rc == 0, "connect b: %s", strerror(-rc));
	CHECK(ivshmem_id(b) != ivshmem_id(a), "same ids");
	pt_expect_event(b, IVSHMEM_EV_PEER_JOINED, ivshmem_id(a), 2);
	pt_expect_event(a, IVSHMEM_EV_PEER_JOINED, ivshmem_id(b), 2);
	CHECK(ivshmem_peer_vectors(a, ivshmem_id(b)) == 2, "b's vectors");
	CHECK(ivshmem_peer_vectors(b, ivshmem_id(a)) == 2, "a's vectors");

	rc = ivshmem_connect(&c, s.socket_path, 2, 5000);
	CHECK(rc == 0, "connect c: %s", strerror(-rc));
	/* Existing peers come ascending; the server hands out ascending ids. */
	pt_expect_event(c, IVSHMEM_EV_PEER_JOINED, ivshmem_id(a), 2);
	pt_expect_event(c, IVSHMEM_EV_PEER_JOINED, ivshmem_id(b), 2);
	pt_expect_event(a, IVSHMEM_EV_PEER_JOINED, ivshmem_id(c), 2);
	pt_expect_event(b, IVSHMEM_EV_PEER_JOINED, ivshmem_id(c), 2);
	{
		int ab[] = { ivshmem_id(b), ivshmem_id(c) };
		int ca[] = { ivshmem_id(a), ivshmem_id(b) };
		int one;

		pt_expect_peers(a, ab, 2);
		pt_expect_peers(c, ca, 2);
		/* A short buffer still gets the total count. */
		CHECK(ivshmem_peers(a, &one, 1) == 2 && one == ab[0],
		      "short ivshmem_peers");
	}

	/* Doorbells: to another peer, counted, and to ourselves. */
	CHECK(ivshmem_ring(a, ivshmem_id(b), 1) == 0, "ring b 1");
	pt_expect_ring(b, 1);
	CHECK(ivshmem_ring(c, ivshmem_id(b), 0) == 0, "ring b 0");
	CHECK(ivshmem_ring(a, ivshmem_id(b), 0) == 0, "ring b 0");
	CHECK(ivshmem_ring(a, ivshmem_id(b), 0) == 0, "ring b 0");
	/* Eventfd writes are synchronous: three rings wait as a count. */
	CHECK(ivshmem_ack(b, 0) == 3, "three rings, one ack");
	CHECK(ivshmem_ack(b, 0) == 0, "acked twice");
	CHECK(ivshmem_ring(c, ivshmem_id(c), 1) == 0, "ring self");
	pt_expect_ring(c, 1);
	pt_expect_quiet(a, 50);
	pt_expect_quiet(b, 0);

	/* Bad targets. */
	CHECK(ivshmem_ring(a, 4242, 0) == -ENOENT, "unknown peer");
	CHECK(ivshmem_ring(a, -1, 0) == -ENOENT, "peer -1");
	CHECK(ivshmem_ring(a, ivshmem_id(b), 2) == -EINVAL, "vector 2");
	CHECK(ivshmem_ring(a, ivshmem_id(a), 2) == -EINVAL, "own vector 2");
	CHECK(ivshmem_peer_vectors(a, 4242) == -ENOENT, "unknown peer");
	CHECK(ivshmem_vector_fd(a, 2) == -EINVAL, "vector fd 2");
	CHECK(ivshmem_vector_fd(a, 1) >= 0, "vector fd 1");
	CHECK(ivshmem_ack(a, 2) == -EINVAL, "ack 2");
	CHECK(ivshmem_peers(a, NULL, 1) == -EINVAL, "NULL ids");
	CHECK(ivshmem_next_event(a, NULL) == -EINVAL, "NULL event");

	/* The wait timeout is honoured. */
	t0 = tu_now_ns();
	pt_expect_quiet(a, 100);
	CHECK(tu_now_ns() - t0 >= 90000000LL, "wait returned early");

	/* One memory for all. */
	ma = ivshmem_mem(a);
	mb = ivshmem_mem(b);
	mc = ivshmem_mem(c);
	strcpy(ma + 100, "from a");
	CHECK(strcmp(mb + 100, "from a") == 0, "b does not see a's write");
	mc[MB - 1] = 0x5a;
	CHECK(ma[MB - 1] == 0x5a && mb[MB - 1] == 0x5a, "last byte");

	/* b leaves: both others are told, b is gone from their tables. */
	b_id = ivshmem_id(b);
	ivshmem_close(b);
	pt_expect_event(a, IVSHMEM_EV_PEER_LEFT, b_id, 2);
	pt_expect_event(c, IVSHMEM_EV_PEER_LEFT, b_id, 2);
	CHECK(ivshmem_ring(a, b_id, 0) == -ENOENT, "ring a gone peer");
	CHECK(ivshmem_peer_vectors(a, b_id) == -ENOENT, "gone peer");
	c_id = ivshmem_id(c);
	pt_expect_peers(a, &c_id, 1);
	/* a and c: each a socket, 2 own vectors and the other's 2. */
	CHECK(tu_count_fds(0) == base + 2 * (1 + 2 + 2), "%d fds",
	      tu_count_fds(0));

	ivshmem_close(a);
	ivshmem_close(c);
	ivshmem_close(NULL);
	CHECK(tu_count_fds(0) == base, "%d fds after close, expected %d",
	      tu_count_fds(0), base);
	CHECK(pt_server_stop(&s) == 0, "server exit status");
	return 0;
}
