/* SPDX-License-Identifier: MIT */
/* libivshmem internals, shared by the files of src/peer only. */
#ifndef IVSHMEM_PEER_INTERNAL_H
#define IVSHMEM_PEER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ivshmem/ivshmem.h"
#include "wire.h"

/* Public entry points; everything else stays out of the dynamic table. */
#define IVSHMEM_EXPORT __attribute__((visibility("default")))

/*
 * After one of our own vectors has arrived, how long setup waits for the
 * next one before it concludes the server hands out no more. A server
 * writes a peer's vectors back to back, so this only delays connect when
 * nothing else tells us our count: we take every vector (vectors == 0) or
 * asked for more than the server gives, and no peer was there before us.
 */
#define IVP_OWN_VECTOR_GRACE_MS 500

/* Messages ivshmem_process() handles per call, so a flood cannot pin it. */
#define IVP_PROCESS_BATCH 4096

/* Where the connection is in the setup sequence of the spec. */
enum ivp_phase {
	IVP_PH_VERSION,
	IVP_PH_ID,
	IVP_PH_SHM,
	IVP_PH_VECTORS,  /* existing peers' vectors, then our own */
	IVP_PH_READY,
};

/*
 * A peer is pending while its vector messages arrive, then complete (live,
 * JOINED queued) for good. At most one peer is pending, iv->pending: a
 * message about any other id completes it first. So a peer is reported
 * once, and fd[] is only ever written below cap.
 */
struct ivp_peer {
	int id;
	int complete;    /* JOINED reported: all its vector messages are in */
	unsigned nvec;
	unsigned cap;    /* fds kept at most; further ones are closed */
	int fd[];
};

/* FIFO of events, a ring buffer whose size is a power of two. */
struct ivp_evq {
	struct ivshmem_event *ev;
	size_t cap, head, len;
	unsigned long pushed;  /* lifetime total: process() reports a delta */
};

struct ivshmem {
	int sock;
	int id;
	enum ivp_phase phase;
	int gone;              /* SERVER_GONE queued; the socket is dead */
	void *mem;
	size_t size;
	int sealed;            /* the memory is a memfd sealed against shrinking */
	unsigned limit;        /* vectors kept per peer (ours too) at most */
	unsigned nvec;         /* our own vectors actually received */
	unsigned peers_nvec;   /* most vectors of a peer there before us */
	int own[IVSHMEM_MAX_VECTORS];
	dev_t anon_dev;        /* the anonymous inode eventfds share */
	ino_t anon_ino;
	struct ivproto_rx rx;
	struct ivp_peer **peers;  /* sorted by id, complete or pending */
	size_t npeers, peers_cap;
	int pending;           /* id of the peer whose vectors are arriving */
	struct ivp_evq evq;
};

/* events.c */
int ivp_evq_reserve(struct ivp_evq *q, size_t n);
void ivp_evq_push(struct ivp_evq *q, enum ivshmem_event_type type, int peer,
		  unsigned vectors);
void ivp_evq_free(struct ivp_evq *q);

/* peers.c */
struct ivp_peer *ivp_peer_find(const struct ivshmem *iv, int id);
const struct ivp_peer *ivp_peer_live(const struct ivshmem *iv, int id);
struct ivp_peer *ivp_peer_insert(struct ivshmem *iv, int id, unsigned cap);
void ivp_peer_remove(struct ivshmem *iv, int id);
void ivp_peer_trim(struct ivp_peer *p, unsigned nvec);
void ivp_peers_free(struct ivshmem *iv);

/* shm.c */
int ivp_shm_map(int fd, void **mem, size_t *size, int *sealed);

/* fdkind.c */
int ivp_anon_inode(dev_t *dev, ino_t *ino);
int ivp_is_eventfd(const struct ivshmem *iv, int fd);
int ivp_is_writable_vector(const struct ivshmem *iv, int fd);
ssize_t ivp_read_nowait(int fd, uint64_t *count);

/* connect.c: the setup over a connected socket (sock is taken). */
int ivp_connect_fd(struct ivshmem **out, int sock, unsigned vectors,
		   int timeout_ms);

/* proto.c */
int ivp_setup_msg(struct ivshmem *iv, int64_t value, int fd);
int ivp_handle_msg(struct ivshmem *iv, int64_t value, int fd);
int ivp_finish_setup(struct ivshmem *iv);
void ivp_server_gone(struct ivshmem *iv, int clean);

/* time.c */
int64_t ivp_deadline(int timeout_ms);
int ivp_left_ms(int64_t deadline);

#endif
