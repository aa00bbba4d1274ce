/* SPDX-License-Identifier: MIT */
#include "clienttest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

const char *ct_client_bin(void)
{
	return tu_bin("tools/ivshmem-client");
}

static void init(struct ct_proc *p)
{
	p->len = 0;
	p->pos = 0;
	p->buf[0] = '\0';
	p->status = -1;
	p->cpu_s = 0;
}

void ct_spawn(struct ct_proc *p, const char *const *argv)
{
	int in[2], out[2];

	init(p);
	CHECK(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0,
	      "pipe: %s", strerror(errno));
	p->pid = fork();
	CHECK(p->pid >= 0, "fork: %s", strerror(errno));
	if (p->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(out[1], STDERR_FILENO);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = out[0];
	p->pty = 0;
}

void ct_spawn_pty(struct ct_proc *p, const char *const *argv,
		  int ignore_sighup)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	int master;

	init(p);
	p->pid = forkpty(&master, NULL, NULL, &ws);
	CHECK(p->pid >= 0, "forkpty: %s", strerror(errno));
	if (p->pid == 0) {
		if (ignore_sighup)
			signal(SIGHUP, SIG_IGN);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("TERM", "xterm", 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	fcntl(master, F_SETFD, FD_CLOEXEC);
	p->in = master;
	p->out = master;
	p->pty = 1;
}

void ct_send(struct ct_proc *p, const char *text)
{
	size_t len = strlen(text);

	CHECK(p->in >= 0, "stdin is closed");
	CHECK(write(p->in, text, len) == (ssize_t)len, "write: %s",
	      strerror(errno));
}

void ct_close_in(struct ct_proc *p)
{
	if (p->in < 0)
		return;
	close(p->in);
	if (p->pty)
		p->out = -1;
	p->in = -1;
}

/* Read once, waiting up to ms; 1 if bytes came, 0 on timeout, -1 EOF. */
static int read_some(struct ct_proc *p, int ms)
{
	struct pollfd pfd = { .fd = p->out, .events = POLLIN };
	size_t room = sizeof(p->buf) - 1 - p->len;
	ssize_t n;

	if (p->out < 0)
		return -1;
	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	if (room == 0) {
		/* Keep the tail: the beginning is long since matched. */
		size_t drop = sizeof(p->buf) / 2;

		memmove(p->buf, p->buf + drop, p->len - drop);
		p->len -= drop;
		p->pos = p->pos > drop ? p->pos - drop : 0;
		room = sizeof(p->buf) - 1 - p->len;
	}
	n = read(p->out, p->buf + p->len, room);
	if (n <= 0) {
		/* A pty master reads EIO once the other side is closed. */
		if (n < 0 && errno == EINTR)
			return 0;
		return -1;
	}
	p->len += (size_t)n;
	p->buf[p->len] = '\0';
	return 1;
}

int ct_expect(struct ct_proc *p, const char *needle, int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;

	for (;;) {
		char *hit = strstr(p->buf + p->pos, needle);
		long long left;

		if (hit) {
			p->pos = (size_t)(hit - p->buf) + strlen(needle);
			return 1;
		}
		left = (deadline - tu_now_ns()) / 1000000;
		if (left <= 0 || read_some(p, (int)left) < 0)
			return 0;
	}
}

void ct_drain(struct ct_proc *p, int ms)
{
	long long deadline = tu_now_ns() + ms * 1000000LL;

	for (;;) {
		long long left = (deadline - tu_now_ns()) / 1000000;
		int rc = read_some(p, left > 0 ? (int)left : 0);

		/* Past the deadline, read on only while bytes are there. */
		if (rc < 0 || (rc == 0 && left <= 0))
			return;
	}
}

int ct_wait_exit(struct ct_proc *p, int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;
	struct rusage ru;
	int status;

	if (p->status >= 0)
		return p->status;
	for (;;) {
		pid_t rc = wait4(p->pid, &status, WNOHANG, &ru);

		CHECK(rc >= 0, "wait4: %s", strerror(errno));
		if (rc == p->pid)
			break;
		if (tu_now_ns() > deadline)
			return -1;
		/* Keep its output flowing: a full pipe would block it. */
		if (read_some(p, 10) < 0)
			usleep(10000);
	}
	ct_drain(p, 0);
	p->cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		   ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if (WIFEXITED(status))
		p->status = WEXITSTATUS(status);
	else
		p->status = 128 + WTERMSIG(status);
	return p->status;
}

void ct_finish(struct ct_proc *p)
{
	if (p->status < 0) {
		kill(p->pid, SIGKILL);
		ct_wait_exit(p, 10000);
	}
	if (p->in >= 0)
		close(p->in);
	if (p->out >= 0 && p->out != p->in)
		close(p->out);
	p->in = -1;
	p->out = -1;
}

double ct_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *s;
	unsigned long utime, stime;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	CHECK(n > 0, "%s: empty", path);
	buf[n] = '\0';
	/* After "pid (comm) ": state is field 3, utime 14, stime 15. */
	s = strrchr(buf, ')');
	CHECK(s && sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
			  "%*u %lu %lu", &utime, &stime) == 2,
	      "cannot parse %s", path);
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

struct ivshmem *ct_peer(const char *socket_path, unsigned vectors)
{
	struct ivshmem *iv;
	int rc = ivshmem_connect(&iv, socket_path, vectors, 10000);

	CHECK(rc == 0, "ivshmem_connect %s: %s", socket_path, strerror(-rc));
	return iv;
}

int ct_peer_event(struct ivshmem *iv, enum ivshmem_event_type type, int id,
		  int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;
	struct ivshmem_event ev;
	int gone = 0;

	for (;;) {
		/* A gone server's socket stays readable: stop polling it. */
		struct pollfd pfd = { .fd = gone ? -1 : ivshmem_socket_fd(iv),
				      .events = POLLIN };
		long long left;

		while (ivshmem_next_event(iv, &ev) == 1)
			if (ev.type == type && (id < 0 || ev.peer == id))
				return ev.peer;
		left = (deadline - tu_now_ns()) / 1000000;
		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) > 0 &&
		    ivshmem_process(iv) == -ENOTCONN)
			gone = 1;
	}
}

void ct_peer_acks(struct ivshmem *iv, int *counts)
{
	for (unsigned v = 0; v < ivshmem_vectors(iv); v++) {
		counts[v] = ivshmem_ack(iv, v);
		CHECK(counts[v] >= 0, "ack %u: %s", v, strerror(-counts[v]));
	}
}
