/* SPDX-License-Identifier: MIT */
/* Shared helpers: logging, child processes, cleanup, a private server. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 64
#define MAX_PATHS 32

/*
 * What to clean up, read by the signal handler: changed only with the
 * signals blocked.
 */
static pid_t children[MAX_CHILDREN];
static char paths[MAX_PATHS][128];
static char cleanup_dir[64];
static pid_t main_pid;

void bench_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void block_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void restore_signals(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

/* Async-signal-safe: kill and reap the children, remove our files. */
static void cleanup_all(void)
{
	int status;

	if (getpid() != main_pid)
		return;
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] > 0)
			kill(children[i], SIGTERM);
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] > 0) {
			while (waitpid(children[i], &status, 0) < 0 &&
			       errno == EINTR)
				;
			children[i] = 0;
		}
	}
	/* Files first, then the directories they were in. */
	for (int i = 0; i < MAX_PATHS; i++) {
		if (paths[i][0] && !(unlink(paths[i]) < 0 && errno == EISDIR))
			paths[i][0] = '\0';
	}
	for (int i = 0; i < MAX_PATHS; i++) {
		if (paths[i][0]) {
			rmdir(paths[i]);
			paths[i][0] = '\0';
		}
	}
	if (cleanup_dir[0]) {
		rmdir(cleanup_dir);
		cleanup_dir[0] = '\0';
	}
}

static const char *watchdog_what;

