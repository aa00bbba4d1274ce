/* SPDX-License-Identifier: MIT */
/*
 * QEMU's ivshmem-doorbell joins our server: the device realizes, its PCI
 * side looks as QEMU's device should (ids, BARs, MSI-X), BAR2 is as large
 * as the server's shared memory, and IVPosition is the id that a raw
 * protocol client (no libivshmem) is told the new peer has.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "ivdev.h"
#include "testutil.h"
#include "wire.h"

/* One message within timeout_ms; fails the test on anything else. */
static void recv_msg(int sock, struct ivproto_rx *rx, int64_t *value, int *fd,
		     int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;

	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		long long left = (deadline - tu_now_ns()) / 1000000;
		int rc;

		CHECK(left > 0, "no message from the server within %d ms",
		      timeout_ms);
		rc = poll(&pfd, 1, (int)left);
		CHECK(rc >= 0 || errno == EINTR, "poll: %s", strerror(errno));
		if (rc <= 0)
			continue;
		rc = ivproto_recv(rx, sock, value, fd);
		if (rc == -EAGAIN)
			continue;
		CHECK(rc == 0, "ivproto_recv: %s", strerror(-rc));
		return;
	}
}

struct raw_peer {
	int sock;
	int id;
	struct ivproto_rx rx;
};

/* Connect and read the whole setup for 'vectors' vectors, no other peer. */
static void raw_connect(struct raw_peer *p, const char *path,
			unsigned vectors)
{
	int64_t v;
	int fd;

	p->sock = tu_connect(path);
	CHECK(p->sock >= 0, "connect %s: %s", path, strerror(-p->sock));
	p->rx = (struct ivproto_rx)IVPROTO_RX_INIT;
	recv_msg(p->sock, &p->rx, &v, &fd, 5000);
	CHECK(v == IVPROTO_VERSION && fd < 0, "version message %lld/%d",
	      (long long)v, fd);
	recv_msg(p->sock, &p->rx, &v, &fd, 5000);
	CHECK(v >= 0 && v <= IVPROTO_MAX_PEER_ID && fd < 0,
	      "id message %lld/%d", (long long)v, fd);
	p->id = (int)v;
	recv_msg(p->sock, &p->rx, &v, &fd, 5000);
	CHECK(v == IVPROTO_SHM_ID && fd >= 0, "shm message %lld/%d",
	      (long long)v, fd);
	close(fd);
	/*
	 * Peers already there come first (tu_server_start()'s probe may be
	 * one: it closes at once, but the server may not have seen it yet),
	 * and any of them may leave meanwhile.
	 */
	for (unsigned own = 0; own < vectors;) {
		recv_msg(p->sock, &p->rx, &v, &fd, 5000);
		if (v == p->id) {
			CHECK(fd >= 0, "own vector %u without an eventfd", own);
			own++;
		}
		if (fd >= 0)
			close(fd);
	}
}

/* The next peer to join, with 'vectors' eventfds: its id. */
static int raw_wait_join(struct raw_peer *p, unsigned vectors)
{
	int64_t v;
	int fd, id = -1;

	for (unsigned i = 0; i < vectors;) {
		recv_msg(p->sock, &p->rx, &v, &fd, 10000);
		if (fd < 0) {
			/* Some earlier peer left. */
			CHECK(v != id, "peer %d left while joining", id);
			continue;
		}
		close(fd);
		CHECK(v != p->id, "the server gave a new peer our id %d",
		      p->id);
		CHECK(id < 0 || v == id, "vectors of peers %d and %lld mixed",
		      id, (long long)v);
		id = (int)v;
		i++;
	}
	return id;
}

static void check_once(const char *size, uint64_t want_size)
{
	const char *args[] = { "-n", "2", size ? "-l" : NULL, size, NULL };
	struct tu_server srv;
	struct raw_peer raw;
	struct ivdev dev;
	long long t0;
	int id, pos;

	ivdev_server_start(&srv, args);
	raw_connect(&raw, srv.socket_path, 2);

	t0 = tu_now_ns();
	ivdev_start(&dev, srv.socket_path, 2);
	fprintf(stderr, "QEMU up and PCI set up in %lld ms\n",
		(tu_now_ns() - t0) / 1000000);
	CHECK(dev.shm_size == want_size, "BAR2 is 0x%llx bytes, the server "
	      "has 0x%llx", (unsigned long long)dev.shm_size,
	      (unsigned long long)want_size);
	CHECK(dev.msix.vectors == 2, "%u MSI-X vectors", dev.msix.vectors);

	id = raw_wait_join(&raw, 2);
	CHECK(id != raw.id, "the device got our id %d", id);
	pos = ivdev_position(&dev);
	CHECK(pos == id, "IVPosition is %d, the server announced the device "
	      "as peer %d", pos, id);
	fprintf(stderr, "raw peer %d, device %d, BAR2 0x%llx bytes\n", raw.id,
		pos, (unsigned long long)dev.shm_size);

	/* Killing QEMU is the device leaving. */
	ivdev_stop(&dev);
	{
		int64_t v;
		int fd;

		do {
			recv_msg(raw.sock, &raw.rx, &v, &fd, 10000);
			CHECK(fd < 0, "want 'peer %d left', got a join of "
			      "%lld", id, (long long)v);
		} while (v != id);
	}
	ivproto_rx_reset(&raw.rx);
	close(raw.sock);
	CHECK(ivdev_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
}

int main(void)
{
	qt_require_qemu();
	check_once(NULL, 4 << 20);
	check_once("64K", 64 << 10);
	check_once("16M", 16 << 20);
	return 0;
}
