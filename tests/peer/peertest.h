/* SPDX-License-Identifier: MIT */
/* Helpers of the libivshmem tests. */
#ifndef IVSHMEM_TESTS_PEERTEST_H
#define IVSHMEM_TESTS_PEERTEST_H

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "ivshmem/ivshmem.h"
#include "testutil.h"

static inline const char *pt_evname(int type)
{
	switch (type) {
	case IVSHMEM_EV_PEER_JOINED:
		return "JOINED";
	case IVSHMEM_EV_PEER_LEFT:
		return "LEFT";
	case IVSHMEM_EV_SERVER_GONE:
		return "SERVER_GONE";
	}
	return "?";
}

/* Wait (5 s at most) for the next event and check it is this one. */
static inline void pt_expect_event(struct ivshmem *iv, int type, int peer,
				   unsigned vectors)
{
	struct ivshmem_event ev;
	unsigned vec = 0;
	int rc = ivshmem_wait(iv, 5000, &vec);

	CHECK(rc == 2, "peer %d waiting for %s %d: wait returned %d "
	      "(vector %u)", ivshmem_id(iv), pt_evname(type), peer, rc, vec);
	CHECK(ivshmem_next_event(iv, &ev) == 1, "no event");
	CHECK((int)ev.type == type && ev.peer == peer && ev.vectors == vectors,
	      "peer %d: expected %s %d (%u vectors), got %s %d (%u vectors)",
	      ivshmem_id(iv), pt_evname(type), peer, vectors,
	      pt_evname(ev.type), ev.peer, ev.vectors);
}

/* Wait (5 s at most) for a doorbell and check it is on this vector. */
static inline void pt_expect_ring(struct ivshmem *iv, unsigned vector)
{
	unsigned vec = 99;
	int rc = ivshmem_wait(iv, 5000, &vec);

	CHECK(rc == 1 && vec == vector, "peer %d waiting for vector %u: "
	      "wait returned %d (vector %u)", ivshmem_id(iv), vector, rc, vec);
}

/* Nothing pending for ms milliseconds: no event, no doorbell. */
static inline void pt_expect_quiet(struct ivshmem *iv, int ms)
{
	unsigned vec = 99;
	int rc = ivshmem_wait(iv, ms, &vec);

	CHECK(rc == 0, "peer %d: expected nothing, wait returned %d "
	      "(vector %u)", ivshmem_id(iv), rc, vec);
}

static inline void pt_expect_peers(struct ivshmem *iv, const int *ids, int n)
{
	int got[64];
	int rc = ivshmem_peers(iv, got, 64);

	CHECK(rc == n, "peer %d has %d peers, expected %d", ivshmem_id(iv),
	      rc, n);
	for (int i = 0; i < n; i++)
		CHECK(got[i] == ids[i], "peer %d: peers[%d] is %d, expected %d",
		      ivshmem_id(iv), i, got[i], ids[i]);
}

/*
 * A failed CHECK exits; the server would outlive the test and, holding
 * ctest's output pipe, keep ctest waiting until its timeout.
 */
static struct tu_server *pt_servers[8];

static inline void pt_kill_servers(void)
{
	for (int i = 0; i < 8; i++)
		if (pt_servers[i] && pt_servers[i]->pid > 0)
			kill(pt_servers[i]->pid, SIGKILL);
}

static inline void pt_server_start(struct tu_server *s,
				   const char *const *args)
{
	static int registered;
	int i = 0;

	if (!registered++)
		atexit(pt_kill_servers);
	while (i < 7 && pt_servers[i])
		i++;
	pt_servers[i] = s;
	tu_server_start(s, args);
}

static inline int pt_server_stop(struct tu_server *s)
{
	for (int i = 0; i < 8; i++)
		if (pt_servers[i] == s)
			pt_servers[i] = NULL;
	return tu_server_stop(s);
}

/*
 * tu_server_start() probes the server with a connection that leaves at
 * once; the first peer may still see it join and leave. Wait until that
 * is over: no peers, no events.
 */
static inline void pt_settle(struct ivshmem *iv)
{
	struct ivshmem_event ev;

	for (int i = 0; i < 100; i++) {
		while (ivshmem_next_event(iv, &ev) == 1)
			CHECK(ev.type != IVSHMEM_EV_SERVER_GONE, "server gone");
		if (ivshmem_peers(iv, NULL, 0) == 0)
			return;
		CHECK(ivshmem_wait(iv, 5000, NULL) == 2, "no LEFT event");
	}
	CHECK(0, "peers do not leave");
}

/*
 * Two 1-vector peers on server s, a first (settled), each having seen the
 * other's JOINED.
 */
static inline void pt_pair(const struct tu_server *s, struct ivshmem **a,
			   struct ivshmem **b)
{
	int rc = ivshmem_connect(a, s->socket_path, 1, 5000);

	CHECK(rc == 0, "connect a: %s", strerror(-rc));
	pt_settle(*a);
	rc = ivshmem_connect(b, s->socket_path, 1, 5000);
	CHECK(rc == 0, "connect b: %s", strerror(-rc));
	pt_expect_event(*a, IVSHMEM_EV_PEER_JOINED, ivshmem_id(*b), 1);
	pt_expect_event(*b, IVSHMEM_EV_PEER_JOINED, ivshmem_id(*a), 1);
}

#endif
