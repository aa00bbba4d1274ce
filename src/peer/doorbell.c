/* SPDX-License-Identifier: MIT */
/* Doorbells: ringing a peer's eventfd and consuming our own. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include "internal.h"

IVSHMEM_EXPORT int ivshmem_ring(struct ivshmem *iv, int peer, unsigned vector)
{
	const uint64_t one = 1;
	const struct ivp_peer *p;
	ssize_t n;
	int fd;

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
	struct pollfd pfd = { .events = POLLIN };
	uint64_t count;
	ssize_t n;
	int rc;

	if (vector >= iv->nvec)
		return -EINVAL;
	pfd.fd = iv->own[vector];
	/*
	 * The server made the eventfd, so do not trust it to be
	 * non-blocking: look once, and on a blocking one only read after
	 * poll says there is something. A non-blocking one (what QEMU's and
	 * our server make) is read at once: one system call per ack.
	 */
	if (!(iv->own_checked >> vector & 1)) {
		int fl = fcntl(pfd.fd, F_GETFL);

		iv->own_checked |= UINT64_C(1) << vector;
		if (fl >= 0 && (fl & O_NONBLOCK))
			iv->own_nonblock |= UINT64_C(1) << vector;
	}
	if (iv->own_nonblock >> vector & 1)
		goto read_it;
	do {
		rc = poll(&pfd, 1, 0);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return 0;
	if (!(pfd.revents & POLLIN))
		return -EIO;  /* POLLERR/POLLHUP: not an eventfd we can use */
read_it:
	do {
		n = read(pfd.fd, &count, sizeof(count));
	} while (n < 0 && errno == EINTR);
	if (n < 0)  /* EAGAIN: raced with another reader of the same fd */
		return errno == EWOULDBLOCK ? 0 : -errno;
	if (n != sizeof(count))
		return -EIO;
	return count > INT_MAX ? INT_MAX : (int)count;
}
