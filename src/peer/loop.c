/* SPDX-License-Identifier: MIT */
/* Event-loop integration: processing server news and waiting. */
#include <errno.h>
#include <poll.h>

#include "internal.h"

IVSHMEM_EXPORT int ivshmem_socket_fd(const struct ivshmem *iv)
{
	return iv->sock;
}

IVSHMEM_EXPORT int ivshmem_process(struct ivshmem *iv)
{
	unsigned long before = iv->evq.pushed;

	if (iv->gone)
		return -ENOTCONN;
	for (int i = 0; i < IVP_PROCESS_BATCH; i++) {
		int64_t value;
		int fd, rc;

		rc = ivproto_recv(&iv->rx, iv->sock, &value, &fd);
		if (rc == -EAGAIN)
			break;
		if (rc == -ECONNRESET || rc == -EPROTO) {
			/* EOF, maybe in the middle of a message: gone. */
			ivp_server_gone(iv, 1);
			break;
		}
		if (rc == 0)
			rc = ivp_handle_msg(iv, value, fd);
		else if (rc == -EBADMSG)  /* several fds on one message */
			rc = -EPROTO;
		if (rc < 0) {
			ivp_server_gone(iv, 0);
			return rc;
		}
	}
	return (int)(iv->evq.pushed - before);
}

IVSHMEM_EXPORT int ivshmem_wait(struct ivshmem *iv, int timeout_ms,
				unsigned *vector)
{
	int64_t deadline = ivp_deadline(timeout_ms);
	struct pollfd pfd[1 + IVSHMEM_MAX_VECTORS];

	for (;;) {
		int left, rc;

		if (iv->evq.len)
			return 2;
		/* A gone server's socket stays readable (EOF): leave it out. */
		pfd[0].fd = iv->gone ? -1 : iv->sock;
		pfd[0].events = POLLIN;
		for (unsigned v = 0; v < iv->nvec; v++) {
			pfd[1 + v].fd = iv->own[v];
			pfd[1 + v].events = POLLIN;
		}
		left = ivp_left_ms(deadline);
		rc = poll(pfd, 1 + iv->nvec, left);
		if (rc < 0 && errno != EINTR)
			return -errno;
		for (unsigned v = 0; rc > 0 && v < iv->nvec; v++) {
			int n;

			if (!pfd[1 + v].revents)
				continue;
			n = ivshmem_ack(iv, v);
			if (n < 0)
				return n;
			if (n > 0) {
				if (vector)
					*vector = v;
				return 1;
			}
		}
		if (rc > 0 && pfd[0].revents) {
			rc = ivshmem_process(iv);
			if (rc < 0)
				return rc;
		}
		if (iv->evq.len)
			return 2;
		if (left == 0)
			return 0;
	}
}
