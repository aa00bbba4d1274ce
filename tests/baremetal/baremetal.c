/* SPDX-License-Identifier: MIT */
/*
 * The bare-metal aarch64 guest (guests/baremetal) on our server under
 * qemu-system-aarch64 -accel tcg: it finds the ivshmem-doorbell device by
 * itself (PCI ECAM, BARs, MSI-X) and exchanges doorbells both ways with
 * host peers (ipm-shell in doorbell mode, ivshmem-client --ring) and with
 * a second bare-metal guest, in both notification modes (MSI-X through
 * the GICv3 ITS, and MSI-X writes to RAM polled), and words of the shared
 * region both ways, at its first and last word, also in a 1 GiB region
 * (BAR2 in the 64-bit window) and with highmem=off (another memory map,
 * from the DTB: the low ECAM, BAR2 in the 32-bit window).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmguest.h"
#include "console.h"
#include "testutil.h"

#define PINGS 200

/*
 * `ivshmem_ipm_send to` on from until to prints the sample's line. A
 * peer learns of a newcomer from the server asynchronously: until then
 * its doorbell goes nowhere, so a few tries may be needed (each 1 s).
 */
static int ring_until_heard(struct con *from, struct con *to, unsigned peer)
{
	for (int tries = 1; tries <= 10; tries++) {
		con_skip(to, 0);
		con_send(from, "ivshmem_ipm_send %u", peer);
		if (con_expect(to, BM_LINE_IPM, 1000))
			return tries;
	}
	CHECK(0, "%s rang peer %u (%s) 10 times, it printed nothing",
	      from->name, peer, to->name);
	return 0;
}

/* Nothing more arrives on c within ms (one ring, one line). */
static void quiet(struct con *c, const char *text, int ms)
{
	CHECK(!con_expect(c, text, ms), "%s printed \"%s\" again", c->name,
	      text);
}

/* Words both ways through the region, at off. */
static void words(struct bm_guest *g, volatile uint32_t *mem, size_t off,
		  uint32_t seed)
{
	uint32_t got;

	mem[off / 4] = seed;
	__sync_synchronize();
	got = bm_peek(g, off);
	CHECK(got == seed, "%s read 0x%x at 0x%zx, the host wrote 0x%x",
	      g->name, got, off, seed);
	bm_poke(g, off, ~seed);
	__sync_synchronize();
	CHECK(mem[off / 4] == ~seed, "the host read 0x%x at 0x%zx, %s wrote "
	      "0x%x", mem[off / 4], off, g->name, ~seed);
}

static void with_host_peers(void)
{
	struct tu_server srv;
	static struct bm_guest g;
	static struct con host;
	volatile uint32_t *mem;
	size_t size;
	unsigned host_id;
	char out[4096], target[32], want[64];
	const char *line;
	const char *modes[] = { "its", "poll" };

	tu_server_start(&srv, (const char *[]){ "-n", "2", NULL });
	mem = (volatile uint32_t *)bm_map_region(&srv, &size);

	con_spawn(&host, "ipm-shell", (const char *const[]){
		tu_bin("tools/ipm-shell"), "-S", srv.socket_path, "-n", "2",
		NULL });
	con_send(&host, "ivshmem");
	host_id = (unsigned)con_number_after(&host, "\tPeer id: ",
					     BM_WAIT_MS);

	bm_boot(&g, "guest (with host peers)", srv.socket_path, BM_VIRT);
	CHECK(g.size == size, "the guest's BAR2 is %llu bytes, the region %zu",
	      g.size, size);
	CHECK(g.id != host_id, "guest and host are both peer %u", g.id);
	CHECK(strstr(g.con.buf, "notifications: its"), "the guest did not "
	      "take the ITS at boot");
	fprintf(stderr, "boot: %.1f ms from exec to the shell's prompt; "
		"the guest was ready %llu us after the VM started\n",
		g.boot_ns / 1e6, g.ready_us);

	for (unsigned m = 0; m < 2; m++) {
		int tries;

		bm_mode(&g, modes[m]);
		/* One ring, one line (a retried ring may bring two). */
		tries = ring_until_heard(&g.con, &host, host_id);
		if (tries == 1)
			quiet(&host, BM_LINE_IPM, 300);
		fprintf(stderr, "%s: guest -> ipm-shell heard after %d "
			"ring(s)\n", modes[m], tries);
		tries = ring_until_heard(&host, &g.con, g.id);
		if (tries == 1)
			quiet(&g.con, BM_LINE_IPM, 300);
		fprintf(stderr, "%s: ipm-shell -> guest heard after %d "
			"ring(s)\n", modes[m], tries);

		/* Vector 1, from a peer that joins just for it. */
		snprintf(target, sizeof(target), "%u:1", g.id);
		CHECK(tu_run((const char *const[]){
			tu_bin("tools/ivshmem-client"), "-S", srv.socket_path,
			"-n", "2", "--ring", target, NULL },
			out, sizeof(out), 10) == 0, "ivshmem-client --ring "
		      "%s: %s", target, out);
		con_must(&g.con, "Received notification on vector 1",
			 BM_WAIT_MS);

		/* Masked: QEMU sets the PBA bit; unmasked: delivered. */
		con_send(&g.con, "pending 1");
		con_must(&g.con, "vector 1 masked, rung: PBA bit 1", BM_WAIT_MS);
		con_must(&g.con, "vector 1 unmasked: PBA bit 0", BM_WAIT_MS);
		con_must(&g.con, "Received notification on vector 1",
			 BM_WAIT_MS);

		/* The platform's blocking wait: a timeout, then a ring. */
		con_send(&g.con, "wait 50");
		con_must(&g.con, "wait: nothing within 50 ms", BM_WAIT_MS);
		con_must(&g.con, BM_PROMPT, BM_WAIT_MS);
		con_send(&g.con, "wait 20000");
		/* Its echo ends as the command starts: then ring. */
		con_must(&g.con, "wait 20000\r\n", BM_WAIT_MS);
		con_send(&host, "ivshmem_ipm_send %u", g.id);
		con_must(&g.con, "wait: vector 0 after ", BM_WAIT_MS);

		/* Round trips: ipm-shell's ping, the guest's pong. */
		con_send(&g.con, "pong %u", host_id);
		con_must(&g.con, "answering vector 0 rings to peer", BM_WAIT_MS);
		con_send(&host, "ping %u %d", g.id, PINGS);
		snprintf(want, sizeof(want), "ping peer %u: %d round trips",
			 g.id, PINGS);
		line = con_must(&host, want, 60000);
		fprintf(stderr, "%s: ipm-shell ping, guest pong: %d round "
			"trips%.*s\n", modes[m], PINGS,
			(int)strcspn(line, "\r\n"), line);
		con_send(&g.con, "pong off");
		con_must(&g.con, "not answering", BM_WAIT_MS);

		words(&g, mem, 0, 0x1badb002u + m);
		words(&g, mem, size - 4, 0xfeedf00du + m);
	}

	/* Bad input: refused with a line, and nothing breaks. */
	con_send(&g.con, "peek 0x%zx", size);
	con_must(&g.con, "invalid offset", BM_WAIT_MS);
	con_send(&g.con, "peek 0x102");
	con_must(&g.con, "invalid offset", BM_WAIT_MS);
	con_send(&g.con, "ivshmem_ipm_send 70000");
	con_must(&g.con, "invalid peer id", BM_WAIT_MS);
	con_send(&g.con, "ring 4242 0");	/* nobody: dropped */
	con_send(&g.con, "frobnicate");
	con_must(&g.con, "unknown command", BM_WAIT_MS);
	ring_until_heard(&g.con, &host, host_id);

	con_close(&g.con);
	con_close(&host);
	munmap((void *)mem, size);
	tu_server_stop(&srv);
}

