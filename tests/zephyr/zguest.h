/* SPDX-License-Identifier: MIT */
/*
 * The peers of the Zephyr tests: Zephyr images under qemu-system-aarch64
 * (TCG) and host ipm-shells, driven through their consoles (console.h).
 */
#ifndef IVSHMEM_TESTS_ZGUEST_H
#define IVSHMEM_TESTS_ZGUEST_H

#include "console.h"

#define ZG_LINE_IPM "Received IPM notification over IVSHMEM"
#define ZG_WAIT_MS 20000
#define ZG_REGION (4ull << 20)	/* the server's -l 4M */

struct zpeer {
	struct con con;
	const char *name;
	unsigned id;
	char chardev[160];
};

/* QEMU and both images, or skip (exit 77) / fail. */
void zg_require(void);

/* Boot elf on the server at sock; wait for the shell, read `ivshmem`. */
void zg_boot(struct zpeer *p, const char *name, const char *elf,
	     const char *sock);
/* A host ipm-shell (doorbell mode, 2 vectors); read `ivshmem`. */
void zg_host(struct zpeer *p, const char *name, const char *sock);

/*
 * `ivshmem_ipm_send to->id` on from until to prints the sample's line;
 * returns the rings it took (a newcomer is heard of asynchronously), and
 * when it took one, checks no second line comes.
 */
int zg_ring(struct zpeer *from, struct zpeer *to);

/*
 * A host ipm-shell -m mailbox that lays the region out first with slots
 * slots (the samples adopt its layout); read `ivshmem`.
 */
void zg_host_mailbox(struct zpeer *p, const char *name, const char *sock,
		     unsigned slots);

/*
 * `send to->id TEXT` on from until "sent N bytes to peer P: completed by
 * the receiver" (at most tries times), then the receiver's exact line
 * "Received N bytes from peer Q: TEXT". Returns the tries it took.
 */
int zg_send(struct zpeer *from, struct zpeer *to, const char *text,
	    int tries);

/* Nothing with text arrives on p within ms. */
void zg_quiet(struct zpeer *p, const char *text, int ms);

#endif
