/* SPDX-License-Identifier: MIT */
/*
 * Devices whose vector count differs from the server's (-n 2) still
 * realize and work with the vectors both sides have:
 *  - vectors=1: QEMU closes the extra eventfds; host rings of vector 0
 *    reach it, and it can ring only the host's vector 0.
 *  - vectors=4: only vectors 0 and 1 get eventfds; they work, and the
 *    host peer knows the device by the server's count (2).
 */
#include <errno.h>
#include <unistd.h>

#include "hostpeer.h"
#include "ivdev.h"
#include "testutil.h"

static void check(struct hostpeer *hp, const char *sock, unsigned vectors)
{
	struct ivshmem_event ev;
	struct ivdev dev;
	long long deadline;
	unsigned got, joined;
	int id, status, heard = 0;

	id = hp_start_device(hp, &dev, sock, vectors, &joined);
	CHECK(joined == 2, "vectors=%u: joined with %u vectors (the "
	      "server's count is 2)", vectors, joined);

	/* Host -> device, vector 0. */
	hp_ring(hp, id, 0);
	CHECK(ivdev_wait_pending(&dev, 0, 5000), "vectors=%u: vector 0 not "
	      "pending 5 s after the host rang it", vectors);
	if (vectors > 1) {
		hp_ring(hp, id, 1);
		CHECK(ivdev_wait_pending(&dev, 1, 5000), "vectors=%u: vector "
		      "1 not pending 5 s after the host rang it", vectors);
	} else {
		/* Its fd for vector 1 was closed: nothing may happen. */
		hp_ring(hp, id, 1);
	}
	usleep(100000);
	for (unsigned v = 2; v < vectors; v++)
		CHECK(!ivdev_pending(&dev, v), "vectors=%u: vector %u "
		      "pending, it has no eventfd", vectors, v);

	/* Device -> host: only the host vectors the device kept. */
	if (vectors == 1) {
		ivdev_ring(&dev, hp->id, 1);
		CHECK(!hp_wait_vector(hp, 300, &got), "vectors=1: the device "
		      "has no fd for host vector 1, yet host vector %u fired",
		      got);
	}
	deadline = tu_now_ns() + 10000 * 1000000LL;
	while (!heard && tu_now_ns() < deadline) {
		ivdev_ring(&dev, hp->id, 0);
		heard = hp_wait_vector(hp, 200, &got);
	}
	CHECK(heard, "vectors=%u: the device rang host vector 0 for 10 s, "
	      "nothing", vectors);
	CHECK(got == 0, "vectors=%u: host vector %u fired, not 0", vectors,
	      got);
	while (hp_wait_vector(hp, 100, &got))
		CHECK(got == 0, "vectors=%u: host vector %u fired", vectors,
		      got);

	CHECK(qt_alive(&dev.qt, &status), "vectors=%u: QEMU exited (status "
	      "0x%x)", vectors, status);
	ivdev_stop(&dev);
	CHECK(hp_wait_event(hp, IVSHMEM_EV_PEER_LEFT, id, 10000, &ev),
	      "vectors=%u: no PEER_LEFT within 10 s of killing QEMU", vectors);
	fprintf(stderr, "vectors=%u against -n 2: ok (device %d)\n", vectors,
		id);
}

int main(void)
{
	struct tu_server srv;
	struct hostpeer hp;

	qt_require_qemu();
	ivdev_server_start(&srv, (const char *[]){ "-n", "2", NULL });
	hp_connect(&hp, srv.socket_path, 2);
	check(&hp, srv.socket_path, 1);
	check(&hp, srv.socket_path, 4);
	hp_close(&hp);
	CHECK(ivdev_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	return 0;
}
