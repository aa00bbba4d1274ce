/* SPDX-License-Identifier: MIT */
#include "zguest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

void zg_require(void)
{
	if (!ZEPHYR_QEMU[0]) {
		fprintf(stderr, "skipped: qemu-system-aarch64 was not found "
			"at configure time\n");
		exit(77);
	}
	CHECK(access(ZEPHYR_ELF_MAILBOX, R_OK) == 0 &&
	      access(ZEPHYR_ELF_STOCK, R_OK) == 0,
	      "no images (the zephyr_image_* tests build them): %s",
	      strerror(errno));
}

/* `ivshmem` (Zephyr's command, or ipm-shell's copy of it): id, size. */
static void read_ivshmem(struct zpeer *p)
{
	unsigned long long addr, size, vectors;
	const char *s;

	con_send(&p->con, "ivshmem");
	con_must(&p->con, "IVshmem up and running:", ZG_WAIT_MS);
	s = con_must(&p->con, "\tShared memory: ", ZG_WAIT_MS);
	con_must(&p->con, "\n", ZG_WAIT_MS);
	CHECK(sscanf(s, "%llx of size %llu bytes", &addr, &size) == 2,
	      "%s: no address and size in its `ivshmem`", p->name);
	p->id = (unsigned)con_number_after(&p->con, "\tPeer id: ",
					   ZG_WAIT_MS);
	vectors = con_number_after(&p->con, "\tNotification vectors: ",
				   ZG_WAIT_MS);
	CHECK(size == ZG_REGION, "%s sees %llu bytes, the region is %llu",
	      p->name, size, ZG_REGION);
	CHECK(vectors == 2, "%s has %llu vectors, the server gives 2",
	      p->name, vectors);
	fprintf(stderr, "%s: peer %u, 0x%llx bytes at 0x%llx\n", p->name,
		p->id, size, addr);
}

void zg_boot(struct zpeer *p, const char *name, const char *elf,
	     const char *sock)
{
	p->name = name;
	snprintf(p->chardev, sizeof(p->chardev), "socket,path=%s,id=ivs",
		 sock);
	con_spawn(&p->con, name, (const char *const[]){
		ZEPHYR_QEMU, "-machine", "virt,gic-version=3",
		"-cpu", "cortex-a53", "-display", "none", "-monitor", "none",
		"-serial", "stdio", "-net", "none",
		"-icount", "shift=4,align=off,sleep=on", "-rtc", "clock=vm",
		"-device", "ivshmem-doorbell,vectors=2,chardev=ivs",
		"-chardev", p->chardev, "-kernel", elf, NULL });
	con_must(&p->con, "uart:~$ ", ZG_WAIT_MS);
	read_ivshmem(p);
}

void zg_host(struct zpeer *p, const char *name, const char *sock)
{
	p->name = name;
	con_spawn(&p->con, name, (const char *const[]){
		tu_bin("tools/ipm-shell"), "-S", sock, "-n", "2", NULL });
	read_ivshmem(p);
}

void zg_host_mailbox(struct zpeer *p, const char *name, const char *sock,
		     unsigned slots)
{
	char arg[16];

	snprintf(arg, sizeof(arg), "%u", slots);
	p->name = name;
	con_spawn(&p->con, name, (const char *const[]){
		tu_bin("tools/ipm-shell"), "-S", sock, "-n", "2",
		"-m", "mailbox", "--slots", arg, NULL });
	read_ivshmem(p);
}

int zg_send(struct zpeer *from, struct zpeer *to, const char *text,
	    int tries)
{
	char sent[96], got[512];
	const char *end;
	size_t len = strlen(text);

	snprintf(sent, sizeof(sent), "sent %zu bytes to peer %u: completed "
		 "by the receiver", len, to->id);
	snprintf(got, sizeof(got), "Received %zu bytes from peer %u: %s", len,
		 from->id, text);
	for (int t = 1; t <= tries; t++) {
		con_send(&from->con, "send %u %s", to->id, text);
		if (!con_expect(&from->con, sent, ZG_WAIT_MS))
			continue;
		end = con_must(&to->con, got, ZG_WAIT_MS);
		CHECK(*end == '\r' || *end == '\n', "%s: more after \"%s\"",
		      to->name, got);
		return t;
	}
	CHECK(0, "%s: \"send %u %s\" never acknowledged in %d tries",
	      from->name, to->id, text, tries);
	return 0;
}

void zg_quiet(struct zpeer *p, const char *text, int ms)
{
	CHECK(!con_expect(&p->con, text, ms), "%s printed \"%s\" again",
	      p->name, text);
}

int zg_ring(struct zpeer *from, struct zpeer *to)
{
	for (int tries = 1; tries <= 10; tries++) {
		con_skip(&to->con, 0);
		con_send(&from->con, "ivshmem_ipm_send %u", to->id);
		if (!con_expect(&to->con, ZG_LINE_IPM, 1000))
			continue;
		/* One ring, one line (a retried ring may bring two). */
		if (tries == 1)
			zg_quiet(to, ZG_LINE_IPM, 300);
		return tries;
	}
	CHECK(0, "%s rang peer %u (%s) 10 times, it printed nothing",
	      from->name, to->id, to->name);
	return 0;
}
