/* SPDX-License-Identifier: MIT */
/* Connecting to the server and the setup sequence; closing; accessors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

static int open_socket(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/*
	 * connect() only blocks while the server's backlog is full; the
	 * send timeout bounds that wait (AF_UNIX honours it for connect).
	 */
	if (timeout_ms >= 0) {
		int ms = timeout_ms > 0 ? timeout_ms : 1;
		struct timeval tv = {
			.tv_sec = ms / 1000,
			.tv_usec = (ms % 1000) * 1000,
		};

		rc = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (rc < 0)
			goto fail;
	}
	do {
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	} while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		if (errno == EAGAIN || errno == EINPROGRESS)
			errno = ETIMEDOUT;
		goto fail;
	}
	return fd;
fail:
	rc = -errno;
	close(fd);
	return rc;
}

/* Read and act on setup messages until our own vectors are in. */
static int run_setup(struct ivshmem *iv, int64_t deadline)
{
	int64_t own_deadline = -1;
	unsigned seen = 0;

	while (iv->phase != IVP_PH_READY) {
		struct pollfd pfd = { .fd = iv->sock, .events = POLLIN };
		int64_t value;
		int fd, rc, left;

		rc = ivproto_recv(&iv->rx, iv->sock, &value, &fd);
		if (rc == 0) {
			rc = ivp_setup_msg(iv, value, fd);
			if (rc < 0)
				return rc;
			if (iv->nvec != seen) {
				seen = iv->nvec;
				own_deadline =
					ivp_deadline(IVP_OWN_VECTOR_GRACE_MS);
			}
			continue;
		}
		if (rc == -ECONNRESET) {
			/* EOF: before anything, the server refused us. */
			if (iv->phase == IVP_PH_VERSION)
				return -ECONNRESET;
			return -EPROTO;
		}
		if (rc == -EBADMSG)  /* several fds on one message */
			return -EPROTO;
		if (rc != -EAGAIN)
			return rc;

		left = ivp_left_ms(deadline);
		if (seen) {
			int grace = ivp_left_ms(own_deadline);

			if (left < 0 || grace < left)
				left = grace;
		}
		if (left != 0) {
			rc = poll(&pfd, 1, left);
			if (rc > 0 || (rc < 0 && errno == EINTR))
				continue;
			if (rc < 0)
				return -errno;
		}
		/* Time is up: fine if the server gave us fewer vectors. */
		if (!seen)
			return -ETIMEDOUT;
		return ivp_finish_setup(iv);
	}
	return 0;
}

/* Hidden: the fuzzer drives the setup over a socketpair through this. */
int ivp_connect_fd(struct ivshmem **out, int sock, unsigned vectors,
		   int timeout_ms)
{
	int64_t deadline = ivp_deadline(timeout_ms);
	struct ivshmem *iv;
	int rc, fl;

	*out = NULL;
	/* From here on reads never block: setup polls, process() must not. */
	fl = fcntl(sock, F_GETFL);
	if (fl < 0 || fcntl(sock, F_SETFL, fl | O_NONBLOCK) < 0) {
		rc = -errno;
		close(sock);
		return rc;
	}
	iv = calloc(1, sizeof(*iv));
	if (!iv) {
		close(sock);
		return -ENOMEM;
	}
	iv->sock = sock;
	rc = ivp_anon_inode(&iv->anon_dev, &iv->anon_ino);
	if (rc < 0) {
		close(sock);
		free(iv);
		return rc;
	}
	iv->id = -1;
	iv->pending = -1;
	iv->limit = vectors ? vectors : IVSHMEM_MAX_VECTORS;
	iv->rx = (struct ivproto_rx)IVPROTO_RX_INIT;
	iv->phase = IVP_PH_VERSION;
	rc = run_setup(iv, deadline);
	if (rc < 0) {
		ivshmem_close(iv);
		return rc;
	}
	*out = iv;
	return 0;
}

IVSHMEM_EXPORT int ivshmem_connect(struct ivshmem **out,
				   const char *socket_path, unsigned vectors,
				   int timeout_ms)
{
	int64_t deadline = ivp_deadline(timeout_ms);
	int sock;

	if (!out || !socket_path || vectors > IVSHMEM_MAX_VECTORS)
		return -EINVAL;
	*out = NULL;
	sock = open_socket(socket_path, timeout_ms);
	if (sock < 0)
		return sock;
	/* What connect() left of timeout_ms bounds the setup. */
	return ivp_connect_fd(out, sock, vectors, ivp_left_ms(deadline));
}

IVSHMEM_EXPORT void ivshmem_close(struct ivshmem *iv)
{
	if (!iv)
		return;
	ivp_peers_free(iv);
	for (unsigned v = 0; v < iv->nvec; v++)
		close(iv->own[v]);
	if (iv->mem)
		munmap(iv->mem, iv->size);
	ivproto_rx_reset(&iv->rx);
	close(iv->sock);
	ivp_evq_free(&iv->evq);
	free(iv);
}

IVSHMEM_EXPORT int ivshmem_id(const struct ivshmem *iv)
{
	return iv->id;
}

IVSHMEM_EXPORT void *ivshmem_mem(const struct ivshmem *iv)
{
	return iv->mem;
}

IVSHMEM_EXPORT size_t ivshmem_size(const struct ivshmem *iv)
{
	return iv->size;
}

IVSHMEM_EXPORT unsigned ivshmem_vectors(const struct ivshmem *iv)
{
	return iv->nvec;
}

IVSHMEM_EXPORT int ivshmem_mem_sealed(const struct ivshmem *iv)
{
	return iv->sealed;
}
