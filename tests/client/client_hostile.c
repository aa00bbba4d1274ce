/* SPDX-License-Identifier: MIT */
/*
 * Issue 12, item 4, through ivshmem-client: another holder of the client's
 * eventfds (here the test, with pidfd_getfd(), as a hostile peer holding
 * the same open file description would) clears O_NONBLOCK on them and reads
 * their counters, racing the client. --wait still ends by its timeout and
 * the shell still answers; --ring to a peer whose eventfd a peer made
 * blocking and full fails at once instead of hanging.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clienttest.h"

#define MAXFDS 8

static void set_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	CHECK(fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0,
	      "clear O_NONBLOCK: %s", strerror(errno));
}

/* Our copies of pid's eventfds, ascending by its fd number. */
static int steal_eventfds(pid_t pid, int *fds)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), n = 0;

	CHECK(pidfd >= 0, "pidfd_open: %s", strerror(errno));
	for (int fd = 0; fd < 256 && n < MAXFDS; fd++) {
		char path[64], link[64];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = '\0';
		if (strcmp(link, "anon_inode:[eventfd]"))
			continue;
		fds[n] = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
		CHECK(fds[n] >= 0, "pidfd_getfd: %s", strerror(errno));
		n++;
	}
	close(pidfd);
	return n;
}

/* A child that keeps each fd blocking and reads it whenever it can. */
static pid_t start_drainer(const int *fds, int n)
{
	pid_t pid = fork();

	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		struct pollfd pfd[MAXFDS];
		uint64_t v;

		/* Hold nothing else: not the client's stdin pipe, say. */
		for (int fd = 3; fd < 1024; fd++) {
			int keep = 0;

			for (int i = 0; i < n; i++)
				keep |= fd == fds[i];
			if (!keep)
				close(fd);
		}
		alarm(60);
		for (;;) {
			for (int i = 0; i < n; i++) {
				set_blocking(fds[i]);
				pfd[i] = (struct pollfd){ .fd = fds[i],
							  .events = POLLIN };
			}
			if (poll(pfd, (nfds_t)n, -1) <= 0)
				continue;
			for (int i = 0; i < n; i++)
				if (pfd[i].revents)
					(void)!read(fds[i], &v, sizeof(v));
		}
	}
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Ring our copy of its vector 0 many times, while the drainer races it. */
static void pester(int fd)
{
	const uint64_t one = 1;

	for (int i = 0; i < 300; i++) {
		CHECK(write(fd, &one, sizeof(one)) == sizeof(one), "ring");
		usleep(i % 3 ? 0 : 2000);
	}
}

/*
 * Start a client alone on the server (so its only eventfds are its own),
 * have it ack vector 0 once while the fd is still non-blocking, then make
 * the fds hostile. Returns the drainer; fds[0] is its vector 0.
 */
static pid_t hostile_client(struct ct_proc *c, const char *const *argv,
			    int *fds, int *n)
{
	const uint64_t one = 1;

	ct_spawn(c, argv);
	for (int i = 0; i < 500; i++) {
		usleep(10000);
		*n = steal_eventfds(c->pid, fds);
		if (*n == 2 && ct_expect(c, "", 0) >= 0)
			break;
		for (int j = 0; j < *n; j++)
			close(fds[j]);
		*n = 0;
	}
	CHECK(*n == 2, "the client has %d eventfds:\n%s", *n, c->buf);
	CHECK(write(fds[0], &one, sizeof(one)) == sizeof(one), "ring");
	CHECK(ct_expect(c, "notification on our vector 0", 10000),
	      "no first notification:\n%s", c->buf);
	return start_drainer(fds, *n);
}

int main(void)
{
	const uint64_t full = UINT64_C(0xfffffffffffffffe);
	struct tu_server s;
	struct ct_proc *c = calloc(1, sizeof(*c));
	struct ivshmem *p;
	char out[4096], target[32];
	int fds[MAXFDS], n, rc, fd;
	long long t0;
	pid_t drainer;
	uint64_t v;

	CHECK(c, "out of memory");
	tu_server_start(&s, ARGV("-n", "2"));

	/* --wait 1: vector 0's notifications are stolen or not; it ends. */
	drainer = hostile_client(c, ARGV(ct_client_bin(), "-S", s.socket_path,
					 "--wait", "1", "--timeout", "3"),
				 fds, &n);
	t0 = tu_now_ns();
	pester(fds[0]);
	rc = ct_wait_exit(c, 15000);
	CHECK(rc == 3 || rc == 0, "--wait exited %d after %lld ms:\n%s", rc,
	      (tu_now_ns() - t0) / 1000000, c->buf);
	stop(drainer);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	ct_finish(c);
	printf("ok: --wait with hostile eventfds: exit %d\n", rc);

	/* The shell: after the same, it still answers a command. */
	memset(c, 0, sizeof(*c));
	drainer = hostile_client(c, ARGV(ct_client_bin(), "-S", s.socket_path),
				 fds, &n);
	pester(fds[0]);
	ct_send(c, "dump\n");
	CHECK(ct_expect(c, "own id: ", 10000), "the shell hangs:\n%s", c->buf);
	ct_close_in(c);
	CHECK(ct_wait_exit(c, 10000) == 0, "the shell exited %d:\n%s",
	      c->status, c->buf);
	stop(drainer);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	ct_finish(c);
	printf("ok: the shell with hostile eventfds\n");

	/* --ring to a peer whose eventfd is blocking and full: -EAGAIN. */
	p = ct_peer(s.socket_path, 0);
	fd = ivshmem_vector_fd(p, 0);
	CHECK(write(fd, &full, sizeof(full)) == sizeof(full), "fill");
	set_blocking(fd);
	snprintf(target, sizeof(target), "%d:0", ivshmem_id(p));
	rc = tu_run(ARGV(ct_client_bin(), "-S", s.socket_path, "--ring",
			 target), out, sizeof(out), 20);
	CHECK(rc == 1 && strstr(out, "ivshmem-client: cannot ring peer ") &&
	      strstr(out, strerror(EAGAIN)), "--ring a full eventfd exited "
	      "%d:\n%s", rc, out);
	CHECK(read(fd, &v, sizeof(v)) == sizeof(v) && v == full, "counter");
	ivshmem_close(p);
	printf("ok: --ring to a blocking, full eventfd\n");

	CHECK(tu_server_stop(&s) == 0, "server exit status");
	free(c);
	return 0;
}
