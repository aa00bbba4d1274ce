/* SPDX-License-Identifier: MIT */
/*
 * IPM: an inter-processor mailbox over ivshmem, in the spirit of Zephyr's
 * include/zephyr/drivers/ipm.h. An IPM device sits on a transport (the host
 * one through ivshmem-server, or a Linux guest's PCI device) and is one of
 * two backends, each filling one ops table:
 *
 *  - IPM_MODE_DOORBELL: wire-compatible with Zephyr's ipm_ivshmem driver.
 *    ipm_send() rings vector 0 of peer 'id'; no payload (max data size 0);
 *    the callback gets id 0 and no data. The shared memory is not touched.
 *  - IPM_MODE_MAILBOX: payloads in the shared memory (docs/mailbox-layout.md),
 *    a queue per sender/receiver pair, doorbells to wake sleepers.
 *    ipm_send()'s id is the destination peer; the callback's id is the
 *    sender. Nothing read from the shared memory is trusted.
 *
 * In both modes the device is driven by the caller's thread: poll the fds
 * from ipm_fds() and call ipm_process(), or block in ipm_poll(). Callbacks
 * run inside those calls. One thread at a time per device.
 * Functions return 0 (or a count) or a negative errno.
 */
#ifndef IVSHMEM_IPM_H
#define IVSHMEM_IPM_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <ivshmem/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ipm;

enum ipm_mode {
	IPM_MODE_DOORBELL = 0,
	IPM_MODE_MAILBOX = 1,
};

struct ipm_config {
	enum ipm_mode mode;
	/*
	 * Mailbox: peer slots the region is cut into (2..64). Default (0):
	 * the most the region holds with every queue at least 256 KiB
	 * (4 in 4 MiB, 8 in 16 MiB, 16 in 64 MiB; 2 in a smaller region).
	 * The first mailbox peer decides, later ones adopt its layout; when
	 * every slot is taken, ipm_open() fails with -ENOSPC.
	 */
	unsigned slots;
	/* Mailbox: how long a blocking send waits for the receiver's
	 * complete before -ETIMEDOUT (default 5000; < 0 forever); the
	 * withdrawal then waits up to min(this, 100) ms more for a claim
	 * the receiver may have made just before it. */
	int send_timeout_ms;
	/* Mailbox: spin this long on shared memory before sleeping on the
	 * doorbell (0: sleep at once; default 0). */
	unsigned spin_ns;
	/* Mailbox: messages are completed only by ipm_complete(), not when
	 * the callback returns. */
	int manual_complete;
	/*
	 * Mailbox: integrity off (for measuring its cost): no checksums,
	 * payloads delivered in place. The first mailbox peer decides for
	 * the region; a peer configured otherwise is refused (-EPROTO).
	 * Default 0: every record is checksummed and the callback gets a
	 * private copy of the bytes that were verified.
	 */
	int unchecked;
	/*
	 * Mailbox: also hand doorbell-only peers' rings to the callback, as
	 * doorbell mode does (id 0, data NULL, size 0; see ipm_callback_t).
	 * Default 0: a callback may take data as never NULL.
	 */
	int doorbells;
};

/*
 * Mailbox counters since the device opened (ipm_stats()). A receiver
 * never delivers a corrupted, duplicated, reordered or replayed message:
 * what it refuses is counted here instead. Doorbell mode: all 0 but
 * delivered.
 */
struct ipm_stats {
	uint64_t delivered; /* messages handed to the callback */
	uint64_t lost;      /* sequence gaps: published, never delivered */
	uint64_t corrupt;   /* records failing their checksum or structure */
	uint64_t replayed;  /* duplicates, replays, old records: refused */
	uint64_t withdrawn; /* records their sender withdrew, skipped */
	uint64_t foreign;   /* records left for an earlier slot owner */
	uint64_t dropped;   /* queues dropped up to their head (garbage) */
	uint64_t send_withdrawn; /* our blocking sends withdrawn: errors */
};

/*
 * Receive callback. Mailbox mode: 'data' points at the payload, valid until
 * the message is completed: a private copy whose checksum was verified
 * (with cfg.unchecked, the bytes in shared memory, which a misbehaving
 * sender could change meanwhile); never NULL for a message, even an empty
 * one. Doorbell mode: id 0, data NULL, size 0.
 *
 * A doorbell in mailbox mode (with cfg.doorbells): a ring of our vector 0
 * that brought no message is a doorbell-only peer's (Zephyr's ipm_ivshmem,
 * QEMU's ivshmem-client, doorbell mode) and comes as doorbell mode gives
 * it: id 0, data NULL, size 0. Rings within 200 ms of the mailbox's own
 * (an ack of a send of ours, a wake-up for a message already taken) are
 * taken as the mailbox's and not passed on, as in the Zephyr driver; a
 * doorbell that coincides with a message is that message's. Doorbells are
 * not counted in ipm_stats(), and need no ipm_complete().
 */
typedef void (*ipm_callback_t)(struct ipm *ipm, void *user_data, uint32_t id,
			       const volatile void *data, size_t size);

/* Open an IPM device on transport t, which it owns from then on. */
int ipm_open(struct ipm **out, struct ivshm_transport *t,
	     const struct ipm_config *cfg);
