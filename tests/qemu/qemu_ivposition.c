/* SPDX-License-Identifier: MIT */
/*
 * IVPosition of a real device is the id our server gave it, as a host
 * peer (libivshmem) sees it join; a device that joins after another left
 * gets a new id (ids come back only after wrap-around), and IVPosition
 * says so too.
 */
#include "hostpeer.h"
#include "ivdev.h"
#include "testutil.h"

int main(void)
{
	struct tu_server srv;
	struct hostpeer hp;
	struct ivshmem_event ev;
	struct ivdev dev;
	int first = -1;

	qt_require_qemu();
	ivdev_server_start(&srv, (const char *[]){ "-n", "2", NULL });
	hp_connect(&hp, srv.socket_path, 2);

	for (int round = 0; round < 2; round++) {
		int pos;

		ivdev_start(&dev, srv.socket_path, 2);
		CHECK(hp_wait_event(&hp, IVSHMEM_EV_PEER_JOINED, -1, 10000,
				    &ev), "device %d did not join within 10 s",
		      round);
		CHECK(ev.vectors == 2, "device joined with %u vectors",
		      ev.vectors);
		pos = ivdev_position(&dev);
		fprintf(stderr, "host peer %d, device joined as %d, "
			"IVPosition %d\n", hp.id, ev.peer, pos);
		CHECK(pos == ev.peer, "IVPosition %d, but the server "
		      "announced the device as peer %d", pos, ev.peer);
		CHECK(pos != hp.id, "the device has the host peer's id %d",
		      pos);
		CHECK(ivdev_position(&dev) == pos, "IVPosition changed");
		CHECK(first < 0 || pos != first, "the second device got the "
		      "first one's id %d back at once", first);
		first = pos;

		ivdev_stop(&dev);
		CHECK(hp_wait_event(&hp, IVSHMEM_EV_PEER_LEFT, pos, 10000,
				    &ev), "no PEER_LEFT for the device %d "
		      "within 10 s of killing its QEMU", pos);
	}

	hp_close(&hp);
	CHECK(ivdev_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	return 0;
}
