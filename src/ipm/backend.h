/* SPDX-License-Identifier: MIT */
/*
 * What an IPM backend provides: one ops table per mode, as Zephyr's IPM
 * drivers fill struct ipm_driver_api. ipm.c is the thin front that checks
 * arguments and dispatches.
 */
#ifndef IVSHMEM_IPM_BACKEND_H
#define IVSHMEM_IPM_BACKEND_H

#include <ivshmem/ipm.h>

struct ipm_backend_ops {
	const char *name;
	int (*open)(struct ipm *ipm);
	void (*close)(struct ipm *ipm);
	int (*send)(struct ipm *ipm, int wait, uint32_t id, const void *data,
		    size_t size);
	int (*max_data_size)(const struct ipm *ipm);
	/* Zero copy (NULL: not in this mode). One loan at a time. */
	int (*loan)(struct ipm *ipm, int wait, uint32_t id, size_t size,
		    void **data);
	int (*loan_commit)(struct ipm *ipm);
	void (*loan_abandon)(struct ipm *ipm);
	void (*complete)(struct ipm *ipm);
	int (*process)(struct ipm *ipm);
	/* Consume doorbells before an event loop's process (may be NULL). */
	void (*ack)(struct ipm *ipm);
	/*
	 * The event loop goes back to waiting on ipm_fds(): ask to be rung.
	 * Returns 1 if something arrived meanwhile (process again). May be
	 * NULL.
	 */
	int (*idle)(struct ipm *ipm);
	/* When the event loop must call process again (-1: never; NULL). */
	int (*timeout)(const struct ipm *ipm);
	/* Block until something may be ready, at most timeout_ms. */
	int (*wait)(struct ipm *ipm, int timeout_ms);
	int (*peers)(struct ipm *ipm, int *ids, int max);
	void (*stats)(const struct ipm *ipm, struct ipm_stats *st);
};

struct ipm {
	const struct ipm_backend_ops *ops;
	struct ivshm_transport *t;
	struct ipm_config cfg;
	ipm_callback_t cb;
	void *user_data;
	int enabled;
	/* Presence news may be waiting (the transport's fd was readable):
	 * draining costs a system call, so only then. */
	int presence_due;
	int presence_gone; /* no more news will come: stop polling for it */
	int max_size; /* ops->max_data_size, fixed once open */
	uint64_t delivered; /* doorbell mode's only counter */
	/*
	 * ipm_wait_fds' epoll set, made on first use (-1: none yet, or it
	 * could not be made: poll() then): vector 0 edge-triggered, so a
	 * wake-up needs no read of the counter; the presence fd (ep_presence,
	 * -1 once dropped) level-triggered.
	 */
	int epfd, ep_presence;
	int tickfd; /* a periodic timer in that set: ep_tick_start() */
	void *priv; /* the backend's state */
};

extern const struct ipm_backend_ops ipm_doorbell_ops;
extern const struct ipm_backend_ops ipm_mailbox_ops;

/* What ipm_wait_fds saw readable. */
#define IPM_READY_VECTOR   1
#define IPM_READY_PRESENCE 2
/*
 * The vector was waited for edge-triggered: every ring since the last
 * wait ends one, so its counter need not be read (ack) to wait again.
 */
#define IPM_READY_EDGE     4
/* Internal to ipm_wait_fds: its periodic tick (never returned). */
#define IPM_READY_TICK     8
/*
 * The tick's period: a wait of at least this long ends at the next tick
 * instead of by a timer of its own, so it lasts at most this long (the
 * mailbox's sleeps are bounded by MBOX_RECHECK_MS, the same).
 */
#define IPM_TICK_MS        100

/*
 * Wait on the device's fds: IPM_READY_* bits, 0 on timeout, or -errno.
 * IPM_READY_EDGE is set in the result (also on a timeout: then it is the
 * only bit) when the wait was edge-triggered.
 */
int ipm_wait_fds(struct ipm *ipm, int timeout_ms);

/* Drain the transport's presence news; calls left(ipm, peer) per leave. */
int ipm_drain_presence_news(struct ipm *ipm,
			    void (*left)(struct ipm *, int));

/*
 * The same if any news may be waiting (see presence_due): on every send
 * and every look for messages, so the common case stays inline.
 */
static inline int ipm_drain_presence(struct ipm *ipm,
				     void (*left)(struct ipm *, int))
{
	if (!ipm->presence_due || ipm->presence_gone)
		return 0;
	return ipm_drain_presence_news(ipm, left);
}

#endif
