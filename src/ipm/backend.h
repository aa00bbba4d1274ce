/* SPDX-License-Identifier: MIT */
/*
 * What an IPM backend provides: one ops table per mode, as Zephyr's IPM
 * drivers fill struct ipm_driver_api.
 *
 * The stack is one way (docs/mailbox-layout.md, "Layers"):
 *
 *   ipm.c, the front: argument checks; presence news (drained before a
 *       backend op runs, each leave handed down as peer_left); waiting
 *       (its epoll set and tick, ipm_poll's loop, ipm_process's turns);
 *       timeouts; enabled, held and delivery to the callback.
 *   doorbell.c, mailbox.c: pure ops on their own state (priv, allocated
 *       by the front with priv_size bytes); they see struct ipm_env, never
 *       struct ipm (it is private to ipm.c) nor any function of the front.
 *   src/core (the mailbox protocol), then the transport's ops.
 *
 * The only calls upward are the two services of struct ipm_env, which the
 * front fills as an environment fills the core's struct ipmc_ops: the
 * sleep and the presence news that a wait inside a backend's own blocking
 * call needs (a blocking send waiting for its ack: the core's ops->wait
 * and ops->news). ipm_layering (tests/ipm) checks on the objects that
 * doorbell.c and mailbox.c reference no symbol of ipm.c.
 */
#ifndef IVSHMEM_IPM_BACKEND_H
#define IVSHMEM_IPM_BACKEND_H

#include <ivshmem/ipm.h>

/* What a sleep saw: ipm_env.wait's result, woken()'s argument. */
#define IPM_READY_VECTOR   1
#define IPM_READY_PRESENCE 2
/*
 * The vector was waited for edge-triggered: every ring since the last
 * wait ends one, so its counter need not be read (ack) to wait again.
 * Set also on a timeout, then as the only bit.
 */
#define IPM_READY_EDGE     4

/* What the front lends a backend, for the backend's whole life. */
struct ipm_env {
	struct ivshm_transport *t;
	const struct ipm_config *cfg; /* defaults filled in; fixed */
	void *ctx;                    /* the front's, for the two below */
	/*
	 * Sleep on the device's fds for at most timeout_ms (< 0: until
	 * something comes), then read the presence news that came (leaves
	 * reach peer_left): IPM_READY_* bits, 0 on a timeout, or -errno.
	 */
	int (*wait)(void *ctx, int timeout_ms);
	/* Read the presence news now (leaves reach peer_left). */
	void (*news)(void *ctx);
};

/* An arrival the front hands to the callback. */
struct ipm_arrival {
	uint32_t id;
	const volatile void *data; /* NULL: a doorbell, else a message */
	size_t size;
};

struct ipm_backend_ops {
	const char *name;
	size_t priv_size; /* the backend's state, zeroed by the front */
	/* Read the presence news before every send (a ring is a system
	 * call anyway: joins and leaves stay exact). */
	int news_per_send;
	int (*open)(void *priv, const struct ipm_env *env);
	void (*close)(void *priv);
	int (*max_data_size)(const void *priv);
	int (*send)(void *priv, int wait, uint32_t id, const void *data,
		    size_t size);
	/* Zero copy (NULL: not in this mode). One loan at a time. */
	int (*loan)(void *priv, int wait, uint32_t id, size_t size,
		    void **data);
	int (*loan_commit)(void *priv);
	void (*loan_abandon)(void *priv);
	/*
	 * The next arrival, without blocking: 1 with *a, 0 when none, or
	 * -errno. A message is held until complete(); no other comes
	 * meanwhile.
	 */
	int (*next)(void *priv, struct ipm_arrival *a);
	void (*complete)(void *priv);
	/*
	 * Nothing may be delivered now (disabled, or a message held): what
	 * arrives stays pending; keep the device alive (may be NULL).
	 */
	void (*hold)(void *priv);
	/* An event loop saw our fds (ipm_process): consume the doorbells
	 * (may be NULL). */
	void (*ack)(void *priv);
	/*
	 * About to sleep: flag ourselves to be woken, look once more; 1 when
	 * something arrived meanwhile (look again instead). 'own': the front
	 * sleeps next in its own wait (ipm_poll), then calls woken(); else
	 * an event loop waits on ipm_fds() (level-triggered). 'deliverable':
	 * whether an arrival could be delivered now. May be NULL.
	 */
	int (*idle)(void *priv, int own, int deliverable);
	/* The front's own sleep after idle(own) ended: IPM_READY_* or
	 * -errno. May be NULL. */
	void (*woken)(void *priv, int ready);
	/* When the front must look again (-1: never; may be NULL). */
	int (*timeout)(const void *priv);
	/* Presence news: peer left (may be NULL). */
	void (*peer_left)(void *priv, int peer);
	int (*peers)(void *priv, int *ids, int max);
	void (*stats)(const void *priv, struct ipm_stats *st);
};

extern const struct ipm_backend_ops ipm_doorbell_ops;
extern const struct ipm_backend_ops ipm_mailbox_ops;

#endif
