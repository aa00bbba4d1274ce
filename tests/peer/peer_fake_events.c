/* SPDX-License-Identifier: MIT */
/*
 * A scripted server that completes the setup oddly or misbehaves after
 * it: vector counts that differ from ours, peers with missing or extra
 * vectors, bad messages in the event stream. Checks the events, the
 * errors and the fd count.
 */
#include "fakepeer.h"

/* More own vectors than we ask for: the extras are closed. */
static void more_own(void)
{
	const struct fake_step s[] = {
		F_SETUP(3), F_EFD(3), F_EFD(3), F_EFD(3), F_EFD(3), F_END,
	};
	struct fake_server f;
	int base = tu_count_fds(0);
	struct ivshmem *iv = fp_join(&f, s, 2, 5000);

	CHECK(ivshmem_vectors(iv) == 2, "vectors %u", ivshmem_vectors(iv));
	pt_expect_event(iv, IVSHMEM_EV_SERVER_GONE, -1, 0);
	CHECK(tu_count_fds(0) == base + 1 + 2, "more own: %d fds",
	      tu_count_fds(0));
	fp_done(&f, iv, base, "more own vectors");
}

/*
 * Fewer own vectors, told by the next message being about another peer.
 * Peer 1 had 2 vectors; we end with 1, so it keeps 1.
 */
static void fewer_own_next_id(void)
{
	const struct fake_step s[] = {
		F_SETUP(3), F_EFD(1), F_EFD(1), F_EFD(3), F_EFD(7), F_HANG,
	};
	struct fake_server f;
	int base = tu_count_fds(0);
	struct ivshmem *iv = fp_join(&f, s, 3, 5000);

	CHECK(ivshmem_vectors(iv) == 1, "vectors %u", ivshmem_vectors(iv));
	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 1, 1);
	/* 7 has as many vectors as we do: complete at once. */
	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 7, 1);
	CHECK(tu_count_fds(0) == base + 1 + 1 + 1 + 1, "fewer own: %d fds",
	      tu_count_fds(0));
	CHECK(ivshmem_ring(iv, 1, 0) == 0, "ring 1");
	CHECK(ivshmem_ring(iv, 1, 1) == -EINVAL, "ring 1 vector 1");
	fp_done(&f, iv, base, "fewer own vectors, next id");
}

/* Fewer own vectors and then silence: the grace period ends setup. */
static void fewer_own_silence(void)
{
	const struct fake_step s[] = { F_SETUP(3), F_EFD(3), F_HANG };
	struct fake_server f;
	int base = tu_count_fds(0);
	long long t0 = tu_now_ns();
	struct ivshmem *iv = fp_join(&f, s, 2, 20000);

	CHECK(tu_now_ns() - t0 < 5000000000LL, "connect waited too long");
	CHECK(ivshmem_vectors(iv) == 1, "vectors %u", ivshmem_vectors(iv));
	fp_done(&f, iv, base, "fewer own vectors, silence");

	/* A timeout shorter than the grace period ends it sooner. */
	base = tu_count_fds(0);
	t0 = tu_now_ns();
	iv = fp_join(&f, s, 2, 100);
	CHECK(tu_now_ns() - t0 < 400000000LL, "connect ignored its timeout");
	CHECK(ivshmem_vectors(iv) == 1, "vectors %u", ivshmem_vectors(iv));
	fp_done(&f, iv, base, "fewer own vectors, short timeout");
}

/* An existing peer with more vectors than ours keeps only ours. */
static void existing_peer_more(void)
{
	const struct fake_step s[] = {
		F_SETUP(3), F_EFD(1), F_EFD(1), F_EFD(1), F_EFD(3), F_HANG,
	};
	struct fake_server f;
	int base = tu_count_fds(0);
	struct ivshmem *iv = fp_join(&f, s, 1, 5000);

	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 1, 1);
	CHECK(ivshmem_peer_vectors(iv, 1) == 1, "peer 1 vectors");
	CHECK(tu_count_fds(0) == base + 3, "existing more: %d fds",
	      tu_count_fds(0));
	fp_done(&f, iv, base, "existing peer with more vectors");
}

/*
 * After setup: a peer with fewer vectors is complete when another id
 * comes; one with ours at once; a pending peer leaving is never seen;
 * an unknown one leaving is ignored; an extra vector is closed; EOF in
 * the middle of a message is the server going.
 */
