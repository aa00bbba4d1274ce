/* SPDX-License-Identifier: MIT */
/* Doorbells: ringing a peer's eventfd and consuming our own. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <unistd.h>

#include "internal.h"

/* The eventfd of vector 'vector' of 'peer' (may be ourselves), or -errno. */
static int vector_fd_of(struct ivshmem *iv, int peer, unsigned vector)
{
	const struct ivp_peer *p;

	if (peer == iv->id)
		return vector < iv->nvec ? iv->own[vector] : -EINVAL;
	p = ivp_peer_live(iv, peer);
	if (!p)
		return -ENOENT;
	return vector < p->nvec ? p->fd[vector] : -EINVAL;
}

static int write_count(int fd, uint64_t value)
{
	ssize_t n;

	do {
		n = write(fd, &value, sizeof(value));
	} while (n < 0 && errno == EINTR);
	if (n < 0)  /* EAGAIN: the counter is about to overflow */
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n == sizeof(value) ? 0 : -EIO;
}

IVSHMEM_EXPORT int ivshmem_ring(struct ivshmem *iv, int peer, unsigned vector)
{
	int fd = vector_fd_of(iv, peer, vector), fl;

	if (fd < 0)
		return fd;
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
	return write_count(fd, 1);
}

IVSHMEM_EXPORT int ivshmem_nudge(struct ivshmem *iv, int peer, unsigned vector)
{
	int fd = vector_fd_of(iv, peer, vector);

	/*
	 * Adding 0 never finds the counter full, so this write cannot block
	 * whatever the file's flags are: no fcntl() needed. It wakes the
	 * eventfd's waiters; a waiter sees it only while the counter is not
	 * 0 (see ivshmem.h).
	 */
	return fd < 0 ? fd : write_count(fd, 0);
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
