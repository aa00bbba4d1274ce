/* SPDX-License-Identifier: MIT */
/*
 * Mailbox traffic between two consoles that speak ipm-shell's mailbox
 * lines (the bare-metal guest's shell, ipm-shell -m mailbox, the Linux
 * guest's ipm-shell): exact lines on both sides, a record of every text
 * sent, and a final check that nothing else was ever delivered.
 */
#ifndef IVSHMEM_TESTS_BMMAIL_H
#define IVSHMEM_TESTS_BMMAIL_H

#include <stdint.h>

#include "console.h"

#define BM_MAIL_TEXTS 256

struct bm_mail_end {
	struct con *con;
	unsigned id;
};

struct bm_mail {
	char *texts[BM_MAIL_TEXTS];	/* every text any side sent */
	unsigned n;
};

/*
 * `send` text from one end to the other until it is acknowledged
 * ("sent N bytes to peer P: completed by the receiver"), at most tries
 * times, and then the receiver's exact line "Received N bytes from peer
 * Q: TEXT". Returns the attempts it took (0: never acknowledged; the test
 * fails when must is set).
 */
int bm_mail_send(struct bm_mail *m, struct bm_mail_end *from,
		 struct bm_mail_end *to, const char *text, int tries,
		 int must);

/* Every "Received" line c ever printed is the sample's doorbell line or
 * a text of m; fails the test otherwise. The number of messages. */
unsigned bm_mail_audit(struct bm_mail *m, struct con *c);

/* n random words (from seed) over the mailbox's state in the region. */
void bm_mail_scribble(volatile void *mem, uint64_t size, unsigned n,
		      uint64_t seed);

#endif
