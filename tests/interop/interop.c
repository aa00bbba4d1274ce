/* SPDX-License-Identifier: MIT */
#include "interop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PROCS 16
#define MAX_SHM 4
#define LOG_MAX (256 * 1024)

static struct iu_proc *procs[MAX_PROCS];
static int nprocs;
static char shm_names[MAX_SHM][64];
static int nshm;

static void at_exit(int status, void *arg)
{
	for (int i = 0; i < nprocs; i++) {
		struct iu_proc *p = procs[i];

		if (p->pid > 0) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
			p->pid = 0;
		}
		/* A failure: show what every program said. */
		if (status != 0)
			iu_show_log(p, "log");
	}
	for (int i = 0; i < nshm; i++)
		shm_unlink(shm_names[i]);
}

void iu_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* First, so that its directory is removed after at_exit() ran. */
	tu_tmpdir();
	on_exit(at_exit, NULL);
}

const char *iu_ref_bin(const char *name)
{
	static char path[2][512];
	static int next;
	const char *dir = getenv("IVSHMEM_QEMU_REF_DIR");
	const char *ci = getenv("CI");
	char *p = path[next++ % 2];

	if (dir) {
		snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
		if (access(p, X_OK) == 0)
			return p;
	}
	fprintf(stderr, "QEMU's reference %s is not built (%s/%s); see the "
		"interop_qemu_ref_build test and tests/interop/build-qemu-ref.sh\n",
		name, dir ? dir : "$IVSHMEM_QEMU_REF_DIR", name);
	exit(ci && *ci ? 1 : 77);
}

void iu_cleanup_shm(const char *name)
{
	CHECK(nshm < MAX_SHM, "too many shm names");
	snprintf(shm_names[nshm++], sizeof(shm_names[0]), "%s", name);
}

int iu_our_client(const char *sock, const char *opt, const char *arg,
		  char *out, size_t outlen)
{
	const char *argv[] = { tu_bin("tools/ivshmem-client"), "-S", sock,
			       "-n", "2", opt, arg, NULL };

	return tu_run(argv, out, outlen, 15);
}

void iu_spawn_our_wait(struct iu_proc *p, const char *tag, const char *sock,
		       const char *vector, const char *timeout_s)
{
	const char *argv[] = { tu_bin("tools/ivshmem-client"), "-S", sock,
			       "-n", "2", "--wait", vector, "--timeout",
			       timeout_s, NULL };

	iu_spawn(p, tag, argv, 0);
}

