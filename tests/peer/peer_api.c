/* SPDX-License-Identifier: MIT */
/*
 * Argument checks and connection failures; linked against the static
 * library, so that one is exercised too.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "peertest.h"

int main(void)
{
	const char *full[] = { "--max-peers", "1", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[256], longpath[200];
	struct ivshmem *iv = (struct ivshmem *)&sa, *b;
	struct tu_server s;
	int base = tu_count_fds(0), fd, rc;

	snprintf(path, sizeof(path), "%s/nothing", tu_tmpdir());
	CHECK(ivshmem_connect(NULL, path, 1, 100) == -EINVAL, "NULL out");
	CHECK(ivshmem_connect(&iv, NULL, 1, 100) == -EINVAL, "NULL path");
	/* 0 is valid: take every vector the server sends. */
	CHECK(ivshmem_connect(&iv, path, 0, 100) == -ENOENT, "0 vectors");
	CHECK(ivshmem_connect(&iv, path, IVSHMEM_MAX_VECTORS + 1, 100) ==
	      -EINVAL, "65 vectors");
	CHECK(ivshmem_connect(&iv, path, 1, 100) == -ENOENT, "no socket");
	CHECK(iv == NULL, "*out is not NULL after a failure");
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK(ivshmem_connect(&iv, longpath, 1, 100) == -ENAMETOOLONG,
	      "long path");

	/* A socket file nobody listens on: a server that died. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/stale", tu_tmpdir());
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind");
	close(fd);
	CHECK(ivshmem_connect(&iv, sa.sun_path, 1, 100) == -ECONNREFUSED,
	      "stale socket");

	/* A full server closes the connection at once. */
	pt_server_start(&s, full);
	/* Until the server has seen tu_server_start's probe leave. */
	for (int i = 0; i < 100; i++) {
		rc = ivshmem_connect(&iv, s.socket_path, 1, 5000);
		if (rc != -ECONNRESET)
			break;
		usleep(10000);
	}
	CHECK(rc == 0, "connect: %s", strerror(-rc));
	rc = ivshmem_connect(&b, s.socket_path, 1, 5000);
	CHECK(rc == -ECONNRESET, "connect to a full server: %d", rc);
	ivshmem_close(iv);
	CHECK(pt_server_stop(&s) == 0, "server exit status");

	CHECK(tu_count_fds(0) == base, "%d fds, expected %d", tu_count_fds(0),
	      base);
	return 0;
}
