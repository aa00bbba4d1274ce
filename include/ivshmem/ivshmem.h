/* SPDX-License-Identifier: MIT */
/*
 * libivshmem: join an ivshmem server as a peer, as QEMU's ivshmem-doorbell
 * device does, from a host program.
 *
 *   struct ivshmem *iv;
 *   int rc = ivshmem_connect(&iv, "/tmp/ivshmem_socket", 1, 5000);
 *   if (rc < 0) ... strerror(-rc) ...
 *   void *mem = ivshmem_mem(iv);                 // the shared memory
 *   ivshmem_ring(iv, peer, 0);                   // doorbell: peer, vector 0
 *   ivshmem_wait(iv, 1000, &vec);                // a doorbell for us?
 *   ivshmem_close(iv);
 *
 * Every function returns 0 (or a count) on success and a negative errno on
 * failure. There is no global state. Link with -livshmem (libivshmem.so.0
 * or the static libivshmem.a). One struct ivshmem may be used by one
 * thread at a time; ivshmem_ring() alone may be called from any thread
 * concurrently with the others (it only writes to eventfds) as long as
 * peers are not being added or removed by ivshmem_process() meanwhile.
 *
 * Guarantees, whatever the server sends and whatever other peers do to
 * the fds all peers share (docs/peer-library.md names the test of each):
 *  - no read or write out of bounds: a peer never holds more fds than its
 *    vector count, fixed when it is reported (tests/peer/peer_interleave,
 *    fuzz_peer_proto);
 *  - a peer reported JOINED is listed by ivshmem_peers(), ringable on each
 *    of the vectors the event gave, and gets exactly one LEFT when the
 *    server says it left; a peer is reported once (peer_interleave,
 *    peer_vectors, fuzz_peer_proto);
 *  - no SIGPIPE: every vector fd is checked when it arrives: ours must be
 *    eventfds, a peer's an eventfd or another anonymous-inode file
 *    (timerfd, ...; writing to those fails with -EINVAL). A pipe, socket,
 *    file or device is a protocol error (-EPROTO). None of these can
 *    raise SIGPIPE; the process's signal dispositions and masks are never
 *    touched (peer_hostile_fds);
 *  - ivshmem_ack(), ivshmem_process(), ivshmem_next_event() never block,
 *    and ivshmem_wait() returns by its timeout, even when another peer
 *    clears O_NONBLOCK on our eventfds or reads their counters
 *    (peer_hostile_fds); ivshmem_ring() sets O_NONBLOCK again before each
 *    write, but see its comment for the one race left; ivshmem_nudge()
 *    never blocks (it adds 0);
 *  - no SIGBUS of our making: we never truncate, and map only a regular
 *    file of a non-zero whole number of pages. Whether anyone else can
 *    truncate it is the server's choice of memory: ivshmem_mem_sealed()
 *    says (peer_fake_setup, peer_fake_events).
 */
#ifndef IVSHMEM_IVSHMEM_H
#define IVSHMEM_IVSHMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IVSHMEM_MAX_VECTORS 64
#define IVSHMEM_MAX_PEER_ID 65535

struct ivshmem;

/*
 * A peer's vectors arrive one message each. Its JOINED event is queued
 * once they are over: when it has as many vectors as we have (a server
 * gives every peer the same count), or else when a message about another
 * id arrives (the server gave it fewer), or when the server goes. Until
 * then the peer is not listed, ringable or counted. Vectors beyond ours,
 * and any that come for a peer already reported (a server interleaving
 * peers' vectors), are closed: a peer's count never changes once told.
 * Peers already there at connect time are reported as JOINED events too,
 * queued by ivshmem_connect() in ascending id order; a peer that leaves
 * before its JOINED is never reported.
 */
