/* SPDX-License-Identifier: MIT */
/* ipm-shell in a tests/vm guest for the rtt.vm.* figures: see vm_guest.h. */
#include "vm_guest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

#define CMD_TIMEOUT_S 60
#define SHELL_PROMPT "uart:~$ "
/* Output room: per sample (a few ms is "1234567 "), and for the rest. */
#define SAMPLE_CHARS 24
#define OUT_SLACK 16384

/* What went wrong, then what the guest printed last. */
static void complain(struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void complain(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ipm-bench: %s: ", vm->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	vm_print_tail(vm, 20);
}

int vmg_peer_id(struct vm *vm, int *id)
{
	char out[2048], *p;
	int rc = vm_exec(vm, "echo ivshmem | ipm-shell --pci 2>&1", out,
			 sizeof(out), CMD_TIMEOUT_S);

	if (rc || !strstr(out, "ipm-shell: using VFIO on ") ||
	    !strstr(out, "(MSI-X, ")) {
		complain(vm, "ipm-shell --pci does not use VFIO with MSI-X: "
			 "%s", out);
		return -EPROTO;
	}
	p = strstr(out, "Peer id: ");
	if (!p) {
		complain(vm, "no peer id from ipm-shell: %s", out);
		return -EPROTO;
	}
	*id = atoi(p + strlen("Peer id: "));
	return 0;
}

int vmg_clocksource(struct vm *vm, char *buf, size_t len)
{
	char out[256];
	int rc = vm_exec(vm, "cat /sys/devices/system/clocksource/"
			 "clocksource0/current_clocksource", out, sizeof(out),
			 CMD_TIMEOUT_S);

	if (rc) {
		complain(vm, "no clocksource: %s", out);
		return -EPROTO;
	}
	out[strcspn(out, "\n")] = '\0';
	snprintf(buf, len, "%s", out);
	return 0;
}

static int expect(struct vm *vm, const char *text)
{
	int rc = vm_expect(vm, text, CMD_TIMEOUT_S);

	if (rc < 0)
		complain(vm, "no '%s' within %d s", text, CMD_TIMEOUT_S);
	return rc < 0 ? -EPROTO : 0;
}

int vmg_pong(struct vm *vm, int peer)
{
	int rc = vm_send(vm, "ipm-shell --pci -m doorbell");

	if (!rc)
		rc = expect(vm, "ipm-shell: using VFIO on ");
	if (!rc)
		rc = vm_send(vm, "pong %d", peer);
	/*
	 * The shell reads lines in order: once `ivshmem` has answered, pong
	 * is on and the first ring of the other side cannot be missed.
	 */
	if (!rc)
		rc = vm_send(vm, "ivshmem");
	if (!rc)
		rc = expect(vm, "Notification vectors: ");
	if (!rc)
		rc = expect(vm, SHELL_PROMPT);
	return rc < 0 ? -EPROTO : 0;
}

int vmg_ping(struct vm *vm, int peer, unsigned warmup, unsigned n,
	     struct stats *st)
{
	size_t len = (size_t)n * SAMPLE_CHARS + OUT_SLACK;
	char *out = malloc(len), warm[64] = "", cmd[192];
	/* Generous: a round trip takes about a millisecond under TCG. */
	int timeout_s = CMD_TIMEOUT_S + (int)((warmup + n) / 50), rc;

	if (!out)
		return -ENOMEM;
	if (warmup)
		snprintf(warm, sizeof(warm), "ping %d %u\\n", peer, warmup);
	snprintf(cmd, sizeof(cmd), "printf '%sping %d %u 0 samples\\n' | "
		 "ipm-shell --pci -m doorbell 2>&1", warm, peer, n);
	rc = vm_exec(vm, cmd, out, len, timeout_s);
	if (rc == 0)
		rc = vmg_parse_ping(out, n, st);
	else
		rc = -EPROTO;
	if (rc < 0) {
		size_t olen = strlen(out);

		/* Its end says what went wrong; the samples can be long. */
		complain(vm, "not %u round trips from `%s`%s; its output "
			 "ends with:\n%s", n, cmd, rc == -EIO ? "" :
			 " (an image older than 'ping ... samples'? "
			 "build-guest.sh makes a new one)",
			 out + (olen > 2000 ? olen - 2000 : 0));
	}
	free(out);
	return rc;
}