/* Two guests on a 1 GiB region: BAR2 in the 64-bit window, and each
 * other's doorbells and words, with the host looking on. */
static void two_guests(void)
{
	struct tu_server srv;
	static struct bm_guest a, b;
	volatile uint32_t *mem;
	size_t size, last;

	tu_server_start(&srv, (const char *[]){ "-n", "2", "-l", "1G", NULL });
	mem = (volatile uint32_t *)bm_map_region(&srv, &size);
	bm_boot(&a, "guest A (1 GiB)", srv.socket_path, BM_VIRT);
	bm_boot(&b, "guest B (1 GiB)", srv.socket_path, BM_VIRT);
	CHECK(a.size == 1ull << 30 && b.size == 1ull << 30,
	      "BAR2 sizes %llu and %llu, the region is 1 GiB", a.size,
	      b.size);
	CHECK(strstr(a.con.buf, "region 0x8000000000"), "guest A's BAR2 is "
	      "not at the start of the 64-bit window");

	bm_mode(&b, "poll");	/* one of each */
	ring_until_heard(&a.con, &b.con, b.id);
	ring_until_heard(&b.con, &a.con, a.id);

	last = size - 4;
	bm_poke(&a, last, 0xa5a5a5a5u);
	CHECK(bm_peek(&b, last) == 0xa5a5a5a5u, "B did not see A's word");
	CHECK(mem[last / 4] == 0xa5a5a5a5u, "the host did not see A's word");
	bm_poke(&b, 4096, 0x5a5a5a5au);
	CHECK(bm_peek(&a, 4096) == 0x5a5a5a5au, "A did not see B's word");

	con_close(&a.con);
	con_close(&b.con);
	munmap((void *)mem, size);
	tu_server_stop(&srv);
}

/*
 * Another memory map, which the guest reads from the DTB: without highmem
 * the ECAM is the low one and BAR2 goes in the 32-bit window.
 */
static void low_memory_map(void)
{
	struct tu_server srv;
	static struct bm_guest g;
	volatile uint32_t *mem;
	size_t size;

	tu_server_start(&srv, (const char *[]){ "-n", "2", "-l", "64M", NULL });
	mem = (volatile uint32_t *)bm_map_region(&srv, &size);
	bm_boot(&g, "guest (highmem=off)", srv.socket_path,
		BM_VIRT ",highmem=off");
	CHECK(strstr(g.con.buf, "PCI: ECAM 0x3f000000") &&
	      strstr(g.con.buf, "64-bit window none (from the DTB)"),
	      "the guest did not take the low map from the DTB");
	CHECK(g.size == size, "BAR2 is %llu bytes, the region %zu", g.size,
	      size);
	con_send(&g.con, "pending 0");
	con_must(&g.con, "vector 0 masked, rung: PBA bit 1", BM_WAIT_MS);
	con_must(&g.con, BM_LINE_IPM, BM_WAIT_MS);
	words(&g, mem, size - 4, 0x600dcafeu);
	con_close(&g.con);
	munmap((void *)mem, size);
	tu_server_stop(&srv);
}

int main(void)
{
	bm_require();
	with_host_peers();
	two_guests();
	low_memory_map();
	return 0;
}
