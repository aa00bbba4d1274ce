/* SPDX-License-Identifier: MIT */
/*
 * The server against arbitrary client byte streams (issue 12, fuzzing):
 * the input is a script for up to MAX_CLIENTS clients that connect, write
 * any bytes, half-close, close, read some of what they are sent, at any
 * point, with the server's loop stepped (server_step with no wait) where
 * the script says. All in this process, through socketpairs given to
 * server_add_peer: no threads, no sleeps, deterministic. Each input runs
 * on a fresh server, destroyed at its end, so nothing (fd or memory) may
 * be left over; a leaked fd shows as a growing fd number, checked here.
 *
 * Script: a header byte (vectors 1..3, --max-peers 2..9, --max-backlog
 * 1..8), then operations, each a byte (op in the low 3 bits, client in the
 * next 3) and for some a length byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "testutil.h"

#define MAX_CLIENTS 8

struct script {
	const uint8_t *p, *end;
};

static int next(struct script *sc)
{
	return sc->p < sc->end ? *sc->p++ : -1;
}

/* Read up to n messages' worth of bytes, closing every fd received. */
static void client_read(int fd, int n)
{
	char buf[8 * 16];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(8 * sizeof(int))];
	} ctl;
	struct iovec iov = { buf, (size_t)(n > 16 ? 16 : n) * 8 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};

	if (recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
	     c = CMSG_NXTHDR(&msg, c)) {
		int nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		for (int i = 0; c->cmsg_type == SCM_RIGHTS && i < nfd; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
			close(f);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script sc = { data, data + size };
	struct log_sink log = { .level = -1 };
	struct server_config cfg = { .verbosity = 0 };
	int clients[MAX_CLIENTS], shm, probe, hdr = next(&sc);
	struct server *srv;

	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i] = -1;
	hdr = hdr < 0 ? 0 : hdr;
	cfg.vectors = 1 + hdr % 3;
	cfg.max_peers = 2 + (hdr / 3) % 8;
	cfg.queue_slack = 1 + (hdr / 24) % 8;
	shm = memfd_create("fuzz", MFD_CLOEXEC);
	CHECK(shm >= 0 && ftruncate(shm, 4096) == 0, "memfd");
	CHECK(server_create(&srv, &cfg, &log, -1, shm, -1) == 0, "create");

	for (int op; (op = next(&sc)) >= 0;) {
		int k = (op >> 3) & (MAX_CLIENTS - 1), n, sv[2];
		uint8_t bytes[16];

		switch (op & 7) {
		case 0: /* connect */
			if (clients[k] >= 0 ||
			    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
				       SOCK_CLOEXEC, 0, sv) < 0)
				break;
			clients[k] = sv[1];
			server_add_peer(srv, sv[0]);
			break;
		case 1: /* write arbitrary bytes */
			n = next(&sc);
			n = n < 0 ? 0 : n % 16;
			for (int i = 0; i < n; i++)
				bytes[i] = (uint8_t)next(&sc);
			if (clients[k] >= 0 && n)
				(void)!send(clients[k], bytes, (size_t)n,
					    MSG_DONTWAIT | MSG_NOSIGNAL);
			break;
		case 2: /* half-close */
			if (clients[k] >= 0)
				shutdown(clients[k], SHUT_WR);
			break;
		case 3: /* close */
			if (clients[k] >= 0)
				close(clients[k]);
			clients[k] = -1;
			break;
		case 4: /* read some */
			n = next(&sc);
			if (clients[k] >= 0)
				client_read(clients[k], n < 0 ? 1 : 1 + n % 16);
			break;
		case 5: /* shut down reading */
			if (clients[k] >= 0)
				shutdown(clients[k], SHUT_RD);
			break;
		default: /* a turn of the server's loop */
			CHECK(server_step(srv, 0) >= 0, "server_step");
			break;
		}
	}
	/* Everyone reads what is left, then goes: all must be undone. */
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (clients[i] >= 0)
				client_read(clients[i], 16);
		CHECK(server_step(srv, 0) >= 0, "server_step");
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i] >= 0)
			close(clients[i]);
	CHECK(server_step(srv, 0) >= 0, "server_step");
	server_destroy(srv);
	close(shm);
	/* The lowest free fd is the same after every input: none leaked. */
	probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	{
		static int first = -1;

		if (first < 0)
			first = probe;
		CHECK(probe == first, "an fd leaked: lowest free fd %d, was %d",
		      probe, first);
	}
	close(probe);
	return 0;
}