static void on_signal(int sig)
{
	if (sig == SIGALRM && getpid() == main_pid) {
		static const char msg[] = "ipm-bench: watchdog: no progress in ";
		const char *w = watchdog_what ? watchdog_what : "?";
		ssize_t n;

		n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
		n = write(STDERR_FILENO, w, strlen(w));
		n = write(STDERR_FILENO, "\n", 1);
		(void)n;
	}
	cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void at_exit(void)
{
	sigset_t old;

	block_signals(&old);
	cleanup_all();
	restore_signals(&old);
}

int bench_sys_init(struct bench_ctx *ctx)
{
	struct sigaction sa = { .sa_handler = on_signal };

	main_pid = getpid();
	snprintf(ctx->tmpdir, sizeof(ctx->tmpdir), "/tmp/ipm-bench.XXXXXX");
	if (!mkdtemp(ctx->tmpdir))
		return -errno;
	snprintf(cleanup_dir, sizeof(cleanup_dir), "%s", ctx->tmpdir);
	atexit(at_exit);
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaddset(&sa.sa_mask, SIGALRM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	/* A dead peer socket must give EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void bench_path_add(const char *path)
{
	sigset_t old;

	block_signals(&old);
	for (int i = 0; i < MAX_PATHS; i++) {
		if (!paths[i][0]) {
			snprintf(paths[i], sizeof(paths[i]), "%s", path);
			break;
		}
	}
	restore_signals(&old);
}

void bench_path_remove(const char *path)
{
	sigset_t old;

	block_signals(&old);
	for (int i = 0; i < MAX_PATHS; i++)
		if (!strcmp(paths[i], path))
			paths[i][0] = '\0';
	restore_signals(&old);
}

static int child_add(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] <= 0) {
			children[i] = pid;
			return 0;
		}
	}
	return -1;
}

/* In a new child: default signals, die with the parent, other CPUs. */
static void child_setup(struct bench_ctx *ctx, pid_t parent)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	alarm(0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	if (ctx->pinned)
		sched_setaffinity(0, sizeof(ctx->others), &ctx->others);
}

/* Fork with the signals blocked so that a child is never missed. */
static pid_t spawn(struct bench_ctx *ctx, int (*fn)(void *arg), void *arg,
		   const char *const *argv, const char *log_path)
{
	pid_t parent = getpid(), pid;
	sigset_t old;
	int fd;

	fflush(NULL);
	block_signals(&old);
	pid = fork();
	if (pid == 0) {
		child_setup(ctx, parent);
		restore_signals(&old);
		if (fn)
			_exit(fn(arg));
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
		}
		if (log_path)
			fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC |
				  O_CLOEXEC, 0600);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		signal(SIGPIPE, SIG_DFL);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "ipm-bench: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	if (pid > 0 && child_add(pid) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
		errno = EMFILE;
	}
	restore_signals(&old);
	return pid < 0 ? -errno : pid;
}

pid_t bench_fork(struct bench_ctx *ctx, int (*fn)(void *arg), void *arg)
{
	return spawn(ctx, fn, arg, NULL, NULL);
}

void bench_child_stop(pid_t pid)
{
	sigset_t old;
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	block_signals(&old);
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
	restore_signals(&old);
}

static void print_log(const char *path)
{
	char buf[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f))
		fprintf(stderr, "  | %s", buf);
	fclose(f);
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int bench_server_start(struct bench_ctx *ctx, struct bench_server *s,
		       const char *name, const char *const *args)
{
	const char *argv[32];
	char shm_path[96];
	int argc = 0, status;

	memset(s, 0, sizeof(*s));
	snprintf(s->socket_path, sizeof(s->socket_path), "%s/%s.sock",
		 ctx->tmpdir, name);
	snprintf(s->shm_name, sizeof(s->shm_name), "/ipm-bench-%d-%s",
		 (int)getpid(), name);
	snprintf(s->log_path, sizeof(s->log_path), "%s/%s.log", ctx->tmpdir,
		 name);
	snprintf(shm_path, sizeof(shm_path), "/dev/shm%s", s->shm_name);
	/* The server removes both itself; these are for when it cannot. */
	bench_path_add(s->socket_path);
	bench_path_add(shm_path);
	bench_path_add(s->log_path);

	argv[argc++] = ctx->server_path;
	argv[argc++] = "-F";
	argv[argc++] = "-q";
	argv[argc++] = "-S";
	argv[argc++] = s->socket_path;
	argv[argc++] = "-M";
	argv[argc++] = s->shm_name;
	for (int i = 0; args && args[i] && argc < 31; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;

	s->pid = spawn(ctx, NULL, NULL, argv, s->log_path);
	if (s->pid < 0)
		return (int)s->pid;
	/* Each probe is a peer that joins and leaves at once. */
	for (int i = 0; i < 1000; i++) {
		if (try_connect(s->socket_path) == 0)
			return 0;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			bench_log("ipm-bench: %s exited at start-up:",
				  ctx->server_path);
			print_log(s->log_path);
			bench_child_stop(s->pid);
			s->pid = 0;
			return -ECHILD;
		}
		usleep(10000);
	}
	bench_log("ipm-bench: %s did not listen on %s within 10 s",
		  ctx->server_path, s->socket_path);
	print_log(s->log_path);
	bench_server_stop(s);
	return -ETIMEDOUT;
}

void bench_server_stop(struct bench_server *s)
{
	char shm_path[96];

	if (s->pid > 0)
		bench_child_stop(s->pid);
	s->pid = 0;
	snprintf(shm_path, sizeof(shm_path), "/dev/shm%s", s->shm_name);
	unlink(s->socket_path);
	unlink(shm_path);
	unlink(s->log_path);
	bench_path_remove(s->socket_path);
	bench_path_remove(shm_path);
	bench_path_remove(s->log_path);
}

int bench_want_fds(unsigned long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		return -EMFILE;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	return 0;
}

int bench_selected(const struct bench_ctx *ctx, const char *name)
{
	if (!ctx->only || !ctx->only[0])
		return 1;
	for (int i = 0; ctx->only[i]; i++)
		if (!strncmp(name, ctx->only[i], strlen(ctx->only[i])))
			return 1;
	return 0;
}

void *bench_shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void bench_shared_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

void bench_watchdog(unsigned seconds, const char *what)
{
	watchdog_what = what;
	alarm(seconds);
}

int bench_child_dead(pid_t pid)
{
	siginfo_t si = { .si_pid = 0 };

	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD;
	return si.si_pid == pid;
}

int bench_wait_at_least(_Atomic uint32_t *v, uint32_t want, pid_t pid,
			int timeout_ms)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;

	while (atomic_load(v) < want) {
		if (pid > 0 && bench_child_dead(pid))
			return -ECHILD;
		if (bench_now_ns() > deadline)
			return -ETIMEDOUT;
		usleep(100);
	}
	return 0;
}

int bench_single_cpu;

void bench_set_cpus(int cpus)
{
	bench_single_cpu = cpus <= 1;
}

int bench_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int bench_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
