/* SPDX-License-Identifier: MIT */
/*
 * Issue 12, items 3 and 4: what a server hands out and what other peers do
 * to the fds everyone shares.
 *  - A pipe or socket whose other end is closed, as a peer's or our own
 *    vector, during setup or on a join: a protocol error, never a vector
 *    we could write to (SIGPIPE keeps its default action here: a write
 *    to one of them would kill this test).
 *  - Another holder of our eventfd clears O_NONBLOCK and reads the
 *    counter between our poll and our read: ivshmem_ack() returns at
 *    once, ivshmem_wait() by its timeout, the host transport's ack (what
 *    ipm-shell uses) likewise; ringing a peer whose eventfd a peer made
 *    blocking and full fails with -EAGAIN instead of hanging; nudging it
 *    (a write of 0) succeeds at once and adds nothing.
 * A SIGALRM watchdog (default action) turns a hang into a failure.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fakeserver.h"
#include "ivshmem/transport.h"
#include "peertest.h"

#define MAXSTEPS 12

struct bad_case {
	const char *name;
	struct fake_step script[MAXSTEPS];
};

static const struct bad_case setup_cases[] = {
	{ "peer vector is a pipe",
	  { F_SETUP(3), F_MSGFD(1, FD_PIPE_W), F_EFD(3), F_HANG } },
	{ "peer vector is a socket",
	  { F_SETUP(3), F_MSGFD(1, FD_SOCK), F_EFD(3), F_HANG } },
	{ "peer vector is a memfd",
	  { F_SETUP(3), F_MSGFD(1, FD_SHM), F_EFD(3), F_HANG } },
	{ "second peer vector is a pipe",
	  { F_SETUP(3), F_EFD(1), F_MSGFD(1, FD_PIPE_W), F_EFD(3), F_HANG } },
	{ "own vector is a pipe",
	  { F_SETUP(3), F_MSGFD(3, FD_PIPE_W), F_HANG } },
	{ "own vector is a pipe's read end",
	  { F_SETUP(3), F_MSGFD(3, FD_PIPE), F_HANG } },
	{ "own vector is a socket",
	  { F_SETUP(3), F_MSGFD(3, FD_SOCK), F_HANG } },
};

static void check_signals_untouched(const char *name)
{
	struct sigaction sa;
	sigset_t mask;

	CHECK(sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL,
	      "%s: SIGPIPE's disposition changed", name);
	CHECK(sigprocmask(SIG_BLOCK, NULL, &mask) == 0 &&
	      !sigismember(&mask, SIGPIPE), "%s: SIGPIPE left blocked", name);
}

static void bad_vectors_in_setup(void)
{
	for (size_t i = 0; i < sizeof(setup_cases) / sizeof(setup_cases[0]);
	     i++) {
		const struct bad_case *c = &setup_cases[i];
		struct ivshmem *iv = NULL;
		struct fake_server f;
		int base = tu_count_fds(0), rc;

		fake_start(&f, c->script);
		rc = ivshmem_connect(&iv, f.path, 2, 2000);
		CHECK(rc == -EPROTO, "%s: got %d (%s)", c->name, rc,
		      strerror(-rc));
		fake_stop(&f);
		CHECK(tu_count_fds(0) == base, "%s: %d fds, expected %d",
		      c->name, tu_count_fds(0), base);
		check_signals_untouched(c->name);
		printf("ok: %s: %s\n", c->name, strerror(-rc));
	}
}

/* A join whose vector is a pipe or socket: -EPROTO, never ringable. */
static void bad_vector_on_join(const char *name, enum fake_fd kind)
{
	const struct fake_step s[] = {
		F_SETUP(3), F_EFD(3), F_EFD(5), F_MSGFD(6, kind), F_HANG,
	};
	struct ivshmem_event ev;
	struct fake_server f;
	struct ivshmem *iv;
	int base = tu_count_fds(0), rc, errors = 0, joined5 = 0, gone = 0;

	fake_start(&f, s);
	rc = ivshmem_connect(&iv, f.path, 1, 2000);
	CHECK(rc == 0, "%s: connect %d", name, rc);
	while (!gone) {
		rc = ivshmem_wait(iv, 5000, NULL);
		if (rc == -EPROTO) {
			errors++;
			continue;
		}
		CHECK(rc == 2, "%s: wait %d", name, rc);
		while (ivshmem_next_event(iv, &ev) == 1) {
			joined5 += ev.type == IVSHMEM_EV_PEER_JOINED &&
				   ev.peer == 5;
			gone += ev.type == IVSHMEM_EV_SERVER_GONE;
			CHECK(ev.peer != 6, "%s: peer 6 reported", name);
		}
	}
	CHECK(errors == 1 && joined5 == 1, "%s: %d errors, %d JOINED 5", name,
	      errors, joined5);
	CHECK(ivshmem_ring(iv, 6, 0) == -ENOENT, "%s: 6 ringable", name);
	CHECK(ivshmem_ring(iv, 5, 0) == 0, "%s: ring 5", name);
	check_signals_untouched(name);
	ivshmem_close(iv);
	fake_stop(&f);
	CHECK(tu_count_fds(0) == base, "%s: %d fds", name, tu_count_fds(0));
	printf("ok: %s\n", name);
}

static void set_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	CHECK(fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0,
	      "clear O_NONBLOCK: %s", strerror(errno));
}

/*
 * A child holding the same open file description reads it blocking, in a
 * loop: it takes the counter between our poll and our read most times.
 */
