/* SPDX-License-Identifier: MIT */
/* Doorbells: ringing a peer's eventfd and consuming our own. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "internal.h"

IVSHMEM_EXPORT int ivshmem_ring(struct ivshmem *iv, int peer, unsigned vector)
{
	const uint64_t one = 1;
	const struct ivp_peer *p;
	ssize_t n;
	int fd, fl;

	if (peer == iv->id) {
		if (vector >= iv->nvec)
			return -EINVAL;
		fd = iv->own[vector];
	} else {
		p = ivp_peer_live(iv, peer);
		if (!p)
			return -ENOENT;
		if (vector >= p->nvec)
			return -EINVAL;
		fd = p->fd[vector];
	}
	/*
	 * An eventfd's write blocks while its counter is full unless the
	 * file is non-blocking, and that flag is shared with every peer
	 * holding the fd: look each time (never cached) and set it again if
	 * one cleared it. Writes ignore RWF_NOWAIT, so a peer that clears the
	 * flag in the microsecond between this and the write and also keeps
	 * the counter full can still make this one write wait for a read.
	 */
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	do {
		n = write(fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	if (n < 0)  /* EAGAIN: the counter is about to overflow */
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n == sizeof(one) ? 0 : -EIO;
}

IVSHMEM_EXPORT int ivshmem_vector_fd(const struct ivshmem *iv, unsigned vector)
{
	return vector < iv->nvec ? iv->own[vector] : -EINVAL;
}

IVSHMEM_EXPORT int ivshmem_ack(struct ivshmem *iv, unsigned vector)
{
	uint64_t count;
	ssize_t n;

	if (vector >= iv->nvec)
		return -EINVAL;
	/* Every peer shares this eventfd: see ivp_read_nowait(). */
	n = ivp_read_nowait(iv->own[vector], &count);
	if (n < 0)  /* EAGAIN: nothing, or another reader was first */
		return errno == EWOULDBLOCK ? 0 : -errno;
	if (n != sizeof(count))
		return -EIO;
	return count > INT_MAX ? INT_MAX : (int)count;
}
