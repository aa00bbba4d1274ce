/* SPDX-License-Identifier: MIT */
/*
 * Mailbox mode: the core (src/core, docs/mailbox-layout.md) over an ivshmem
 * transport. The core holds the protocol; this backend fills its ops from
 * the transport (doorbells, presence, and the front's sleep for its
 * blocking waits) and hands the front what it delivers.
 */
#ifndef IVSHMEM_IPM_MAILBOX_H
#define IVSHMEM_IPM_MAILBOX_H

#include "backend.h"
#include "ipmc.h"

struct mbox {
	struct ipmc c;        /* the core's state: everything per slot */
	struct ipmc_ops ops;  /* filled from env, ctx = this struct mbox */
	struct ipm_env env;   /* the front's loan: transport, config, sleep */
	uint8_t *copy;        /* the verified copy a message is delivered from */
	struct ipmc_loan loan;
	int loaned;           /* a loan is out */
	/*
	 * Our waits are edge-triggered (the front's sleep says so), and our
	 * counter is known above 0 since we rang ourselves: senders may
	 * nudge us (IPMC_SLEEP_NUDGE).
	 */
	int edge, primed;
	/*
	 * Bare doorbells (mailbox.c, CALM_MS): our vector 0 was rung since
	 * the last look; the mailbox did something that may ring us
	 * (stamped into calm_at at the next sleep, which reads the clock
	 * anyway); until when a ring may be the mailbox's own.
	 */
	int rung, stirred;
	int self_rung; /* we primed: the next wake-up is our own ring's */
	long long calm_at;
	int just_took; /* the last next() delivered: see mb_next() */
};

#endif