static pid_t start_drainer(int fd)
{
	pid_t pid = fork();

	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		uint64_t v;

		alarm(60);
		/* Our rings set O_NONBLOCK again: clear it every time. */
		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			set_blocking(fd);
			if (read(fd, &v, sizeof(v)) < 0 && errno == EAGAIN)
				poll(&pfd, 1, -1);
		}
	}
	return pid;
}

static void stop_drainer(pid_t pid)
{
	int status;

	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid drainer");
}

static void shared_eventfds(void)
{
	const char *args[] = { "-n", "1", NULL };
	const uint64_t full = UINT64_C(0xfffffffffffffffe);
	struct ivshm_transport *t;
	struct ivshmem *a, *b;
	struct tu_server s;
	int rc, fd, ok = 0, got, a_id;
	uint64_t v;
	pid_t drainer;
	long long t0;

	pt_server_start(&s, args);
	pt_pair(&s, &a, &b);
	a_id = ivshmem_id(a);
	/* a's own eventfd: the one open file description every peer holds. */
	fd = ivshmem_vector_fd(a, 0);

	/*
	 * Blocking, nothing pending: ack says 0 at once, wait times out. The
	 * first ack while it was non-blocking is what a cached flag saw.
	 */
	alarm(30);
	CHECK(ivshmem_ack(a, 0) == 0, "ack");
	set_blocking(fd);
	CHECK(ivshmem_ack(a, 0) == 0, "ack on an empty blocking eventfd");
	pt_expect_quiet(a, 50);
	CHECK(ivshmem_ring(b, a_id, 0) == 0, "ring a");
	CHECK(ivshmem_ack(a, 0) == 1, "ack after a ring");
	CHECK(ivshmem_ack(a, 0) == 0, "second ack");

	/* A drainer racing us: every call returns, by its timeout. */
	drainer = start_drainer(fd);
	/* It works: what we ring, it takes (mostly before we can). */
	for (int i = 0; i < 100; i++) {
		CHECK(ivshmem_ring(b, a_id, 0) == 0, "ring a");
		usleep(20000);
		if (ivshmem_ack(a, 0) == 0)
			break;
		CHECK(i < 99, "the drainer does not drain");
	}
	for (int i = 0; i < 200; i++) {
		CHECK(ivshmem_ring(b, a_id, 0) == 0, "ring a (%d)", i);
		if (i % 2)  /* let the drainer take it: poll sees nothing */
			usleep(5000);
		t0 = tu_now_ns();
		rc = ivshmem_wait(a, 20, NULL);
		CHECK(rc == 0 || rc == 1, "wait %d", rc);
		CHECK(tu_now_ns() - t0 < 5000000000LL, "wait took %lld ms",
		      (tu_now_ns() - t0) / 1000000);
		ok += rc == 1;
		got = ivshmem_ack(a, 0);
		CHECK(got >= 0, "ack %d", got);
	}
	printf("with a drainer: %d of 200 rings reached us\n", ok);

	/* The host transport (ipm-shell's path) acks the same way. */
	rc = ivshm_transport_host_open(&t, s.socket_path, 1, 5000);
	CHECK(rc == 0, "transport open: %s", strerror(-rc));
	fd = t->ops->vector_fd(t, 0);
	set_blocking(fd);
	for (int i = 0; i < 50; i++)
		CHECK(t->ops->ack(t, 0) >= 0, "transport ack");
	stop_drainer(drainer);
	drainer = start_drainer(fd);
	for (int i = 0; i < 50; i++)
		CHECK(t->ops->ack(t, 0) >= 0, "transport ack with a drainer");
	stop_drainer(drainer);
	t->ops->close(t);

	/*
	 * a's eventfd made blocking and full by a peer: ringing it fails
	 * with -EAGAIN instead of waiting for a to read, and O_NONBLOCK is
	 * back for everyone.
	 */
	fd = ivshmem_vector_fd(a, 0);
	CHECK(write(fd, &full, sizeof(full)) == sizeof(full), "fill");
	set_blocking(fd);
	CHECK(ivshmem_ring(b, a_id, 0) == -EAGAIN, "ring a full counter");
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK, "O_NONBLOCK not set again");
	/* A nudge adds 0: it cannot block, and needs no flag set. */
	set_blocking(fd);
	CHECK(ivshmem_nudge(b, a_id, 0) == 0, "nudge a full counter");
	CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK), "nudge set O_NONBLOCK");
	CHECK(read(fd, &v, sizeof(v)) == sizeof(v) && v == full, "counter");
	/* Blocking and empty: the nudge adds nothing a read could take. */
	CHECK(ivshmem_nudge(b, a_id, 0) == 0, "nudge an empty counter");
	CHECK(ivshmem_ack(a, 0) == 0, "a nudge left a count");
	CHECK(ivshmem_nudge(b, 999, 0) == -ENOENT &&
	      ivshmem_nudge(b, a_id, 1) == -EINVAL, "nudge nobody");
	alarm(0);
	check_signals_untouched("shared eventfds");

	ivshmem_close(b);
	ivshmem_close(a);
	CHECK(pt_server_stop(&s) == 0, "server exit status");
	printf("ok: shared eventfds\n");
}

int main(void)
{
	bad_vectors_in_setup();
	bad_vector_on_join("join with a pipe", FD_PIPE_W);
	bad_vector_on_join("join with a socket", FD_SOCK);
	shared_eventfds();
	return 0;
}
