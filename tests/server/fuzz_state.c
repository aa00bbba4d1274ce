/* SPDX-License-Identifier: MIT */
/*
 * server_restore() against arbitrary states: what a restarting server
 * hands to the program it executes must be checked whole before anything
 * is adopted. Each input runs against the same fds at fixed numbers (so
 * an input can name them): the region and the server's own fd of it, two
 * connected socket pairs, six eventfds, a listening socket and a pipe
 * (neither may pass as a peer's). A state that is refused leaves them
 * all open; one that is taken is served and destroyed. The lowest free
 * fd is the same after every input: nothing leaked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server.h"
#include "state.h"
#include "testutil.h"

enum {
	FD_REGION = 600,  /* main's */
	FD_SHM,           /* the server's own, as saved */
	FD_SOCK0,         /* 602, 604: peers' server ends; 603, 605 theirs */
	FD_EVT0 = 606,    /* 606..611 */
	FD_LISTEN = 612,
	FD_PIPE,
	FD_END,
};

static void put_at(int fd, int at)
{
	CHECK(fd >= 0 && dup3(fd, at, O_CLOEXEC) == at, "dup3 %d: %s", at,
	      strerror(errno));
	close(fd);
}

static void setup_fds(void)
{
	int sv[2], p[2];

	put_at(memfd_create("fuzz", MFD_CLOEXEC), FD_REGION);
	CHECK(ftruncate(FD_REGION, 4096) == 0, "ftruncate");
	put_at(fcntl(FD_REGION, F_DUPFD_CLOEXEC, 0), FD_SHM);
	for (int i = 0; i < 2; i++) {
		CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				 sv) == 0, "socketpair");
		put_at(sv[0], FD_SOCK0 + 2 * i);
		put_at(sv[1], FD_SOCK0 + 2 * i + 1);
	}
	for (int i = 0; i < 6; i++)
		put_at(eventfd(0, EFD_NONBLOCK), FD_EVT0 + i);
	put_at(socket(AF_UNIX, SOCK_STREAM, 0), FD_LISTEN);
	/* An address of its own in the abstract namespace (autobind). */
	CHECK(bind(FD_LISTEN, (struct sockaddr *)&(struct sockaddr_un){
			   .sun_family = AF_UNIX }, sizeof(sa_family_t)) == 0 &&
	      listen(FD_LISTEN, 1) == 0, "listen: %s", strerror(errno));
	CHECK(pipe(p) == 0, "pipe");
	put_at(p[0], FD_PIPE);
	close(p[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int first = -1;
	struct log_sink log = { .level = -1 };
	struct server_config cfg = { .vectors = 2, .max_peers = 16,
				     .queue_slack = 4, .shm_size = 4096 };
	struct st_rd rd = { .p = data, .len = size };
	struct server *srv;
	char err[512];
	int probe, rc;

	setup_fds();
	CHECK(server_create(&srv, &cfg, &log, -1, FD_REGION, -1) == 0,
	      "server_create");
	rc = server_restore(srv, &rd, err, sizeof(err));
	if (rc < 0) {
		/* Refused: every fd still open, none adopted. */
		for (int fd = FD_REGION; fd < FD_END; fd++)
			CHECK(fcntl(fd, F_GETFD) >= 0, "refused (%s), yet fd "
			      "%d was closed", err, fd);
	} else {
		/* Served: one turn, then everything goes. */
		server_step(srv, 0);
	}
	server_destroy(srv);
	for (int fd = FD_REGION; fd < FD_END; fd++)
		close(fd);
	probe = dup(0);
	CHECK(probe >= 0, "dup");
	close(probe);
	if (first < 0)
		first = probe;
	CHECK(probe == first, "an fd leaked: lowest free fd %d, was %d", probe,
	      first);
	return 0;
}
