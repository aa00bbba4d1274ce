/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: ivshmem-ctl mailbox's view (tools/ivshmem-ctl/mailbox.c)
 * of a region scribbled on. Two core peers (src/core) lay out a small
 * region, publish their counters and exchange a few messages (how many,
 * how long, how many the receiver takes, and whether it then claims a
 * blocking one and holds it: the input's first bytes); then
 * the rest of the input, as (offset, xor) triples, scribbles anywhere:
 * header, slot lines and their counters, queue control, records. The view
 * (text or --json) must neither crash nor read out of bounds (ASan), and
 * says 0 (consistent) or 1; 0 when nothing was scribbled.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

#include "ipmc.h"
#include "mailbox.h"
#include "testutil.h"

/* 2 slots: 2 queues of 128 control + 1024 ring bytes. */
#define SIZE (8192 + 2 * (128 + 1024))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int no_ring(void *ctx, int peer, unsigned vector)
{
	(void)ctx;
	(void)peer;
	(void)vector;
	return 0;
}

static long long clock_ms;

static long long fake_now(void *ctx)
{
	(void)ctx;
	return clock_ms;
}

static const struct ipmc_ops ops = { .ring = no_ring, .now_ms = fake_now };

static int region_fd = -1, null_fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t mem[SIZE] __attribute__((aligned(64)));
	static uint8_t copy[SIZE], buf[512];
	static struct ipmc a, b;
	struct ipmc_config ca = { .slots = 2, .nonce = 0x1234 };
	struct ipmc_config cb = { .slots = 2, .nonce = 0x5678 };
	struct ipmc_msg m;
	unsigned msgs, len, take;
	int rc, saved;

	if (region_fd < 0) {
		region_fd = memfd_create("fuzz_ctl_mailbox", MFD_CLOEXEC);
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		CHECK(region_fd >= 0 && null_fd >= 0 &&
		      ftruncate(region_fd, SIZE) == 0, "memfd");
	}
	memset(mem, 0, sizeof(mem));
	clock_ms = 1000;
	ca.unchecked = cb.unchecked = size > 0 && data[0] & 0x80;
	CHECK(ipmc_open(&a, mem, SIZE, 1, &ca, &ops) == 0, "open a");
	CHECK(ipmc_open(&b, mem, SIZE, 2, &cb, &ops) == 0, "open b");
	msgs = size > 0 ? data[0] % 16 : 0;
	len = size > 1 ? data[1] * 2u : 0;
	take = size > 2 ? data[2] % 16 : 0;
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	for (unsigned i = 0; i < msgs; i++)
		ipmc_send(&a, 2, buf, (len + i * 13) % sizeof(buf), 0);
	for (unsigned i = 0; i < take && ipmc_next(&b, copy, &m) == 1; i++)
		ipmc_complete(&b);
	ipmc_send(&b, 1, buf, len % 100, 0);
	if (take & 8) {
		/* A blocking send b has claimed and still holds (inside its
		 * callback): its claimed stamp is a pending record. */
		struct ipmc_tx *tx = &a.peer[b.me].tx;
		struct ipmc_resv r;

		ipmc_complete(&b);
		while (ipmc_next(&b, copy, &m) == 1)
			ipmc_complete(&b);
		if (ipmc_tx_reserve(tx, b.token, len % 100, IPMC_RF_ACK,
				    &r) == 0) {
			memset(r.data, 0x5a, len % 100);
			ipmc_tx_publish(tx, &r, NULL);
			CHECK(ipmc_next(&b, copy, &m) == 1 && m.ack, "claimed");
		}
	}
	clock_ms += 250;
	ipmc_tick(&b); /* its counters published */
	for (size_t i = 3; i + 3 <= size; i += 3)
		mem[(data[i] | data[i + 1] << 8) % SIZE] ^= data[i + 2];

	CHECK(pwrite(region_fd, mem, SIZE, 0) == SIZE, "pwrite");
	fflush(stdout);
	saved = dup(1);
	CHECK(saved >= 0 && dup2(null_fd, 1) == 1, "stdout");
	rc = mailbox_show("fuzz", region_fd, "fuzz", size > 1 && data[1] & 1,
			  0);
	fflush(stdout);
	CHECK(dup2(saved, 1) == 1 && close(saved) == 0, "stdout back");
	CHECK(rc == 0 || rc == 1, "mailbox_show: %d", rc);
	/* Nothing scribbled: what two honest peers left is consistent. */
	CHECK(size >= 6 || rc == 0, "an honest region: %d", rc);
	return 0;
}
