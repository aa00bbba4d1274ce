/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem server wire protocol (QEMU docs/specs/ivshmem-spec.rst).
 *
 * Every message is one little-endian int64, optionally carrying exactly one
 * file descriptor as SCM_RIGHTS ancillary data. Only the server speaks; the
 * peer never sends anything.
 *
 * On connect the server sends, in order:
 *   0                     protocol version
 *   ID                    the new peer's id (no fd)
 *   -1 + shm fd
 *   P + eventfd           for each existing peer P, once per vector, in order
 *   ID + eventfd          the new peer's own vectors, once per vector, in order
 * Afterwards:
 *   P + eventfd           peer P joined (once per vector)
 *   P                     peer P left
 *
 * This module is shared by the server and the peer library: it owns the
 * encoding and the socket I/O of single messages and nothing else.
 */
#ifndef IVSHMEM_PROTO_WIRE_H
#define IVSHMEM_PROTO_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IVPROTO_VERSION      0
#define IVPROTO_SHM_ID       (-1)
#define IVPROTO_MSG_SIZE     8
#define IVPROTO_MAX_VECTORS  64
/* The Doorbell register carries the destination in 16 bits. */
#define IVPROTO_MAX_PEER_ID  65535
#define IVPROTO_NUM_IDS      65536

static inline void ivproto_encode(int64_t value, uint8_t buf[IVPROTO_MSG_SIZE])
{
	uint64_t v = (uint64_t)value;

	for (int i = 0; i < IVPROTO_MSG_SIZE; i++)
		buf[i] = (uint8_t)(v >> (8 * i));
}

static inline int64_t ivproto_decode(const uint8_t buf[IVPROTO_MSG_SIZE])
{
	uint64_t v = 0;

	for (int i = 0; i < IVPROTO_MSG_SIZE; i++)
		v |= (uint64_t)buf[i] << (8 * i);
	return (int64_t)v;
}

/*
 * Send bytes [off, IVPROTO_MSG_SIZE) of the message 'value'; 'fd' (or -1)
 * rides with the first byte, so it is only attached when off == 0.
 * Never blocks on a non-blocking socket and never raises SIGPIPE.
 * Returns the number of bytes sent (> 0), or a negative errno
 * (-EAGAIN when the socket buffer is full).
 */
int ivproto_send_part(int sock, int64_t value, int fd, size_t off);

/*
 * The same for n (1..IVPROTO_BATCH_MAX) messages in one sendmsg(): bytes
 * [off, n * IVPROTO_MSG_SIZE) of their concatenation, 'fd' riding with
 * the first message's first byte (only when off == 0). Only the first
 * may carry an fd: the kernel hands a stream segment's fds to the read
 * that takes its first byte, so each fd still arrives with its message.
 */
#define IVPROTO_BATCH_MAX 16
int ivproto_send_batch(int sock, const int64_t *values, size_t n, int fd,
		       size_t off);

/*
 * sendmsg() of len bytes (len > 0) with fd (when >= 0) attached to the
 * first byte, never raising SIGPIPE; flags are sendmsg()'s (e.g.
 * MSG_DONTWAIT), EINTR retried. The bytes sent, or -errno (-EAGAIN when
 * the socket buffer is full).
 */
ssize_t ivproto_send_bytes(int sock, const void *buf, size_t len, int fd,
			   int flags);

/* Send one whole message on a blocking socket. Returns 0 or -errno. */
int ivproto_send(int sock, int64_t value, int fd);

/*
 * Receive state for one socket: a message may arrive in pieces on a
 * non-blocking socket. Zero-initialise with IVPROTO_RX_INIT.
 */
struct ivproto_rx {
	uint8_t buf[IVPROTO_MSG_SIZE];
	size_t len;
	int fd;
};
#define IVPROTO_RX_INIT { .len = 0, .fd = -1 }

/*
 * Receive one message. Returns 0 with *value and *fd (an owned fd with
 * close-on-exec set, or -1) when a whole message has arrived. Otherwise:
 *   -EAGAIN      a non-blocking socket has no more data yet (state kept)
 *   -ECONNRESET  orderly EOF at a message boundary
 *   -EPROTO      EOF in the middle of a message
 *   -EBADMSG     more than one fd on a message, or other ancillary data
 *                (every received fd is closed)
 *   -errno       any other socket error
 * After any error but -EAGAIN the connection is not usable any more.
 */
int ivproto_recv(struct ivproto_rx *rx, int sock, int64_t *value, int *fd);

/* Drop any partial message and fd held by rx. */
void ivproto_rx_reset(struct ivproto_rx *rx);

#endif