void iu_spawn(struct iu_proc *p, const char *tag, const char *const *argv,
	      int with_stdin)
{
	int in[2] = { -1, -1 }, fd;

	CHECK(nprocs < MAX_PROCS, "too many processes");
	snprintf(p->log, sizeof(p->log), "%s/%s.log", tu_tmpdir(), tag);
	p->seen = 0;
	p->in = -1;
	fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
		  0644);
	CHECK(fd >= 0, "open %s: %s", p->log, strerror(errno));
	if (with_stdin)
		CHECK(pipe2(in, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	p->pid = fork();
	CHECK(p->pid >= 0, "fork: %s", strerror(errno));
	if (p->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(with_stdin ? in[0] : null, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	if (with_stdin) {
		close(in[0]);
		p->in = in[1];
	}
	procs[nprocs++] = p;
}

void iu_send(struct iu_proc *p, const char *line)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);

	CHECK(p->in >= 0, "%s has no stdin pipe", p->log);
	CHECK(write(p->in, buf, (size_t)n) == n, "write to %s's stdin: %s",
	      p->log, strerror(errno));
}

/* The whole log, NUL-terminated, in a static buffer. */
static const char *read_log(const struct iu_proc *p, size_t *len)
{
	static char buf[LOG_MAX + 1];
	size_t n = 0;
	int fd = open(p->log, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t r;

		while (n < LOG_MAX &&
		       (r = read(fd, buf + n, LOG_MAX - n)) > 0)
			n += (size_t)r;
		close(fd);
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

void iu_show_log(const struct iu_proc *p, const char *title)
{
	fprintf(stderr, "----- %s: %s -----\n%s----- end of %s -----\n", title,
		p->log, read_log(p, NULL), p->log);
}

int iu_output_has(struct iu_proc *p, const char *text)
{
	return strstr(read_log(p, NULL), text) != NULL;
}

const char *iu_expect_output(struct iu_proc *p, const char *text,
			     int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;

	for (;;) {
		size_t len;
		const char *log = read_log(p, &len);
		const char *at = p->seen <= len ? strstr(log + p->seen, text) :
			NULL;

		if (at) {
			p->seen = (size_t)(at - log) + strlen(text);
			return log + p->seen;
		}
		if (tu_now_ns() > deadline)
			break;
		usleep(10000);
	}
	iu_show_log(p, "log");
	CHECK(0, "'%s' did not appear in %s within %d ms", text, p->log,
	      timeout_ms);
	return NULL;
}

int iu_wait_exit(struct iu_proc *p, int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;
	int status;

	CHECK(p->pid > 0, "%s already reaped", p->log);
	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);

		CHECK(r >= 0, "waitpid: %s", strerror(errno));
		if (r == p->pid)
			break;
		if (tu_now_ns() > deadline) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
			p->pid = 0;
			return -1;
		}
		usleep(10000);
	}
	p->pid = 0;
	if (p->in >= 0) {
		close(p->in);
		p->in = -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int iu_stop(struct iu_proc *p, int timeout_ms)
{
	kill(p->pid, SIGTERM);
	return iu_wait_exit(p, timeout_ms);
}

void iu_peer_connect(struct iu_peer *p, const char *name, const char *sock,
		     unsigned vectors)
{
	long long deadline = tu_now_ns() + 10000 * 1000000LL;
	int rc;

	memset(p, 0, sizeof(*p));
	p->name = name;
	/* Until the server listens, or 10 s. */
	while ((rc = ivshmem_connect(&p->iv, sock, vectors, 5000)) == -ENOENT ||
	       rc == -ECONNREFUSED) {
		if (tu_now_ns() > deadline)
			break;
		usleep(10000);
	}
	CHECK(rc == 0, "%s: ivshmem_connect(%s): %s", name, sock,
	      strerror(-rc));
}

static const char *ev_name(enum ivshmem_event_type t)
{
	switch (t) {
	case IVSHMEM_EV_PEER_JOINED:
		return "join";
	case IVSHMEM_EV_PEER_LEFT:
		return "leave";
	case IVSHMEM_EV_SERVER_GONE:
		return "server gone";
	}
	return "?";
}

/* Take in what is pending for up to timeout_ms: 0 on timeout, else 1. */
static int pump(struct iu_peer *p, int timeout_ms)
{
	struct ivshmem_event ev;
	unsigned v;
	int rc = ivshmem_wait(p->iv, timeout_ms, &v);

	CHECK(rc >= 0, "%s: ivshmem_wait: %s", p->name, strerror(-rc));
	if (rc == 1)
		p->rung |= 1ULL << v;
	while (ivshmem_next_event(p->iv, &ev) == 1) {
		CHECK(p->nbacklog < IU_BACKLOG, "%s: too many events",
		      p->name);
		p->backlog[p->nbacklog++] = ev;
	}
	return rc != 0;
}

static int left_ms(long long deadline)
{
	long long left = (deadline - tu_now_ns()) / 1000000;

	return left < 0 ? 0 : (int)left;
}

struct ivshmem_event iu_expect_event(struct iu_peer *p,
				     enum ivshmem_event_type type, int peer,
				     int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;

	for (;;) {
		for (int i = 0; i < p->nbacklog; i++) {
			struct ivshmem_event ev = p->backlog[i];

			if (ev.type != type || (peer >= 0 && ev.peer != peer))
				continue;
			memmove(&p->backlog[i], &p->backlog[i + 1],
				(size_t)(p->nbacklog - i - 1) *
				sizeof(p->backlog[0]));
			p->nbacklog--;
			return ev;
		}
		if (!pump(p, left_ms(deadline)) && !left_ms(deadline))
			break;
	}
	for (int i = 0; i < p->nbacklog; i++)
		fprintf(stderr, "%s saw: %s of peer %d\n", p->name,
			ev_name(p->backlog[i].type), p->backlog[i].peer);
	CHECK(0, "%s: no %s of peer %d within %d ms", p->name, ev_name(type),
	      peer, timeout_ms);
	return p->backlog[0];
}

void iu_expect_rung(struct iu_peer *p, unsigned long long mask,
		    int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;

	while ((p->rung & mask) != mask) {
		if (!pump(p, left_ms(deadline)) && !left_ms(deadline))
			break;
	}
	CHECK((p->rung & mask) == mask,
	      "%s: vectors 0x%llx not rung within %d ms (rung: 0x%llx)",
	      p->name, mask, timeout_ms, p->rung);
	p->rung &= ~mask;
}

int iu_expect_come_and_go(struct iu_peer *p, int timeout_ms)
{
	struct ivshmem_event ev;

	ev = iu_expect_event(p, IVSHMEM_EV_PEER_JOINED, -1, timeout_ms);
	iu_expect_event(p, IVSHMEM_EV_PEER_LEFT, ev.peer, timeout_ms);
	return ev.peer;
}

void iu_peer_idle(struct iu_peer *p, int ms)
{
	long long deadline = tu_now_ns() + ms * 1000000LL;

	while (left_ms(deadline))
		pump(p, left_ms(deadline));
}
