/* SPDX-License-Identifier: MIT */
/*
 * The server killed and restarted on the same socket while peers run
 * (issue 12, fault tests): libivshmem peers see IVSHMEM_EV_SERVER_GONE,
 * a clear error; their eventfds still ring each other meanwhile; a new
 * server started on the same socket path and shm name replaces the stale
 * socket and object (never blocked by them), and the peers reconnect and
 * see each other. Three rounds, with -M and with the default memfd.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ivshmem/ivshmem.h>

#include "testutil.h"

#define NPEERS 3
#define ROUNDS 3

static pid_t server;

static void kill_server(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		server = 0;
	}
}

static void start(const char *sock, const char *shm)
{
	const char *argv[] = { tu_bin("src/server/ivshmem-server"), "-F", "-S",
			       sock, "-n", "2", shm ? "-M" : NULL, shm, NULL };

	server = fork();
	CHECK(server >= 0, "fork");
	if (server == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
}

/* Connect, retrying while the new server is not listening yet. */
static struct ivshmem *join(const char *sock)
{
	struct ivshmem *iv = NULL;
	int rc = -1, status;

	for (int i = 0; i < 500; i++) {
		rc = ivshmem_connect(&iv, sock, 2, 5000);
		if (rc == 0)
			return iv;
		CHECK(waitpid(server, &status, WNOHANG) == 0, "the server "
		      "exited (status 0x%x): a stale socket or shm blocked it?",
		      status);
		usleep(10000);
	}
	CHECK(0, "cannot connect to %s: %s", sock, strerror(-rc));
	return NULL;
}

/* Wait for an event of 'type' about 'peer' (-1: any). */
static void wait_event(struct ivshmem *iv, int type, int peer)
{
	long long deadline = tu_now_ns() + 10000000000LL;
	struct ivshmem_event ev;

	for (;;) {
		struct pollfd pfd = { .fd = ivshmem_socket_fd(iv),
				      .events = POLLIN };

		while (ivshmem_next_event(iv, &ev) == 1)
			if ((int)ev.type == type && (peer < 0 || ev.peer == peer))
				return;
		CHECK(tu_now_ns() < deadline, "peer %d: no event %d about %d",
		      ivshmem_id(iv), type, peer);
		poll(&pfd, 1, 100);
		ivshmem_process(iv);
	}
}

/* Wait until vector 'want' of iv is rung, dropping queued events. */
static void wait_ring(struct ivshmem *iv, unsigned want, const char *what)
{
	struct ivshmem_event ev;
	unsigned vec = ~0u;
	int rc;

	do {
		while (ivshmem_next_event(iv, &ev) == 1)
			;
		rc = ivshmem_wait(iv, 5000, &vec);
	} while (rc == 2);
	CHECK(rc == 1 && vec == want, "peer %d: no doorbell %s (%d, vector "
	      "%u)", ivshmem_id(iv), what, rc, vec);
}

static void run(const char *sock, const char *shm)
{
	struct ivshmem *iv[NPEERS];

	start(sock, shm);
	for (int i = 0; i < NPEERS; i++)
		iv[i] = join(sock);
	/* A newcomer has its setup before the others are told of it. */
	wait_event(iv[0], IVSHMEM_EV_PEER_JOINED, ivshmem_id(iv[1]));
	for (int r = 0; r < ROUNDS; r++) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		server = 0;
		/* A clear error, and then -ENOTCONN. */
		for (int i = 0; i < NPEERS; i++) {
			wait_event(iv[i], IVSHMEM_EV_SERVER_GONE, -1);
			CHECK(ivshmem_process(iv[i]) == -ENOTCONN, "peer %d: "
			      "not -ENOTCONN after SERVER_GONE",
			      ivshmem_id(iv[i]));
		}
		/* Known peers' eventfds work without a server. */
		CHECK(ivshmem_ring(iv[0], ivshmem_id(iv[1]), 1) == 0,
		      "ring without a server");
		wait_ring(iv[1], 1, "without a server");
		CHECK(access(sock, F_OK) == 0, "the killed server's socket is "
		      "gone (this test wants it stale)");
		/* The same socket path and shm name: replaced, not blocking. */
		start(sock, shm);
		for (int i = 0; i < NPEERS; i++) {
			ivshmem_close(iv[i]);
			iv[i] = join(sock);
		}
		for (int i = 0; i < NPEERS; i++)
			CHECK(ivshmem_peers(iv[NPEERS - 1], NULL, 0) >= i,
			      "peers after the restart");
		wait_event(iv[0], IVSHMEM_EV_PEER_JOINED, ivshmem_id(iv[1]));
		CHECK(ivshmem_ring(iv[1], ivshmem_id(iv[0]), 0) == 0, "ring");
		wait_ring(iv[0], 0, "after the restart");
		printf("%s, round %d: SERVER_GONE seen by all %d peers, "
		       "restarted on the stale socket, all reconnected\n",
		       shm ? "-M" : "memfd", r + 1, NPEERS);
	}
	for (int i = 0; i < NPEERS; i++)
		ivshmem_close(iv[i]);
	kill(server, SIGTERM);
	waitpid(server, NULL, 0);
	server = 0;
	CHECK(access(sock, F_OK) < 0, "socket left after SIGTERM");
}

int main(void)
{
	char sock[128], shm[64];

	atexit(kill_server);
	snprintf(sock, sizeof(sock), "%s/restart.sock", tu_tmpdir());
	snprintf(shm, sizeof(shm), "/ivrestart-%d", (int)getpid());
	run(sock, shm);
	shm_unlink(shm);
	run(sock, NULL);
	printf("ok\n");
	return 0;
}
