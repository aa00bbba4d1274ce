/* SPDX-License-Identifier: MIT */
/*
 * The device rings a host peer through its Doorbell register: the host
 * peer's eventfd for exactly that vector fires. Also: the device ringing
 * itself sets its own pending bit, and a doorbell for a peer that does not
 * exist is dropped without harm.
 */
#include <unistd.h>

#include "hostpeer.h"
#include "ivdev.h"
#include "testutil.h"

/*
 * The device learns of the host peer from the server asynchronously, after
 * it realized: until then a doorbell for it is dropped. So ring until the
 * host hears it (a few rings at most, if any).
 */
static int ring_until_heard(struct ivdev *dev, struct hostpeer *hp,
			    unsigned vector, unsigned *got)
{
	long long deadline = tu_now_ns() + 10000 * 1000000LL;
	int rings = 0;

	while (tu_now_ns() < deadline) {
		ivdev_ring(dev, hp->id, vector);
		rings++;
		if (hp_wait_vector(hp, 200, got))
			return rings;
	}
	return 0;
}

int main(void)
{
	struct tu_server srv;
	struct hostpeer hp;
	struct ivdev dev;
	unsigned got;
	long long t0;
	int id, rings;

	qt_require_qemu();
	ivdev_server_start(&srv, (const char *[]){ "-n", "2", NULL });
	hp_connect(&hp, srv.socket_path, 2);
	id = hp_start_device(&hp, &dev, srv.socket_path, 2, NULL);

	t0 = tu_now_ns();
	rings = ring_until_heard(&dev, &hp, 1, &got);
	CHECK(rings > 0, "the device rang host peer %d vector 1 for 10 s, "
	      "the host heard nothing", hp.id);
	CHECK(got == 1, "the device rang vector 1, host vector %u fired",
	      got);
	fprintf(stderr, "vector 1 heard after %d ring(s), %lld us\n", rings,
		(tu_now_ns() - t0) / 1000);
	/* Several rings may have merged into one notification, or not. */
	while (hp_wait_vector(&hp, 200, &got))
		CHECK(got == 1, "host vector %u fired, only 1 was rung", got);
	CHECK(ivshmem_ack(hp.iv, 0) == 0, "host vector 0 fired");

	t0 = tu_now_ns();
	ivdev_ring(&dev, hp.id, 0);
	CHECK(hp_wait_vector(&hp, 5000, &got), "the device rang host vector "
	      "0, nothing within 5 s");
	CHECK(got == 0, "the device rang vector 0, host vector %u fired", got);
	fprintf(stderr, "vector 0 heard after %lld us\n",
		(tu_now_ns() - t0) / 1000);
	CHECK(!hp_wait_vector(&hp, 200, &got), "host vector %u fired again",
	      got);

	/* Doorbells that go nowhere: a vector the host lacks, no such peer. */
	ivdev_ring(&dev, hp.id, 5);
	ivdev_ring(&dev, 0xfffe, 0);
	CHECK(!hp_wait_vector(&hp, 200, &got), "host vector %u fired", got);
	CHECK(qt_alive(&dev.qt, NULL), "QEMU exited on a stray doorbell");

	/* The device rings itself. */
	CHECK(!ivdev_pending(&dev, 1), "device vector 1 already pending");
	ivdev_ring(&dev, id, 1);
	CHECK(ivdev_wait_pending(&dev, 1, 5000), "the device rang its own "
	      "vector 1, not pending after 5 s");
	CHECK(!ivdev_pending(&dev, 0), "device vector 0 pending");

	ivdev_stop(&dev);
	hp_close(&hp);
	CHECK(ivdev_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	return 0;
}
