/* SPDX-License-Identifier: MIT */
/*
 * A host peer rings the device: the rung vector's MSI-X pending bit gets
 * set (every vector is masked), the other vector's does not, and the
 * legacy IntrStatus register stays clear (the device is in MSI-X mode).
 */
#include <errno.h>
#include <unistd.h>

#include "hostpeer.h"
#include "ivdev.h"
#include "testutil.h"

int main(void)
{
	struct tu_server srv;
	struct hostpeer hp;
	struct ivdev dev;
	long long t0;
	int id;

	qt_require_qemu();
	ivdev_server_start(&srv, (const char *[]){ "-n", "2", NULL });
	hp_connect(&hp, srv.socket_path, 2);
	id = hp_start_device(&hp, &dev, srv.socket_path, 2, NULL);
	CHECK(ivshmem_peer_vectors(hp.iv, id) == 2, "the device has %d "
	      "vectors for the host", ivshmem_peer_vectors(hp.iv, id));

	/* Vector 1 first, so a device that maps everything to 0 fails. */
	t0 = tu_now_ns();
	hp_ring(&hp, id, 1);
	CHECK(ivdev_wait_pending(&dev, 1, 5000),
	      "vector 1 not pending 5 s after the host rang it");
	fprintf(stderr, "vector 1 pending after %lld us\n",
		(tu_now_ns() - t0) / 1000);
	usleep(200000);
	CHECK(!ivdev_pending(&dev, 0), "vector 0 pending, only 1 was rung");
	CHECK(ivdev_reg(&dev, IVDEV_INTR_STATUS) == 0,
	      "IntrStatus 0x%x in MSI-X mode", ivdev_reg(&dev,
							IVDEV_INTR_STATUS));

	t0 = tu_now_ns();
	hp_ring(&hp, id, 0);
	CHECK(ivdev_wait_pending(&dev, 0, 5000),
	      "vector 0 not pending 5 s after the host rang it");
	fprintf(stderr, "vector 0 pending after %lld us\n",
		(tu_now_ns() - t0) / 1000);
	CHECK(ivdev_pending(&dev, 1), "vector 1 no longer pending");

	/* A vector the device does not have is refused by the library. */
	CHECK(ivshmem_ring(hp.iv, id, 2) == -EINVAL, "ringing vector 2 of a "
	      "2-vector device did not fail with -EINVAL");
	CHECK(qt_alive(&dev.qt, NULL), "QEMU exited");

	ivdev_stop(&dev);
	hp_close(&hp);
	CHECK(ivdev_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	return 0;
}
