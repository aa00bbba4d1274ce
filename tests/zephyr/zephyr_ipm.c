/* SPDX-License-Identifier: MIT */
/*
 * The Zephyr module on one server (-n 2, 4 MiB): two VMs of our sample
 * (zephyr/samples/ipm_mailbox, over this module's driver), one of Zephyr's
 * unchanged ipm_ivshmem sample and a host ipm-shell in doorbell mode, all
 * under qemu-system-aarch64 (TCG), driven through their consoles
 * (tests/support/console.h). Every one rings every other one's vector 0
 * with `ivshmem_ipm_send PEER` and the other prints the sample's line,
 * once. Then our sample's MBOX face rings and hears a doorbell (and holds
 * its 8 channels), ipm_set_enabled silences and restores the IPM face, and
 * `send PEER TEXT` takes a 200-byte line (the mailbox core is not in the
 * driver yet: today the send fails, with ipm-shell's failure line).
 */
#include <stdio.h>
#include <string.h>

#include "console.h"
#include "testutil.h"
#include "zguest.h"

/* What arrived on p since from, without the shell's line breaks. */
static int echoed(const struct zpeer *p, size_t from, const char *text)
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
static void send_200(struct zpeer *from, struct zpeer *to)
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
	why = con_must(&from->con, want, ZG_WAIT_MS) - from->con.buf;
	con_must(&from->con, "\n", ZG_WAIT_MS);
	CHECK(echoed(from, start, line), "%s did not take the whole %zu-byte "
	      "line", from->name, strlen(line));
	CHECK(!strstr(from->con.buf + start, "usage:"), "%s refused the line",
	      from->name);
	zg_quiet(to, "Received", 500);
	fprintf(stderr, "%s: `send %u` of 200 bytes: the line fits; it "
		"failed: %.*s\n", from->name, to->id,
		(int)strcspn(from->con.buf + why, "\r\n"),
		from->con.buf + why);
}

/* The MBOX face: a signalling send and a listening channel. */
static void mbox_face(struct zpeer *a, struct zpeer *b)
{
	char want[64];

	con_send(&a->con, "mbox_listen %u on", b->id);
	snprintf(want, sizeof(want), "MBOX channel %u: listening (mtu 0, "
		 "65536 channels)", b->id);
	con_must(&a->con, want, ZG_WAIT_MS);
	con_send(&b->con, "mbox_send %u", a->id);
	snprintf(want, sizeof(want), "MBOX channel %u: doorbell", b->id);
	con_must(&a->con, want, ZG_WAIT_MS);
	con_send(&a->con, "mbox_listen %u off", b->id);
	snprintf(want, sizeof(want), "MBOX channel %u: off", b->id);
	con_must(&a->con, want, ZG_WAIT_MS);
	/* Off: the IPM face still hears, the channel says nothing. */
	con_skip(&a->con, 0);
	con_send(&b->con, "mbox_send %u", a->id);
	con_must(&a->con, ZG_LINE_IPM, ZG_WAIT_MS);
	zg_quiet(a, "MBOX channel", 500);
	fprintf(stderr, "%s -> %s through the MBOX API: heard on channel %u\n",
		b->name, a->name, b->id);

	/* As many channels as the table holds (8), and no more. */
	for (unsigned ch = 1000; ch < 1008; ch++) {
		con_send(&a->con, "mbox_listen %u on", ch);
		snprintf(want, sizeof(want), "MBOX channel %u: listening", ch);
		con_must(&a->con, want, ZG_WAIT_MS);
	}
	con_send(&a->con, "mbox_listen 1008 on");
	con_must(&a->con, "mbox_listen 1008: ", ZG_WAIT_MS);
	for (unsigned ch = 1000; ch < 1008; ch++) {
		con_send(&a->con, "mbox_listen %u off", ch);
		snprintf(want, sizeof(want), "MBOX channel %u: off", ch);
		con_must(&a->con, want, ZG_WAIT_MS);
	}
	con_send(&a->con, "mbox_listen 1008 on");
	con_must(&a->con, "MBOX channel 1008: listening", ZG_WAIT_MS);
	con_send(&a->con, "mbox_listen 1008 off");
	con_must(&a->con, "MBOX channel 1008: off", ZG_WAIT_MS);
}

/* ipm_set_enabled(0) silences the IPM callback; 1 brings it back. */
static void ipm_enable(struct zpeer *a, struct zpeer *b)
{
	con_send(&a->con, "ipm_enable off");
	con_must(&a->con, "IPM callbacks: off", ZG_WAIT_MS);
	con_skip(&a->con, 0);
	con_send(&b->con, "ivshmem_ipm_send %u", a->id);
	zg_quiet(a, ZG_LINE_IPM, 1000);
	con_send(&a->con, "ipm_enable on");
	con_must(&a->con, "IPM callbacks: on", ZG_WAIT_MS);
	con_send(&b->con, "ivshmem_ipm_send %u", a->id);
	con_must(&a->con, ZG_LINE_IPM, ZG_WAIT_MS);
	fprintf(stderr, "%s: ipm_set_enabled(0) dropped a doorbell, (1) "
		"heard the next\n", a->name);
}

int main(void)
{
	static struct zpeer za, zb, stock, host;
	struct zpeer *all[] = { &za, &zb, &stock, &host };
	struct tu_server srv;

	zg_require();
	tu_server_start(&srv, (const char *[]){ "-n", "2", "-l", "4M", NULL });
	zg_boot(&za, "zephyr A (ipm_mailbox)", ZEPHYR_ELF_MAILBOX,
		srv.socket_path);
	zg_boot(&zb, "zephyr B (ipm_mailbox)", ZEPHYR_ELF_MAILBOX,
		srv.socket_path);
	zg_boot(&stock, "zephyr C (stock ipm_ivshmem)", ZEPHYR_ELF_STOCK,
		srv.socket_path);
	zg_host(&host, "ipm-shell (doorbell)", srv.socket_path);

	/* Every peer rings every other one: one ring, one line. */
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 4; j++)
			if (i != j)
				fprintf(stderr, "%s -> %s: heard after %d "
					"ring(s)\n", all[i]->name,
					all[j]->name, zg_ring(all[i], all[j]));
	}
	mbox_face(&za, &zb);
	ipm_enable(&za, &zb);
	send_200(&za, &zb);
	CHECK(tu_server_stop(&srv) == 0, "the server did not stop cleanly");
	return 0;
}
