/* SPDX-License-Identifier: MIT */
/*
 * What the fds the server hands us are, and reading our eventfds in a way
 * no other holder of them can turn into a blocking read.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

#define EVENTFD_LINK "anon_inode:[eventfd]"

/* The anonymous inode eventfds share, from an eventfd of our own. */
int ivp_anon_inode(dev_t *dev, ino_t *ino)
{
	struct stat st;
	int ref = eventfd(0, EFD_CLOEXEC), rc = 0;

	if (ref < 0)
		return -errno;
	if (fstat(ref, &st) < 0)
		rc = -errno;
	close(ref);
	*dev = st.st_dev;
	*ino = st.st_ino;
	return rc;
}

/*
 * 1 when fd is an eventfd: /proc names the kind. Without /proc, an fd on
 * the anonymous inode of our own eventfds is at least one of the
 * anonymous-inode kinds (eventfd, timerfd, signalfd, ...), none of which
 * is a pipe or socket.
 */
int ivp_is_eventfd(const struct ivshmem *iv, int fd)
{
	char path[32], link[sizeof(EVENTFD_LINK) + 1];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link));
	if (n >= 0)
		return n == sizeof(EVENTFD_LINK) - 1 &&
		       !memcmp(link, EVENTFD_LINK, (size_t)n);
	return fstat(fd, &st) == 0 && st.st_dev == iv->anon_dev &&
	       st.st_ino == iv->anon_ino;
}

/*
 * For a peer's vector, which we only ever write: an fd on that anonymous
 * inode is enough (one fstat, where readlink costs ~8 times more and a
 * server may send thousands). Writing to any such kind either works (an
 * eventfd) or fails with EINVAL: never SIGPIPE. Anything else must be an
 * eventfd by name, in case a kernel gives eventfds inodes of their own.
 */
int ivp_is_writable_vector(const struct ivshmem *iv, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return 0;
	if (st.st_dev == iv->anon_dev && st.st_ino == iv->anon_ino)
		return 1;
	return ivp_is_eventfd(iv, fd);
}

/*
 * read() of an eventfd counter that never blocks, whatever another holder
 * of the same open file description did: cleared O_NONBLOCK (the flag is
 * shared), or read the counter between our poll and our read. RWF_NOWAIT
 * makes this one read non-blocking (eventfd honours it since Linux 5.12).
 * Older kernels refuse the flag: then poll first and set O_NONBLOCK again
 * if it was cleared; a peer that clears it and drains the counter in the
 * microseconds between those calls and the read can still block us there.
 * Returns as read(): 8, or -1 with errno (EAGAIN: nothing to read).
 */
ssize_t ivp_read_nowait(int fd, uint64_t *count)
{
	struct iovec iov = { .iov_base = count, .iov_len = sizeof(*count) };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int fl;

	do {
		n = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
	} while (n < 0 && errno == EINTR);
	if (n >= 0 || (errno != EOPNOTSUPP && errno != ENOSYS))
		return n;
	if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLIN)) {
		errno = EAGAIN;
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	do {
		n = read(fd, count, sizeof(*count));
	} while (n < 0 && errno == EINTR);
	return n;
}