enum ivshmem_event_type {
	IVSHMEM_EV_PEER_JOINED = 1, /* a peer's vectors are all known */
	IVSHMEM_EV_PEER_LEFT = 2,
	/*
	 * The server closed the socket, or broke the protocol after setup.
	 * Known peers stay known: their eventfds work without a server.
	 */
	IVSHMEM_EV_SERVER_GONE = 3,
};

struct ivshmem_event {
	enum ivshmem_event_type type;
	int peer;          /* peer id; -1 for IVSHMEM_EV_SERVER_GONE */
	unsigned vectors;  /* the peer's vector count when it joined */
};

/*
 * Connect to the server at socket_path and complete the setup: the
 * protocol version, our id, the shared memory (mapped read-write), every
 * existing peer and our own vectors' eventfds.
 * vectors == 0 takes every vector the server sends (at most
 * IVSHMEM_MAX_VECTORS), as QEMU's ivshmem-client does; 1..64 is a limit,
 * as QEMU's device's vectors= property: a server that hands out more has
 * the extra fds closed (ours and every peer's), one that hands out fewer
 * leaves us with what it gave. ivshmem_vectors() tells how many we got,
 * ivshmem_peer_vectors() each peer's (at most ours).
 * A server gives a peer's vectors back to back, so our vectors are over
 * when we have 'vectors' of them, or as many as the peers there before us
 * have, or a message about another id comes, or, after our first vector,
 * 500 ms pass without the next one (or timeout_ms ends, if sooner). Only
 * the last case waits: taking every vector from a server with no peer yet,
 * or asking more than a server without peers gives.
 * timeout_ms bounds the whole setup (-ETIMEDOUT); < 0 waits forever.
 * Every fd received is close-on-exec; the shm fd is closed once mapped.
 * On success *out is set; on failure it is NULL and nothing is left open.
 * Errors: -EINVAL (arguments), -ENAMETOOLONG (socket_path),
 * -ENOENT/-ECONNREFUSED (no server), -ECONNRESET (the server closed the
 * connection before setup began, e.g. it is full), -EPROTO (the server
 * broke the protocol: messages out of order, a bad id, a missing or extra
 * fd, a vector fd that is a pipe, socket or file (see above), EOF during
 * setup, a shared memory fd that is not a regular file of a non-zero whole
 * number of pages), -EPROTONOSUPPORT (another protocol version), mmap()'s
 * errno when the memory cannot be mapped read-write (e.g. -EACCES),
 * -ETIMEDOUT, -ENOMEM, ...
 */
int ivshmem_connect(struct ivshmem **out, const char *socket_path,
		    unsigned vectors, int timeout_ms);

/* Unmap, close every fd and free. NULL is accepted. */
void ivshmem_close(struct ivshmem *iv);

/* Our own peer id, the shared memory and its size, our vector count. */
int ivshmem_id(const struct ivshmem *iv);
void *ivshmem_mem(const struct ivshmem *iv);
size_t ivshmem_size(const struct ivshmem *iv);
unsigned ivshmem_vectors(const struct ivshmem *iv);

/*
 * 1 when the shared memory is a memfd sealed against shrinking
 * (F_SEAL_SHRINK): no peer can truncate it, so touching it can never raise
 * SIGBUS. 0 otherwise (POSIX shm, a file, an unsealed memfd): any process
 * that can open it can truncate it, and an access past the new end raises
 * SIGBUS in every peer mapping it; nothing in this library can prevent
 * that. Which one a server hands out is its choice.
 */
int ivshmem_mem_sealed(const struct ivshmem *iv);

/*
 * Ring vector 'vector' of peer 'peer' (may be ourselves).
 * -ENOENT when that peer is not known, -EINVAL when it has no such vector,
 * -EAGAIN when its eventfd counter is full (rung ~2^64 times unread, or
 * filled by a hostile peer). Never raises SIGPIPE (see the guarantees
 * above: no vector fd is a pipe or socket). Does not block: O_NONBLOCK, which every holder of the eventfd
 * shares and any may clear, is set again before each write if it was
 * cleared. Linux offers no per-call non-blocking eventfd write, so one
 * race is left: a peer that clears the flag in the microsecond between
 * that check and the write, with the counter full, makes this write wait
 * until the eventfd's owner reads it.
 */
