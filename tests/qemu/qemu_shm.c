/* SPDX-License-Identifier: MIT */
/*
 * The device's BAR2 and a host peer's mapping are the same memory: bytes
 * written through BAR2 with qtest are in the host's mapping, bytes the
 * host writes are read through BAR2, at the start, the middle and the very
 * end of the region. The memory starts zeroed.
 */
#include <string.h>

#include "hostpeer.h"
#include "ivdev.h"
#include "testutil.h"

static void pattern(uint8_t *buf, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
}

int main(void)
{
	static uint8_t want[8192], got[8192];
	struct tu_server srv;
	struct hostpeer hp;
	struct ivshmem_event ev;
	struct ivdev dev;
	volatile uint8_t *mem;
	size_t size;
	uint64_t q;
	long long t0;

	qt_require_qemu();
	ivdev_server_start(&srv, (const char *[]){ "-n", "2", NULL });
	hp_connect(&hp, srv.socket_path, 2);
	mem = ivshmem_mem(hp.iv);
	size = ivshmem_size(hp.iv);
	ivdev_start(&dev, srv.socket_path, 2);
	CHECK(hp_wait_event(&hp, IVSHMEM_EV_PEER_JOINED, -1, 10000, &ev),
	      "the device did not join within 10 s");
	CHECK(dev.shm_size == size, "BAR2 0x%llx bytes, host mapping %zu",
	      (unsigned long long)dev.shm_size, size);
	CHECK(size >= 3 * sizeof(want), "shared memory of %zu bytes", size);

	/* Fresh memory is zero, seen from the device. */
	qt_memread(&dev.qt, dev.shm + size / 2, got, sizeof(got));
	memset(want, 0, sizeof(want));
	CHECK(!memcmp(got, want, sizeof(got)), "fresh shared memory is not "
	      "zero at 0x%zx", size / 2);

	/* Host -> device, at the start and the end. */
	pattern(want, sizeof(want), 1);
	memcpy((void *)mem, want, sizeof(want));
	memcpy((void *)(mem + size - sizeof(want)), want, sizeof(want));
	__sync_synchronize();
	t0 = tu_now_ns();
	qt_memread(&dev.qt, dev.shm, got, sizeof(got));
	CHECK(!memcmp(got, want, sizeof(got)), "BAR2 does not show what the "
	      "host wrote at offset 0");
	fprintf(stderr, "read 8K through BAR2 in %lld us\n",
		(tu_now_ns() - t0) / 1000);
	qt_memread(&dev.qt, dev.shm + size - sizeof(got), got, sizeof(got));
	CHECK(!memcmp(got, want, sizeof(got)), "BAR2 does not show what the "
	      "host wrote at the end");
	CHECK(qt_readb(&dev.qt, dev.shm + 5) == want[5], "readb");
	CHECK(qt_readl(&dev.qt, dev.shm + 8) ==
	      (uint32_t)(want[8] | want[9] << 8 | want[10] << 16 |
			 (uint32_t)want[11] << 24), "readl");

	/* Device -> host, in the middle, in bulk and in single accesses. */
	pattern(want, sizeof(want), 2);
	t0 = tu_now_ns();
	qt_memwrite(&dev.qt, dev.shm + size / 2, want, sizeof(want));
	fprintf(stderr, "wrote 8K through BAR2 in %lld us\n",
		(tu_now_ns() - t0) / 1000);
	__sync_synchronize();
	memcpy(got, (const void *)(mem + size / 2), sizeof(got));
	CHECK(!memcmp(got, want, sizeof(got)), "the host does not see what "
	      "was written through BAR2");
	qt_writeq(&dev.qt, dev.shm + 64, 0x0123456789abcdefull);
	qt_writel(&dev.qt, dev.shm + size - 4, 0xdeadbeef);
	qt_writeb(&dev.qt, dev.shm + 3, 0x5a);
	__sync_synchronize();
	memcpy(&q, (const void *)(mem + 64), sizeof(q));
	CHECK(q == 0x0123456789abcdefull, "writeq: host reads 0x%llx",
	      (unsigned long long)q);
	CHECK(mem[size - 4] == 0xef && mem[size - 1] == 0xde, "writel at the "
	      "end: host reads %02x..%02x", mem[size - 4], mem[size - 1]);
	CHECK(mem[3] == 0x5a, "writeb: host reads 0x%02x", mem[3]);
	CHECK(qt_readq(&dev.qt, dev.shm + 64) == 0x0123456789abcdefull,
	      "readq");

	ivdev_stop(&dev);
	hp_close(&hp);
	CHECK(ivdev_server_stop(&srv) == 0, "server exit status, see %s",
	      srv.log_path);
	return 0;
}
