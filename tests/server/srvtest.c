/* SPDX-License-Identifier: MIT */
#include "srvtest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int tp_recv(struct tpeer *p, int64_t *value, int *had_fd, int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;

	for (;;) {
		struct pollfd pfd = { .fd = p->sock, .events = POLLIN };
		long long left;
		int fd, rc = ivproto_recv(&p->rx, p->sock, value, &fd);

		if (rc == 0) {
			*had_fd = fd >= 0;
			if (fd >= 0)
				close(fd);
			return 0;
		}
		if (rc != -EAGAIN)
			return rc;
		left = (deadline - tu_now_ns()) / 1000000;
		if (left <= 0)
			return -ETIMEDOUT;
		poll(&pfd, 1, (int)left);
	}
}

static void get(struct tpeer *p, int64_t *value, int *had_fd,
		const char *what)
{
	int rc = tp_recv(p, value, had_fd, TP_TIMEOUT_MS);

	CHECK(rc == 0, "peer %d: no %s: %s", p->id, what, strerror(-rc));
}

void tp_connect(struct tpeer *p, const char *path, unsigned nvec)
{
	p->sock = tu_connect(path);
	CHECK(p->sock >= 0, "connect %s: %s", path, strerror(-p->sock));
	CHECK(fcntl(p->sock, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
	p->id = -1;
	p->nvec = nvec;
	p->rx = (struct ivproto_rx)IVPROTO_RX_INIT;
}

int tp_read_setup(struct tpeer *p, int k)
{
	int id = -1;

	for (int i = 0; i < k; i++) {
		int64_t v;
		int f, rc = tp_recv(p, &v, &f, TP_TIMEOUT_MS);

		CHECK(rc == 0, "setup message %d: %s", i, strerror(-rc));
		if (i == 1)
			id = (int)v;
	}
	return id;
}

static int valid_id(int64_t v)
{
	return v >= 0 && v <= IVPROTO_MAX_PEER_ID;
}

int tp_try_join(struct tpeer *p, const char *path, unsigned nvec,
		int *others, int max, int *n)
{
	tp_connect(p, path, nvec);
	return tp_read_join(p, others, max, n);
}

int tp_read_join(struct tpeer *p, int *others, int max, int *n)
{
	const unsigned nvec = p->nvec;
	int64_t v, w;
	int f, g, rc, count = 0;

	rc = tp_recv(p, &v, &f, TP_TIMEOUT_MS);
	if (rc == -ECONNRESET)
		return rc;
	CHECK(rc == 0, "setup: no version message: %s", strerror(-rc));
	CHECK(v == IVPROTO_VERSION && !f, "setup: version %lld%s", (long long)v,
	      f ? " with an fd" : "");
	get(p, &v, &f, "id message");
	CHECK(valid_id(v) && !f, "setup: id %lld%s", (long long)v,
	      f ? " with an fd" : "");
	p->id = (int)v;
	get(p, &v, &f, "shm message");
	CHECK(v == IVPROTO_SHM_ID && f, "peer %d setup: shm message %lld%s",
	      p->id, (long long)v, f ? "" : " without an fd");
	for (;;) {
		get(p, &v, &f, "setup vector message");
		CHECK(valid_id(v) && f, "peer %d setup: %lld%s", p->id,
		      (long long)v, f ? "" : " without an fd");
		for (unsigned i = 1; i < nvec; i++) {
			get(p, &w, &g, "setup vector message");
			CHECK(w == v && g, "peer %d setup: vector %u of %lld "
			      "came as %lld%s", p->id, i, (long long)v,
			      (long long)w, g ? "" : " without an fd");
		}
		if (v == p->id)
			break;
		for (int i = 0; i < count && others; i++)
			CHECK(others[i] != v, "peer %d setup: peer %lld twice",
			      p->id, (long long)v);
		if (others) {
			CHECK(count < max, "peer %d setup: more than %d peers",
			      p->id, max);
			others[count] = (int)v;
		}
		count++;
	}
	if (n)
		*n = count;
	return 0;
}

void tp_join(struct tpeer *p, const char *path, unsigned nvec, int *others,
	     int max, int *n)
{
	CHECK(tp_try_join(p, path, nvec, others, max, n) == 0,
	      "the server refused a peer (closed without a setup)");
}

void tp_join_alone(struct tpeer *p, const char *path, unsigned nvec)
{
	int others[16], n;

	tp_join(p, path, nvec, others, 16, &n);
	for (int i = 0; i < n; i++) {
		int id = -1, j, ev = tp_next_event(p, &id, TP_TIMEOUT_MS);

		CHECK(ev == 0, "peer %d: waiting for the first peers to leave: "
		      "%s %d", p->id, ev == 1 ? "join of" : "nothing", id);
		for (j = 0; j < n && others[j] != id; j++)
			;
		CHECK(j < n, "peer %d: peer %d left, not in its setup",
		      p->id, id);
	}
}

int tp_next_event(struct tpeer *p, int *id, int timeout_ms)
{
	int64_t v, w;
	int f, g, rc = tp_recv(p, &v, &f, timeout_ms);

	if (rc == -ETIMEDOUT)
		return rc;
	CHECK(rc == 0, "peer %d: waiting for a notice: %s", p->id,
	      strerror(-rc));
	CHECK(valid_id(v) && v != p->id, "peer %d: notice about %lld", p->id,
	      (long long)v);
	*id = (int)v;
	if (!f)
		return 0;
	for (unsigned i = 1; i < p->nvec; i++) {
		get(p, &w, &g, "join vector message");
		CHECK(w == v && g, "peer %d: vector %u of joining %lld came as "
		      "%lld%s", p->id, i, (long long)v, (long long)w,
		      g ? "" : " without an fd");
	}
	return 1;
}

static void expect_event(struct tpeer *p, int join, int id)
{
	int got = -1, ev = tp_next_event(p, &got, TP_TIMEOUT_MS);

	CHECK(ev == join && got == id, "peer %d: expected %s of %d, got %s %d",
	      p->id, join ? "join" : "leave", id,
	      ev == 1 ? "join of" : ev == 0 ? "leave of" : "nothing", got);
}

void tp_expect_join(struct tpeer *p, int id)
{
	expect_event(p, 1, id);
}

void tp_expect_leave(struct tpeer *p, int id)
{
	expect_event(p, 0, id);
}

void tp_expect_quiet(struct tpeer *p, int ms)
{
	int64_t v = 0;
	int f = 0, rc = tp_recv(p, &v, &f, ms);

	CHECK(rc == -ETIMEDOUT, "peer %d: expected no message, got %s %lld%s",
	      p->id, rc ? strerror(-rc) : "message", (long long)v,
	      f ? " with an fd" : "");
}

void tp_expect_refused(struct tpeer *p)
{
	int64_t v = 0;
	int f = 0, rc = tp_recv(p, &v, &f, TP_TIMEOUT_MS);

	CHECK(rc == -ECONNRESET, "refused peer: expected EOF, got %s %lld",
	      rc ? strerror(-rc) : "message", (long long)v);
}

long tp_drain_to_eof(struct tpeer *p, int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;
	long n = 0;

	for (;;) {
		int64_t v;
		int f, rc;
		long long left = (deadline - tu_now_ns()) / 1000000;

		rc = tp_recv(p, &v, &f, left > 0 ? (int)left : 0);
		if (rc == -ECONNRESET)
			return n;
		CHECK(rc == 0, "peer %d: expected EOF from the server: %s",
		      p->id, strerror(-rc));
		n++;
	}
}

void tp_close(struct tpeer *p)
{
	ivproto_rx_reset(&p->rx);
	if (p->sock >= 0)
		close(p->sock);
	p->sock = -1;
}

int srv_log_has(const char *path, const char *a, const char *b)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (!f)
		return 0;
	while (!found && getline(&line, &cap, f) >= 0)
		found = strstr(line, a) && (!b || strstr(line, b));
	free(line);
	fclose(f);
	return found;
}

void srv_log_wait(const char *path, const char *a, const char *b,
		  int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;

	while (!srv_log_has(path, a, b)) {
		CHECK(tu_now_ns() < deadline, "no line with \"%s\"%s%s%s in %s",
		      a, b ? " and \"" : "", b ? b : "", b ? "\"" : "", path);
		usleep(10000);
	}
}

void srv_alive(const struct tu_server *s)
{
	int status = 0;

	CHECK(waitpid(s->pid, &status, WNOHANG) == 0,
	      "ivshmem-server died (status 0x%x), see %s", status, s->log_path);
}

int srv_wait_fds(pid_t pid, int want, int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;
	int n;

	while ((n = tu_count_fds(pid)) != want && tu_now_ns() < deadline)
		usleep(10000);
	return n;
}

int srv_settled_fds(pid_t pid)
{
	int n = tu_count_fds(pid), same = 0;

	while (same < 5) {
		int m;

		usleep(20000);
		m = tu_count_fds(pid);
		same = m == n ? same + 1 : 0;
		n = m;
	}
	return n;
}

long srv_raise_nofile(void)
{
	struct rlimit rl;

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	rl.rlim_cur = rl.rlim_max;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s",
	      strerror(errno));
	return (long)rl.rlim_cur;
}

void srv_restart(const struct tu_server *s, unsigned n)
{
	char want[32];

	snprintf(want, sizeof(want), "restart %u)", n);
	CHECK(kill(s->pid, SIGHUP) == 0, "SIGHUP: %s", strerror(errno));
	srv_log_wait(s->log_path, "restarted in place", want, TP_TIMEOUT_MS);
}

void srv_ctl_restart(const struct tu_server *s, unsigned n)
{
	const char *argv[] = { tu_bin("tools/ivshmem-ctl"), "-S",
			       s->socket_path, "--json", "restart", NULL };
	char out[1024], want[32];
	int rc = tu_run(argv, out, sizeof(out), 30);

	snprintf(want, sizeof(want), "\"restarts\":%u}", n);
	CHECK(rc == 0 && strstr(out, want), "ivshmem-ctl restart: status %d, "
	      "expected '%s' in: %s", rc, want, out);
}

void srv_copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	CHECK(in >= 0, "%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	CHECK(out >= 0, "%s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		CHECK(write(out, buf, (size_t)n) == n, "write %s", to);
	CHECK(n == 0 && close(out) == 0, "copy to %s", to);
	close(in);
}
