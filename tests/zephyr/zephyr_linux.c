/* SPDX-License-Identifier: MIT */
/*
 * The Zephyr samples and a Linux aarch64 guest (tests/vm, ipm-shell --pci
 * -m doorbell over VFIO) on one server: our sample (over this module's
 * driver) and Zephyr's unchanged ipm_ivshmem sample each ring the Linux
 * guest's vector 0 and are rung by it, and both sides print the sample's
 * line. Then the Linux guest's ipm-shell restarts in mailbox mode, adopts
 * the layout our sample made, and texts go both ways between it and our
 * sample, with exact lines, every send blocking and acknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "vm.h"
#include "zguest.h"

#define BOOT_TIMEOUT 300
#define CMD_TIMEOUT 60

/* A peer hears of a newcomer asynchronously: ring until it is heard. */
static int to_linux(struct zpeer *z, struct vm *lx, unsigned lid)
{
	for (int tries = 1; tries <= 10; tries++) {
		con_send(&z->con, "ivshmem_ipm_send %u", lid);
		if (vm_expect(lx, ZG_LINE_IPM, 1) == 0)
			return tries;
	}
	vm_fail(lx, "%s rang peer %u 10 times: nothing", z->name, lid);
}

static int from_linux(struct vm *lx, struct zpeer *z)
{
	for (int tries = 1; tries <= 10; tries++) {
		con_skip(&z->con, 0);
		vm_send(lx, "ivshmem_ipm_send %u", z->id);
		if (con_expect(&z->con, ZG_LINE_IPM, 1000))
			return tries;
	}
	vm_fail(lx, "the Linux guest rang peer %u (%s) 10 times: nothing",
		z->id, z->name);
}

static void mail_to_linux(struct zpeer *z, struct vm *lx, unsigned lid,
			  const char *text)
{
	char sent[96], got[256];

	snprintf(sent, sizeof(sent), "sent %zu bytes to peer %u: completed "
		 "by the receiver", strlen(text), lid);
	snprintf(got, sizeof(got), "Received %zu bytes from peer %u: %s",
		 strlen(text), z->id, text);
	for (int tries = 0; tries < 10; tries++) {
		con_send(&z->con, "send %u %s", lid, text);
		if (!con_expect(&z->con, sent, ZG_WAIT_MS))
			continue;
		VM_CHECK(lx, vm_expect(lx, got, CMD_TIMEOUT) == 0,
			 "the Linux guest did not print \"%s\"", got);
		return;
	}
	vm_fail(lx, "%s: \"send %u %s\" never acknowledged", z->name, lid,
		text);
}

static void mail_from_linux(struct vm *lx, struct zpeer *z, unsigned lid,
			    const char *text)
{
	char sent[96], got[256];
	const char *end;

	snprintf(sent, sizeof(sent), "sent %zu bytes to peer %u: completed "
		 "by the receiver", strlen(text), z->id);
	snprintf(got, sizeof(got), "Received %zu bytes from peer %u: %s",
		 strlen(text), lid, text);
	for (int tries = 0; tries < 10; tries++) {
		vm_send(lx, "send %u %s", z->id, text);
		if (vm_expect(lx, sent, 20) != 0)
			continue;
		end = con_must(&z->con, got, ZG_WAIT_MS);
		CHECK(*end == '\r' || *end == '\n', "more after \"%s\"", got);
		return;
	}
	vm_fail(lx, "\"send %u %s\" on the Linux guest: never acknowledged",
		z->id, text);
}

int main(void)
{
	static struct zpeer za, stock;
	struct zpeer *zs[] = { &za, &stock };
	struct vm_config cfg = { .arch = "aarch64" };
	struct tu_server srv;
	char out[256];
	struct vm lx;
	unsigned lid;
	int rc;

	zg_require();
	tu_server_start(&srv, (const char *[]){ "-n", "2", "-l", "4M", NULL });
	cfg.server_socket = srv.socket_path;
	vm_boot(&lx, "linux", &cfg, BOOT_TIMEOUT);
	fprintf(stderr, "Linux aarch64 guest up in %.1f s (%s)\n",
		lx.boot_ns / 1e9, lx.accel);
	rc = vm_exec(&lx, "echo ivshmem | ipm-shell --pci 2>&1 | "
		     "sed -n 's/.*Peer id: //p'", out, sizeof(out),
		     CMD_TIMEOUT);
	VM_CHECK(&lx, rc == 0 && out[0] >= '0' && out[0] <= '9',
		 "no peer id from ipm-shell --pci: %s", out);
	lid = (unsigned)atoi(out);
	vm_run(&lx, "ipm-shell --pci -m doorbell", "ipm-shell: using VFIO on ",
	       CMD_TIMEOUT);
	vm_run(&lx, "", "uart:~$ ", CMD_TIMEOUT);

	zg_boot(&za, "zephyr A (ipm_mailbox)", ZEPHYR_ELF_MAILBOX,
		srv.socket_path);
	zg_boot(&stock, "zephyr C (stock ipm_ivshmem)", ZEPHYR_ELF_STOCK,
		srv.socket_path);
	for (int i = 0; i < 2; i++) {
		CHECK(zs[i]->id != lid, "%s and Linux are both peer %u",
		      zs[i]->name, lid);
		fprintf(stderr, "%s -> Linux %u: heard after %d ring(s)\n",
			zs[i]->name, lid, to_linux(zs[i], &lx, lid));
		fprintf(stderr, "Linux %u -> %s: heard after %d ring(s)\n",
			lid, zs[i]->name, from_linux(&lx, zs[i]));
	}

	/* The mailbox: the Linux guest adopts the layout our sample made. */
	vm_send(&lx, "quit");
	vm_run(&lx, "ipm-shell --pci -m mailbox", "ipm-shell: using VFIO on ",
	       CMD_TIMEOUT);
	vm_run(&lx, "", "uart:~$ ", CMD_TIMEOUT);
	for (int i = 0; i < 3; i++) {
		char text[64];

		snprintf(text, sizeof(text), "zephyr to Linux #%d", i);
		mail_to_linux(&za, &lx, lid, text);
		snprintf(text, sizeof(text), "Linux to zephyr #%d", i);
		mail_from_linux(&lx, &za, lid, text);
	}
	fprintf(stderr, "%s <-> Linux %u: 3 texts each way, acknowledged and "
		"received as sent\n", za.name, lid);
	vm_print_tail(&lx, 12);	/* its side, for the record */
	vm_kill(&lx);
	CHECK(tu_server_stop(&srv) == 0, "the server did not stop cleanly");
	return 0;
}
