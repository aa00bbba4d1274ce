/* SPDX-License-Identifier: MIT */
/*
 * QEMU's ivshmem-doorbell device maps the server's default region, a
 * sealed memfd (issue 12): BAR2 and a host peer's mapping are the same
 * memory, both ways, and a hostile host peer's ftruncate() of it fails
 * with EPERM while the VM keeps reading and writing it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostpeer.h"
#include "ivdev.h"
#include "testutil.h"
#include "wire.h"

/* A raw peer's shm fd (the third message of its setup). */
static int raw_shm(const char *sock, int *conn)
{
	struct ivproto_rx rx = IVPROTO_RX_INIT;
	int64_t v = 0;
	int fd = -1;

	*conn = tu_connect(sock);
	CHECK(*conn >= 0, "connect: %s", strerror(-*conn));
	for (int i = 0; i < 3; i++) {
		if (fd >= 0)
			close(fd);
		CHECK(ivproto_recv(&rx, *conn, &v, &fd) == 0, "setup");
	}
	CHECK(v == IVPROTO_SHM_ID && fd >= 0, "no shm fd");
	return fd;
}

int main(void)
{
	static uint8_t want[4096], got[4096];
	struct hostpeer hp;
	struct ivshmem_event ev;
	struct ivdev dev;
	volatile uint8_t *mem;
	static const char *const args[] = { "-q", "-n", "2", NULL };
	struct tu_server srv;
	const char *sock;
	int shm, conn, seals;
	size_t size;

	qt_require_qemu();
	tu_server_start_default(&srv, args);
	sock = srv.socket_path;
	shm = raw_shm(sock, &conn);
	seals = fcntl(shm, F_GET_SEALS);
	CHECK(seals >= 0 && (seals & F_SEAL_SHRINK) && (seals & F_SEAL_GROW),
	      "the default region is not sealed: 0x%x", seals);

	hp_connect(&hp, sock, 2);
	mem = ivshmem_mem(hp.iv);
	size = ivshmem_size(hp.iv);
	ivdev_start(&dev, sock, 2);
	CHECK(hp_wait_event(&hp, IVSHMEM_EV_PEER_JOINED, -1, 10000, &ev),
	      "the device did not join within 10 s");
	CHECK(dev.shm_size == size, "BAR2 0x%llx bytes, host mapping %zu",
	      (unsigned long long)dev.shm_size, size);

	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 7 + 3);
	memcpy((void *)(mem + size - sizeof(want)), want, sizeof(want));
	__sync_synchronize();
	qt_memread(&dev.qt, dev.shm + size - sizeof(got), got, sizeof(got));
	CHECK(!memcmp(got, want, sizeof(got)), "BAR2 does not show what the "
	      "host wrote");

	/* The hostile host peer; the VM is still there afterwards. */
	CHECK(ftruncate(shm, 0) < 0 && errno == EPERM, "ftruncate(0): %s",
	      strerror(errno));
	qt_writel(&dev.qt, dev.shm + size - 4, 0xdeadbeef);
	__sync_synchronize();
	CHECK(mem[size - 4] == 0xef && mem[size - 1] == 0xde, "the host does "
	      "not see what was written through BAR2");
	CHECK(qt_readb(&dev.qt, dev.shm + size - 8) == want[sizeof(want) - 8],
	      "BAR2 read after the truncation attempt");
	printf("QEMU's device mapped the sealed memfd (seals 0x%x, %zu bytes);"
	       " ftruncate by a host peer: EPERM; BAR2 still read and "
	       "written\n", seals, size);

	ivdev_stop(&dev);
	hp_close(&hp);
	close(shm);
	close(conn);
	return 0;
}
