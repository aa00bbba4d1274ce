/* SPDX-License-Identifier: MIT */
/*
 * The Zephyr module on one server (-n 2, 4 MiB): two VMs of our sample
 * (zephyr/samples/ipm_mailbox, over this module's driver), one of Zephyr's
 * unchanged ipm_ivshmem sample and a host ipm-shell in doorbell mode, all
 * under qemu-system-aarch64 (TCG), driven through their consoles
 * (tests/support/console.h). Every one rings every other one's vector 0
 * with `ivshmem_ipm_send PEER` and the other prints the sample's line,
 * once. Then our sample's MBOX face rings and hears a doorbell, and
 * `send PEER TEXT` takes a 200-byte line (the mailbox core is not in the
 * driver yet: today the send fails, with ipm-shell's failure line).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "console.h"
#include "testutil.h"

#define LINE_IPM "Received IPM notification over IVSHMEM"
#define WAIT_MS 20000
#define REGION (4ull << 20)

struct peer {
	struct con con;
	const char *name;
	unsigned id;
	int vm;
	char chardev[160];
};

static void skip(const char *why)
{
	fprintf(stderr, "zephyr_ipm: skipped: %s\n", why);
	exit(77);
}

/* `ivshmem` (Zephyr's command, or ipm-shell's copy of it): id, size. */
static void read_ivshmem(struct peer *p)
{
	unsigned long long addr, size, vectors;
	const char *s;

	con_send(&p->con, "ivshmem");
	con_must(&p->con, "IVshmem up and running:", WAIT_MS);
	s = con_must(&p->con, "\tShared memory: ", WAIT_MS);
	con_must(&p->con, "\n", WAIT_MS);
	CHECK(sscanf(s, "%llx of size %llu bytes", &addr, &size) == 2,
	      "%s: no address and size in its `ivshmem`", p->name);
	p->id = (unsigned)con_number_after(&p->con, "\tPeer id: ", WAIT_MS);
	vectors = con_number_after(&p->con, "\tNotification vectors: ",
				   WAIT_MS);
	CHECK(size == REGION, "%s sees %llu bytes, the region is %llu",
	      p->name, size, REGION);
	CHECK(vectors == 2, "%s has %llu vectors, the server gives 2",
	      p->name, vectors);
	fprintf(stderr, "%s: peer %u, 0x%llx bytes at 0x%llx\n", p->name,
		p->id, size, addr);
}

static void boot(struct peer *p, const char *name, const char *elf,
		 const char *sock)
{
	p->name = name;
	p->vm = 1;
	snprintf(p->chardev, sizeof(p->chardev), "socket,path=%s,id=ivs",
		 sock);
	con_spawn(&p->con, name, (const char *const[]){
		ZEPHYR_QEMU, "-machine", "virt,gic-version=3",
		"-cpu", "cortex-a53", "-display", "none", "-monitor", "none",
		"-serial", "stdio", "-net", "none",
		"-icount", "shift=4,align=off,sleep=on", "-rtc", "clock=vm",
		"-device", "ivshmem-doorbell,vectors=2,chardev=ivs",
		"-chardev", p->chardev, "-kernel", elf, NULL });
	con_must(&p->con, "uart:~$ ", WAIT_MS);
	read_ivshmem(p);
}

/*
 * `ivshmem_ipm_send to->id` on from until to prints the sample's line. A
 * peer learns of a newcomer from the server asynchronously: until then
 * its ring goes nowhere, so a few tries may be needed (each 1 s).
 */
static int ring_until_heard(struct peer *from, struct peer *to)
{
	for (int tries = 1; tries <= 10; tries++) {
		con_skip(&to->con, 0);
		con_send(&from->con, "ivshmem_ipm_send %u", to->id);
		if (con_expect(&to->con, LINE_IPM, 1000))
			return tries;
	}
	CHECK(0, "%s rang peer %u (%s) 10 times, it printed nothing",
	      from->name, to->id, to->name);
	return 0;
}

static void quiet(struct peer *p, const char *text, int ms)
{
	CHECK(!con_expect(&p->con, text, ms), "%s printed \"%s\" again",
	      p->name, text);
}

/* What arrived on p since from, without the shell's line breaks. */
static int echoed(const struct peer *p, size_t from, const char *text)
{
	static char flat[CON_BUF];
	size_t n = 0;

	for (size_t i = from; i < p->con.len; i++)
		if (p->con.buf[i] != '\r' && p->con.buf[i] != '\n')
			flat[n++] = p->con.buf[i];
	flat[n] = '\0';
	return strstr(flat, text) != NULL;
}

