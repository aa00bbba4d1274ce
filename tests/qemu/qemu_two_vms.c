/* SPDX-License-Identifier: MIT */
/*
 * Two QEMU processes, each with its own device, on one server: a host
 * peer sees both join with 2 vectors; device A rings device B (B's id in
 * A's Doorbell) and only the rung vector becomes pending in B, and back
 * from B to A; killing B's QEMU is B leaving, for the host peer and for
 * the server, which then gives a third device a new id that A can ring.
 */
#include <errno.h>
#include <unistd.h>

#include "hostpeer.h"
#include "ivdev.h"
#include "testutil.h"

static int join(struct hostpeer *hp, struct ivdev *dev, const char *name)
{
	struct ivshmem_event ev;
	int pos;

	CHECK(hp_wait_event(hp, IVSHMEM_EV_PEER_JOINED, -1, 10000, &ev),
	      "device %s did not join within 10 s", name);
	CHECK(ev.vectors == 2, "device %s joined with %u vectors", name,
	      ev.vectors);
	pos = ivdev_position(dev);
	CHECK(pos == ev.peer, "device %s: IVPosition %d, joined as %d", name,
	      pos, ev.peer);
	fprintf(stderr, "device %s is peer %d\n", name, pos);
	return pos;
}

/*
 * 'from' learns of a new peer asynchronously: ring until the pending bit
 * shows (a doorbell for a peer it does not know yet is dropped).
 */
static int ring_until_pending(struct ivdev *from, struct ivdev *to, int to_id,
			      unsigned vector)
{
	long long deadline = tu_now_ns() + 10000 * 1000000LL;
	int rings = 0;

	while (tu_now_ns() < deadline) {
		ivdev_ring(from, to_id, vector);
		rings++;
		if (ivdev_wait_pending(to, vector, 200))
			return rings;
	}
	return 0;
}

int main(void)
{
	struct tu_server srv;
	struct hostpeer hp;
	struct ivshmem_event ev;
	struct ivdev a, b, c;
	int ida, idb, idc, rings;

	qt_require_qemu();
	ivdev_server_start(&srv, (const char *[]){ "-n", "2", NULL });
	hp_connect(&hp, srv.socket_path, 2);
	ivdev_start(&a, srv.socket_path, 2);
	ida = join(&hp, &a, "A");
	ivdev_start(&b, srv.socket_path, 2);
	idb = join(&hp, &b, "B");
	CHECK(ida != idb && ida != hp.id && idb != hp.id,
	      "ids: host %d, A %d, B %d", hp.id, ida, idb);
	CHECK(ivshmem_peers(hp.iv, NULL, 0) >= 2, "the host peer knows %d "
	      "peers", ivshmem_peers(hp.iv, NULL, 0));

	rings = ring_until_pending(&a, &b, idb, 1);
	CHECK(rings > 0, "A rang B's vector 1 for 10 s, B's pending bit "
	      "stayed clear");
	fprintf(stderr, "A -> B vector 1 after %d ring(s)\n", rings);
	usleep(200000);
	CHECK(!ivdev_pending(&b, 0), "B's vector 0 pending, only 1 was rung");
	CHECK(!ivdev_pending(&a, 0) && !ivdev_pending(&a, 1),
	      "A's own vectors pending");
	for (unsigned v = 0; v < 2; v++)
		CHECK(ivshmem_ack(hp.iv, v) == 0, "host vector %u fired", v);

	/* B knew A from its setup: no retry needed, but allowed. */
	rings = ring_until_pending(&b, &a, ida, 0);
	CHECK(rings > 0, "B rang A's vector 0 for 10 s, A's pending bit "
	      "stayed clear");
	CHECK(!ivdev_pending(&a, 1), "A's vector 1 pending, only 0 was rung");

	/* B's QEMU dies: B leaves. */
	ivdev_stop(&b);
	CHECK(hp_wait_event(&hp, IVSHMEM_EV_PEER_LEFT, idb, 10000, &ev),
	      "no PEER_LEFT for B (%d) within 10 s of killing its QEMU", idb);
	CHECK(ivshmem_peer_vectors(hp.iv, idb) == -ENOENT, "B still known");
	CHECK(ivshmem_peer_vectors(hp.iv, ida) == 2, "A no longer known");

	/* A third device gets a new id, and A can ring it. */
	ivdev_start(&c, srv.socket_path, 2);
	idc = join(&hp, &c, "C");
	CHECK(idc != idb && idc != ida, "C got id %d (A %d, B %d)", idc, ida,
	      idb);
	rings = ring_until_pending(&a, &c, idc, 1);
	CHECK(rings > 0, "A rang C's vector 1 for 10 s, C's pending bit "
	      "stayed clear");
	CHECK(!ivdev_pending(&c, 0), "C's vector 0 pending");

	ivdev_stop(&a);
	CHECK(hp_wait_event(&hp, IVSHMEM_EV_PEER_LEFT, ida, 10000, &ev),
	      "no PEER_LEFT for A (%d) within 10 s of killing its QEMU", ida);
	ivdev_stop(&c);
	CHECK(hp_wait_event(&hp, IVSHMEM_EV_PEER_LEFT, idc, 10000, &ev),
	      "no PEER_LEFT for C (%d) within 10 s of killing its QEMU", idc);
	hp_close(&hp);
	CHECK(ivdev_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	return 0;
}
