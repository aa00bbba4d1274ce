/* SPDX-License-Identifier: MIT */
/*
 * The Zephyr module on one server (-n 2, 4 MiB): a host ipm-shell -m
 * mailbox --slots 5 that lays the mailbox out first, two VMs of our sample
 * (zephyr/samples/ipm_mailbox, over this module's driver and the mailbox
 * core, adopting that layout), one of Zephyr's unchanged ipm_ivshmem
 * sample and a host ipm-shell in doorbell mode, all under
 * qemu-system-aarch64 (TCG), driven through their consoles
 * (tests/support/console.h).
 *
 * Mailbox messages: the two Zephyr VMs both ways, each of them and the
 * mailbox ipm-shell both ways, with exact lines on both sides and every
 * send blocking and acknowledged; a 200-byte `send` line. Doorbells: every
 * doorbell-capable peer rings every other one's vector 0 with
 * `ivshmem_ipm_send PEER` and the other prints the sample's line, once
 * (our samples, being mailbox peers, send each other an empty message;
 * to the doorbell-only peers they ring vector 0, and print the line for a
 * vector-0 ring that brought no message). The MBOX face: its real mtu, a
 * doorbell and a message through mbox_send, its 8 channels;
 * ipm_set_enabled silences and restores the IPM face.
 *
 * The mailbox ipm-shell is kept inside `wait` (serving) while nothing else
 * is asked of it. An idle shell beats too (tests/tools/ipm_shell_heartbeat
 * holds that); a guest, with no presence news, takes a peer whose
 * heartbeat stood still for 5 s as gone.
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
	char text[201], line[256];
	size_t start = from->con.len;

	for (int i = 0; i < 200; i++)
		text[i] = (char)('a' + i % 26);
	text[200] = '\0';
	snprintf(line, sizeof(line), "send %u %s", to->id, text);
	zg_send(from, to, text, 1);
	CHECK(echoed(from, start, line), "%s did not take the whole %zu-byte "
	      "line", from->name, strlen(line));
	CHECK(!strstr(from->con.buf + start, "usage:"), "%s refused the line",
	      from->name);
	fprintf(stderr, "%s -> %s: `send %u` of 200 bytes: sent 200 bytes, "
		"completed by the receiver, received as sent\n", from->name,
		to->name, to->id);
}

/* Texts both ways between a and b. */
static void mail(struct zpeer *a, struct zpeer *b, int n)
{
	char text[96];
	int ta = 0, tb = 0;

	for (int i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "from %s to %s, #%d", a->name,
			 b->name, i);
		ta += zg_send(a, b, text, i ? 1 : 10);
		snprintf(text, sizeof(text), "from %s to %s, #%d", b->name,
			 a->name, i);
		tb += zg_send(b, a, text, i ? 1 : 10);
	}
	fprintf(stderr, "%s <-> %s: %d text%s each way, acknowledged and "
		"received as sent (%d and %d sends)\n", a->name, b->name, n,
		n == 1 ? "" : "s", ta, tb);
}

/* The mailbox ipm-shell serves (and beats) for s seconds. */
static void serve(struct zpeer *h, int s)
{
	con_send(&h->con, "wait %d", s);
}

/* The MBOX face: a signalling send and a listening channel. */
static void mbox_face(struct zpeer *a, struct zpeer *b)
{
	char want[64];

	con_send(&a->con, "mbox_listen %u on", b->id);
	/*
	 * The core's limit in the layout the host made (5 slots in 4 MiB,
	 * where a sample laying it out would take 4): 20 queues of 209280
	 * bytes, rings of 209152, less a 48-byte record header.
	 */
	snprintf(want, sizeof(want), "MBOX channel %u: listening (mtu "
		 "209104, 65536 channels)", b->id);
	con_must(&a->con, want, ZG_WAIT_MS);
	con_send(&b->con, "mbox_send %u a message through MBOX", a->id);
	snprintf(want, sizeof(want), "sent 22 bytes to MBOX channel %u",
		 a->id);
	con_must(&b->con, want, ZG_WAIT_MS);
	/* Both faces hear it: the IPM face (first to listen), then MBOX. */
	snprintf(want, sizeof(want), "Received 22 bytes from peer %u: a "
		 "message through MBOX", b->id);
	con_must(&a->con, want, ZG_WAIT_MS);
	snprintf(want, sizeof(want), "MBOX channel %u: 22 bytes", b->id);
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
	static struct zpeer za, zb, stock, host, hm;
	struct zpeer *all[] = { &za, &zb, &stock, &host };
	struct tu_server srv;

	zg_require();
	tu_server_start(&srv, (const char *[]){ "-n", "2", "-l", "4M", NULL });
	zg_host_mailbox(&hm, "ipm-shell -m mailbox", srv.socket_path, 5);
	serve(&hm, 30);
	zg_boot(&za, "zephyr A (ipm_mailbox)", ZEPHYR_ELF_MAILBOX,
		srv.socket_path);
	zg_boot(&zb, "zephyr B (ipm_mailbox)", ZEPHYR_ELF_MAILBOX,
		srv.socket_path);
	zg_boot(&stock, "zephyr C (stock ipm_ivshmem)", ZEPHYR_ELF_STOCK,
		srv.socket_path);
	zg_host(&host, "ipm-shell (doorbell)", srv.socket_path);

	/* Payloads: Zephyr to Zephyr, and Zephyr to the serving host. */
	mail(&za, &zb, 3);
	send_200(&za, &zb);
	send_200(&zb, &za);
	for (int i = 0; i < 2; i++) {
		struct zpeer *z = i ? &zb : &za;
		char text[64];

		snprintf(text, sizeof(text), "from %s to the host", z->name);
		zg_send(z, &hm, text, 10);
	}
	/* The host's own sends once its `wait` is over, then both ways. */
	con_send(&hm.con, "peers");
	con_must(&hm.con, "2 mailbox peers: ", 90000);
	mail(&hm, &za, 2);
	mail(&zb, &hm, 2);
	serve(&hm, 60);

	/* Every peer rings every other one: one ring, one line. */
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 4; j++)
			if (i != j)
				fprintf(stderr, "%s -> %s: heard after %d "
					"ring(s)\n", all[i]->name,
					all[j]->name, zg_ring(all[i], all[j]));
	}
	fprintf(stderr, "%s -> %s: heard after %d ring(s)\n", za.name,
		hm.name, zg_ring(&za, &hm));
	mbox_face(&za, &zb);
	ipm_enable(&za, &zb);
	mail(&za, &zb, 1);
	CHECK(!strstr(za.con.buf, "fnv1a64") && !strstr(zb.con.buf, "fnv1a64")
	      && !strstr(hm.con.buf, "fnv1a64"), "bytes nobody sent arrived");
	CHECK(tu_server_stop(&srv) == 0, "the server did not stop cleanly");
	return 0;
}
