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
#include "testutil.h"
#include "vm.h"

#define BOOT_TIMEOUT 300
#define CMD_TIMEOUT 60
#define LINUX_PROMPT "uart:~$ "
#define PINGS 100

/* The Linux guest's peer id, from a one-shot ipm-shell --pci. */
static unsigned linux_id(struct vm *vm)
{
	char out[2048], *p;
	int rc = vm_exec(vm, "echo ivshmem | ipm-shell --pci 2>&1", out,
			 sizeof(out), CMD_TIMEOUT);

	VM_CHECK(vm, rc == 0, "ipm-shell --pci: status %d: %s", rc, out);
	p = strstr(out, "Peer id: ");
	VM_CHECK(vm, p, "no peer id: %s", out);
	return (unsigned)atoi(p + strlen("Peer id: "));
}

/* A peer hears of a newcomer asynchronously: ring until it is heard. */
static void bm_to_linux(struct bm_guest *g, struct vm *lx, unsigned lid)
{
	for (int tries = 0; tries < 10; tries++) {
		con_send(&g->con, "ivshmem_ipm_send %u", lid);
		if (vm_expect(lx, BM_LINE_IPM, 1) == 0)
			return;
	}
	vm_fail(lx, "the bare-metal guest rang peer %u 10 times: nothing",
		lid);
}

static void linux_to_bm(struct vm *lx, struct bm_guest *g)
{
	for (int tries = 0; tries < 10; tries++) {
		con_skip(&g->con, 0);
		vm_send(lx, "ivshmem_ipm_send %u", g->id);
		if (con_expect(&g->con, BM_LINE_IPM, 1000))
			return;
	}
	vm_fail(lx, "the Linux guest rang peer %u 10 times: nothing", g->id);
}

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

/* bare metal -> Linux, until acknowledged; then the Linux guest's line. */
static void mail_to_linux(struct bm_guest *g, struct vm *lx, unsigned lid,
			  const char *text)
{
	char sent[128], got[256];

	snprintf(sent, sizeof(sent), "sent %zu bytes to peer %u: completed "
		 "by the receiver", strlen(text), lid);
	snprintf(got, sizeof(got), "Received %zu bytes from peer %u: %s",
		 strlen(text), g->id, text);
	for (int tries = 0; tries < 10; tries++) {
		con_send(&g->con, "send %u %s", lid, text);
		if (!con_expect(&g->con, sent, 15000))
			continue;
		VM_CHECK(lx, vm_expect(lx, got, CMD_TIMEOUT) == 0,
			 "the Linux guest did not print \"%s\"", got);
		return;
	}
	vm_fail(lx, "\"send %u %s\" on the bare-metal guest: never "
		"acknowledged", lid, text);
}

static void mail_to_bm(struct vm *lx, struct bm_guest *g, unsigned lid,
		       const char *text)
{
	char sent[128], got[256];
	const char *p;

	snprintf(sent, sizeof(sent), "sent %zu bytes to peer %u: completed "
		 "by the receiver", strlen(text), g->id);
	snprintf(got, sizeof(got), "Received %zu bytes from peer %u: %s",
		 strlen(text), lid, text);
	for (int tries = 0; tries < 10; tries++) {
		vm_send(lx, "send %u %s", g->id, text);
		if (vm_expect(lx, sent, 15) != 0)
			continue;
		p = con_must(&g->con, got, BM_WAIT_MS);
		CHECK(*p == '\r' || *p == '\n', "more after \"%s\"", got);
		return;
	}
	vm_fail(lx, "\"send %u %s\" on the Linux guest: never acknowledged",
		g->id, text);
}

static void mail_both_ways(struct bm_guest *g, struct vm *lx, unsigned lid,
			   const char *phase)
{
	char text[96];

	for (int i = 0; i < 3; i++) {
		snprintf(text, sizeof(text), "%s: bare metal to Linux #%d",
			 phase, i);
		mail_to_linux(g, lx, lid, text);
		snprintf(text, sizeof(text), "%s: Linux to bare metal #%d",
			 phase, i);
		mail_to_bm(lx, g, lid, text);
	}
	fprintf(stderr, "%s: bare-metal %u <-> Linux %u: 3 texts each way, "
		"acknowledged and delivered\n", phase, g->id, lid);
}

int main(void)
{
	const char *modes[] = { "its", "poll" };
	struct tu_server srv;
	static struct bm_guest g;
	struct vm lx;
	struct vm_config cfg = { .arch = "aarch64" };
	unsigned lid;
	char want[64], what[64];

	bm_require();
	tu_server_start(&srv, (const char *[]){ "-n", "2", NULL });
	cfg.server_socket = srv.socket_path;
	vm_boot(&lx, "linux", &cfg, BOOT_TIMEOUT);
	fprintf(stderr, "Linux aarch64 guest up in %.1f s (%s)\n",
		lx.boot_ns / 1e9, lx.accel);
	lid = linux_id(&lx);
	vm_run(&lx, "ipm-shell --pci -m doorbell", "ipm-shell: using VFIO on ",
	       CMD_TIMEOUT);
	vm_run(&lx, "", LINUX_PROMPT, CMD_TIMEOUT);

	bm_boot(&g, "bare-metal guest", srv.socket_path, BM_VIRT);
	CHECK(g.id != lid, "both guests are peer %u", lid);
	for (unsigned m = 0; m < 2; m++) {
		bm_mode(&g, modes[m]);
		bm_to_linux(&g, &lx, lid);
		linux_to_bm(&lx, &g);
		fprintf(stderr, "%s: bare-metal %u <-> Linux %u: Received IPM "
			"notification over IVSHMEM, both ways\n", modes[m],
			g.id, lid);

		con_send(&g.con, "pong %u", lid);
		con_must(&g.con, "answering vector 0 rings", BM_WAIT_MS);
		vm_send(&lx, "ping %u %d", g.id, PINGS);
		snprintf(want, sizeof(want), "ping peer %u: %d round trips",
			 g.id, PINGS);
		VM_CHECK(&lx, vm_expect(&lx, want, CMD_TIMEOUT) == 0,
			 "no '%s'", want);
		VM_CHECK(&lx, vm_expect(&lx, "\n", CMD_TIMEOUT) == 0,
			 "no end of the ping line");
		snprintf(what, sizeof(what), "%s: Linux ping, bare-metal pong",
			 modes[m]);
		print_line(&lx, what, "ping peer ");
		con_send(&g.con, "pong off");
		con_must(&g.con, "not answering", BM_WAIT_MS);
	}

	/* The mailbox: the Linux guest lays it out, the core adopts it. */
	vm_send(&lx, "quit");
	vm_run(&lx, "ipm-shell --pci -m mailbox", "ipm-shell: using VFIO on ",
	       CMD_TIMEOUT);
	vm_run(&lx, "", LINUX_PROMPT, CMD_TIMEOUT);
	con_send(&g.con, "mailbox");
	con_must(&g.con, "mailbox: slot ", BM_WAIT_MS);
	mail_both_ways(&g, &lx, lid, "mailbox");
	bm_mode(&g, "its");
	mail_both_ways(&g, &lx, lid, "mailbox, its");
	con_send(&g.con, "scribble 3000 4242");
	con_must(&g.con, "scribbled ", BM_WAIT_MS);
	mail_both_ways(&g, &lx, lid, "after the bare-metal guest's garbage");
	CHECK(!strstr(g.con.buf, "fnv1a64"), "the bare-metal guest received "
	      "bytes nobody sent");

	vm_kill(&lx);
	con_close(&g.con);
	tu_server_stop(&srv);
	return 0;
}