int ivshmem_ring(struct ivshmem *iv, int peer, unsigned vector);

/*
 * Wake whoever waits on vector 'vector' of peer 'peer' without adding to
 * its eventfd's counter (a write of 0), for peers that wait
 * edge-triggered (epoll EPOLLET) with a counter they keep above 0: a
 * waiter sees the wake-up only while the counter is not 0, so this is no
 * replacement for ivshmem_ring() unless the peer said it waits that way
 * (the IPM mailbox's `sleeping` word, docs/mailbox-layout.md). Never
 * blocks, whatever another peer did to the file's flags or counter (a
 * write of 0 never waits); errors as ivshmem_ring().
 */
int ivshmem_nudge(struct ivshmem *iv, int peer, unsigned vector);

/*
 * Live peers other than ourselves, ascending. Writes up to 'max' ids to
 * 'ids' (may be NULL when max is 0) and returns how many peers there are.
 */
int ivshmem_peers(const struct ivshmem *iv, int *ids, int max);

/* The vector count of a live peer (at most ours), or -ENOENT. */
int ivshmem_peer_vectors(const struct ivshmem *iv, int peer);

/*
 * For event loops. The socket fd becomes readable when the server has
 * news: call ivshmem_process() then. Vector fd 'v' (an eventfd) becomes
 * readable when a peer rang our vector v: call ivshmem_ack() to consume it.
 */
int ivshmem_socket_fd(const struct ivshmem *iv);
int ivshmem_vector_fd(const struct ivshmem *iv, unsigned vector);

/*
 * Read the server's pending messages without blocking and queue the
 * resulting events. Returns the number of events queued, or -errno; after
 * the server has gone it queues IVSHMEM_EV_SERVER_GONE once and returns
 * -ENOTCONN from then on. A protocol error after setup (-EPROTO) is
 * returned once and ends the connection the same way (SERVER_GONE queued,
 * then -ENOTCONN); events queued before it in the same call stay queued.
 * At most a few thousand messages are handled per call, so a flooding
 * server cannot hold the caller: the socket then stays readable, so poll
 * it level-triggered (not EPOLLET). Once gone, the socket stays open (and
 * readable) until ivshmem_close(): take it out of your poll set.
 */
int ivshmem_process(struct ivshmem *iv);

/* Pop one queued event: 1 when *ev was filled, 0 when there is none. */
int ivshmem_next_event(struct ivshmem *iv, struct ivshmem_event *ev);

/*
 * Consume vector v's pending notifications: returns how many (capped at
 * INT_MAX), 0 if none (also when another holder of the eventfd read them
 * first). Never blocks, even when another peer cleared O_NONBLOCK on the
 * shared eventfd: the read is RWF_NOWAIT (Linux 5.12 and later; older
 * kernels fall back to poll, then set O_NONBLOCK again, then read, which a
 * peer racing in between can still make wait). -EINVAL for no such vector,
 * -EIO if the fd does not behave like an eventfd.
 */
int ivshmem_ack(struct ivshmem *iv, unsigned vector);

/*
 * Block until one of our vectors is rung or an event is queued, for at most
 * timeout_ms (< 0: forever). Server messages are processed meanwhile.
 * Returns 1 with *vector set when a vector was rung (its notification is
 * consumed; vector may be NULL), 2 when an event is queued (see
 * ivshmem_next_event), 0 on timeout, -errno on failure, including
 * ivshmem_process()'s. Events already queued return 2 at once; once the
 * server is gone only our vectors are waited for.
 */
int ivshmem_wait(struct ivshmem *iv, int timeout_ms, unsigned *vector);

#ifdef __cplusplus
}
#endif
#endif
