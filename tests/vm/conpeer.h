/* SPDX-License-Identifier: MIT */
/*
 * A guest on a serial console (the bare-metal guest, a Zephyr sample) and
 * a Linux aarch64 guest running ipm-shell --pci, on one server: the Linux
 * guest's start, and doorbells and mailbox texts between the two. A peer
 * hears of a newcomer asynchronously, so each is retried until heard.
 * For baremetal_linux and zephyr_linux.
 */
#ifndef IVSHMEM_TESTS_CONPEER_H
#define IVSHMEM_TESTS_CONPEER_H

#include "console.h"
#include "vm.h"

/* The line the sample prints when rung (both sides). */
#define CP_LINE_IPM "Received IPM notification over IVSHMEM"
#define CP_CMD_TIMEOUT 60 /* s: a command in the Linux guest */

struct con_peer {
	struct con *con;
	const char *name;  /* in messages: "the bare-metal guest" */
	unsigned id;       /* its peer id */
	int wait_ms;       /* how long its console may take to answer */
};

/*
 * Boot the Linux guest on the server at 'socket' (within boot_s), start
 * ipm-shell --pci -m doorbell in it and wait for its prompt: its peer id.
 */
unsigned cp_linux_up(struct vm *lx, const char *socket, int boot_s);
/* Quit the Linux guest's ipm-shell and start it again in 'mode'. */
void cp_linux_restart(struct vm *lx, const char *mode);

/* p rings the Linux guest (peer lid) until it prints the line: the tries. */
int cp_ring_linux(const struct con_peer *p, struct vm *lx, unsigned lid);
/* The Linux guest rings p until p prints the line: the tries. */
int cp_rung_by_linux(struct vm *lx, const struct con_peer *p);

/*
 * Mailbox mode on both sides: p sends text to the Linux guest (lid), a
 * blocking send, until it says the receiver completed it; then the Linux
 * guest must have printed it exactly.
 */
void cp_mail_to_linux(const struct con_peer *p, struct vm *lx, unsigned lid,
		      const char *text);
/* The same the other way: p must print the text and end the line there. */
void cp_mail_from_linux(struct vm *lx, const struct con_peer *p,
			unsigned lid, const char *text);

#endif
