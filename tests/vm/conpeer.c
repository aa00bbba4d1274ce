/* SPDX-License-Identifier: MIT */
/* A console guest and a Linux guest on one server: see conpeer.h. */
#include "conpeer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define TRIES 10

static void shell(struct vm *lx, const char *mode)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "ipm-shell --pci -m %s", mode);
	vm_run(lx, cmd, "ipm-shell: using VFIO on ", CP_CMD_TIMEOUT);
	vm_run(lx, "", "uart:~$ ", CP_CMD_TIMEOUT);
}

void cp_linux_restart(struct vm *lx, const char *mode)
{
	vm_send(lx, "quit");
	shell(lx, mode);
}

unsigned cp_linux_up(struct vm *lx, const char *socket, int boot_s)
{
	struct vm_config cfg = { .arch = "aarch64", .server_socket = socket };
	char out[2048], *p;
	int rc;

	vm_boot(lx, "linux", &cfg, boot_s);
	fprintf(stderr, "Linux aarch64 guest up in %.1f s (%s)\n",
		lx->boot_ns / 1e9, lx->accel);
	/* A one-shot ipm-shell tells its peer id. */
	rc = vm_exec(lx, "echo ivshmem | ipm-shell --pci 2>&1", out,
		     sizeof(out), CP_CMD_TIMEOUT);
	VM_CHECK(lx, rc == 0, "ipm-shell --pci: status %d: %s", rc, out);
	p = strstr(out, "Peer id: ");
	VM_CHECK(lx, p && p[9] >= '0' && p[9] <= '9', "no peer id: %s", out);
	shell(lx, "doorbell");
	return (unsigned)atoi(p + strlen("Peer id: "));
}

int cp_ring_linux(const struct con_peer *p, struct vm *lx, unsigned lid)
{
	for (int tries = 1; tries <= TRIES; tries++) {
		con_send(p->con, "ivshmem_ipm_send %u", lid);
		if (vm_expect(lx, CP_LINE_IPM, 1) == 0)
			return tries;
	}
	vm_fail(lx, "%s rang peer %u %d times: nothing", p->name, lid, TRIES);
}

int cp_rung_by_linux(struct vm *lx, const struct con_peer *p)
{
	for (int tries = 1; tries <= TRIES; tries++) {
		con_skip(p->con, 0);
		vm_send(lx, "ivshmem_ipm_send %u", p->id);
		if (con_expect(p->con, CP_LINE_IPM, 1000))
			return tries;
	}
	vm_fail(lx, "the Linux guest rang peer %u (%s) %d times: nothing",
		p->id, p->name, TRIES);
}

/* What a sender prints once the receiver completed, what a receiver prints. */
static void lines(char *sent, size_t slen, char *got, size_t glen,
		  unsigned from, unsigned to, const char *text)
{
	snprintf(sent, slen, "sent %zu bytes to peer %u: completed by the "
		 "receiver", strlen(text), to);
	snprintf(got, glen, "Received %zu bytes from peer %u: %s",
		 strlen(text), from, text);
}

void cp_mail_to_linux(const struct con_peer *p, struct vm *lx, unsigned lid,
		      const char *text)
{
	char sent[128], got[256];

	lines(sent, sizeof(sent), got, sizeof(got), p->id, lid, text);
	for (int tries = 0; tries < TRIES; tries++) {
		con_send(p->con, "send %u %s", lid, text);
		if (!con_expect(p->con, sent, p->wait_ms))
			continue;
		VM_CHECK(lx, vm_expect(lx, got, CP_CMD_TIMEOUT) == 0,
			 "the Linux guest did not print \"%s\"", got);
		return;
	}
	vm_fail(lx, "\"send %u %s\" on %s: never acknowledged", lid, text,
		p->name);
}

void cp_mail_from_linux(struct vm *lx, const struct con_peer *p,
			unsigned lid, const char *text)
{
	char sent[128], got[256];
	const char *end;

	lines(sent, sizeof(sent), got, sizeof(got), lid, p->id, text);
	for (int tries = 0; tries < TRIES; tries++) {
		vm_send(lx, "send %u %s", p->id, text);
		if (vm_expect(lx, sent, (p->wait_ms + 999) / 1000) != 0)
			continue;
		end = con_must(p->con, got, p->wait_ms);
		CHECK(*end == '\r' || *end == '\n', "more after \"%s\"", got);
		return;
	}
	vm_fail(lx, "\"send %u %s\" on the Linux guest: never acknowledged",
		p->id, text);
}
