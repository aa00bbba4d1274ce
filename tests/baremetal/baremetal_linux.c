/* SPDX-License-Identifier: MIT */
/*
 * The bare-metal guest and a Linux aarch64 guest (tests/vm, ipm-shell
 * --pci over VFIO) on one server: the sample's doorbells both ways in both
 * of the bare-metal guest's notification modes, and round trips (the
 * Linux guest's ping, the bare-metal guest's pong); then mailbox messages
 * (the Linux guest's ipm-shell --pci -m mailbox lays the region out, the
 * bare-metal guest's core adopts it): texts both ways with exact lines,
 * every send blocking and acknowledged, and again after the bare-metal
 * guest scribbled over the mailbox's state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmguest.h"
#include "conpeer.h"
#include "testutil.h"
#include "vm.h"

#define BOOT_TIMEOUT 300
#define PINGS 100

/* The rest of the last console line with text, for the record. */
static void print_line(struct vm *vm, const char *what, const char *text)
{
	static char log[1 << 20];
	FILE *f = fopen(vm->log_path, "r");
	size_t n = f ? fread(log, 1, sizeof(log) - 1, f) : 0;
	const char *p = NULL, *q;

	if (f)
		fclose(f);
	log[n] = '\0';
	for (q = log; (q = strstr(q, text)); q++)
		p = q;
	if (p)
		fprintf(stderr, "%s: %.*s\n", what, (int)strcspn(p, "\r\n"),
			p);
}

static void mail_both_ways(const struct con_peer *bm, struct vm *lx,
			   unsigned lid, const char *phase)
{
	char text[96];

	for (int i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "%s: bare metal to Linux #%d",
			 phase, i);
		cp_mail_to_linux(bm, lx, lid, text);
		snprintf(text, sizeof(text), "%s: Linux to bare metal #%d",
			 phase, i);
		cp_mail_from_linux(lx, bm, lid, text);
	}
	fprintf(stderr, "%s: bare-metal %u <-> Linux %u: 3 texts each way, "
		"acknowledged and delivered\n", phase, bm->id, lid);
}

int main(void)
{
	const char *modes[] = { "its", "poll" };
	struct tu_server srv;
	static struct bm_guest g;
	struct vm lx;
	struct con_peer bm;
	unsigned lid;
	char want[64], what[64];

	bm_require();
	tu_server_start(&srv, (const char *[]){ "-n", "2", NULL });
	lid = cp_linux_up(&lx, srv.socket_path, BOOT_TIMEOUT);

	bm_boot(&g, "bare-metal guest", srv.socket_path, BM_VIRT);
	CHECK(g.id != lid, "both guests are peer %u", lid);
	bm = (struct con_peer){ .con = &g.con, .name = "the bare-metal guest",
				.id = g.id, .wait_ms = 15000 };
	for (unsigned m = 0; m < 2; m++) {
		bm_mode(&g, modes[m]);
		cp_ring_linux(&bm, &lx, lid);
		cp_rung_by_linux(&lx, &bm);
		fprintf(stderr, "%s: bare-metal %u <-> Linux %u: Received IPM "
			"notification over IVSHMEM, both ways\n", modes[m],
			g.id, lid);

		con_send(&g.con, "pong %u", lid);
		con_must(&g.con, "answering vector 0 rings", BM_WAIT_MS);
		vm_send(&lx, "ping %u %d", g.id, PINGS);
		snprintf(want, sizeof(want), "ping peer %u: %d round trips",
			 g.id, PINGS);
		VM_CHECK(&lx, vm_expect(&lx, want, CP_CMD_TIMEOUT) == 0,
			 "no '%s'", want);
		VM_CHECK(&lx, vm_expect(&lx, "\n", CP_CMD_TIMEOUT) == 0,
			 "no end of the ping line");
		snprintf(what, sizeof(what), "%s: Linux ping, bare-metal pong",
			 modes[m]);
		print_line(&lx, what, "ping peer ");
		con_send(&g.con, "pong off");
		con_must(&g.con, "not answering", BM_WAIT_MS);
	}

	/* The mailbox: the Linux guest lays it out, the core adopts it. */
	cp_linux_restart(&lx, "mailbox");
	con_send(&g.con, "mailbox");
	con_must(&g.con, "mailbox: slot ", BM_WAIT_MS);
	mail_both_ways(&bm, &lx, lid, "mailbox");
	bm_mode(&g, "its");
	mail_both_ways(&bm, &lx, lid, "mailbox, its");
	con_send(&g.con, "scribble 3000 4242");
	con_must(&g.con, "scribbled ", BM_WAIT_MS);
	mail_both_ways(&bm, &lx, lid, "after the bare-metal guest's garbage");
	CHECK(!strstr(g.con.buf, "fnv1a64"), "the bare-metal guest received "
	      "bytes nobody sent");

	vm_kill(&lx);
	con_close(&g.con);
	tu_server_stop(&srv);
	return 0;
}