static void peer_stream(void)
{
	const struct fake_step s[] = {
		F_SETUP(3), F_EFD(3), F_EFD(3),
		F_EFD(5),             /* 5: pending */
		F_EFD(6), F_EFD(6),   /* 5 complete with 1, 6 at once */
		F_EFD(8), F_MSG(8),   /* 8 pending, then gone: silent */
		F_MSG(9),             /* never there: ignored */
		F_EFD(6),             /* a third vector of 6: closed */
		F_MSG(5),             /* 5 left */
		F_EFD(10),            /* pending when the server goes */
		F_HALF(11),
	};
	struct fake_server f;
	int base = tu_count_fds(0);
	struct ivshmem *iv = fp_join(&f, s, 2, 5000);

	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 5, 1);
	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 6, 2);
	pt_expect_event(iv, IVSHMEM_EV_PEER_LEFT, 5, 1);
	pt_expect_event(iv, IVSHMEM_EV_PEER_JOINED, 10, 1);
	pt_expect_event(iv, IVSHMEM_EV_SERVER_GONE, -1, 0);
	{
		int ids[] = { 6, 10 };

		pt_expect_peers(iv, ids, 2);
	}
	CHECK(ivshmem_process(iv) == -ENOTCONN, "process after gone");
	/* Socket, 2 own, 2 of peer 6, 1 of peer 10. */
	CHECK(tu_count_fds(0) == base + 1 + 2 + 2 + 1, "stream: %d fds",
	      tu_count_fds(0));
	fp_done(&f, iv, base, "peer stream");
}

/* A bad message after setup: that error once, then SERVER_GONE. */
static void bad_after_setup(const char *name, struct fake_step bad)
{
	const struct fake_step s[] = {
		F_SETUP(3), F_EFD(3), F_EFD(5), bad, F_EFD(6), F_HANG,
	};
	struct fake_server f;
	struct ivshmem_event ev[3];
	int base = tu_count_fds(0), rc, errors = 0, nev = 0;
	struct ivshmem *iv = fp_join(&f, s, 1, 5000);
	unsigned vec;

	/*
	 * The error comes from the process() call that reads the bad
	 * message, which may be the one that queued JOINED 5: collect.
	 */
	while (nev < 2) {
		rc = ivshmem_wait(iv, 5000, &vec);
		if (rc == -EPROTO) {
			CHECK(!errors++, "%s: -EPROTO twice", name);
			continue;
		}
		CHECK(rc == 2, "%s: wait returned %d", name, rc);
		CHECK(ivshmem_next_event(iv, &ev[nev++]) == 1, "no event");
	}
	CHECK(errors == 1, "%s: no -EPROTO", name);
	CHECK(ev[0].type == IVSHMEM_EV_PEER_JOINED && ev[0].peer == 5 &&
	      ev[0].vectors == 1, "%s: no JOINED 5", name);
	CHECK(ev[1].type == IVSHMEM_EV_SERVER_GONE, "%s: no SERVER_GONE", name);
	CHECK(ivshmem_next_event(iv, &ev[2]) == 0, "%s: more events", name);
	CHECK(ivshmem_process(iv) == -ENOTCONN, "%s: process after", name);
	pt_expect_quiet(iv, 50);
	/* Peer 5 is still there; 6 never came. */
	CHECK(ivshmem_peer_vectors(iv, 5) == 1, "%s: 5 forgotten", name);
	CHECK(ivshmem_peer_vectors(iv, 6) == -ENOENT, "%s: 6 known", name);
	fp_done(&f, iv, base, name);
}

/* ivshmem_mem_sealed(): 1 only for a memfd sealed against shrinking. */
static void sealed(enum fake_fd kind, int expect, const char *name)
{
	const struct fake_step s[] = {
		F_MSG(0), F_MSG(3), F_MSGFD(-1, kind), F_EFD(3), F_HANG,
	};
	struct fake_server f;
	int base = tu_count_fds(0);
	struct ivshmem *iv = fp_join(&f, s, 1, 5000);

	CHECK(ivshmem_mem_sealed(iv) == expect, "%s: sealed %d", name,
	      ivshmem_mem_sealed(iv));
	((volatile char *)ivshmem_mem(iv))[FAKE_SHM_SIZE - 1] = 1;
	fp_done(&f, iv, base, name);
}

int main(void)
{
	sealed(FD_SHM, 0, "unsealed memfd");
	sealed(FD_SHM_GROW, 0, "memfd sealed against growing only");
	sealed(FD_SHM_SEALED, 1, "memfd sealed against shrinking");
	more_own();
	fewer_own_next_id();
	fewer_own_silence();
	existing_peer_more();
	peer_stream();
	bad_after_setup("shm after setup",
			(struct fake_step)F_MSGFD(-1, FD_SHM));
	bad_after_setup("id 65536 after setup", (struct fake_step)F_EFD(65536));
	bad_after_setup("id -2 after setup", (struct fake_step)F_MSG(-2));
	bad_after_setup("we are told we left", (struct fake_step)F_MSG(3));
	bad_after_setup("two fds after setup",
			(struct fake_step)F_MSGFD(7, FD_TWO));
	return 0;
}