/* Close the device and its transport. NULL is accepted. */
void ipm_close(struct ipm *ipm);

/*
 * Send to peer 'id'. Mailbox mode (an empty send, size 0, to a peer that
 * holds no mailbox slot rings its vector 0 as doorbell mode does; to a
 * mailbox peer it is an empty message, as any other):
 * wait == 0: 0 once the message is queued (the receiver may still lose
 *            it to a scribbler: its ipm_stats() counts it as lost).
 * wait != 0: 0 only once the receiver delivered that very message to its
 *            callback and completed it -- or, at the deadline, had claimed
 *            it (it is inside its callback or holds it: it is delivered).
 *            An error means it was not delivered and never will be: the
 *            sender withdrew it (docs/mailbox-layout.md, "Sending"). A
 *            retry after an error therefore never duplicates. A message
 *            the receiver passed over (a third party's forged head or
 *            stamp) is withdrawn and sent again before the deadline. The
 *            one exception, which needs a third party's exact stamp at
 *            the moment a receiver stalls for the withdrawal's grace
 *            (min(send_timeout_ms, 100) ms) between checking a record
 *            and claiming it: -ETIMEDOUT for a delivered message, whose
 *            retry reuses its number and is skipped as a replay (counted
 *            in the receiver's ipm_stats().replayed): never a duplicate.
 * -EBUSY      the queue to that peer is full (wait == 0)
 * -EMSGSIZE   size > ipm_max_data_size_get()
 * -EINVAL     id > ipm_max_id_val_get(), or data NULL with size > 0
 * -ETIMEDOUT  not delivered within send_timeout_ms (wait != 0): withdrawn,
 *             or never queued because the queue stayed full
 * -ENOTCONN   no such peer, or it left (wait != 0: before delivering it)
 */
int ipm_send(struct ipm *ipm, int wait, uint32_t id, const void *data,
	     size_t size);

/*
 * Mailbox mode, zero copy: reserve room for 'size' bytes in the queue to
 * peer 'id' and get where they go (*data, in the shared memory); write
 * them there, then ipm_loan_commit() sends them, or ipm_loan_abandon()
 * gives the room back unsent (nothing was published). The same integrity
 * and acknowledgement rules as ipm_send(): the commit computes the
 * checksum over the bytes where they are (bytes changed after it fail the
 * receiver's check), and with wait != 0 the commit returns 0 only once
 * the receiver delivered and completed that very message, or an error
 * when it was withdrawn. wait != 0 also waits for room (send_timeout_ms).
 * One loan per device at a time.
 * ipm_loan(): 0, or ipm_send()'s errors (-EBUSY full with wait == 0,
 * -EMSGSIZE, -EINVAL, -ETIMEDOUT never reserved, -ENOTCONN), -EALREADY
 * while another loan is out, -ENOTSUP in doorbell mode.
 * ipm_loan_commit(): ipm_send()'s results; -EINVAL with no loan out.
 */
int ipm_loan(struct ipm *ipm, int wait, uint32_t id, size_t size,
	     void **data);
int ipm_loan_commit(struct ipm *ipm);
void ipm_loan_abandon(struct ipm *ipm);

void ipm_register_callback(struct ipm *ipm, ipm_callback_t cb,
			   void *user_data);
int ipm_max_data_size_get(const struct ipm *ipm);
uint32_t ipm_max_id_val_get(const struct ipm *ipm);
/* Disabled: no callbacks; mailbox messages stay queued (backpressure). */
int ipm_set_enabled(struct ipm *ipm, int enable);
/* Complete the message being (or last) delivered: the receiver's ack. */
void ipm_complete(struct ipm *ipm);

/* Fill up to max pollfds to wait on (POLLIN); returns how many. */
int ipm_fds(const struct ipm *ipm, struct pollfd *fds, int max);
/*
 * Handle whatever is ready without blocking: how many messages delivered.
 * Call it whenever a fd from ipm_fds() is readable; on return the device
 * is flagged to be woken (senders ring it) until the next call.
 */
int ipm_process(struct ipm *ipm);
/*
 * How long an event loop may wait on ipm_fds() before it must call
 * ipm_process() even though no fd became readable: milliseconds (0: now),
 * or -1: never (doorbell mode). In mailbox mode, the heartbeat that tells
 * peers without presence news (guests) that we are alive: at most 250.
 */
int ipm_timeout(const struct ipm *ipm);
/*
 * Wait up to timeout_ms (< 0: forever) for messages and deliver them.
 * Returns how many were delivered (0 on timeout).
 */
int ipm_poll(struct ipm *ipm, int timeout_ms);

/* The transport under the device (shared memory, own id, vectors). */
const struct ivshm_transport *ipm_transport(const struct ipm *ipm);
/* Mailbox mode: live mailbox peers, ascending, like ivshmem_peers(). */
int ipm_peers(struct ipm *ipm, int *ids, int max);
/* Fill *st with the device's counters (struct ipm_stats). 0. */
int ipm_stats(const struct ipm *ipm, struct ipm_stats *st);

#ifdef __cplusplus
}
#endif
#endif