/* A 200-byte `send`: the shell takes the whole line to the driver. */
static void send_200(struct peer *from, struct peer *to)
{
	char text[201], line[256], want[64];
	size_t start = from->con.len, why;

	for (int i = 0; i < 200; i++)
		text[i] = (char)('a' + i % 26);
	text[200] = '\0';
	snprintf(line, sizeof(line), "send %u %s", to->id, text);
	con_skip(&to->con, 0);
	con_send(&from->con, "%s", line);
	/*
	 * The mailbox core is not in the driver yet: the send fails with
	 * ipm-shell's line. With the core, this becomes "sent 200 bytes to
	 * peer N: completed by the receiver" here and "Received 200 bytes
	 * from peer M: TEXT" on the receiver.
	 */
	snprintf(want, sizeof(want), "send to peer %u failed: ", to->id);
	why = con_must(&from->con, want, WAIT_MS) - from->con.buf;
	con_must(&from->con, "\n", WAIT_MS);
	CHECK(echoed(from, start, line), "%s did not take the whole %zu-byte "
	      "line", from->name, strlen(line));
	CHECK(!strstr(from->con.buf + start, "usage:"), "%s refused the line",
	      from->name);
	quiet(to, "Received", 500);
	fprintf(stderr, "%s: `send %u` of 200 bytes: the line fits; it "
		"failed: %.*s\n", from->name, to->id,
		(int)strcspn(from->con.buf + why, "\r\n"),
		from->con.buf + why);
}

/* The MBOX face: a signalling send and a listening channel. */
static void mbox_face(struct peer *a, struct peer *b)
{
	char want[64];

	con_send(&a->con, "mbox_listen %u on", b->id);
	snprintf(want, sizeof(want), "MBOX channel %u: listening (mtu 0, "
		 "65536 channels)", b->id);
	con_must(&a->con, want, WAIT_MS);
	con_send(&b->con, "mbox_send %u", a->id);
	snprintf(want, sizeof(want), "MBOX channel %u: doorbell", b->id);
	con_must(&a->con, want, WAIT_MS);
	con_send(&a->con, "mbox_listen %u off", b->id);
	snprintf(want, sizeof(want), "MBOX channel %u: off", b->id);
	con_must(&a->con, want, WAIT_MS);
	/* Off: the IPM face still hears, the channel says nothing. */
	con_skip(&a->con, 0);
	con_send(&b->con, "mbox_send %u", a->id);
	con_must(&a->con, LINE_IPM, WAIT_MS);
	quiet(a, "MBOX channel", 500);
	fprintf(stderr, "%s -> %s through the MBOX API: heard on channel %u\n",
		b->name, a->name, b->id);
}

int main(void)
{
	static struct peer za, zb, stock, host;
	struct peer *all[] = { &za, &zb, &stock, &host };
	struct tu_server srv;

	if (!ZEPHYR_QEMU[0])
		skip("qemu-system-aarch64 was not found at configure time");
	CHECK(access(ZEPHYR_ELF_MAILBOX, R_OK) == 0 &&
	      access(ZEPHYR_ELF_STOCK, R_OK) == 0,
	      "no images (the zephyr_image_* tests build them): %s",
	      strerror(errno));

	tu_server_start(&srv, (const char *[]){ "-n", "2", "-l", "4M", NULL });
	boot(&za, "zephyr A (ipm_mailbox)", ZEPHYR_ELF_MAILBOX,
	     srv.socket_path);
	boot(&zb, "zephyr B (ipm_mailbox)", ZEPHYR_ELF_MAILBOX,
	     srv.socket_path);
	boot(&stock, "zephyr C (stock ipm_ivshmem)", ZEPHYR_ELF_STOCK,
	     srv.socket_path);
	host.name = "ipm-shell (doorbell)";
	con_spawn(&host.con, host.name, (const char *const[]){
		tu_bin("tools/ipm-shell"), "-S", srv.socket_path, "-n", "2",
		NULL });
	read_ivshmem(&host);

	/* Every peer rings every other one: one ring, one line. */
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 4; j++) {
			int tries;

			if (i == j)
				continue;
			tries = ring_until_heard(all[i], all[j]);
			if (tries == 1)
				quiet(all[j], LINE_IPM, 300);
			fprintf(stderr, "%s -> %s: heard after %d ring(s)\n",
				all[i]->name, all[j]->name, tries);
		}
	}
	mbox_face(&za, &zb);
	send_200(&za, &zb);
	CHECK(tu_server_stop(&srv) == 0, "the server did not stop cleanly");
	return 0;
}
