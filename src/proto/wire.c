/* SPDX-License-Identifier: MIT */
/* Single-message socket I/O for the ivshmem wire protocol. */
#include "wire.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for a few fds: a sender attaching several is caught, not truncated. */
#define RX_MAX_FDS 8

int ivproto_send_part(int sock, int64_t value, int fd, size_t off)
{
	return ivproto_send_batch(sock, &value, 1, fd, off);
}

ssize_t ivproto_send_bytes(int sock, const void *buf, size_t len, int fd,
			   int flags)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *cmsg;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

int ivproto_send_batch(int sock, const int64_t *values, size_t count, int fd,
		       size_t off)
{
	uint8_t buf[IVPROTO_MSG_SIZE * IVPROTO_BATCH_MAX];

	if (!count || count > IVPROTO_BATCH_MAX ||
	    off >= count * IVPROTO_MSG_SIZE)
		return -EINVAL;
	for (size_t i = 0; i < count; i++)
		ivproto_encode(values[i], buf + i * IVPROTO_MSG_SIZE);
	return (int)ivproto_send_bytes(sock, buf + off,
				       count * IVPROTO_MSG_SIZE - off,
				       off == 0 ? fd : -1, 0);
}

int ivproto_send(int sock, int64_t value, int fd)
{
	size_t off = 0;

	while (off < IVPROTO_MSG_SIZE) {
		int n = ivproto_send_part(sock, value, fd, off);

		if (n < 0)
			return n;
		off += (size_t)n;
	}
	return 0;
}

void ivproto_rx_reset(struct ivproto_rx *rx)
{
	if (rx->fd >= 0)
		close(rx->fd);
	rx->fd = -1;
	rx->len = 0;
}

/* Close every fd in a control message; returns how many there were. */
static int take_fds(struct msghdr *msg, int *first, int *bad)
{
	int count = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			*bad = 1;
			continue;
		}
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (count++ == 0)
				*first = fd;
			else
				close(fd);
		}
	}
	return count;
}

int ivproto_recv(struct ivproto_rx *rx, int sock, int64_t *value, int *fd)
{
	while (rx->len < IVPROTO_MSG_SIZE) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(RX_MAX_FDS * sizeof(int))];
		} control;
		struct iovec iov = {
			/* Never read past this message, so an fd always lands
			 * on the message it was sent with. */
			.iov_base = rx->buf + rx->len,
			.iov_len = IVPROTO_MSG_SIZE - rx->len,
		};
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control.buf,
			.msg_controllen = sizeof(control.buf),
		};
		int first = -1, bad = 0, count;
		ssize_t n;

		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EWOULDBLOCK)
				return -EAGAIN;
			return -errno;
		}
		count = take_fds(&msg, &first, &bad);
		if (count > 1 || bad || (msg.msg_flags & MSG_CTRUNC) ||
		    (count == 1 && rx->fd >= 0)) {
			if (first >= 0)
				close(first);
			ivproto_rx_reset(rx);
			return -EBADMSG;
		}
		if (count == 1)
			rx->fd = first;
		if (n == 0) {
			int partial = rx->len > 0 || rx->fd >= 0;

			ivproto_rx_reset(rx);
			return partial ? -EPROTO : -ECONNRESET;
		}
		rx->len += (size_t)n;
	}
	*value = ivproto_decode(rx->buf);
	*fd = rx->fd;
	rx->fd = -1;
	rx->len = 0;
	return 0;
}
