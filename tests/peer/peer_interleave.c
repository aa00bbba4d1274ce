/* SPDX-License-Identifier: MIT */
/*
 * Issue 12, item 1: a server interleaving peers' vector messages (1+fd,
 * 2+fd, 1+fd, 1+fd, ... with 2 vectors), during setup and after it. Each
 * peer must be reported once, with the vectors that came before another
 * id did; later fds for it are closed; nothing is written out of bounds
 * (the ASan build runs this too) and no half-peer is left: every peer
 * reported JOINED is listed, ringable and gets its LEFT.
 */
#include "fakepeer.h"

/* The observed input, during setup: existing peers 1 and 2 interleaved. */
static void during_setup(unsigned vectors)
{
	const struct fake_step s[] = {
		F_SETUP(3),
		F_EFD(1), F_EFD(2), F_EFD(1), F_EFD(1),
		F_EFD(2), F_EFD(1), F_EFD(2), F_EFD(1),
		F_EFD(3), F_EFD(3),
		F_HANG,
	};
	struct fake_server f;
	int base = tu_count_fds(0);
	struct ivshmem *iv = fp_join(&f, s, vectors, 5000);
	const int ids[] = { 1, 2 };

	/* The peers had 1 vector each: so do we (the rest is closed). */
	CHECK(ivshmem_vectors(iv) == 1, "vectors %u",
	      ivshmem_vectors(iv));
	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 1, 1);
	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 2, 1);
	pt_expect_peers(iv, ids, 2);
	CHECK(ivshmem_peer_vectors(iv, 1) == 1, "peer 1 vectors");
	CHECK(ivshmem_peer_vectors(iv, 2) == 1, "peer 2 vectors");
	CHECK(ivshmem_ring(iv, 1, 0) == 0, "ring 1");
	CHECK(ivshmem_ring(iv, 2, 0) == 0, "ring 2");
	CHECK(ivshmem_ring(iv, 1, 1) == -EINVAL, "ring 1 vector 1");
	pt_expect_quiet(iv, 50);
	/* Socket, our vectors, one fd for each peer: nothing else kept. */
	CHECK(tu_count_fds(0) == base + 1 + (int)ivshmem_vectors(iv) + 2,
	      "during setup: %d fds", tu_count_fds(0));
	fp_done(&f, iv, base, vectors ? "interleaved during setup" :
		     "interleaved during setup, taking all");
}

/* The same after setup, on join messages, then both leave. */
static void after_setup(void)
{
	const struct fake_step s[] = {
		F_SETUP(3), F_EFD(3), F_EFD(3),
		F_EFD(1), F_EFD(2), F_EFD(1), F_EFD(1),
		F_EFD(2), F_EFD(1), F_EFD(2), F_EFD(1),
		F_EFD(4), F_EFD(4), F_EFD(4),  /* 4 complete at 2, third closed */
		F_MSG(1), F_MSG(2), F_MSG(4),
		F_HANG,
	};
	struct fake_server f;
	int base = tu_count_fds(0);
	struct ivshmem *iv = fp_join(&f, s, 2, 5000);

	CHECK(ivshmem_vectors(iv) == 2, "vectors %u", ivshmem_vectors(iv));
	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 1, 1);
	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 2, 1);
	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 4, 2);
	pt_expect_event(iv, IVSHMEM_EV_PEER_LEFT, 1, 1);
	pt_expect_event(iv, IVSHMEM_EV_PEER_LEFT, 2, 1);
	pt_expect_event(iv, IVSHMEM_EV_PEER_LEFT, 4, 2);
	pt_expect_peers(iv, NULL, 0);
	pt_expect_quiet(iv, 50);
	CHECK(tu_count_fds(0) == base + 1 + 2, "after setup: %d fds",
	      tu_count_fds(0));
	fp_done(&f, iv, base, "interleaved after setup");
}

/*
 * Issue 12, item 2's root with a fake server: two peers with 1 vector
 * before us, we ask 2. Both are reported, listed and ringable, and
 * connect does not wait for the grace period: the peers told the count.
 */
static void half_peers(void)
{
	const struct fake_step s[] = {
		F_SETUP(3), F_EFD(1), F_EFD(2), F_EFD(3), F_MSG(1), F_MSG(2),
		F_HANG,
	};
	struct fake_server f;
	int base = tu_count_fds(0);
	long long t0 = tu_now_ns();
	struct ivshmem *iv = fp_join(&f, s, 2, 5000);
	const int ids[] = { 1, 2 };

	CHECK(tu_now_ns() - t0 < 400000000LL, "connect waited %lld ms",
	      (tu_now_ns() - t0) / 1000000);
	CHECK(ivshmem_vectors(iv) == 1, "vectors %u", ivshmem_vectors(iv));
	pt_expect_peers(iv, ids, 2);
	CHECK(ivshmem_ring(iv, 1, 0) == 0, "ring 1");
	CHECK(ivshmem_ring(iv, 2, 0) == 0, "ring 2");
	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 1, 1);
	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 2, 1);
	pt_expect_event(iv, IVSHMEM_EV_PEER_LEFT, 1, 1);
	pt_expect_event(iv, IVSHMEM_EV_PEER_LEFT, 2, 1);
	fp_done(&f, iv, base, "no half-peers");
}

int main(void)
{
	during_setup(2);
	during_setup(0);
	after_setup();
	half_peers();
	return 0;
}
