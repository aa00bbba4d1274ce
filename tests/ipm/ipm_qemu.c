/* SPDX-License-Identifier: MIT */
/*
 * Doorbell-mode IPM against QEMU's ivshmem-doorbell device, driven through
 * qtest as Zephyr's ipm_ivshmem driver would drive it: a host IPM peer's
 * ipm_send() sets the device's vector 0 pending bit (and no other), and
 * the device's Doorbell register write (peer << 16 | 0) reaches the host
 * peer's callback with id 0 and no data.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ipmtest.h"
#include "ivdev.h"

struct calls {
	int n, bad;
};

static void cb(struct ipm *ipm, void *user, uint32_t id,
	       const volatile void *data, size_t size)
{
	struct calls *c = user;

	(void)ipm;
	c->n++;
	if (id != 0 || data || size)
		c->bad++;
}

int main(void)
{
	struct ipm_config cfg = { .mode = IPM_MODE_DOORBELL };
	struct calls c = { 0 };
	struct tu_server srv;
	struct ivdev dev;
	struct ipm *host;
	long long deadline, t0;
	int dev_id, rc, rings = 0;

	it_init();
	qt_require_qemu();
	ivdev_server_start(&srv, (const char *[]){ "-n", "2", NULL });
	host = it_open(srv.socket_path, &cfg);
	ipm_register_callback(host, cb, &c);
	ivdev_start(&dev, srv.socket_path, 2);
	dev_id = ivdev_position(&dev);
	IT_CHECK(dev_id >= 0 && dev_id != it_id(host), "device id %d, host "
		 "peer %d", dev_id, it_id(host));

	/* Host to device: vector 0 of the device's id, nothing else. */
	t0 = tu_now_ns();
	deadline = t0 + 10000000000LL;
	while ((rc = ipm_send(host, 0, (uint32_t)dev_id, NULL, 0)) ==
	       -ENOTCONN) {
		IT_CHECK(tu_now_ns() < deadline, "the host peer did not learn "
			 "of device %d within 10 s", dev_id);
		usleep(1000);
	}
	IT_CHECK(rc == 0, "ipm_send to the device: %s", strerror(-rc));
	IT_CHECK(ivdev_wait_pending(&dev, 0, 5000), "device vector 0 not "
		 "pending 5 s after the host's ipm_send()");
	it_log("host ipm_send -> device vector 0 pending in %lld us",
	       (tu_now_ns() - t0) / 1000);
	usleep(100000);
	IT_CHECK(!ivdev_pending(&dev, 1), "device vector 1 pending too");
	IT_CHECK(ivdev_reg(&dev, IVDEV_INTR_STATUS) == 0, "IntrStatus set");

	/*
	 * Device to host. The device learns of the host peer asynchronously
	 * and drops doorbells for peers it does not know yet: ring until
	 * the callback runs.
	 */
	t0 = tu_now_ns();
	deadline = t0 + 10000000000LL;
	while (c.n == 0) {
		IT_CHECK(tu_now_ns() < deadline, "the device rang peer %d "
			 "vector 0 for 10 s, no callback", it_id(host));
		ivdev_ring(&dev, it_id(host), 0);
		rings++;
		IT_CHECK(ipm_poll(host, 200) >= 0, "ipm_poll");
	}
	IT_CHECK(c.bad == 0, "callback with an id, data or a size");
	it_log("device doorbell -> host callback after %d ring(s), %lld us",
	       rings, (tu_now_ns() - t0) / 1000);
	/* Once more, now that the device knows us: exactly one callback. */
	while (ipm_poll(host, 200) > 0)
		;
	c.n = 0;
	ivdev_ring(&dev, it_id(host), 0);
	IT_CHECK(ipm_poll(host, 5000) == 1 && c.n == 1, "second doorbell: %d "
		 "callbacks", c.n);
	/* Vector 1 is not IPM's: no callback. */
	ivdev_ring(&dev, it_id(host), 1);
	IT_CHECK(ipm_poll(host, 300) == 0, "callback for vector 1");

	/* The device goes away: the host peer gets -ENOTCONN. */
	ivdev_stop(&dev);
	deadline = tu_now_ns() + 10000000000LL;
	while ((rc = ipm_send(host, 0, (uint32_t)dev_id, NULL, 0)) == 0) {
		IT_CHECK(tu_now_ns() < deadline, "device gone, still "
			 "ringable after 10 s");
		usleep(1000);
	}
	IT_CHECK(rc == -ENOTCONN, "send to the departed device: %d", rc);
	ipm_close(host);
	IT_CHECK(ivdev_server_stop(&srv) == 0, "server exit status, see %s",
		 srv.log_path);
	return 0;
}
