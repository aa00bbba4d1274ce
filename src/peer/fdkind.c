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

/*
 * 1 when fd is an eventfd. /proc names the kind; without /proc, an fd on
 * the same anonymous inode as an eventfd of our own is at least one of
 * the anonymous-inode kinds (eventfd, timerfd, signalfd, ...), none of
 * which can raise SIGPIPE.
 */
int ivp_is_eventfd(int fd)
{
	char path[32], link[sizeof(EVENTFD_LINK) + 1];
	struct stat a, b;
	ssize_t n;
	int ref, ok;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link));
	if (n >= 0)
		return n == sizeof(EVENTFD_LINK) - 1 &&
		       !memcmp(link, EVENTFD_LINK, (size_t)n);
	if (fstat(fd, &a) < 0)
		return 0;
	ref = eventfd(0, EFD_CLOEXEC);
	if (ref < 0)
		return 0;
	ok = fstat(ref, &b) == 0 && a.st_dev == b.st_dev &&
	     a.st_ino == b.st_ino;
	close(ref);
	return ok;
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
